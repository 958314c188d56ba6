//! The store's request and reply types: what the server hands
//! [`LocalStore`](super::LocalStore) (a message to send, a moderation
//! [`Announcement`]) and what it gets back (an [`Account`],
//! a [`Ticket`], a [`Listing`] of [`Lines`], [`Moderated`],
//! [`ServerFacts`]). The server holds a [`Store`](super::Store), which
//! checks passwords, decides what needs no storage of its own (what a
//! block hides, who moderates a room from its `ROOMINFO`, whom a user's
//! presence is told), and derefs to the `LocalStore` for everything else:
//! one store, a single server's and every cluster node's alike, whose
//! log a cluster's leader writes into PostgreSQL's shared log first and
//! its followers apply (`store::shared_log`).
//!
//! What the store promises:
//!
//! - it **assigns sequence numbers**: each change returns once it is
//!   applied, and the events it creates reach the server through the
//!   delivery callback with their per-user numbers;
//! - it **serves reads**: `history` and inbox `replay` as [`Lines`]
//!   produced a chunk at a time, plus the small listings (`rooms_of`,
//!   `chats`, …);
//! - durability is a [`Ticket`]: a change is applied at once and becomes
//!   durable later (group commit), and `LocalStore::wait` blocks until
//!   it is (`when_durable` runs a callback then instead). A reply that
//!   promises durability (`OK` of `MSG`) is sent only after it.
//!
//! The store never knows the router or the sockets: events go out through
//! the [`Deliver`] callback it is given, and only once they are durable.

use std::sync::Arc;
use std::time::Duration;

use super::state::UserId;
use crate::protocol::action::ActionsSince;
use crate::protocol::{Chat, Code, HistoryLine, Ko, Text};

/// A message to send: recipient, id, text.
pub type Outgoing = (Chat, String, Text);

pub use super::state::Members;

/// Where the store hands every durable batch, for its events and the
/// accounts it disabled (the server passes the router's `written`), batch
/// after batch in the order they became durable. Called from whichever
/// thread made the batch durable (a request's thread leading the group
/// commit, or the committer), holding no lock of the store's other than
/// what keeps the batches in order.
pub type Deliver = Box<dyn Fn(&super::state::Batch) + Send + Sync>;

/// What to do once a change is durable (`Err`: it never will be); see
/// [`LocalStore::when_durable`](super::LocalStore::when_durable).
pub type Then = Box<dyn FnOnce(Result<(), Ko>) + Send>;

/// Durability of a change: waiting for it
/// ([`LocalStore::wait`](super::LocalStore::wait)) waits until
/// the change is on disk. Ordered: a later ticket covers every earlier one.
#[must_use = "a change is durable only once its ticket is waited for"]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ticket(pub u64);

// ----- moderation (1.2): what `LocalStore::moderate` takes and gives -----

/// The message that tells a change in the room's text, so that a client
/// of protocol 1.0 or 1.1, which is not sent the 1.2 event, shows it too
/// (and `HISTORY` keeps it): a room message from who acted, or for an
/// invitation a direct message to the invitee. Made by the server
/// (`server::moderation`), which knows the words; the room's rules are
/// `store::moderation`'s.
pub struct Announcement {
    /// A message id of the actor's (`mod-…`).
    pub id: String,
    pub text: Text,
}

/// What a moderation request did.
#[derive(Debug)]
pub struct Moderated {
    /// The room as registered (`#Lab3`).
    pub room: Arc<str>,
    /// Who acted, as registered.
    pub by: Arc<str>,
    /// `false`: it changed nothing (and was neither recorded nor told).
    pub changed: bool,
    /// Who is told the 1.2 event: the members, and the target if it is
    /// not (any more) one.
    pub tell: Vec<UserId>,
    /// Durable once this is.
    pub ticket: Ticket,
}

/// The data's own facts, made at its first start (`server.csv` and
/// `actions.csv`; a cluster's node writes them from its database's one
/// `server` row, so that every node has the same), read together.
#[derive(Clone, Debug)]
pub struct ServerFacts {
    /// The random id of this data (`SERVER`, protocol 1.1), different for
    /// a fresh data directory (see `server_id.rs`).
    pub id: Arc<str>,
    /// 1.2: since when a message's action id is the server's own
    /// (`protocol::action::ActionsSince`; `store::actions_since`).
    pub actions_since: ActionsSince,
}

/// An account as the server needs it.
#[derive(Clone, Debug)]
pub struct Account {
    pub id: UserId,
    /// The name as registered.
    pub name: Arc<str>,
    /// The argon2id PHC string ([`DELETED`](super::state::DELETED) once
    /// its user deleted it, 1.2).
    pub hash: String,
    /// 1.2: a server admin (`wachat users admin`): what `wachat users
    /// list` shows.
    pub admin: bool,
}

impl Account {
    /// 1.2: its user deleted it (`DELACCOUNT`): no login; its name is
    /// quarantined, then free (see [`Self::refusal`]).
    pub fn is_deleted(&self) -> bool {
        self.deleted_at().is_some()
    }

    /// 1.2: when its user deleted it (Unix ms), if it did.
    pub fn deleted_at(&self) -> Option<u64> {
        super::state::deleted_at(&self.hash)
    }

    /// Why a `REGISTER` of this account's name is refused at `now` (Unix
    /// ms), or `None` when the name is free again: its account was
    /// deleted at least `quarantine` ago (`--name-quarantine-days`).
    pub fn refusal(&self, quarantine: Duration, now: u64) -> Option<Ko> {
        let name = &self.name;
        let Some(deleted) = self.deleted_at() else {
            return Some(crate::protocol::Ko::name_taken(name));
        };
        let free = deleted.saturating_add(u64::try_from(quarantine.as_millis()).unwrap_or(u64::MAX));
        (now < free).then(|| {
            let wait = span_words(free - now);
            Ko::new(
                Code::UserExists,
                format!(
                    "the name {name} belonged to an account that was deleted; it is reserved for {wait} more, \
                     so that nobody takes it over at once"
                ),
            )
        })
    }
}

/// `ms` in words, rounded up to its largest unit: "30 days", "1 hour",
/// "2 seconds".
fn span_words(ms: u64) -> String {
    const UNITS: [(u64, &str); 4] =
        [(86_400_000, "day"), (3_600_000, "hour"), (60_000, "minute"), (1_000, "second")];
    let (unit, word) = UNITS.into_iter().find(|&(unit, _)| ms >= unit).unwrap_or(UNITS[3]);
    let n = ms.div_ceil(unit);
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// Lines produced a chunk at a time, each chunk read without holding the
/// store's locks, so a long reply never holds up other requests and
/// never sits whole in memory.
pub trait Lines: Send {
    /// Appends the next lines, each ending in `\n`, to `out`; `Ok(false)`
    /// when there are none left. An `Err` in the middle means the reply
    /// cannot be finished (the connection must be closed).
    fn next_chunk(&mut self, out: &mut String) -> Result<bool, Ko>;

    /// The next lines of a `HISTORY`, typed (1.2: the message actions and
    /// the edits shown in place read them): appends them to `out`,
    /// `Ok(false)` when there are none left. By default the text of
    /// [`Lines::next_chunk`] parsed back; `HISTORY`'s own lines
    /// (`local/reads.rs`) give their records' values without the round
    /// trip.
    fn next_messages(&mut self, out: &mut Vec<HistoryLine>) -> Result<bool, Ko> {
        let mut text = String::new();
        let more = self.next_chunk(&mut text)?;
        out.extend(text.lines().filter_map(|line| HistoryLine::parse(line).ok()));
        Ok(more)
    }
}

/// A listing reply (`OK:<n>` then `n` lines), produced in chunks.
pub struct Listing {
    pub len: usize,
    pub lines: Box<dyn Lines>,
    /// A page of `HISTORY` (1.2): where the page before it starts, `None`
    /// if its lines reach the conversation's start (`protocol::page`).
    pub before: Option<u64>,
}

impl Listing {
    /// Every line, without the `\n`s (for tests and small replies).
    pub fn collect(mut self) -> Result<Vec<String>, Ko> {
        let mut all = String::new();
        while self.lines.next_chunk(&mut all)? {}
        Ok(all.lines().map(str::to_string).collect())
    }

    /// Every line of a `HISTORY`, typed ([`Lines::next_messages`]).
    pub fn messages(mut self) -> Result<Vec<HistoryLine>, Ko> {
        let mut all = Vec::with_capacity(self.len);
        while self.lines.next_messages(&mut all)? {}
        Ok(all)
    }
}
