//! Message actions (protocol 1.2) as a reader sees them: a conversation's
//! messages with the actions folded into the messages they name. An
//! edited message shows its newest text, marked ` ✎`; a deleted one, its
//! edits and the reactions to it read `(message deleted)`; the reactions
//! to a message show under it with their counts (`👍 2  ❤️ 1`); and the
//! actions' own messages (which a version-1 client shows as they are)
//! are left out. The same reading for a conversation from the server
//! (`HISTORY`) and from the local log, in both consoles.

use super::Message;
use crate::protocol::Text;
use crate::protocol::action::ActionId;
use crate::protocol::fates::Fates;

/// Folds the actions of `messages` (oldest first) into their messages.
pub fn fold(messages: Vec<Message>) -> Vec<Message> {
    let mut fates = Fates::default();
    for m in messages.iter().rev() {
        fates.observe(&m.from, &m.id, m.ts, &m.text);
    }
    messages
        .into_iter()
        .filter(|m| ActionId::parse(&m.id).is_none())
        .map(|mut m| {
            let edited = fates.edit(&m.from, &m.id).is_some() && fates.deleted(&m.from, &m.id).is_none();
            let mut plain = fates.shown(&m.from, &m.id, &m.text).unescaped();
            if edited {
                plain.push_str(" ✎");
            }
            let reactions = fates.reactions_on(&m.id);
            if !reactions.is_empty() && fates.deleted(&m.from, &m.id).is_none() {
                let counts: Vec<String> = reactions.iter().map(|(e, n)| format!("{e} {n}")).collect();
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
    use crate::protocol::{Chat, State};

    fn m(from: &str, id: &str, text: &str) -> Message {
        let text = Text::from_plain(text).unwrap();
        Message {
            from: from.into(),
            to: Chat::Room("club".into()),
            id: id.into(),
            ts: 1,
            state: State::Received,
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
}
