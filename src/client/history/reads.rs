//! Reading a chat: `READ` is cumulative (protocol §5), so one mark moves
//! every earlier message of the same conversation and direction. The
//! same rule serves the three ways a read reaches the log: a peer's
//! `STATUS … READ` about my messages, me reading a chat here, and (1.2)
//! a `READMARK` from another of my devices.

use super::{History, chat_key};
use crate::error::Result;
use crate::protocol::{Chat, MsgState};

impl History {
    /// `READ` is cumulative (protocol §5): marks as read the message
    /// `(from, id)` and every earlier one of the same conversation going the
    /// same way. For a `STATUS … READ` from a peer, `from` is `me` (my
    /// messages to that peer); when `me` reads a chat, `from` is whoever wrote
    /// the newest message shown (every message to me there). Direct-chat
    /// messages are left alone: the server's read mark is about the
    /// messages it carried, and the peer protocol has no `READ`. Returns how
    /// many moved.
    pub fn read_up_to(&mut self, me: &str, from: &str, id: &str, ts: u64) -> Result<usize> {
        let Some(last) = self.slot(from, id) else { return Ok(0) };
        let (chat, mine) = (chat_key(&self.messages[last].chat(me)), self.messages[last].is_from(me));
        let unread: Vec<(String, String)> = self.messages[..=last]
            .iter()
            .filter(|m| {
                !m.p2p && m.is_from(me) == mine && chat_key(&m.chat(me)) == chat && m.state < MsgState::Read
            })
            .map(|m| (m.from.clone(), m.id.clone()))
            .collect();
        for (from, id) in &unread {
            self.advance(from, id, MsgState::Read, ts)?;
        }
        Ok(unread.len())
    }

    /// 1.2 (§31): a room's `STATUS … DELIVERED` of my message `id`
    /// covers my earlier messages of that room too (one is said for a
    /// burst): every one of them on the server (`RECEIVED`) is delivered.
    /// Returns how many moved.
    pub fn delivered_up_to(&mut self, me: &str, id: &str, ts: u64) -> Result<usize> {
        let Some(last) = self.slot(me, id) else { return Ok(0) };
        let chat = chat_key(&self.messages[last].chat(me));
        let moved: Vec<String> = self.messages[..=last]
            .iter()
            .filter(|m| {
                m.is_from(me) && !m.p2p && chat_key(&m.chat(me)) == chat && m.state == MsgState::Received
            })
            .map(|m| m.id.clone())
            .collect();
        for id in &moved {
            self.advance(me, id, MsgState::Delivered, ts)?;
        }
        Ok(moved.len())
    }

    /// A read made on another of my devices (1.2, `READMARK`): the
    /// messages to me in `chat` up to the message `id` (the newest one of
    /// that id there not from me) are read. Returns how many moved; none
    /// if the log does not have that message.
    pub fn read_mark(&mut self, me: &str, chat: &Chat, id: &str, ts: u64) -> Result<usize> {
        let want = chat_key(chat);
        let found = self
            .messages
            .iter()
            .rev()
            .find(|m| m.id == id && !m.is_from(me) && !m.p2p && chat_key(&m.chat(me)) == want);
        match found.map(|m| m.from.clone()) {
            Some(from) => self.read_up_to(me, &from, id, ts),
            None => Ok(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::msg;
    use super::*;

    #[test]
    fn a_read_mark_reads_the_chat_up_to_its_message_whoever_wrote_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = History::open(dir.path().join("history.csv")).unwrap();
        for m in [
            msg("bob", "ana", "b1", MsgState::Delivered),
            msg("carl", "#tea", "c1", MsgState::Received),
            msg("dave", "#tea", "d1", MsgState::Received),
            msg("carl", "#tea", "c2", MsgState::Received),
            msg("ana", "#tea", "a1", MsgState::Received),
        ] {
            log.add(m).unwrap();
        }
        let tea = Chat::Room("tea".into());
        assert_eq!(log.read_mark("ana", &tea, "d1", 9).unwrap(), 2, "c1 and d1");
        assert_eq!(log.get("carl", "c2").unwrap().state, MsgState::Received);
        assert_eq!(log.read_mark("ana", &tea, "nope", 9).unwrap(), 0);
        assert_eq!(log.read_mark("ana", &tea, "a1", 9).unwrap(), 0, "my own is not a mark");
        assert_eq!(log.read_mark("ana", &Chat::User("Bob".into()), "b1", 9).unwrap(), 1);
        let unread: Vec<u64> = log.summaries("ana").iter().map(|c| c.2).collect();
        assert_eq!(unread.iter().sum::<u64>(), 1, "c2 only: {unread:?}");
    }
}
