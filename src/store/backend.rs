//! [`Backend`]: what the server needs from storage, and nothing more. The
//! server holds a [`Store`](super::Store), which checks passwords, decides
//! what needs no storage of its own (what a block hides, who moderates a
//! room from its `ROOMINFO`, whom a user's presence is told), and hands
//! everything else to an `Arc<dyn Backend>`, which it derefs to.
//!
//! [`LocalStore`](super::LocalStore) implements it (memory + the CSV log
//! on the local disk), for a single server and for every node of a
//! cluster alike: a cluster's leader runs it writing each batch into
//! PostgreSQL's shared log first, a follower applies the leader's batches
//! with the same code (`store::shared_log`). Each change is named by what
//! it changes rather than a method per request: an account's writes are one
//! [`AccountChange`] (a variant per record the local store appends), a
//! room's membership one [`Membership`], an `ACK` one [`Ack`], a user's
//! devices one [`DevicesChange`], a setting one change and one read by
//! [`Keys`](super::settings::Keys), a replay one read from a position;
//! each read is named by the fact it reads: an [`Account`] with whether
//! it is a server admin, a user's rooms with the members of the small
//! ones (`rooms_of`), the data's own facts ([`ServerFacts`]). `Store`
//! keeps the request-shaped names its callers use (`join`,
//! `set_password`, `note_offline`, `rooms`, `server_id`, …), each a line
//! over these.
//!
//! The methods, by what they touch: accounts (`account`,
//! `change_account`); messages and marks (`send`, `read`, `erase`); rooms
//! (`change_membership`, `moderate`); inboxes (`ack`, `inbox_end`,
//! `replay`); a user's devices (`change_devices`); durability (`wait`,
//! `when_durable`, `stop`); reads (`rooms_of`, `chats`, `history`,
//! `search`, `room_members`, `room_info`, `last_seen`); settings
//! (`change_setting`, `read_settings`); the data (`server`); a user's
//! stored bytes (`stored_bytes`); and the local disk's budget
//! (`check_room`, `inbox_events`).
//!
//! One change of a user's devices: its last connection ending (the
//! last-seen time) and its having several devices or one again (whether
//! its inbox gets its own copies) were two methods; both are what the
//! server's connections tell the store of a user's devices as it
//! happens, written unwaited, a failure logged, which is what
//! `change_devices` says once.
//!
//! Left apart on purpose, each pair looked at:
//! - `wait` and `when_durable` are one notion, but not one mechanism on
//!   the local store: a request's thread blocked in its `wait` can be
//!   handed the group commit's leadership and write its own batch (one
//!   wake-up), where a wait built above the trait on `when_durable`
//!   leaves that batch to the committer thread and is woken by its
//!   callback (two wake-ups when the batch being written does not hold
//!   its records: `committer/mod.rs`, "Who leads next"), sleeping on a
//!   channel or a parker of its own (BENCHMARKS.md, "Waiters parked, not
//!   spinning"). The local store would keep its `wait` for the callers
//!   that hold it (`wachat users`, the tests), so both would stay. The
//!   replies that wait for the disk alone (a `MSG`'s `OK`s, a `READ`'s)
//!   are left with a callback already (`server::send`); the requests
//!   that block (an action, a `JOIN`, a setting, a read after writes)
//!   are the ones that would pay it.
//! - `read` and `ack` both end in marks (READ, DELIVERED), but a `READ`
//!   names a message, may be refused (`KO`) and is answered once durable
//!   (a [`Ticket`]), where an `ACK` names an inbox's position, trims the
//!   inbox, is refused nothing and waited by no one (it rides the next
//!   batch, and is kept while a write fails, where a `READ` is told
//!   `KO`). One method would
//!   return a ticket and a refusal that two of its three variants cannot
//!   have.
//! - `inbox_end` and `replay` are two moments of one replay: the end is
//!   read inside the router's critical section (`server::recv::attach`),
//!   which every delivery to the user waits for, so it reads a number
//!   and nothing more; the lines up to it are read after, a chunk at a
//!   time, outside any lock, once the login's `OK` is written. One call
//!   would open the replay's reader under the router's lock.
//! - `last_seen` is read by id for each member of a `MEMBERS` (as a fact
//!   of [`Account`] it would be a lookup by name each, and a copy of the
//!   hash); `stored_bytes` is read by id for an `UPLOAD` and before a
//!   burst of `MSG`s of a user with files, where no account is read;
//!   `inbox_events` is a metric, a pass over every inbox, that
//!   [`ServerFacts`] (read by each `HISTORY` and `SEARCH`) must not cost;
//!   `stored_bytes` and `check_room` are asked apart (a `PART` asks the
//!   disk's room, a message with files the bytes only): one method for
//!   both (the bytes, or `KO:FULL` while the disk is at its floor) would
//!   have a `PART` read bytes it drops, and a burst of `MSG`s with files
//!   ask the disk before the quota, so that a user over both would be
//!   told the disk's `KO:FULL` where it is told the quota's.
//! - `history` and `search` are two reads (one chat's newest page; the
//!   messages of several chats that hold some words), and `search` has a
//!   default over `history` that the local store replaces with its index;
//!   `rooms_of`, `chats` and `room_members` read three facts by three
//!   keys (a user's rooms, a user's conversations with their unread
//!   counts, a room's members by its name).
//! - `room_info` already ends in the one rule (`Rules::info_for`), only
//!   the rules' loading differs; one load for it and `room_members` (the
//!   room, its members and its rules, `ROOMINFO` decided above) would
//!   have `TYPING` and presence load a room's rules too, and a
//!   `ROOMINFO` of a large room copy all its members.
//!
//! What a backend does, whichever it is:
//!
//! - it **assigns sequence numbers**: each change returns once it is
//!   applied, and the events it creates reach the server through the
//!   delivery callback with their per-user numbers;
//! - it **stores messages, marks and inbox positions**: `send`, `read`,
//!   `ack` (the acknowledged position of an inbox), `change_membership`;
//! - it **serves reads**: `history` and inbox `replay` as [`Lines`] produced
//!   a chunk at a time, plus the small
//!   listings (`rooms_of`, `chats`, …);
//! - durability is a [`Ticket`]: a change is applied at once and becomes
//!   durable later (group commit), and
//!   [`Backend::wait`] blocks until it is. A reply that promises durability
//!   (`OK` of `MSG`) is sent only after `wait`.
//!
//! A backend never knows the router or the sockets: events go out through
//! the [`Deliver`] callback it is given, and only once they are durable.

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use super::invites::Kept;
use super::settings::{KeptKey, KeyChange, Keys, Setting};
use super::state::UserId;
use crate::protocol::action::ActionsSince;
use crate::protocol::page::Start;
use crate::protocol::{
    Accepted, Change, Chat, ChatLine, Code, HistoryLine, Ko, RoomInfoLine, RoomLine, Text,
};

/// A message to send: recipient, id, text.
pub type Outgoing = (Chat, String, Text);

pub use super::state::Members;

/// Where a backend hands every durable batch, for its events and the
/// accounts it disabled (the server passes the router's `written`), batch
/// after batch in the order they became durable. Called from whichever thread made the batch durable
/// (the local store: a request's thread leading the group commit, or its
/// committer), holding no lock of the backend's other than what keeps
/// the batches in order.
pub type Deliver = Box<dyn Fn(&super::state::Batch) + Send + Sync>;

/// What to do once a change is durable (`Err`: it never will be); see
/// [`Backend::when_durable`].
pub type Then = Box<dyn FnOnce(Result<(), Ko>) + Send>;

/// Durability of a change: waiting for it ([`Backend::wait`]) waits until
/// the change is on disk. Ordered: a later ticket covers every earlier one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ticket(pub u64);

// ----- moderation (1.2): what `Backend::moderate` takes and gives -----

/// The message that tells a change in the room's text, so that a client
/// of protocol 1.0 or 1.1, which is not sent the 1.2 event, shows it too
/// (and `HISTORY` keeps it): a room message from who acted, or for an
/// invitation a direct message to the invitee. Made by the server
/// (`server::moderation`), which knows the words; the room's rules are
/// `store::moderation`'s.
pub struct Notice {
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

/// A change to an account: one variant a record the local store appends
/// for it (`USER`, `REUSE`, `PASSWD`, `DELACCOUNT`, a server admin's
/// `RULE`). The checks that
/// need no storage (a password, a name's quarantine) are
/// [`Store`](super::Store)'s, made before.
#[derive(Debug)]
pub enum AccountChange<'a> {
    /// A new account, a member of `#general` (`KO:USER_EXISTS` if the
    /// name is taken, ignoring case). `hash` is already computed. With
    /// an `invite` code (1.2 `REDEEM`, normalized), the code is judged
    /// (`store::invites::judge`) and used in the same batch that makes
    /// the account: both are written, or neither.
    Create { name: &'a str, email: &'a str, hash: String, invite: Option<&'a str> },
    /// 1.2: `REGISTER` of the name of `user`, a deleted account whose
    /// quarantine is over: the name gets a new account (`hash`, `email`,
    /// a member of `#general`) that sees nothing of the old one's
    /// (docs/PROTOCOL.md §20, "A name freed"). `KO:USER_EXISTS` if `user`
    /// is not a deleted account any more (two registrations at once).
    /// With an `invite` code, as `Create`'s.
    Reuse { user: UserId, email: &'a str, hash: String, invite: Option<&'a str> },
    /// 1.2 `PASSWD`: `user`'s password is now the one `hash` is of
    /// (already computed, the old one already checked).
    Password { user: UserId, hash: String },
    /// 1.2 `DELACCOUNT`: `user`'s account is deleted (its password already
    /// checked): its hash becomes [`deleted_hash`](super::state::deleted_hash)
    /// of now, its inbox is emptied, it leaves every room (1.3: a room
    /// homed on another server with the `LEAVE` frame its own `LEAVE`
    /// would queue for the home). Its name stays taken until its
    /// quarantine is over. Deleting it again changes nothing.
    Delete { user: UserId },
    /// 1.2: `user` becomes a server admin, or (`on` false) no longer one
    /// (`wachat users admin`, on a running server too; on a cluster,
    /// `--store`, made by the leader).
    ServerAdmin { user: UserId, on: bool },
}

/// What an `ACK` tells the store, from the devices' positions that
/// `server::devices` keeps.
#[derive(Clone, Copy, Debug)]
pub enum Ack {
    /// The inbox is acknowledged up to `seq` (the lowest position of the
    /// user's devices): its events up to it leave it, the direct messages
    /// among them become DELIVERED.
    Trim { seq: u64 },
    /// 1.2: one device acknowledged up to `upto` while another still
    /// holds the inbox at `after`: the direct messages among the events
    /// after `after` become DELIVERED (two grey ticks on the first
    /// device), without leaving the inbox.
    Deliver { after: u64, upto: u64 },
}

/// A change of a user's devices that the store keeps, and nobody waits
/// for: its connections' facts that later requests read. Told by
/// `server::recv` and `server::devices` as they happen (a `LASTSEEN`
/// reads the one, the next batch's inboxes the other), each written
/// unwaited, a failure logged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DevicesChange {
    /// Its last receive connection anywhere ended at `at_ms` (Unix ms):
    /// its last-seen time (the `SEEN` record).
    Offline { at_ms: u64 },
    /// 1.2: it has several devices holding its inbox (`true`) or one
    /// again: from now on its inbox gets copies of its own messages and
    /// read marks, or not (the `DEVICES` record).
    Several(bool),
}

/// A change of a room's membership: a `JOIN` or a `LEAVE` (the `JOIN`
/// and `LEAVE` records).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Membership {
    Join,
    Leave,
}

/// Lines produced a chunk at a time, each chunk read without holding the
/// backend's locks, so a long reply never holds up other requests and
/// never sits whole in memory.
pub trait Lines: Send {
    /// Appends the next lines, each ending in `\n`, to `out`; `Ok(false)`
    /// when there are none left. An `Err` in the middle means the reply
    /// cannot be finished (the connection must be closed).
    fn next_chunk(&mut self, out: &mut String) -> Result<bool, Ko>;

    /// The next lines of a `HISTORY`, typed (1.2: the message actions and
    /// the edits shown in place read them): appends them to `out`,
    /// `Ok(false)` when there are none left. By default the text of
    /// [`Lines::next_chunk`] parsed back; a store that has the records at
    /// hand (the local one) gives their values without the round trip.
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

/// Everything the server asks of storage.
pub trait Backend: Any + Send + Sync {
    // ----- accounts
    /// The account called `name`, ignoring case, with what the server
    /// needs of it (1.2: whether it is a server admin too). (`Err`:
    /// storage cannot say now — a database backend whose database is
    /// down.)
    fn account(&self, name: &str) -> Result<Option<Account>, Ko>;
    /// Changes an account, as [`AccountChange`] says (its checks done
    /// above: the password checked, the hash computed, the name's
    /// quarantine over); returns which account it changed.
    fn change_account(&self, change: AccountChange) -> Result<(UserId, Ticket), Ko>;
    /// Keeps invite `codes`, new and unused, valid until `expires_ms`
    /// (`store::invites`), in one batch.
    fn keep_invites(&self, codes: &[String], expires_ms: u64) -> Result<Ticket, Ko>;
    /// Revokes invite `code` if it is unused: it lets nobody in any
    /// more. Returns how it was kept (`None`: no such code); a used one
    /// stays as it was (its account is not touched).
    fn revoke_invite(&self, code: &str) -> Result<(Option<Kept>, Ticket), Ko>;
    /// How invite `code` is kept, if it is.
    fn invite(&self, code: &str) -> Option<Kept>;
    /// Every invite code kept, used or not, by expiry then code.
    fn invites(&self) -> Vec<(String, Kept)>;

    // ----- changes: applied at once, durable once their ticket is
    /// `MSG`s of one sender, in order: for each, the `<id>:<ts>` of its
    /// `OK` or its `KO`. A resend (an id among the sender's recent ones)
    /// gets its first `OK` and stores nothing.
    fn send(&self, from: UserId, msgs: &[Outgoing]) -> (Vec<Result<Accepted, Ko>>, Ticket);
    /// `READ`: `user` read `chat` up to the message `id`.
    fn read(&self, user: UserId, chat: &Chat, id: &str) -> Result<Ticket, Ko>;
    /// `user` joins or leaves `room`. A `JOIN` creates the room if new
    /// (1.2: owned by its joiner), may be refused by its rules (a ban, an
    /// invitation missing), and changes nothing if `user` is in it; a
    /// `LEAVE` of a room one is not in is `KO:NOT_MEMBER`.
    fn change_membership(&self, user: UserId, room: &str, change: Membership) -> Result<Ticket, Ko>;
    /// 1.2, `DELETE`: the text of `author`'s message `id` to `chat` must
    /// leave the storage (its record, and those quoting it). Called once
    /// the `DELETE`'s own record is durable; returns once the erasure is
    /// recorded durably, done then or later (`--erase-minutes`).
    fn erase(&self, author: &str, chat: &Chat, id: &str) -> Result<(), Ko>;
    /// What an `ACK` of `user`'s tells the store ([`Ack`]). Nobody waits
    /// for it.
    fn ack(&self, user: UserId, ack: Ack);
    /// What changed of `user`'s devices ([`DevicesChange`]): its last
    /// connection ended, or it has several devices or one again. Nobody
    /// waits for it.
    fn change_devices(&self, user: UserId, change: DevicesChange);
    /// Blocks until the ticket's changes are durable; `KO:INTERNAL` if they
    /// never will be (the disk failed).
    fn wait(&self, ticket: Ticket) -> Result<(), Ko>;
    /// Runs `then` once the ticket's changes are durable (`Err`: they never
    /// will be), without making the caller wait: from whichever thread
    /// makes them durable, holding no lock of the backend's, or at once on
    /// the caller's. A send handler leaves its `OK`s this way and goes back
    /// to reading its socket: one thread wake-up per message less than
    /// waiting (BENCHMARKS.md, "Latency"). The default waits, then runs it.
    fn when_durable(&self, ticket: Ticket, then: Then) {
        then(self.wait(ticket))
    }

    // ----- reads: they show only what is durable
    /// `user`'s rooms, its `ROOMS` lines, each with its members if it
    /// has at most `members_up_to` (else none): one read, under one lock
    /// or in one query, for `ROOMS` (0: no members) and for whom its
    /// presence is told ([`Store::roommates`](super::Store::roommates)).
    fn rooms_of(&self, user: UserId, members_up_to: usize) -> Result<Vec<(RoomLine, Members)>, Ko>;
    /// `CHATS` lines.
    fn chats(&self, user: UserId) -> Result<Vec<ChatLine>, Ko>;
    /// When `user` was last online (`None`: never since this was kept).
    fn last_seen(&self, user: UserId) -> Option<u64>;
    /// `HISTORY`: the newest messages, at most `limit` of them and at most
    /// `max_bytes` of reply lines, oldest first.
    fn history(&self, user: UserId, chat: &Chat, limit: usize, max_bytes: usize) -> Result<Listing, Ko> {
        self.history_page(user, chat, Start::Newest, limit, max_bytes)
    }
    /// 1.2: a page of `HISTORY`: the messages from `start` back, at most
    /// `limit` of them and `max_bytes` of lines, oldest first, and where
    /// the page before starts (`protocol::page`). A cursor that is not a
    /// place in `user`'s conversation `chat` is refused with
    /// [`not_a_page`](crate::protocol::page::not_a_page).
    fn history_page(
        &self,
        user: UserId,
        chat: &Chat,
        start: Start,
        limit: usize,
        max_bytes: usize,
    ) -> Result<Listing, Ko>;
    /// 1.2 `SEARCH`: the newest messages of `chats` (at most `limit`)
    /// that hold every word of `query`, newest first, edits and deletions
    /// folded in. The default reads each chat's newest messages through
    /// `history`; the local store scans its log (`store::search`).
    fn search(
        &self,
        user: UserId,
        chats: &[Chat],
        query: &super::search::Query,
        limit: usize,
    ) -> Result<super::search::Searched, Ko> {
        let history = |chat: &Chat, limit, max_bytes| self.history(user, chat, limit, max_bytes)?.collect();
        super::search::by_history(history, chats, query, limit, self.server()?.actions_since)
    }
    /// A room as registered (`#Tea`) and its members; `None` if there is no
    /// such room. (Who may see them is the caller's business.)
    fn room_members(&self, room: &str) -> Option<(Arc<str>, Members)>;
    /// The sequence number up to which `user`'s inbox is durable: a replay
    /// goes up to it, live delivery takes over after it.
    fn inbox_end(&self, user: UserId) -> u64;
    /// The inbox events after `after` (a device's position; 0: the inbox's
    /// start) up to `upto`, as frames; those the inbox no longer holds (or
    /// already acknowledged) are left out. `minor` is the connection's
    /// version: copies and read marks (1.2) are left out below 2.
    fn replay(&self, user: UserId, after: u64, upto: u64, minor: u8) -> Box<dyn Lines>;

    // ----- 1.2: moderation (`store::moderation`)
    /// `by` changes a rule of `room`: checked against the room's rules
    /// and applied under one lock (`KO:FORBIDDEN` if `by` may not;
    /// `KO:NOT_MEMBER` for a room that does not exist or a `KICK` of
    /// someone not in it). A target is named as registered (the server
    /// looked it up). The change is recorded with its `notice`, and a
    /// `KICKED` or `BANNED` member leaves the room, in one batch.
    fn moderate(&self, by: UserId, room: &str, change: &Change, notice: &Notice) -> Result<Moderated, Ko>;
    /// `ROOMINFO` lines for `user`, a member, a server admin or someone
    /// the rules name (invited, banned); `KO:NOT_MEMBER` for others.
    fn room_info(&self, user: UserId, room: &str) -> Result<Vec<RoomInfoLine>, Ko>;
    /// Writes what is pending (and a last checkpoint) and stops; every
    /// later change is refused.
    fn stop(&self);

    /// The data's own facts ([`ServerFacts`]): made at its first start,
    /// the same after every restart and on every node of a cluster.
    fn server(&self) -> Result<ServerFacts, Ko>;

    /// Events waiting in every inbox together, for the metrics
    /// (`wachat_inbox_events`); `None` if this backend cannot say cheaply.
    fn inbox_events(&self) -> Option<u64> {
        None
    }

    // ----- 1.2: settings (`store::settings`, §23): every per-chat setting
    // of a user (a block, a level and pin, an archive, a star), one mechanism
    /// `user`'s `key` of `setting` becomes what `change` makes of it,
    /// given what the user keeps of the setting, decided by
    /// [`decide`](super::settings::decide) under the lock that writes
    /// it; nothing is stored if nothing changes.
    fn change_setting(
        &self,
        user: UserId,
        setting: &'static Setting,
        key: &str,
        change: KeyChange,
    ) -> Result<Ticket, Ko>;
    /// The keys of `setting` that `keys` asks for (one user's, sorted by
    /// key; or those about a user), each with its owner and value.
    fn read_settings(&self, setting: &Setting, keys: Keys) -> Result<Vec<KeptKey>, Ko>;
    /// 1.2: the bytes of `user`'s messages counted in `--user-quota`, to
    /// which its files are added (`store::files`). The default says 0.
    fn stored_bytes(&self, user: UserId) -> u64 {
        let _ = user;
        0
    }
    /// 1.2: `KO:FULL` while the disk this storage writes to is
    /// below its `--min-free` floor or full (`store::budget`), the same
    /// answer as a `MSG`'s: asked before the bytes of an upload are
    /// written beside it. The default, a storage with no disk of its
    /// own, has room.
    fn check_room(&self) -> Result<(), Ko> {
        Ok(())
    }
}
