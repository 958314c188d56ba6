//! Message actions (protocol 1.2) as a reader sees them: a conversation's
//! messages with the actions folded into the messages they name. An
//! edited message shows its newest text, marked ` ✎`; a deleted one, its
//! edits and the reactions to it read `(message deleted)`; the reactions
//! to a message show under it with their counts (`👍 2  ❤️ 1`); and the
//! actions' own messages (which a version-1 client shows as they are)
//! are left out. The same reading for a conversation from the server
//! (`HISTORY`) and from the local log, in both consoles.

use super::Message;
use crate::protocol::MsgState;
use crate::protocol::Text;
use crate::protocol::action::ActionId;
use crate::protocol::fates::Fates;
use crate::protocol::link::ReadBounce;
use crate::protocol::names::fold as fold_name;

/// A message as shown, its actions folded in: its text now (edited,
/// deleted, a deleted quote), whether it was edited, and its reactions
/// with their counts. The full-screen console draws these parts itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Folded {
    /// The message, its text as shown (no marks).
    pub message: Message,
    /// Edited, and not deleted since.
    pub edited: bool,
    /// Reactions on it, with their counts (none once deleted).
    pub reactions: Vec<(String, usize)>,
}

/// The parts of each message of `messages` (oldest first) that is not an
/// action. 1.3 (§27): nor a bounce's readable line (`HISTORY` gives it
/// after the message it names, which it marks refused with the peer's
/// reason; the message's own line says `FAILED`).
pub fn fold_parts(messages: Vec<Message>) -> Vec<Folded> {
    let mut fates = Fates::default();
    let mut bounced = std::collections::HashMap::new();
    for m in messages.iter().rev() {
        fates.observe(&m.from, &m.id, m.ts, &m.text);
        if let Some(ReadBounce::Message { id, reason }) = ReadBounce::of(&m.id, &m.text.unescaped()) {
            bounced.entry((fold_name(&m.from), id)).or_insert(reason);
        }
    }
    messages
        .into_iter()
        .filter(|m| ActionId::parse(&m.id).is_none() && ReadBounce::of(&m.id, &m.text.unescaped()).is_none())
        .map(|mut m| {
            let reason = bounced.remove(&(fold_name(&m.to.to_string()), m.id.clone()));
            if reason.is_some() || m.state == MsgState::Failed {
                m.refused = Some(reason.unwrap_or_else(|| MsgState::Failed.to_string()));
                m.state = MsgState::Received;
            }
            let live = fates.deleted(&m.from, &m.id).is_none();
            let edited = fates.edit(&m.from, &m.id).is_some() && live;
            let reactions = if live { fates.reactions_on(&m.id) } else { Vec::new() };
            m.text = fates.shown(&m.from, &m.id, &m.text);
            Folded { message: m, edited, reactions }
        })
        .collect()
}

/// Folds the actions of `messages` (oldest first) into their messages,
/// as the line console prints them: ` ✎` after an edited text, the
/// reactions on a line of their own.
pub fn fold(messages: Vec<Message>) -> Vec<Message> {
    fold_parts(messages)
        .into_iter()
        .map(|f| {
            let mut m = f.message;
            let mut plain = m.text.unescaped();
            if f.edited {
                plain.push_str(" ✎");
            }
            if !f.reactions.is_empty() {
                let counts: Vec<String> = f.reactions.iter().map(|(e, n)| format!("{e} {n}")).collect();
                plain.push('\n');
                plain.push_str(&counts.join("  "));
            }
            m.text = Text::from_plain(&plain).unwrap_or(m.text);
            m
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Chat, MsgState};

    fn m(from: &str, id: &str, text: &str) -> Message {
        let text = Text::from_plain(text).unwrap();
        Message {
            from: from.into(),
            to: Chat::Room("club".into()),
            id: id.into(),
            ts: 1,
            state: MsgState::Received,
            text,
            refused: None,
            p2p: false,
        }
    }

    #[test]
    fn actions_fold_into_their_messages() {
        let shown = fold(vec![
            m("ana", "m1", "helo"),
            m("ana", "_e1_m1", "✎ hello"),
            m("bob", "_r2_m1", "👍 to: hello"),
            m("carl", "_r3_m1", "👍 to: hello"),
            m("bob", "m2", "gone soon"),
            m("bob", "_d4_m2", "(message deleted)"),
        ]);
        let texts: Vec<String> = shown.iter().map(|m| m.text.unescaped()).collect();
        assert_eq!(texts, ["hello ✎\n👍 2", "(message deleted)"]);
    }

    #[test]
    fn an_admins_delete_folds_as_the_authors_own() {
        let parts = fold_parts(vec![
            m("bob", "m1", "spam"),
            m("carl", "_r1_m1", "👍 to: spam"),
            m("ana", "_x2_m1", "(message from bob deleted)"),
        ]);
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].message.text.unescaped(), "(message deleted)");
        assert!(parts[0].reactions.is_empty() && !parts[0].edited);
    }

    /// 1.3: `HISTORY`'s `FAILED` message and the bounce's line after it
    /// fold into one refused message, with the peer's reason.
    #[test]
    fn a_bounce_folds_into_the_message_it_names() {
        let direct = |from: &str, to: &str, id: &str, state, text: &str| Message {
            to: Chat::User(to.into()),
            state,
            ..m(from, id, text)
        };
        let parts = fold_parts(vec![
            direct("ana", "zed@lab2", "m1", MsgState::Failed, "anyone?"),
            direct(
                "zed@lab2",
                "ana",
                "_x17_failed",
                MsgState::Received,
                "⚠ not delivered: lab2 refused it: lab2 has no user zed (your message m1)",
            ),
            direct("ana", "zed@lab2", "m2", MsgState::Received, "still there?"),
        ]);
        let shown: Vec<(&str, Option<&str>)> =
            parts.iter().map(|p| (p.message.id.as_str(), p.message.refused.as_deref())).collect();
        assert_eq!(shown, [("m1", Some("lab2 refused it: lab2 has no user zed")), ("m2", None)]);
        assert_eq!(parts[0].message.state, MsgState::Received);
    }
}
