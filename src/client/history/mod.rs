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
//! file, going backwards, when someone scrolls that far. A user with
//! 100,000 messages of 4 KB once needed their whole size in RAM, and then
//! a start that read all 400 MB (issue 25, attack 7; figures in
//! BENCHMARKS.md, `examples/client_scale.rs`).
//!
//! What the window means: a duplicate is recognised among its messages
//! (a resent event is one the client had not acknowledged, so a recent
//! one, as the server's own resend window); the chat list without a
//! server, `READ` marks and direct-chat messages to resend come from it.

use std::collections::HashMap;
use std::path::PathBuf;

use super::csv_file::CsvFile;

/// Deleted texts leave `history.csv` (protocol 1.2): `erase.rs`.
#[path = "erase.rs"]
mod erase;
/// The window at a start and the pages before it, read from the file's
/// tail: `paging.rs`.
#[path = "paging.rs"]
mod paging;
use crate::error::Result;
use crate::protocol::names::fold;
use crate::protocol::{Chat, State, Text};

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

/// One message, in either direction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// Who wrote it.
    pub from: String,
    /// A user (direct message) or a `#room`.
    pub to: Chat,
    /// The sender's id for it; `(from, id)` names a message.
    pub id: String,
    /// When it was written, in Unix milliseconds: the server's timestamp
    /// once the server has it (`RECEIVED`), the local clock while it is only
    /// `SENT` and for a direct-chat message (the time it left, or arrived
    /// here). Later changes of state never move it: it is the message's time.
    pub ts: u64,
    /// How far it got (for a message you received: `DELIVERED` once stored
    /// here, `READ` once shown to you; room messages stay `RECEIVED`).
    pub state: State,
    pub text: Text,
    /// Why the server refused it (unknown user, not a member): it will
    /// never be delivered. `None` for every normal message.
    pub refused: Option<String>,
    /// It went over a direct connection between the two clients (shown
    /// `[p2p]`), not through the server. Such a message has no `RECEIVED`
    /// (no server stored it) and no `READ` (the peer protocol has none).
    pub p2p: bool,
}

impl Message {
    /// The conversation this message belongs to, as seen by `me`: the room,
    /// or the other user of a direct message.
    pub fn chat(&self, me: &str) -> Chat {
        match &self.to {
            Chat::User(to) if fold(&self.from) == fold(me) => Chat::User(to.clone()),
            Chat::User(_) => Chat::User(self.from.clone()),
            room => room.clone(),
        }
    }

    /// True if `me` wrote it.
    pub fn is_from(&self, me: &str) -> bool {
        fold(&self.from) == fold(me)
    }
}

/// A message reached `state` at `ts` (already checked to be a step forward
/// when it is new; a stored row is applied as it is, the furthest wins).
fn set_state(m: &mut Message, state: State, ts: u64) {
    // The server's timestamp is the message's own time from `RECEIVED` on.
    if state == State::Received && m.state < State::Received {
        m.ts = ts;
    }
    m.state = m.state.max(state);
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
    pub(super) file: CsvFile,
    /// The window: the last messages in the order they were first logged;
    /// the texts of all but the last [`TEXTS_IN_MEMORY`] are [`on_disk`].
    messages: Vec<Message>,
    /// Where each message's `msg` row starts in the file.
    pub(super) rows_at: Vec<u64>,
    /// `(from, id)` → the message's number in the whole log (its
    /// [`History::position`]); `messages[n - first]`.
    index: HashMap<(String, String), usize>,
    /// The number of `messages[0]` in the whole log.
    first: usize,
    /// States that rows read at the start gave to messages older than the
    /// window: a page read back from the file shows them.
    pub(super) older: HashMap<(String, String), Later>,
}

/// What the `state` rows after a message's own row say of it.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Later {
    state: Option<State>,
    /// The server's time, from its `RECEIVED`.
    received_ts: Option<u64>,
}

impl Later {
    pub(super) fn add(&mut self, state: State, ts: u64) {
        self.state = self.state.max(Some(state));
        if state == State::Received {
            self.received_ts = Some(ts);
        }
    }

    /// Applies them to a message read back from its row.
    pub(super) fn apply(&self, m: &mut Message) {
        if let Some(ts) = self.received_ts {
            set_state(m, State::Received, ts);
        }
        if let Some(state) = self.state {
            m.state = m.state.max(state);
        }
    }
}

/// The log's messages while `history.csv` is read: what [`History::open`]
/// fills, row by row, while the file itself is borrowed for reading.
struct Loading<'a> {
    messages: &'a mut Vec<Message>,
    rows_at: &'a mut Vec<u64>,
    index: &'a mut HashMap<(String, String), usize>,
    first: &'a mut usize,
    older: &'a mut HashMap<(String, String), Later>,
}

impl Loading<'_> {
    /// Adds a message whose row starts at byte `at`; the text that leaves
    /// the window of [`TEXTS_IN_MEMORY`] goes back to the disk, and past
    /// twice [`WINDOW`] the oldest messages leave memory.
    fn insert(&mut self, message: Message, at: u64) {
        self.index.insert(key(&message.from, &message.id), *self.first + self.messages.len());
        self.messages.push(message);
        self.rows_at.push(at);
        if let Some(old) = self.messages.len().checked_sub(TEXTS_IN_MEMORY + 1) {
            self.messages[old].text = on_disk();
        }
        if self.messages.len() >= 2 * WINDOW {
            let first = *self.first;
            for (i, m) in self.messages.drain(..WINDOW).enumerate() {
                let k = key(&m.from, &m.id);
                if self.index.get(&k) == Some(&(first + i)) {
                    self.index.remove(&k);
                }
            }
            self.rows_at.drain(..WINDOW);
            *self.first += WINDOW;
        }
    }

    fn get_mut(&mut self, from: &str, id: &str) -> Option<&mut Message> {
        let n = *self.index.get(&key(from, id))?;
        Some(&mut self.messages[n - *self.first])
    }

    /// Applies one stored row to the in-memory log.
    fn replay(&mut self, row: &csv::StringRecord, at: u64) -> std::result::Result<(), String> {
        let field = |i: usize| row.get(i).ok_or_else(|| format!("expected 7 fields, got {}", row.len()));
        let ts: u64 = field(1)?.parse().map_err(|_| format!("bad timestamp {:?}", &row[1]))?;
        let (from, id) = (field(2)?, field(4)?);
        match field(0)? {
            "msg" | "p2p" => {
                let message = paging::message_of(row)?;
                self.insert(message, at);
            }
            "state" => {
                let state: State = field(5)?.parse()?;
                match self.get_mut(from, id) {
                    Some(m) => set_state(m, state, ts),
                    None => self.older.entry(key(from, id)).or_default().add(state, ts),
                }
            }
            "refused" => {
                if let Some(m) = self.get_mut(from, id) {
                    m.refused = Some(field(6)?.to_string());
                }
            }
            "relayed" => {
                if let Some(m) = self.get_mut(from, id) {
                    m.p2p = false;
                }
            }
            other => return Err(format!("unknown row kind {other:?}")),
        }
        Ok(())
    }
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
    pub fn advance(&mut self, from: &str, id: &str, state: State, ts: u64) -> Result<bool> {
        match self.meta(from, id) {
            Some(m) if m.state < state => {}
            _ => return Ok(false),
        }
        self.file.append(&["state", &ts.to_string(), from, "", id, state.as_str(), ""])?;
        set_state(self.get_mut(from, id).expect("checked above"), state, ts);
        Ok(true)
    }

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
                !m.p2p && m.is_from(me) == mine && chat_key(&m.chat(me)) == chat && m.state < State::Read
            })
            .map(|m| (m.from.clone(), m.id.clone()))
            .collect();
        for (from, id) in &unread {
            self.advance(from, id, State::Read, ts)?;
        }
        Ok(unread.len())
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
        let unacked = |m: &Message| m.p2p && m.is_from(me) && m.state == State::Sent;
        (0..self.messages.len()).filter(|&i| unacked(&self.messages[i])).map(|i| self.whole(i)).collect()
    }

    /// Forces everything logged so far to the disk.
    pub fn sync(&mut self) -> Result<()> {
        self.file.sync()
    }

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
            let unread = u64::from(!m.is_from(me) && !m.p2p && m.state < State::Read);
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
    use super::*;

    fn msg(from: &str, to: &str, id: &str, state: State) -> Message {
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
    fn only_the_newest_texts_stay_in_memory_and_older_ones_are_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.csv");
        let n = TEXTS_IN_MEMORY + 50;
        let text = |i: usize| format!("text {i}, with \"quotes\", commas\nand a second line");
        let mut log = History::open(path.clone()).unwrap();
        for i in 0..n {
            let (from, to) = if i % 3 == 0 { ("bob", "ana") } else { ("ana", "bob") };
            let m = Message {
                text: Text::from_plain(&text(i)).unwrap(),
                ..msg(from, to, &format!("m{i}"), State::Sent)
            };
            assert!(log.add(m).unwrap());
        }
        log.advance("ana", "m1", State::Read, 5).unwrap();
        log.sync().unwrap();
        for log in [log, History::open(path).unwrap()] {
            // In memory: the stand-in for the oldest, the text for the newest.
            assert_eq!(log.messages[0].text, on_disk());
            assert_eq!(log.messages[n - 1].text.unescaped(), text(n - 1));
            // Handed out: always the real text.
            assert_eq!(log.get("bob", "m0").unwrap().text.unescaped(), text(0));
            assert_eq!(log.get("ana", "m1").unwrap().state, State::Read);
            let all = log.conversation("ana", &Chat::User("bob".into()), n);
            assert_eq!(all.len(), n);
            assert!(all.iter().enumerate().all(|(i, m)| m.text.unescaped() == text(i)));
            let page = log.before("ana", &Chat::User("bob".into()), ("ana", "m5", 1), 3);
            assert_eq!(
                page.iter().map(|m| m.text.unescaped()).collect::<Vec<_>>(),
                [text(2), text(3), text(4)]
            );
        }
    }

    #[test]
    fn a_start_reads_the_window_and_older_pages_come_from_the_file_with_their_states() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.csv");
        let n = 3 * WINDOW + 10;
        let mut log = History::open(path.clone()).unwrap();
        let chat_of = |i: usize| if i.is_multiple_of(5) { "#general" } else { "bob" };
        for i in 0..n {
            let m = Message { ts: i as u64, ..msg("ana", chat_of(i), &format!("m{i}"), State::Sent) };
            assert!(log.add(m).unwrap());
            match i {
                1 => assert!(log.advance("ana", "m1", State::Received, 7).unwrap()),
                j if j == 2 * WINDOW + 500 => {
                    // Still in memory now, older than the window at the next start.
                    let old = format!("m{}", 2 * WINDOW + 1);
                    assert!(log.advance("ana", &old, State::Read, 9).unwrap());
                }
                _ => {}
            }
            assert!(log.messages.len() < 2 * WINDOW, "a bounded window while running");
        }
        log.sync().unwrap();
        let log = History::open(path).unwrap();
        assert_eq!(log.messages.len(), WINDOW, "a start reads the window only");
        assert!(log.get("ana", "m1").is_none(), "older ones are on disk");
        let bob = Chat::User("bob".into());
        let all = log.conversation("ana", &bob, n);
        let want: Vec<String> = (0..n).filter(|&i| chat_of(i) == "bob").map(|i| format!("m{i}")).collect();
        assert_eq!(all.iter().map(|m| m.id.clone()).collect::<Vec<_>>(), want, "every one, in order");
        assert_eq!(all[0].text.unescaped(), "text m1\nsecond line");
        assert_eq!((all[0].state, all[0].ts), (State::Received, 7), "a later row's state and time");
        let page = log.before("ana", &bob, ("ana", &format!("m{}", 2 * WINDOW + 3), 0), 2);
        let ids: Vec<(String, State)> = page.into_iter().map(|m| (m.id, m.state)).collect();
        let (a, b) = (format!("m{}", 2 * WINDOW + 1), format!("m{}", 2 * WINDOW + 2));
        assert_eq!(ids, [(a, State::Read), (b, State::Sent)], "a state row read at the start");
        let room = log.conversation("ana", &Chat::parse("#general").unwrap(), 3);
        let ids: Vec<String> = room.into_iter().map(|m| m.id).collect();
        let last = |k: usize| format!("m{}", n - 5 - 5 * k);
        assert_eq!(ids, [last(2), last(1), last(0)]);
    }

    #[test]
    fn duplicates_are_recognised_ignoring_the_case_of_the_sender() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = History::open(dir.path().join("history.csv")).unwrap();
        assert!(log.add(msg("bob", "ana", "m1", State::Delivered)).unwrap());
        assert!(!log.add(msg("Bob", "ana", "m1", State::Delivered)).unwrap());
        assert!(log.add(msg("ana", "bob", "m1", State::Sent)).unwrap(), "ids are unique per sender only");
    }

    #[test]
    fn a_known_id_with_another_time_is_another_message_and_a_resend_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.csv");
        let mut log = History::open(path.clone()).unwrap();
        let at = |ts, text: &str| Message {
            ts,
            text: Text::parse(text).unwrap(),
            ..msg("ana", "bob", "m1", State::Delivered)
        };
        assert!(log.add_received(at(100, "old server"), "bob").unwrap());
        assert!(!log.add_received(at(100, "old server"), "bob").unwrap(), "a resend keeps its time");
        assert!(log.add_received(at(200, "new server"), "bob").unwrap(), "another time: another message");
        assert!(!log.add_received(at(200, "new server"), "bob").unwrap());
        assert!(!log.add_received(at(100, "old server"), "bob").unwrap(), "the older one's resend too");
        // (from, id) names the newer one from now on, before and after a reopen.
        log.advance("ana", "m1", State::Read, 300).unwrap();
        log.sync().unwrap();
        for log in [log, History::open(path).unwrap()] {
            let texts: Vec<(String, State)> = log
                .conversation("bob", &Chat::parse("ana").unwrap(), 10)
                .into_iter()
                .map(|m| (m.text.unescaped(), m.state))
                .collect();
            let expected = [("old server", State::Delivered), ("new server", State::Read)];
            assert_eq!(texts, expected.map(|(t, s)| (t.to_string(), s)));
        }
        // Not for a direct-chat message relayed by the server, nor for one's own.
        let dir = tempfile::tempdir().unwrap();
        let mut log = History::open(dir.path().join("history.csv")).unwrap();
        log.add(Message { p2p: true, ..msg("ana", "bob", "d1", State::Delivered) }).unwrap();
        assert!(
            !log.add_received(Message { ts: 9, ..msg("ana", "bob", "d1", State::Delivered) }, "bob").unwrap()
        );
        log.add(msg("bob", "bob", "n1", State::Sent)).unwrap();
        assert!(
            !log.add_received(Message { ts: 9, ..msg("bob", "bob", "n1", State::Delivered) }, "Bob").unwrap()
        );
    }

    #[test]
    fn states_and_refusals_survive_a_reopen_and_only_move_forward() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.csv");
        let mut log = History::open(path.clone()).unwrap();
        for id in ["m1", "m2", "m3"] {
            log.add(msg("ana", "bob", id, State::Sent)).unwrap();
        }
        log.add(msg("ana", "carl", "m4", State::Sent)).unwrap();
        assert!(log.advance("ana", "m1", State::Delivered, 5).unwrap());
        assert!(!log.advance("ana", "m1", State::Received, 6).unwrap(), "never backwards");
        log.add(msg("bob", "ana", "b1", State::Delivered)).unwrap();
        // READ up to m2 covers m1 and m2, not m3, not the message to carl,
        // and not bob's message to ana (the other direction).
        assert_eq!(log.read_up_to("Ana", "ana", "m2", 7).unwrap(), 2);
        assert_eq!(log.read_up_to("ana", "bob", "b1", 8).unwrap(), 1);
        log.refuse("ana", "m4", "no such user").unwrap();
        log.sync().unwrap();
        drop(log);

        let log = History::open(path).unwrap();
        let states: Vec<State> =
            ["m1", "m2", "m3"].iter().map(|id| log.get("ana", id).unwrap().state).collect();
        assert_eq!(states, [State::Read, State::Read, State::Sent]);
        assert_eq!(log.get("bob", "b1").unwrap().state, State::Read);
        assert_eq!(log.get("ana", "m4").unwrap().refused.as_deref(), Some("no such user"));
        assert_eq!(log.get("ana", "m1").unwrap().text.unescaped(), "text m1\nsecond line");
    }

    #[test]
    fn only_the_server_acceptance_sets_a_message_time_and_it_survives_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.csv");
        let mut log = History::open(path.clone()).unwrap();
        log.add(Message { ts: 100, ..msg("ana", "bob", "m1", State::Sent) }).unwrap();
        log.add(Message { ts: 150, p2p: true, ..msg("ana", "bob", "d1", State::Sent) }).unwrap();
        log.advance("ana", "m1", State::Received, 120).unwrap(); // the server's clock
        log.advance("ana", "m1", State::Delivered, 500).unwrap();
        log.advance("ana", "d1", State::Delivered, 600).unwrap(); // the peer's ACK
        assert_eq!(log.read_up_to("ana", "ana", "m1", 700).unwrap(), 1, "not the direct message");
        log.sync().unwrap();
        let times = |log: &History| -> Vec<(u64, State)> {
            ["m1", "d1"].iter().map(|id| log.get("ana", id).map(|m| (m.ts, m.state)).unwrap()).collect()
        };
        let expected = [(120, State::Read), (150, State::Delivered)];
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
            log.add(Message { p2p: true, ..msg("ana", "bob", id, State::Sent) }).unwrap();
        }
        log.add(Message { p2p: true, ..msg("bob", "ana", "b1", State::Delivered) }).unwrap();
        log.advance("ana", "d1", State::Delivered, 5).unwrap();
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

    #[test]
    fn a_read_mark_reads_the_chat_up_to_its_message_whoever_wrote_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = History::open(dir.path().join("history.csv")).unwrap();
        for m in [
            msg("bob", "ana", "b1", State::Delivered),
            msg("carl", "#tea", "c1", State::Received),
            msg("dave", "#tea", "d1", State::Received),
            msg("carl", "#tea", "c2", State::Received),
            msg("ana", "#tea", "a1", State::Received),
        ] {
            log.add(m).unwrap();
        }
        let tea = Chat::Room("tea".into());
        assert_eq!(log.read_mark("ana", &tea, "d1", 9).unwrap(), 2, "c1 and d1");
        assert_eq!(log.get("carl", "c2").unwrap().state, State::Received);
        assert_eq!(log.read_mark("ana", &tea, "nope", 9).unwrap(), 0);
        assert_eq!(log.read_mark("ana", &tea, "a1", 9).unwrap(), 0, "my own is not a mark");
        assert_eq!(log.read_mark("ana", &Chat::User("Bob".into()), "b1", 9).unwrap(), 1);
        let unread: Vec<u64> = log.summaries("ana").iter().map(|c| c.2).collect();
        assert_eq!(unread.iter().sum::<u64>(), 1, "c2 only: {unread:?}");
    }

    #[test]
    fn summaries_show_each_chat_newest_first_with_its_unread_count() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = History::open(dir.path().join("history.csv")).unwrap();
        log.add(Message { ts: 10, ..msg("bob", "ana", "b1", State::Delivered) }).unwrap();
        log.add(Message { ts: 20, ..msg("bob", "ana", "b2", State::Delivered) }).unwrap();
        log.add(Message { ts: 30, ..msg("carl", "#general", "c1", State::Received) }).unwrap();
        log.add(Message { ts: 40, ..msg("ana", "bob", "a1", State::Sent) }).unwrap();
        log.add(Message { ts: 50, p2p: true, ..msg("dave", "ana", "d1", State::Delivered) }).unwrap();
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
        log.add(msg("ana", "bob", "a1", State::Sent)).unwrap();
        log.add(msg("bob", "ana", "b1", State::Delivered)).unwrap();
        log.add(msg("carl", "#general", "c1", State::Received)).unwrap();
        log.add(msg("ana", "bob", "a2", State::Sent)).unwrap();
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
