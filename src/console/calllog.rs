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
//!
//! 1.2 (§32): a room's call has a line too, the starter's, edited as the
//! call ends ([`GroupLog`]): said from this side, the call one started,
//! one joined, or one missed.

use crate::client::Message;
use crate::i18n::Lang;
use crate::i18n::calls::Msg;
use crate::i18n::tr;
use crate::protocol::Chat;
use crate::protocol::action::{Act, ActionId};
use crate::protocol::call::{CallLog, Media};
use crate::protocol::group_call::{GroupLog, Names};

/// The ids the server gives the call lines it stores (`call-<ms>-<n>`).
const CALL_ID: &str = "call-";

/// Whether `m` is a call's line, or the server's edit of one (a 1:1
/// call's or, 1.2 §32, a room's): the server's record of a call, which
/// wears no ticks (a call is not a message sent: WhatsApp's call lines
/// have none either).
pub fn is_call_line(m: &Message) -> bool {
    m.id.starts_with(CALL_ID) || is_fold(m)
}

/// Whether `m` is the server's edit of a call line (missed calls folded
/// into it; a room's call ended).
pub fn is_fold(m: &Message) -> bool {
    ActionId::parse(&m.id).is_some_and(|a| a.act == Act::Edit && a.target.starts_with(CALL_ID))
}

/// The words of `text`, `m`'s (its text as shown: an edit's, or the line
/// as last edited), if `m` is a call's line; as this side, `me`, says them.
pub fn said(lang: Lang, me: &str, m: &Message, text: &str) -> Option<String> {
    if !is_call_line(m) {
        return None;
    }
    // An edit's text is marked `✎ `; a line listed with its edits folded in, ` ✎`: neither is the reader's news.
    let text = text.strip_prefix("✎ ").unwrap_or(text);
    let text = text.strip_suffix(" ✎").unwrap_or(text);
    if let Chat::Room(_) = m.to {
        return Some(group_said(lang, me, GroupLog::parse(text)?));
    }
    let log = CallLog::parse(text)?;
    let mine = m.is_from(me);
    Some(match log {
        CallLog::Talked { media, seconds } => {
            let length = clock(seconds);
            let line = if mine { Msg::LineOut } else { Msg::LineIn };
            tr!(in lang; line, media = word(lang, media), length = length)
        }
        CallLog::Missed { media, count: 1 } => {
            let line = if mine { Msg::LineUnanswered } else { Msg::LineMissed };
            tr!(in lang; line, media = word(lang, media))
        }
        CallLog::Missed { media, count } => {
            let line = if mine { Msg::LineUnansweredN } else { Msg::LineMissedN };
            tr!(in lang; line, n = count, media = word(lang, media))
        }
        CallLog::Declined { media } => {
            let line = if mine { Msg::LineRefused } else { Msg::LineDeclined };
            tr!(in lang; line, media = word(lang, media))
        }
    })
}

/// The word of `media` in `lang`.
fn word(lang: Lang, media: Media) -> &'static str {
    match media {
        Media::Voice => Msg::Voice.text(lang),
        Media::Video => Msg::Video.text(lang),
    }
}

/// A room's call's line as `me` says it: one started, one joined, one missed.
fn group_said(lang: Lang, me: &str, log: GroupLog) -> String {
    let names = |names: &Names| {
        let list = names.names.join(", ");
        match (names.names.is_empty(), names.more) {
            (true, _) => Msg::Nobody.text(lang).to_string(),
            (false, 0) => list,
            (false, n) => tr!(in lang; Msg::AndMore, names = list, n = n),
        }
    };
    match log {
        GroupLog::Started { media, by } => {
            tr!(in lang; Msg::GroupLineLive, media = word(lang, media), user = by)
        }
        GroupLog::Ended { media, by, seconds, joined, .. } => {
            let (media, length) = (word(lang, media), clock(seconds));
            if by.eq_ignore_ascii_case(me) {
                tr!(in lang; Msg::GroupLineOut, media = media, length = length, joined = names(&joined))
            } else if joined.has(me) {
                tr!(in lang; Msg::GroupLineIn, media = media, user = by, length = length, joined = names(&joined))
            } else {
                tr!(in lang; Msg::GroupLineMissed, media = media, user = by)
            }
        }
    }
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

    /// 1.2 (§32): a room's call's line, as it starts, then as its end's
    /// edit says it to the one who started it, one who joined, one who
    /// missed it.
    #[test]
    fn a_room_s_call_is_said_as_started_joined_or_missed() {
        let in_lab = |id: &str, text: &str| Message { to: Chat::Room("lab".into()), ..line("ana", id, text) };
        let started = in_lab("call-1-1", "📞 Group video call started by ana");
        let text = started.text.unescaped();
        assert_eq!(said(Lang::En, "bob", &started, &text).unwrap(), "📞 Group video call started by ana");
        let end = "✎ 📞 Group video call by ana, 12:03 · joined: bob, carl · missed: dan and 3 more";
        let ended = in_lab("_ekw3_call-1-1", end);
        assert!(is_fold(&ended), "the line again, no message of its own");
        assert_eq!(
            said(Lang::En, "ana", &ended, end).unwrap(),
            "📞 Outgoing group video call, 12:03 · joined: bob, carl"
        );
        assert_eq!(
            said(Lang::En, "Carl", &ended, end).unwrap(),
            "📞 Group video call from ana, 12:03 · joined: bob, carl"
        );
        assert_eq!(said(Lang::En, "dan", &ended, end).unwrap(), "📞 Missed group video call from ana");
        assert_eq!(
            said(Lang::Es, "dan", &ended, end).unwrap(),
            "📞 Llamada de vídeo en grupo perdida de ana"
        );
        let alone = "✎ 📞 Group voice call by ana, 0:31 · joined: nobody · missed: bob";
        assert_eq!(
            said(Lang::Pt, "ana", &in_lab("_ekw4_call-1-1", alone), alone).unwrap(),
            "📞 Chamada de voz em grupo efetuada, 0:31 · entraram: ninguém"
        );
    }
}
