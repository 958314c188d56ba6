//! What screens read from the log: the chat list when the server cannot
//! be asked ([`History::summaries`]), the last messages of a conversation
//! ([`History::conversation`]) and the page above what a screen shows
//! ([`History::before`]). Messages in the window come from memory, their
//! texts read back when they are no longer there; what is older than the
//! window is read back from the file (`paging.rs`).

use std::collections::HashMap;

use super::{History, Message, chat_key, key};
use crate::protocol::{Chat, MsgState};

impl History {
    /// Every conversation in the log, the most recent first: its newest
    /// message and how many messages to `me` in it are not read yet
    /// (direct-chat messages never are, and are not counted). What the
    /// chat list shows when the server cannot be asked.
    pub fn summaries(&self, me: &str) -> Vec<(Chat, Message, u64)> {
        // Each chat's newest message by position first, its text read back
        // once at the end (a text is not cloned for every message).
        let mut chats: HashMap<String, (Chat, usize, u64)> = HashMap::new();
        for (i, m) in self.messages.iter().enumerate() {
            // An action (1.2) is neither unread nor a chat's preview.
            if crate::protocol::unread::is_action(&m.id) {
                continue;
            }
            let chat = m.chat(me);
            let unread = u64::from(!m.is_from(me) && !m.p2p && m.state < MsgState::Read);
            let entry = chats.entry(chat_key(&chat)).or_insert_with(|| (chat, i, 0));
            if m.ts >= self.messages[entry.1].ts {
                entry.1 = i;
            }
            entry.2 += unread;
        }
        let mut chats: Vec<_> =
            chats.into_values().map(|(chat, i, unread)| (chat, self.whole(i), unread)).collect();
        chats.sort_by_key(|c| std::cmp::Reverse(c.1.ts));
        chats
    }

    /// Up to `n` messages of a conversation logged before the message
    /// `(from, id)`, oldest first: the page above what a screen shows. A
    /// message the log never saw (the server's, from another device) is
    /// placed by its time instead.
    pub fn before(&self, me: &str, chat: &Chat, (from, id, ts): (&str, &str, u64), n: usize) -> Vec<Message> {
        let want = chat_key(chat);
        let logged = self.slot(from, id);
        let end = logged.unwrap_or(self.messages.len());
        let mut found: Vec<Message> = (0..end)
            .rev()
            .filter(|&i| {
                let m = &self.messages[i];
                chat_key(&m.chat(me)) == want && (logged.is_some() || m.ts < ts)
            })
            .take(n)
            .map(|i| self.whole(i))
            .collect();
        if found.len() < n {
            let at = if logged.is_some() { None } else { Some((key(from, id), ts)) };
            found.extend(self.older_on_disk(me, &want, at, n - found.len()));
        }
        found.reverse();
        found
    }

    /// The last `n` messages of a conversation, oldest first.
    pub fn conversation(&self, me: &str, chat: &Chat, n: usize) -> Vec<Message> {
        let want = chat_key(chat);
        let mut found: Vec<Message> = (0..self.messages.len())
            .rev()
            .filter(|&i| chat_key(&self.messages[i].chat(me)) == want)
            .take(n)
            .map(|i| self.whole(i))
            .collect();
        if found.len() < n {
            found.extend(self.older_on_disk(me, &want, None, n - found.len()));
        }
        found.reverse();
        found
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::msg;
    use super::*;

    #[test]
    fn summaries_show_each_chat_newest_first_with_its_unread_count() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = History::open(dir.path().join("history.csv")).unwrap();
        log.add(Message { ts: 10, ..msg("bob", "ana", "b1", MsgState::Delivered) }).unwrap();
        log.add(Message { ts: 20, ..msg("bob", "ana", "b2", MsgState::Delivered) }).unwrap();
        log.add(Message { ts: 30, ..msg("carl", "#general", "c1", MsgState::Received) }).unwrap();
        log.add(Message { ts: 40, ..msg("ana", "bob", "a1", MsgState::Sent) }).unwrap();
        log.add(Message { ts: 50, p2p: true, ..msg("dave", "ana", "d1", MsgState::Delivered) }).unwrap();
        log.read_up_to("ana", "bob", "b1", 60).unwrap();
        let got: Vec<(String, String, u64)> = log
            .summaries("ana")
            .into_iter()
            .map(|(chat, last, unread)| (chat.to_string(), last.id, unread))
            .collect();
        let expected = [("dave", "d1", 0), ("bob", "a1", 1), ("#general", "c1", 1)];
        assert_eq!(got, expected.map(|(c, id, n)| (c.to_string(), id.to_string(), n)));
    }

    #[test]
    fn a_conversation_holds_both_directions_and_only_that_chat() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = History::open(dir.path().join("history.csv")).unwrap();
        log.add(msg("ana", "bob", "a1", MsgState::Sent)).unwrap();
        log.add(msg("bob", "ana", "b1", MsgState::Delivered)).unwrap();
        log.add(msg("carl", "#general", "c1", MsgState::Received)).unwrap();
        log.add(msg("ana", "bob", "a2", MsgState::Sent)).unwrap();
        let ids = |chat: &str, n| -> Vec<String> {
            log.conversation("ana", &Chat::parse(chat).unwrap(), n).into_iter().map(|m| m.id).collect()
        };
        assert_eq!(ids("bob", 10), ["a1", "b1", "a2"]);
        assert_eq!(ids("BOB", 2), ["b1", "a2"]);
        assert_eq!(ids("#General", 10), ["c1"]);
        let before = |at: (&str, &str, u64), n| -> Vec<String> {
            log.before("ana", &Chat::parse("bob").unwrap(), at, n).into_iter().map(|m| m.id).collect()
        };
        assert_eq!(before(("ana", "a2", 1), 10), ["a1", "b1"]);
        assert_eq!(before(("ana", "a2", 1), 1), ["b1"]);
        assert_eq!(before(("ana", "a1", 1), 10), Vec::<String>::new());
        // Not in the log: by time (every message here is at ts 1).
        assert_eq!(before(("bob", "elsewhere", 2), 10), ["a1", "b1", "a2"]);
        assert_eq!(before(("bob", "elsewhere", 1), 10), Vec::<String>::new());
    }
}
