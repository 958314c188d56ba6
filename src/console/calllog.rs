//! A call's line in a chat (1.2, §24) as this side reads it. The server
//! stores it as a message from the caller to the callee, in English
//! (`📞 Missed voice call`, [`CallLog`]); read as it is, the caller's own
//! line would say that she missed the call. The console says it from its
//! side, in its language, as the browser does (web/calllog.js): an
//! outgoing call, one nobody answered, one the other declined; an
//! incoming one, missed or declined.
//!
//! Missed calls in a row fold into one line by the server's edits of it
//! (`✎ 📞 3 missed voice calls`): such an edit is that line again, with
//! its new count, never a message of its own (no number on screen).

use crate::client::Message;
use crate::i18n::Lang;
use crate::i18n::calls::Msg;
use crate::i18n::tr;
use crate::protocol::Chat;
use crate::protocol::action::{Act, ActionId};
use crate::protocol::call::{CallLog, Media};

/// The ids the server gives the call lines it stores (`call-<ms>-<n>`).
const CALL_ID: &str = "call-";

/// Whether `m` is a call's line, or the server's edit of one: the
/// server's record of a call, which wears no ticks (a call is not a
/// message sent: WhatsApp's call lines have none either).
pub fn is_call_line(m: &Message) -> bool {
    matches!(m.to, Chat::User(_)) && (m.id.starts_with(CALL_ID) || is_fold(m))
}

/// Whether `m` is the server's edit of a call line (missed calls folded into it).
pub fn is_fold(m: &Message) -> bool {
    matches!(m.to, Chat::User(_))
        && ActionId::parse(&m.id).is_some_and(|a| a.act == Act::Edit && a.target.starts_with(CALL_ID))
}

/// The words of `text`, `m`'s (its text as shown: an edit's, or the line
/// as last edited), if `m` is a call's line; as this side, `me`, says them.
pub fn said(lang: Lang, me: &str, m: &Message, text: &str) -> Option<String> {
    if !is_call_line(m) {
        return None;
    }
    // An edit's text is marked `✎ `; a line listed with its edits folded in, ` ✎`: neither is the reader's news.
    let text = text.strip_prefix("✎ ").unwrap_or(text);
    let log = CallLog::parse(text.strip_suffix(" ✎").unwrap_or(text))?;
    let mine = m.is_from(me);
    let word = |media: Media| match media {
        Media::Voice => Msg::Voice.text(lang),
        Media::Video => Msg::Video.text(lang),
    };
    Some(match log {
        CallLog::Talked { media, seconds } => {
            let length = clock(seconds);
            let line = if mine { Msg::LineOut } else { Msg::LineIn };
            tr!(in lang; line, media = word(media), length = length)
        }
        CallLog::Missed { media, count: 1 } => {
            let line = if mine { Msg::LineUnanswered } else { Msg::LineMissed };
            tr!(in lang; line, media = word(media))
        }
        CallLog::Missed { media, count } => {
            let line = if mine { Msg::LineUnansweredN } else { Msg::LineMissedN };
            tr!(in lang; line, n = count, media = word(media))
        }
        CallLog::Declined { media } => {
            let line = if mine { Msg::LineRefused } else { Msg::LineDeclined };
            tr!(in lang; line, media = word(media))
        }
    })
}

/// `4:12`, or `1:02:03` past an hour, as the line stores it.
fn clock(seconds: u64) -> String {
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if h > 0 { format!("{h}:{m:02}:{s:02}") } else { format!("{m}:{s:02}") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{MsgState, Text};

    fn line(from: &str, id: &str, text: &str) -> Message {
        Message {
            from: from.into(),
            to: Chat::User(if from == "ana" { "bob" } else { "ana" }.into()),
            id: id.into(),
            ts: 1,
            state: MsgState::Received,
            text: Text::from_plain(text).unwrap(),
            refused: None,
            p2p: false,
        }
    }

    #[test]
    fn each_side_says_its_way_of_the_call() {
        let said_en = |me: &str, m: &Message| said(Lang::En, me, m, &m.text.unescaped());
        let missed = line("ana", "call-1-1", "📞 Missed voice call");
        assert_eq!(said_en("ana", &missed).unwrap(), "📞 Outgoing voice call, no answer");
        assert_eq!(said_en("bob", &missed).unwrap(), "📞 Missed voice call");
        let talked = line("ana", "call-2-1", "📞 Video call, 1:02:03");
        assert_eq!(said_en("ana", &talked).unwrap(), "📞 Outgoing video call, 1:02:03");
        assert_eq!(said_en("bob", &talked).unwrap(), "📞 Incoming video call, 1:02:03");
        let declined = line("ana", "call-3-1", "📞 Declined voice call");
        assert_eq!(said_en("ana", &declined).unwrap(), "📞 Outgoing voice call, declined");
        assert_eq!(said_en("bob", &declined).unwrap(), "📞 Declined incoming voice call");
        let m = line("ana", "call-3-1", "📞 Declined voice call");
        assert_eq!(
            said(Lang::Es, "bob", &m, "📞 Declined voice call").unwrap(),
            "📞 Llamada de voz entrante rechazada"
        );
    }

    #[test]
    fn a_fold_of_missed_calls_is_the_line_again_and_other_texts_are_left_alone() {
        let fold = line("ana", "_ekw3_call-1-1", "✎ 📞 3 missed voice calls");
        assert!(is_fold(&fold));
        assert_eq!(
            said(Lang::En, "bob", &fold, "✎ 📞 3 missed voice calls").unwrap(),
            "📞 3 missed voice calls"
        );
        assert_eq!(
            said(Lang::En, "ana", &fold, "✎ 📞 3 missed voice calls").unwrap(),
            "📞 3 outgoing voice calls, no answer"
        );
        // As /chat lists it, the edit folded into the line.
        let listed = line("ana", "call-1-1", "📞 3 missed voice calls ✎");
        assert_eq!(
            said(Lang::En, "bob", &listed, "📞 3 missed voice calls ✎").unwrap(),
            "📞 3 missed voice calls"
        );
        // A person's text that looks like one is a text, and an edit of a person's message is no fold.
        let typed = line("ana", "m1", "📞 Missed voice call");
        assert!(said(Lang::En, "bob", &typed, "📞 Missed voice call").is_none());
        assert!(!is_fold(&line("ana", "_ekw3_m1", "✎ 📞 Missed voice call")));
    }
}
