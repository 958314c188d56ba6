//! The store: what the server remembers, and the promise that an `OK` is on
//! disk.
//!
//! - [`Store`]: what the server's handlers call. It checks passwords
//!   ([`password`]) and hands everything else to a [`Backend`].
//! - [`Backend`] ([`backend`]): the narrow interface storage implements.
//!   [`LocalStore`] ([`local`]) is the one we have: the state in memory
//!   ([`state`]), the records in a segmented CSV log on disk ([`log`],
//!   [`record`]), checkpoints ([`checkpoint`]), and the group commit
//!   ([`committer`]); `requests` and `reads` hold what each request does.
//!   A backend on a database shared by several servers implements the same
//!   trait.
//! - [`disk`]: the file interface every write goes through; [`sim_disk`]:
//!   the simulated disk with power cuts that the crash tests use.
//! - [`convert`]: turns a data directory of the first layout (four CSV
//!   files replayed whole at every start) into this one, once.
//! - [`accounts`]: class accounts edited offline (`wachat users …`),
//!   under the data directory's [`lock`].
//! - [`server_id`]: the data directory's random identity (`server.csv`),
//!   which `SERVER` (protocol 1.1) answers.

pub mod accounts;
pub mod backend;
pub mod checkpoint;
pub mod committer;
pub mod convert;
pub mod damage;
pub mod disk;
pub mod export;
pub mod invites;
pub mod local;
#[cfg(test)]
mod local_tests;
pub mod lock;
pub mod log;
pub mod password;
mod permissions;
mod reads;
pub mod record;
mod requests;
pub mod server_id;
pub mod sim_disk;
pub mod state;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

pub use backend::{Account, Backend, Deliver, Lines, Listing, Members, Outgoing, Then, Ticket};
pub use local::{LocalStore, Options};
pub use password::Hasher;
pub use record::{Message, Record};
pub use requests::READ_SEARCH_LIMIT;
pub use state::{DEDUP_WINDOW, Delivery, MAX_ROOMS_PER_USER, Pushed, State, UserId};

use crate::protocol::{Chat, Code, Ko, Text};

/// The name of the room every account joins at registration.
pub const GENERAL: &str = "#general";

/// Current time in Unix milliseconds.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// Shared by every connection handler (behind an `Arc`): passwords here,
/// everything else in the backend.
pub struct Store {
    backend: Box<dyn Backend>,
    pub hasher: Hasher,
    /// Recent successful logins (see `password::LoginCache`).
    logins: password::LoginCache,
}

impl Store {
    pub fn new(backend: Box<dyn Backend>, hasher: Hasher) -> Store {
        Store { backend, hasher, logins: password::LoginCache::default() }
    }

    // ----- accounts -----------------------------------------------------

    /// Creates an account (and its membership of `#general`), durably.
    pub fn register(&self, name: &str, email: &str, password: &str) -> Result<(UserId, Arc<str>), Ko> {
        if self.backend.account(name)?.is_some() {
            return Err(Ko::new(Code::UserExists, format!("the name {name} is taken")));
        }
        // Hashing is slow on purpose: done before the backend locks anything.
        let hash = self.hasher.hash(password).map_err(|e| Ko::new(Code::Internal, e))?;
        let (account, ticket) = self.backend.create_account(name, email, hash)?;
        self.backend.wait(ticket)?;
        self.logins.remember(account.id, password);
        Ok((account.id, account.name))
    }

    /// Checks a password. With `auto_register`, an unknown name becomes a
    /// new account with this password.
    pub fn login(&self, name: &str, password: &str, auto_register: bool) -> Result<(UserId, Arc<str>), Ko> {
        match self.backend.account(name)? {
            Some(a) if self.logins.recall(a.id, password) => Ok((a.id, a.name)),
            Some(a) if self.hasher.verify(Some(&a.hash), password) => {
                self.logins.remember(a.id, password);
                Ok((a.id, a.name))
            }
            None if auto_register => match self.register(name, "", password) {
                // Two first logins at once: the other one created it.
                Err(e) if e.code == Code::UserExists => self.login(name, password, false),
                other => other,
            },
            None => {
                self.hasher.verify(None, password); // same time as a wrong password
                Err(Ko::new(Code::AuthFailed, "wrong user or password"))
            }
            Some(_) => Err(Ko::new(Code::AuthFailed, "wrong user or password")),
        }
    }

    /// The id of an account.
    pub fn user_id(&self, name: &str) -> Option<UserId> {
        self.account(name).map(|a| a.id)
    }

    /// The registered spelling of a user name, if the account exists.
    pub fn user_name(&self, name: &str) -> Option<Arc<str>> {
        self.account(name).map(|a| a.name)
    }

    /// The account, if it exists; a storage that cannot say now (a
    /// database that is down) counts as "no such account", logged.
    fn account(&self, name: &str) -> Option<Account> {
        self.backend.account(name).unwrap_or_else(|ko| {
            ::log::warn!("store: looking up {name:?}: {}", ko.reason);
            None
        })
    }

    // ----- changes ------------------------------------------------------

    /// `MSG`: the `<id>:<ts>` of its `OK`, valid once the ticket is durable.
    pub fn send(&self, from: UserId, to: &Chat, id: &str, text: &Text) -> Result<(String, Ticket), Ko> {
        let (mut results, ticket) = self.backend.send(from, &[(to.clone(), id.to_string(), text.clone())]);
        results.pop().expect("one result per message").map(|ok| (ok, ticket))
    }

    /// Several `MSG`s of one sender at once; one result per message.
    pub fn send_many(&self, from: UserId, msgs: &[Outgoing]) -> (Vec<Result<String, Ko>>, Ticket) {
        self.backend.send(from, msgs)
    }

    /// `READ`: `user` read `chat` up to the message `id`.
    pub fn read(&self, user: UserId, chat: &Chat, id: &str) -> Result<Ticket, Ko> {
        self.backend.read(user, chat, id)
    }

    /// `ACK:<seq>` on the receive port. Nothing waits for it.
    pub fn ack(&self, user: UserId, seq: u64) {
        self.backend.ack(user, seq)
    }

    /// `JOIN` (nothing changes if already in the room).
    pub fn join(&self, user: UserId, room: &str) -> Result<Ticket, Ko> {
        self.backend.join(user, room)
    }

    /// `LEAVE`.
    pub fn leave(&self, user: UserId, room: &str) -> Result<Ticket, Ko> {
        self.backend.leave(user, room)
    }

    /// `user`'s receive connection ended at `ts_ms` (kept as its last-seen time).
    pub fn note_offline(&self, user: UserId, ts_ms: u64) {
        self.backend.note_offline(user, ts_ms)
    }

    /// Blocks until the changes of `ticket` are on disk.
    pub fn wait(&self, ticket: Ticket) -> Result<(), Ko> {
        self.backend.wait(ticket)
    }

    /// Runs `then` once the changes of `ticket` are on disk, without
    /// waiting for it here (see [`Backend::when_durable`]).
    pub fn when_durable(&self, ticket: Ticket, then: Then) {
        self.backend.when_durable(ticket, then)
    }

    // ----- reads --------------------------------------------------------

    /// `ROOMS`
    pub fn rooms(&self, user: UserId) -> Result<Vec<String>, Ko> {
        self.backend.rooms(user)
    }

    /// Users who share at least one room of at most `limit` members with
    /// `user` (who gets their presence, and whose presence they get).
    pub fn roommates(&self, user: UserId, limit: usize) -> Vec<UserId> {
        self.backend.roommates(user, limit)
    }

    /// `CHATS`
    pub fn chats(&self, user: UserId) -> Result<Vec<String>, Ko> {
        self.backend.chats(user)
    }

    /// `HISTORY`: the newest messages, at most `limit` and at most
    /// `max_bytes` of lines, produced a chunk at a time
    /// ([`Listing::collect`] for all at once).
    pub fn history(&self, user: UserId, chat: &Chat, limit: usize, max_bytes: usize) -> Result<Listing, Ko> {
        self.backend.history(user, chat, limit, max_bytes)
    }

    /// The room `room` as registered (`#Tea`) and its members with their
    /// names; `None` if there is no such room. (Who may see them is the
    /// caller's business: `MEMBERS` is for members only.)
    pub fn room_members(&self, room: &str) -> Option<(Arc<str>, Members)> {
        self.backend.room_members(room)
    }

    /// When `user`'s last receive connection ended (`None`: never seen).
    pub fn last_seen(&self, user: UserId) -> Option<u64> {
        self.backend.last_seen(user)
    }

    /// The last sequence number of `user`'s inbox that is durable. A
    /// receive connection registers with the router and calls this in one
    /// critical section (see `server::recv`), replays up to it, and live
    /// delivery takes over after it.
    pub fn inbox_end(&self, user: UserId) -> u64 {
        self.backend.inbox_end(user)
    }

    /// The unacknowledged inbox events of `user` up to `upto`, as frames.
    pub fn replay(&self, user: UserId, upto: u64) -> Box<dyn Lines> {
        self.backend.replay(user, upto)
    }

    /// Writes what is pending and stops; every later change is refused.
    pub fn stop(&self) {
        self.backend.stop()
    }

    /// `SERVER` (1.1): the identity of this server's data.
    pub fn server_id(&self) -> Result<String, Ko> {
        self.backend.server_id()
    }
}

impl Backend for LocalStore {
    fn account(&self, name: &str) -> Result<Option<Account>, Ko> {
        let state = self.inner.state.lock();
        let Some(id) = state.user_id(name) else { return Ok(None) };
        let user = &state.users[id];
        Ok(Some(Account { id, name: user.name.clone(), hash: user.hash.clone() }))
    }

    fn create_account(&self, name: &str, email: &str, hash: String) -> Result<(Account, Ticket), Ko> {
        let (mut made, ticket) = self.inner.create_accounts(&[(name, email, hash)])?;
        Ok((made.pop().expect("one account asked, one made"), ticket))
    }

    fn send(&self, from: UserId, msgs: &[Outgoing]) -> (Vec<Result<String, Ko>>, Ticket) {
        self.inner.send(from, msgs)
    }

    fn read(&self, user: UserId, chat: &Chat, id: &str) -> Result<Ticket, Ko> {
        self.inner.read(user, chat, id)
    }

    fn join(&self, user: UserId, room: &str) -> Result<Ticket, Ko> {
        self.inner.join(user, room)
    }

    fn leave(&self, user: UserId, room: &str) -> Result<Ticket, Ko> {
        self.inner.leave(user, room)
    }

    fn ack(&self, user: UserId, seq: u64) {
        self.inner.ack(user, seq)
    }

    fn note_offline(&self, user: UserId, ts_ms: u64) {
        self.inner.note_offline(user, ts_ms)
    }

    fn wait(&self, ticket: Ticket) -> Result<(), Ko> {
        self.inner.wait(ticket)
    }

    fn when_durable(&self, ticket: Ticket, then: Then) {
        self.inner.when_durable(ticket.0, then)
    }

    fn rooms(&self, user: UserId) -> Result<Vec<String>, Ko> {
        Ok(self.inner.state.lock().rooms_list(user))
    }

    fn chats(&self, user: UserId) -> Result<Vec<String>, Ko> {
        Ok(self.inner.chats(user))
    }

    fn roommates(&self, user: UserId, limit: usize) -> Vec<UserId> {
        let state = self.inner.state.lock();
        let mut mates: Vec<UserId> = state
            .rooms_of(user)
            .filter(|&r| state.room(r).members.len() <= limit)
            .flat_map(|r| state.members(r))
            .filter(|&m| m != user)
            .collect();
        mates.sort_unstable();
        mates.dedup();
        mates
    }

    fn last_seen(&self, user: UserId) -> Option<u64> {
        self.inner.state.lock().last_seen(user)
    }

    fn history(&self, user: UserId, chat: &Chat, limit: usize, max_bytes: usize) -> Result<Listing, Ko> {
        self.inner.history(user, chat, limit, max_bytes)
    }

    fn room_members(&self, room: &str) -> Option<(Arc<str>, Members)> {
        let state = self.inner.state.lock();
        let r = state.room_id(room)?;
        let members = state.members(r).map(|m| (m, state.users[m].name.clone())).collect();
        Some((state.room(r).name.clone(), members))
    }

    fn inbox_end(&self, user: UserId) -> u64 {
        let synced = self.inner.synced();
        self.inner.state.lock().inbox_end(user, synced)
    }

    fn replay(&self, user: UserId, upto: u64) -> Box<dyn Lines> {
        self.inner.replay(user, upto)
    }

    fn stop(&self) {
        self.inner.stop()
    }

    fn server_id(&self) -> Result<String, Ko> {
        Ok(self.inner.server_id.clone())
    }
}
