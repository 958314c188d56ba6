//! Calls (protocol 1.2, §24) in the consoles' words: a console has no
//! camera or microphone, so it says who calls and where to answer.

use super::catalogue;

catalogue! {
    Ringing {
        en: "📞 {user} is calling ({media}): answer in the browser",
        es: "📞 {user} te está llamando ({media}): contesta en el navegador",
        pt: "📞 {user} está ligando ({media}): atenda no navegador",
    },
    Voice { en: "voice", es: "voz", pt: "voz" },
    Video { en: "video", es: "vídeo", pt: "vídeo" },
    EndedDeclined {
        en: "📞 the call was declined ({user})",
        es: "📞 la llamada fue rechazada ({user})",
        pt: "📞 a chamada foi recusada ({user})",
    },
    EndedHangup {
        en: "📞 {user} hung up",
        es: "📞 {user} colgó",
        pt: "📞 {user} desligou",
    },
    EndedMissed {
        en: "📞 nobody answered the call from {user}",
        es: "📞 nadie contestó la llamada de {user}",
        pt: "📞 ninguém atendeu a chamada de {user}",
    },
    EndedBusy {
        en: "📞 {user} is in another call",
        es: "📞 {user} está en otra llamada",
        pt: "📞 {user} está em outra chamada",
    },
    EndedGone {
        en: "📞 the call ended: {user} left",
        es: "📞 la llamada terminó: {user} se fue",
        pt: "📞 a chamada terminou: {user} saiu",
    },
}

/// A call's notice as the consoles' one line, empty for any other notice.
pub fn line(lang: super::Lang, notice: &crate::client::Notice) -> String {
    use crate::client::Notice;
    use crate::protocol::call::{End, Media};
    match notice {
        Notice::Ringing { from, media } => {
            let media = match media {
                Media::Voice => Msg::Voice,
                Media::Video => Msg::Video,
            };
            super::tr!(in lang; Msg::Ringing, user = from, media = media.text(lang))
        }
        Notice::CallEnded { by, why } => {
            let msg = match why {
                End::Declined => Msg::EndedDeclined,
                End::Hangup => Msg::EndedHangup,
                End::Missed => Msg::EndedMissed,
                End::Gone => Msg::EndedGone,
                End::Busy => Msg::EndedBusy,
            };
            super::tr!(in lang; msg, user = by)
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::Notice;
    use crate::i18n::Lang;
    use crate::protocol::call::{End, Media};

    #[test]
    fn a_call_is_a_line_in_each_language() {
        let ringing = Notice::Ringing { from: "ana".into(), media: Media::Video };
        assert_eq!(line(Lang::En, &ringing), "📞 ana is calling (video): answer in the browser");
        assert_eq!(line(Lang::Es, &ringing), "📞 ana te está llamando (vídeo): contesta en el navegador");
        let gone = Notice::CallEnded { by: "bob".into(), why: End::Gone };
        assert_eq!(line(Lang::Pt, &gone), "📞 a chamada terminou: bob saiu");
    }
}
