//! The numbers a console prints before the messages it shows
//! (`14:02 [3] ana: hi`), by which `/reply 3`, `/edit 3`, `/delete 3` and
//! `/react 3` (`actions.rs`) name a message: on the wire a message is named
//! by its sender and id, which a person never sees.

use std::collections::VecDeque;

use parking_lot::Mutex;

use crate::client::Message;
use crate::protocol::action::Action;

/// How many numbered messages are remembered: more than a screen shows.
const REMEMBERED: usize = 1000;

/// The messages shown with a number, the newest [`REMEMBERED`] of them.
#[derive(Default)]
pub struct Numbered {
    /// The number of the first message kept, and the messages.
    shown: Mutex<(usize, VecDeque<Message>)>,
}

impl Numbered {
    /// Gives `m` the next number (1, 2, …) and returns it; a message
    /// shown before (the same sender, chat and id: the chat listed again,
    /// `/history`) keeps the number it had, so that `[1]` stays `[1]`
    /// however often the chat is listed, and `/edit 1` names the same message.
    pub fn number(&self, m: &Message) -> usize {
        let mut shown = self.shown.lock();
        let (first, messages) = &mut *shown;
        if *first == 0 {
            *first = 1;
        }
        let same = |s: &Message| s.from == m.from && s.to == m.to && s.id == m.id;
        if let Some(i) = messages.iter().position(same) {
            messages[i] = m.clone(); // its state may have moved on
            return *first + i;
        }
        messages.push_back(m.clone());
        if messages.len() > REMEMBERED {
            messages.pop_front();
            *first += 1;
        }
        *first + messages.len() - 1
    }

    /// The message shown with number `n`.
    pub fn get(&self, n: usize) -> Option<Message> {
        let shown = self.shown.lock();
        let (first, messages) = &*shown;
        messages.get(n.checked_sub(*first)?).cloned()
    }
}

/// 1.2: the number on screen of the message an action `m` names (the
/// newest shown with that id: of its author for an edit or a delete, of
/// anyone for a reaction), for an action's line to end in ` → [3]`.
pub fn target_of(screen: &Numbered, m: &Message) -> Option<usize> {
    let (id, author) = match Action::of(&m.id, &m.text)? {
        Action::Edit { target, .. } | Action::Delete { target } => (target, Some(m.from.clone())),
        Action::Remove { target, author } => (target, Some(author)),
        Action::React { target, .. } => (target, None),
    };
    let shown = screen.shown.lock();
    let (first, messages) = &*shown;
    let at = messages.iter().rposition(|s| s.id == id && author.as_deref().is_none_or(|a| s.is_from(a)))?;
    Some(first + at)
}

/// The message's line with its number after its time: `14:02 [3] ana: hi`.
pub fn numbered(screen: &Numbered, line: &str, m: &Message) -> String {
    let n = screen.number(m);
    let timed = line.len() > 6 && line.as_bytes()[2] == b':' && line.as_bytes()[5] == b' ';
    match timed {
        true => format!("{}[{n}] {}", &line[..6], &line[6..]),
        false => format!("[{n}] {line}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_name_the_messages_shown() {
        let screen = Numbered::default();
        let m = |id: &str| Message {
            from: "ana".into(),
            to: crate::protocol::Chat::User("bob".into()),
            id: id.into(),
            ts: 1,
            state: crate::protocol::MsgState::Received,
            text: crate::protocol::Text::from_plain("hi").unwrap(),
            refused: None,
            p2p: false,
        };
        assert_eq!(screen.number(&m("a")), 1);
        assert_eq!(screen.number(&m("b")), 2);
        // Listed again: the same numbers, none spent.
        assert_eq!(screen.number(&m("a")), 1);
        assert_eq!(screen.number(&m("b")), 2);
        assert_eq!(screen.get(2).unwrap().id, "b");
        assert!(screen.get(3).is_none() && screen.get(0).is_none());
        let mut edit = m("_e1_b");
        edit.text = crate::protocol::Text::from_plain("✎ new").unwrap();
        assert_eq!(target_of(&screen, &edit), Some(2));
        edit.from = "bob".into();
        assert_eq!(target_of(&screen, &edit), None, "bob edits only his own");
    }
}
