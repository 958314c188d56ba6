//! The local conversation log: every message this user sent or received,
//! with every change of its state, in `history.csv` in the user's data
//! directory.
//!
//! Why the client keeps its own log when the server has one: the receiver
//! may only `ACK` an event once it is stored on the client's side (the
//! server then forgets it), the wire is at-least-once (a `MSG` can come
//! twice after a reconnection, and `(from, id)` in this log is how the
//! second one is recognised), and `/chat` still shows something while the
//! server is unreachable.
//!
//! The file is append-only, one row per event:
//!
//! | kind | fields used | meaning |
//! |---|---|---|
//! | `msg` | `ts,from,to,id,state,text` | a message, with its first state (a second `msg` row with the same `from,id` is another message, which that pair names from then on: see [`History::add_received`]) |
//! | `p2p` | `ts,from,to,id,state,text` | the same, for a message of a direct chat (protocol §8), which the server never saw |
//! | `state` | `ts,from,id,state` | the message `(from, id)` moved to `state` |
//! | `refused` | `from,id,text` | the server refused it for good; `text` says why |
//! | `relayed` | `from,id` | a `p2p` message the peer never acknowledged, handed to the server instead |
//!
//! Memory holds a window: the place and state of the last [`WINDOW`]
//! messages (every lookup among them is a hash map access), and the texts
//! of the last [`TEXTS_IN_MEMORY`] of those; an older text is read back
//! from the file, by the position of its row, when a screen asks for it.
//! A start reads only the rows of that window, found from the end of the
//! file (`paging.rs`), and pages older than it are read back from the
//! file, going backwards, when someone scrolls that far. So a user with
//! 100,000 messages of 4 KB needs neither their whole size in RAM nor a
//! start that reads all 400 MB, however much someone sends them (figures
//! in BENCHMARKS.md, `examples/client_scale.rs`).
//!
//! What the window means: a duplicate is recognised among its messages
//! (a resent event is one the client had not acknowledged, so a recent
//! one, as the server's own resend window); the chat list without a
//! server, `READ` marks and direct-chat messages to resend come from it.
//!
//! ## Files
//!
//! | file | what it holds |
//! |---|---|
//! | `mod.rs` | the [`History`]: the window in memory, and what is written (a message, a step of its state, a refusal) |
//! | `message.rs` | one [`Message`] and how its state moves |
//! | `replay.rs` | a start: the rows of the window applied to memory |
//! | `paging.rs` | reading the file from its end: where the window starts, older pages |
//! | `views.rs` | what screens read: the chat list, a conversation, the page above |
//! | `reads.rs` | `READ` is cumulative: a peer's, mine, another device's (1.2) |
//! | `erase.rs` | 1.2: a deleted text leaves the file |

use std::collections::HashMap;
use std::path::PathBuf;

use super::csv_file::CsvFile;
use crate::error::Result;
use crate::protocol::names::fold;
use crate::protocol::{Chat, MsgState, Text};

mod erase;
mod message;
mod paging;
mod reads;
mod replay;
mod views;

pub use message::Message;
use message::set_state;
use replay::{Amendments, Loading};

pub(super) const HEADER: &str = "kind,ts,from,to,id,state,text";

/// How many of the newest messages keep their text in memory: more than
/// any screen shows at once and every page a `/history` asks for, so that
/// the file is read only when someone scrolls far back. At most 4 KB each:
/// 4 MiB.
pub const TEXTS_IN_MEMORY: usize = 1_000;

/// How many of the newest messages a start reads and memory keeps the
/// place and state of: ~400 bytes each (2 MiB), far more than a client
/// leaves unacknowledged (the server's `--inbox-max` is 10,000, acknowledged
/// in batches as they are stored). Between this and twice this while
/// running: the oldest half is let go at once.
pub const WINDOW: usize = 5_000;

/// What an older message's text is in memory: a stand-in, never shown
/// (every method that hands messages out reads the real one back).
fn on_disk() -> Text {
    Text::parse("…").expect("a valid text")
}

/// The key of a message: its sender (ignoring case) and its id.
pub(super) fn key(from: &str, id: &str) -> (String, String) {
    (fold(from), id.to_string())
}

/// A chat as a comparable key (`bob` and `Bob` are one conversation).
pub(crate) fn chat_key(chat: &Chat) -> String {
    fold(&chat.to_string())
}

/// The conversation log of one user.
pub struct History {
    file: CsvFile,
    /// The window: the last messages in the order they were first logged;
    /// the texts of all but the last [`TEXTS_IN_MEMORY`] are [`on_disk`].
    messages: Vec<Message>,
    /// Where each message's `msg` row starts in the file.
    rows_at: Vec<u64>,
    /// `(from, id)` → the message's number in the whole log (its
    /// [`History::position`]); `messages[n - first]`.
    index: HashMap<(String, String), usize>,
    /// The number of `messages[0]` in the whole log.
    first: usize,
    /// States that rows read at the start gave to messages older than the
    /// window: a page read back from the file shows them.
    older: HashMap<(String, String), Amendments>,
}

impl History {
    /// Opens (or creates) the log and loads its window: the rows from
    /// the [`WINDOW`]-th message from the end on (found by `paging.rs`
    /// without parsing what is before), each applied as it is read.
    pub fn open(path: PathBuf) -> Result<History> {
        let file = CsvFile::open(path, HEADER)?;
        let mut history = History {
            file,
            messages: Vec::new(),
            rows_at: Vec::new(),
            index: HashMap::new(),
            first: 0,
            older: HashMap::new(),
        };
        let (header_end, end) = (HEADER.len() as u64 + 1, history.file.len()?);
        let start = paging::tail_start(history.file.path(), header_end, end, WINDOW)
            .map_err(|e| crate::error::Error::io(history.file.path().display().to_string(), e))?;
        let History { file, messages, rows_at, index, first, older } = &mut history;
        let mut loading = Loading { messages, rows_at, index, first, older };
        file.rows_from(start, |row, at| loading.replay(row, at))?;
        // Every deletion in the window again (each skipped if done): a
        // crash in the middle of one still erases the text at the next start.
        for i in 0..history.messages.len() {
            history.erase_if_delete(i)?;
        }
        Ok(history)
    }

    fn insert(&mut self, message: Message, at: u64) {
        Loading {
            messages: &mut self.messages,
            rows_at: &mut self.rows_at,
            index: &mut self.index,
            first: &mut self.first,
            older: &mut self.older,
        }
        .insert(message, at);
    }

    /// Where `(from, id)` is in `messages`, if it is in the window.
    fn slot(&self, from: &str, id: &str) -> Option<usize> {
        self.index.get(&key(from, id)).map(|&n| n - self.first)
    }

    /// The message at position `i`, its text read back from the file if it
    /// is no longer in memory. A row that cannot be read back (the file
    /// changed under us) leaves the stand-in, and says so in the log.
    fn whole(&self, i: usize) -> Message {
        let mut m = self.messages[i].clone();
        if i + TEXTS_IN_MEMORY < self.messages.len() {
            let text = self.file.row_at(self.rows_at[i]).map_err(|e| e.to_string()).and_then(|row| {
                Text::parse(row.get(6).unwrap_or_default())
                    .map_err(|e| format!("{}: {e}", self.file.path().display()))
            });
            match text {
                Ok(text) => m.text = text,
                Err(e) => log::warn!("{e}"),
            }
        }
        m
    }

    /// The message `(from, id)` as kept in memory (its text may be the
    /// stand-in): for what needs its place or state only.
    fn meta(&self, from: &str, id: &str) -> Option<&Message> {
        self.slot(from, id).map(|i| &self.messages[i])
    }

    fn get_mut(&mut self, from: &str, id: &str) -> Option<&mut Message> {
        let i = self.slot(from, id)?;
        Some(&mut self.messages[i])
    }

    /// Where the message `(from, id)` is in the log: the order this client
    /// saw messages come and go, which breaks ties between equal times.
    pub fn position(&self, from: &str, id: &str) -> Option<usize> {
        self.index.get(&key(from, id)).copied()
    }

    /// The message `id` written by `from`, if it is in the window.
    pub fn get(&self, from: &str, id: &str) -> Option<Message> {
        self.slot(from, id).map(|i| self.whole(i))
    }

    /// Logs a new message. Returns `false` (and writes nothing) if
    /// `(from, id)` is already in the log: the duplicate of an at-least-once
    /// delivery. Call [`History::sync`] before promising anything.
    pub fn add(&mut self, m: Message) -> Result<bool> {
        if self.meta(&m.from, &m.id).is_some() {
            return Ok(false);
        }
        self.append(m)?;
        Ok(true)
    }

    /// Logs a message the server pushed (a `MSG` event) to `me`. Returns
    /// `false` (and writes nothing) for a duplicate: a `(from, id)` already
    /// logged with the same `<ts>`, since a server resends a message with
    /// the time it first gave it.
    ///
    /// The same `(from, id)` with another `<ts>` is another message: a
    /// server that is not the one this log was kept with (a version-1
    /// server cannot say who it is, see `server_id.rs`) gave ana's new `m1`
    /// the id of an `m1` logged here before. It is logged too, and shown;
    /// from then on `(from, id)` names the newer one (ticks, `READ`), the
    /// older staying in the conversation. Not for a message logged as a
    /// direct-chat one (relayed through the server when the chat ended, it
    /// comes back with the server's time) nor for one of `me`'s own (its
    /// local time may not yet be the server's): those keep the plain
    /// `(from, id)` rule.
    pub fn add_received(&mut self, m: Message, me: &str) -> Result<bool> {
        let Some(logged) = self.meta(&m.from, &m.id) else { return self.add(m) };
        let resent = logged.p2p
            || m.is_from(me)
            || self.messages.iter().any(|o| o.ts == m.ts && key(&o.from, &o.id) == key(&m.from, &m.id));
        if resent {
            return Ok(false);
        }
        log::warn!(
            "{}",
            crate::i18n::tr!(crate::i18n::client::Msg::SameIdOtherTime, from = m.from, id = m.id, ts = m.ts)
        );
        self.append(m)?;
        Ok(true)
    }

    /// Writes a `msg` (or `p2p`) row and indexes it: `(from, id)` names it
    /// from now on.
    fn append(&mut self, m: Message) -> Result<()> {
        let (ts, to, state) = (m.ts.to_string(), m.to.to_string(), m.state.as_str());
        let kind = if m.p2p { "p2p" } else { "msg" };
        let at = self.file.len()?;
        self.file.append(&[kind, &ts, &m.from, &to, &m.id, state, m.text.as_escaped()])?;
        self.insert(m, at);
        // 1.2: a deletion's row is written first (it is synced with the erasure).
        self.erase_if_delete(self.messages.len() - 1)
    }

    /// Moves a message forward to `state`, which it reached at `ts`.
    /// Returns `false` if the message is unknown or already there or
    /// further (states never move back). For `RECEIVED`, `ts` is the
    /// server's timestamp, which becomes the message's time; the time of any
    /// other change is kept in the file, not in the message.
    pub fn advance(&mut self, from: &str, id: &str, state: MsgState, ts: u64) -> Result<bool> {
        match self.meta(from, id) {
            Some(m) if m.state < state => {}
            _ => return Ok(false),
        }
        self.file.append(&["state", &ts.to_string(), from, "", id, state.as_str(), ""])?;
        set_state(self.get_mut(from, id).expect("checked above"), state, ts);
        Ok(true)
    }

    /// Records that the server refused a message for good.
    pub fn refuse(&mut self, from: &str, id: &str, reason: &str) -> Result<()> {
        let Some(m) = self.get_mut(from, id) else { return Ok(()) };
        m.refused = Some(reason.to_string());
        self.file.append(&["refused", "0", from, "", id, "", reason])
    }

    /// A direct-chat message of ours goes through the server after all
    /// (the chat ended before the peer acknowledged it): from now on it is
    /// an ordinary message, whose ticks the server's events move on.
    pub fn relay(&mut self, from: &str, id: &str) -> Result<()> {
        match self.get_mut(from, id) {
            Some(m) if m.p2p => m.p2p = false,
            _ => return Ok(()),
        }
        self.file.append(&["relayed", "0", from, "", id, "", ""])
    }

    /// `me`'s direct-chat messages that the peer never acknowledged: after
    /// a crash in the middle of a chat, what must still go through the server.
    pub fn unacked_direct(&self, me: &str) -> Vec<Message> {
        let unacked = |m: &Message| m.p2p && m.is_from(me) && m.state == MsgState::Sent;
        (0..self.messages.len()).filter(|&i| unacked(&self.messages[i])).map(|i| self.whole(i)).collect()
    }

    /// Forces everything logged so far to the disk.
    pub fn sync(&mut self) -> Result<()> {
        self.file.sync()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A message of `from` to `to` (a user or `#room`) at time 1, its text
    /// of two lines: the tests' usual one.
    pub(super) fn msg(from: &str, to: &str, id: &str, state: MsgState) -> Message {
        Message {
            from: from.into(),
            to: Chat::parse(to).unwrap(),
            id: id.into(),
            ts: 1,
            state,
            text: Text::from_plain(&format!("text {id}\nsecond line")).unwrap(),
            refused: None,
            p2p: false,
        }
    }

    #[test]
    fn duplicates_are_recognised_ignoring_the_case_of_the_sender() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = History::open(dir.path().join("history.csv")).unwrap();
        assert!(log.add(msg("bob", "ana", "m1", MsgState::Delivered)).unwrap());
        assert!(!log.add(msg("Bob", "ana", "m1", MsgState::Delivered)).unwrap());
        assert!(log.add(msg("ana", "bob", "m1", MsgState::Sent)).unwrap(), "ids are unique per sender only");
    }

    #[test]
    fn a_known_id_with_another_time_is_another_message_and_a_resend_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.csv");
        let mut log = History::open(path.clone()).unwrap();
        let at = |ts, text: &str| Message {
            ts,
            text: Text::parse(text).unwrap(),
            ..msg("ana", "bob", "m1", MsgState::Delivered)
        };
        assert!(log.add_received(at(100, "old server"), "bob").unwrap());
        assert!(!log.add_received(at(100, "old server"), "bob").unwrap(), "a resend keeps its time");
        assert!(log.add_received(at(200, "new server"), "bob").unwrap(), "another time: another message");
        assert!(!log.add_received(at(200, "new server"), "bob").unwrap());
        assert!(!log.add_received(at(100, "old server"), "bob").unwrap(), "the older one's resend too");
        // (from, id) names the newer one from now on, before and after a reopen.
        log.advance("ana", "m1", MsgState::Read, 300).unwrap();
        log.sync().unwrap();
        for log in [log, History::open(path).unwrap()] {
            let texts: Vec<(String, MsgState)> = log
                .conversation("bob", &Chat::parse("ana").unwrap(), 10)
                .into_iter()
                .map(|m| (m.text.unescaped(), m.state))
                .collect();
            let expected = [("old server", MsgState::Delivered), ("new server", MsgState::Read)];
            assert_eq!(texts, expected.map(|(t, s)| (t.to_string(), s)));
        }
        // Not for a direct-chat message relayed by the server, nor for one's own.
        let dir = tempfile::tempdir().unwrap();
        let mut log = History::open(dir.path().join("history.csv")).unwrap();
        log.add(Message { p2p: true, ..msg("ana", "bob", "d1", MsgState::Delivered) }).unwrap();
        assert!(
            !log.add_received(Message { ts: 9, ..msg("ana", "bob", "d1", MsgState::Delivered) }, "bob")
                .unwrap()
        );
        log.add(msg("bob", "bob", "n1", MsgState::Sent)).unwrap();
        assert!(
            !log.add_received(Message { ts: 9, ..msg("bob", "bob", "n1", MsgState::Delivered) }, "Bob")
                .unwrap()
        );
    }

    #[test]
    fn states_and_refusals_survive_a_reopen_and_only_move_forward() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.csv");
        let mut log = History::open(path.clone()).unwrap();
        for id in ["m1", "m2", "m3"] {
            log.add(msg("ana", "bob", id, MsgState::Sent)).unwrap();
        }
        log.add(msg("ana", "carl", "m4", MsgState::Sent)).unwrap();
        assert!(log.advance("ana", "m1", MsgState::Delivered, 5).unwrap());
        assert!(!log.advance("ana", "m1", MsgState::Received, 6).unwrap(), "never backwards");
        log.add(msg("bob", "ana", "b1", MsgState::Delivered)).unwrap();
        // READ up to m2 covers m1 and m2, not m3, not the message to carl,
        // and not bob's message to ana (the other direction).
        assert_eq!(log.read_up_to("Ana", "ana", "m2", 7).unwrap(), 2);
        assert_eq!(log.read_up_to("ana", "bob", "b1", 8).unwrap(), 1);
        log.refuse("ana", "m4", "no such user").unwrap();
        log.sync().unwrap();
        drop(log);

        let log = History::open(path).unwrap();
        let states: Vec<MsgState> =
            ["m1", "m2", "m3"].iter().map(|id| log.get("ana", id).unwrap().state).collect();
        assert_eq!(states, [MsgState::Read, MsgState::Read, MsgState::Sent]);
        assert_eq!(log.get("bob", "b1").unwrap().state, MsgState::Read);
        assert_eq!(log.get("ana", "m4").unwrap().refused.as_deref(), Some("no such user"));
        assert_eq!(log.get("ana", "m1").unwrap().text.unescaped(), "text m1\nsecond line");
    }

    #[test]
    fn only_the_server_acceptance_sets_a_message_time_and_it_survives_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.csv");
        let mut log = History::open(path.clone()).unwrap();
        log.add(Message { ts: 100, ..msg("ana", "bob", "m1", MsgState::Sent) }).unwrap();
        log.add(Message { ts: 150, p2p: true, ..msg("ana", "bob", "d1", MsgState::Sent) }).unwrap();
        log.advance("ana", "m1", MsgState::Received, 120).unwrap(); // the server's clock
        log.advance("ana", "m1", MsgState::Delivered, 500).unwrap();
        log.advance("ana", "d1", MsgState::Delivered, 600).unwrap(); // the peer's ACK
        assert_eq!(log.read_up_to("ana", "ana", "m1", 700).unwrap(), 1, "not the direct message");
        log.sync().unwrap();
        let times = |log: &History| -> Vec<(u64, MsgState)> {
            ["m1", "d1"].iter().map(|id| log.get("ana", id).map(|m| (m.ts, m.state)).unwrap()).collect()
        };
        let expected = [(120, MsgState::Read), (150, MsgState::Delivered)];
        assert_eq!(times(&log), expected);
        drop(log);
        assert_eq!(times(&History::open(path).unwrap()), expected);
    }

    #[test]
    fn direct_messages_keep_their_mark_until_relayed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.csv");
        let mut log = History::open(path.clone()).unwrap();
        for id in ["d1", "d2", "d3"] {
            log.add(Message { p2p: true, ..msg("ana", "bob", id, MsgState::Sent) }).unwrap();
        }
        log.add(Message { p2p: true, ..msg("bob", "ana", "b1", MsgState::Delivered) }).unwrap();
        log.advance("ana", "d1", MsgState::Delivered, 5).unwrap();
        // d2 fell back to the server; d3 was never acknowledged (a crash).
        log.relay("ana", "d2").unwrap();
        log.sync().unwrap();
        drop(log);

        let log = History::open(path).unwrap();
        let marks: Vec<bool> = ["d1", "d2", "d3"].iter().map(|id| log.get("ana", id).unwrap().p2p).collect();
        assert_eq!(marks, [true, false, true]);
        assert!(log.get("bob", "b1").unwrap().p2p);
        let unacked: Vec<String> = log.unacked_direct("Ana").into_iter().map(|m| m.id).collect();
        assert_eq!(unacked, ["d3"]);
    }
}
