//! The `READ`s a client owes the server, paced: at most one per chat
//! every [`READ_EVERY`].
//!
//! `READ:<chat>:<id>` is cumulative (protocol §4): it marks every message
//! of the chat up to `id`. So a client that shows a busy room need not say
//! `READ` for each message it shows, only for the newest, now and then.
//! Said for each message, a class of 40 in one room sends 40 × 40 `READ`s
//! when everyone says hello, and spends the budget its shared address has
//! (`serve --address-rate`) on them. Here, the first message read in a
//! quiet chat is said at once (the sender sees `✓✓ read` at once), and
//! what is read after it within [`READ_EVERY`] is said once, at the end of
//! that interval, by its newest message.
//!
//! The application marks messages read ([`Reads::mark`], from
//! `Client::read`); the sender thread, which owns the send connection,
//! takes the `READ`s that are due ([`Reads::take_due`]), and before a
//! message goes into a chat the `READ` owed there, paced or not
//! ([`Reads::take_for`]: the answer must not reach its reader before the
//! tick that says the question was read), and puts back
//! those that could not be said ([`Reads::put_back`]): offline, or refused
//! for the rate (then it waits as long as the server says, [`Reads::hold`]).
//! Nothing grows without bound: one waiting `READ` per chat, and the
//! times of the ones sent in the last interval.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::protocol::Chat;
use crate::protocol::names::fold;

/// A chat gets at most one `READ` in this interval.
pub const READ_EVERY: Duration = Duration::from_secs(2);

/// One `READ` to say: the chat, and its newest message read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Due {
    pub chat: Chat,
    pub id: String,
}

/// The `READ`s waiting, and when each chat had its last one.
#[derive(Default)]
pub struct Reads {
    /// By folded chat: the newest message read there and not yet said.
    waiting: HashMap<String, Due>,
    /// By folded chat: when its last `READ` left (those of the last
    /// [`READ_EVERY`] only).
    said: HashMap<String, Instant>,
    /// Refused for the rate: nothing leaves before then.
    held_until: Option<Instant>,
}

impl Reads {
    /// `id` of `chat` was read (and so everything before it there).
    pub fn mark(&mut self, chat: Chat, id: &str) {
        let due = Due { chat, id: id.to_string() };
        self.waiting.insert(fold(&due.chat.to_string()), due);
    }

    /// When the next `READ` is due (`None`: nothing waits).
    pub fn next_at(&self) -> Option<Instant> {
        let earliest = self.waiting.keys().map(|key| self.free_at(key)).min()?;
        Some(match (earliest, self.held_until) {
            (Some(at), Some(held)) => at.max(held),
            (Some(at), None) => at,
            (None, Some(held)) => held,
            // Nothing said lately in any waiting chat: due now.
            (None, None) => return Some(Instant::now()),
        })
    }

    /// When `key` may have its next `READ`; `None`: at once.
    fn free_at(&self, key: &str) -> Option<Instant> {
        self.said.get(key).map(|at| *at + READ_EVERY)
    }

    /// The `READ`s due at `now`, counted as said from now on.
    pub fn take_due(&mut self, now: Instant) -> Vec<Due> {
        if self.held_until.is_some_and(|held| now < held) {
            return Vec::new();
        }
        self.held_until = None;
        self.said.retain(|_, at| now < *at + READ_EVERY);
        let due: Vec<String> =
            self.waiting.keys().filter(|key| !self.said.contains_key(*key)).cloned().collect();
        due.into_iter()
            .filter_map(|key| {
                let read = self.waiting.remove(&key)?;
                self.said.insert(key, now);
                Some(read)
            })
            .collect()
    }

    /// The `READ`s waiting in `chats`, due or not, counted as said from
    /// `now`: a message is about to go into those chats, and whoever
    /// answers has read what they answer, so its `READ` goes first.
    pub fn take_for<'a>(&mut self, chats: impl IntoIterator<Item = &'a Chat>, now: Instant) -> Vec<Due> {
        let mut due = Vec::new();
        for chat in chats {
            let key = fold(&chat.to_string());
            if let Some(read) = self.waiting.remove(&key) {
                self.said.insert(key, now);
                due.push(read);
            }
        }
        due
    }

    /// Every `READ` waiting, due or not: the client is closing, and says
    /// them once.
    pub fn take_all(&mut self) -> Vec<Due> {
        self.waiting.drain().map(|(_, read)| read).collect()
    }

    /// A `READ` taken and not said: it waits again, unless a newer
    /// message of its chat was read meanwhile.
    pub fn put_back(&mut self, read: Due) {
        self.waiting.entry(fold(&read.chat.to_string())).or_insert(read);
    }

    /// The server refused for the rate: nothing before `until`.
    pub fn hold(&mut self, until: Instant) {
        self.held_until = Some(self.held_until.map_or(until, |held| held.max(until)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(name: &str) -> Chat {
        Chat::Room(name.into())
    }

    fn ids(due: &[Due]) -> Vec<&str> {
        due.iter().map(|d| d.id.as_str()).collect()
    }

    #[test]
    fn the_first_read_leaves_at_once_and_a_burst_after_it_once_by_its_newest() {
        let mut reads = Reads::default();
        let start = Instant::now();
        reads.mark(room("class"), "m1");
        assert!(reads.next_at().unwrap() <= Instant::now());
        assert_eq!(ids(&reads.take_due(start)), ["m1"]);
        // 40 more within the interval: nothing now, one READ at its end.
        for n in 2..=41 {
            reads.mark(room("CLASS"), &format!("m{n}"));
        }
        assert!(reads.take_due(start + READ_EVERY / 2).is_empty());
        assert_eq!(reads.next_at(), Some(start + READ_EVERY));
        assert_eq!(ids(&reads.take_due(start + READ_EVERY)), ["m41"]);
        assert_eq!(reads.next_at(), None, "nothing waits");
    }

    #[test]
    fn chats_are_paced_apart() {
        let mut reads = Reads::default();
        let start = Instant::now();
        reads.mark(room("a"), "a1");
        assert_eq!(reads.take_due(start).len(), 1);
        reads.mark(room("a"), "a2");
        reads.mark(Chat::User("bob".into()), "b1");
        assert_eq!(ids(&reads.take_due(start)), ["b1"], "bob's chat said nothing lately");
        assert_eq!(ids(&reads.take_due(start + READ_EVERY)), ["a2"]);
    }

    #[test]
    fn a_message_about_to_go_into_a_chat_takes_its_read_first_paced_or_not() {
        let mut reads = Reads::default();
        let start = Instant::now();
        reads.mark(room("a"), "a1");
        assert_eq!(reads.take_due(start).len(), 1);
        reads.mark(room("a"), "a2");
        reads.mark(Chat::User("bob".into()), "b1");
        let answered = [room("A")];
        assert_eq!(ids(&reads.take_for(&answered, start)), ["a2"], "within the pace, and by the folded name");
        assert!(reads.take_for(&answered, start).is_empty(), "said once");
        assert_eq!(ids(&reads.take_due(start)), ["b1"], "the other chat keeps its own pace");
    }

    #[test]
    fn a_read_put_back_waits_unless_a_newer_one_came_and_a_hold_is_kept() {
        let mut reads = Reads::default();
        let start = Instant::now();
        reads.mark(room("a"), "a1");
        let taken = reads.take_due(start);
        reads.put_back(taken[0].clone());
        reads.hold(start + Duration::from_millis(700));
        assert!(reads.take_due(start + Duration::from_millis(600)).is_empty(), "held");
        assert_eq!(reads.next_at(), Some(start + READ_EVERY), "and paced");
        assert_eq!(ids(&reads.take_due(start + READ_EVERY)), ["a1"]);
        // A newer read wins over one put back.
        reads.mark(room("a"), "a3");
        reads.put_back(Due { chat: room("a"), id: "a2".into() });
        assert_eq!(ids(&reads.take_due(start + 2 * READ_EVERY)), ["a3"]);
    }
}
