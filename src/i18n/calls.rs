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
