//! The store: what the server remembers, and the promise that an `OK` is on
//! disk.
//!
//! - [`state`]: the in-memory indexes, built by applying [`Record`]s.
//! - [`Backend`]: where records are kept. [`csv_backend`] is the one we
//!   have (flat CSV files); another (a database shared by several servers)
//!   only has to implement `load` and `append`.
//! - [`accounts`]: class accounts edited offline (`wachat users add …`),
//!   under the data directory's lock.
//! - [`committer`]: the group commit. Requests apply their records to the
//!   state under one lock and leave them in a pending batch; one committer
//!   thread writes the whole batch, fsyncs once, and only then wakes the
//!   requests waiting for their `OK` and hands the new events to the router.
//!   Many messages, one fsync: that is what makes durable messaging fast.
//!
//! Every operation here checks what the client asked, returns a `Ko` when
//! it cannot be done, and otherwise builds records and commits them.

pub mod accounts;
pub mod committer;
pub mod csv_backend;
pub mod lock;
pub mod password;
pub mod record;
pub mod state;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;

pub use password::Hasher;
pub use record::{Message, Record};
use state::Batch;
pub use state::{State, UserId};

use crate::error::Result;
use crate::protocol::{Chat, Code, Ko, Text};
use crate::router::{Outlet, Router};

/// Where records are kept. `append` returns once the records are durable.
pub trait Backend: Send {
    /// Feeds every stored record to `apply`, in the order it was written.
    fn load(&mut self, apply: &mut dyn FnMut(Record) -> std::result::Result<(), String>) -> Result<()>;
    /// Stores records; when it returns `Ok` they survive a crash.
    fn append(&mut self, records: &[Record]) -> Result<()>;
}

/// The number of the batch that holds a request's records: waiting for it
/// (see [`Store::wait`]) waits until they are on disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ticket(u64);

/// How far the committer has got, and who is waiting for it.
///
/// Each waiting handler parks on a channel of its own, which the committer
/// sends to once the handler's batch is on disk. (A shared condition
/// variable would wake every waiter through one mutex, one after the
/// other: a chain of context switches on every batch.)
#[derive(Default)]
struct Durable {
    /// Every batch up to this number is on disk (read without the lock).
    done: AtomicU64,
    /// A write or fsync failed: nothing after `done` will ever be durable.
    failed: AtomicBool,
    /// Handlers waiting for a batch: its number, and where to say so.
    waiters: Mutex<Vec<(u64, Sender<bool>)>>,
}

/// Records waiting for the committer.
struct Pending {
    batch: state::Batch,
    /// The committer's last batch, emptied, given back for reuse: batches
    /// run to thousands of records, and growing a new one from nothing
    /// every time (reallocating, copying) costs more than the records.
    spare: state::Batch,
    /// The number this batch will have (tickets name it).
    number: u64,
    /// The committer took its last batch (shutdown): no more writes.
    closed: bool,
}

/// The name of the room every account joins at registration.
pub const GENERAL: &str = "#general";

/// Shared by every connection handler (behind an `Arc`).
pub struct Store {
    state: Mutex<State>,
    /// The batch the committer will write next (see [`Store::write`]).
    pending: Mutex<Pending>,
    durable: Durable,
    /// Wakes the committer: a capacity-1 channel, so a burst of requests
    /// costs one wake-up. The committer holds the receiving end.
    kick: Sender<()>,
    /// Set by [`Store::stop`]: the committer writes what is left and ends.
    stopping: AtomicBool,
    pub hasher: Hasher,
    /// Recent successful logins (see `password::LoginCache`).
    logins: password::LoginCache,
    pub router: Arc<Router>,
}

/// Current time in Unix milliseconds.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

fn ko(code: Code, reason: impl Into<String>) -> Ko {
    Ko::new(code, reason)
}

impl Store {
    /// Loads every record from `backend` and starts the committer thread.
    pub fn open(
        mut backend: Box<dyn Backend>,
        hasher: Hasher,
        router: Arc<Router>,
    ) -> Result<(Arc<Store>, std::thread::JoinHandle<()>)> {
        let mut state = State::default();
        let started = std::time::Instant::now();
        let mut count = 0u64;
        backend.load(&mut |record| {
            count += 1;
            state.apply(&record)
        })?;
        state.finish_loading();
        log::info!(
            "store: loaded {count} records ({} accounts) in {} ms",
            state.users.len(),
            started.elapsed().as_millis()
        );
        let (kick, kicked): (Sender<()>, Receiver<()>) = crossbeam_channel::bounded(1);
        let store = Arc::new(Store {
            state: Mutex::new(state),
            pending: Mutex::new(Pending {
                batch: Batch::default(),
                spare: Batch::default(),
                number: 1,
                closed: false,
            }),
            durable: Durable::default(),
            kick,
            stopping: AtomicBool::new(false),
            hasher,
            logins: password::LoginCache::default(),
            router,
        });
        let committer = committer::spawn(store.clone(), backend, kicked)?;
        Ok((store, committer))
    }

    /// Runs `f` on the locked state; if it committed records, wakes the
    /// committer. Returns `f`'s result and the ticket of the pending batch.
    fn write<T>(
        &self,
        f: impl FnOnce(&mut State) -> std::result::Result<T, Ko>,
    ) -> std::result::Result<(T, Ticket), Ko> {
        if self.durable.failed.load(Ordering::SeqCst) {
            return Err(ko(Code::Internal, "the server cannot write to its disk; try later"));
        }
        let mut state = self.state.lock();
        // The pending batch has its own lock, taken inside the state lock:
        // records reach it in the order they were applied, and the
        // committer, which takes only this lock, never queues behind every
        // request waiting for the state.
        let mut pending = self.pending.lock();
        if pending.closed {
            return Err(ko(Code::Internal, "the server is shutting down"));
        }
        state.batch = pending.number;
        let value = f(&mut state);
        // Drained, not taken: both keep their capacity for the next request.
        let wrote = !state.staged.records.is_empty();
        pending.batch.records.append(&mut state.staged.records);
        pending.batch.deliveries.append(&mut state.staged.deliveries);
        // A request that wrote nothing (a resent message) still waits for
        // whatever is pending, which may hold the original; otherwise for
        // the batch being written now.
        let ticket = if pending.batch.records.is_empty() { pending.number - 1 } else { pending.number };
        drop(pending);
        drop(state);
        let value = value?;
        if wrote {
            let _ = self.kick.try_send(()); // full: a wake-up is already due
        }
        Ok((value, Ticket(ticket)))
    }

    /// Blocks until the batch of `ticket` is on disk.
    pub fn wait(&self, ticket: Ticket) -> std::result::Result<(), Ko> {
        let failed = || ko(Code::Internal, "the message could not be stored; try again");
        let durable = &self.durable;
        if durable.done.load(Ordering::SeqCst) >= ticket.0 {
            return Ok(());
        }
        let (tell, told) = crossbeam_channel::bounded(1);
        {
            let mut waiters = durable.waiters.lock();
            // Checked again under the lock: the committer moves `done`
            // before it takes this lock to collect the waiters.
            if durable.done.load(Ordering::SeqCst) >= ticket.0 {
                return Ok(());
            }
            if durable.failed.load(Ordering::SeqCst) {
                return Err(failed());
            }
            waiters.push((ticket.0, tell));
        }
        match told.recv() {
            Ok(true) => Ok(()),
            _ => Err(failed()),
        }
    }

    /// The committer finished batch `number` (`ok`: it is on disk):
    /// wakes the handlers waiting for it.
    fn publish(&self, number: u64, ok: bool) {
        let durable = &self.durable;
        if ok {
            durable.done.store(number, Ordering::SeqCst);
        } else {
            durable.failed.store(true, Ordering::SeqCst);
        }
        let ready: Vec<(u64, Sender<bool>)> = {
            let mut waiters = durable.waiters.lock();
            if ok {
                let (ready, later) = waiters.drain(..).partition(|(ticket, _)| *ticket <= number);
                *waiters = later;
                ready
            } else {
                std::mem::take(&mut *waiters)
            }
        };
        for (_, tell) in ready {
            let _ = tell.send(ok);
        }
    }

    /// Asks the committer to write what is pending and stop.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        let _ = self.kick.try_send(());
    }

    // ----- accounts -----------------------------------------------------

    /// Creates an account (and its membership of `#general`), durably.
    pub fn register(
        &self,
        name: &str,
        email: &str,
        password: &str,
    ) -> std::result::Result<(UserId, Arc<str>), Ko> {
        if self.state.lock().user_id(name).is_some() {
            return Err(ko(Code::UserExists, format!("the name {name} is taken")));
        }
        // Hashing is slow on purpose: do it outside the lock.
        let hash = self.hasher.hash(password).map_err(|e| ko(Code::Internal, e))?;
        let (user, ticket) = self.write(|state| {
            if state.user_id(name).is_some() {
                return Err(ko(Code::UserExists, format!("the name {name} is taken")));
            }
            let ts = state.next_ts(now_ms());
            state.commit(Record::User { name: name.into(), email: email.into(), hash, created_ms: ts })?;
            let pos = state.room_id(GENERAL).map_or(0, |r| state.room_len(r));
            state.commit(Record::Join { ts, user: name.into(), room: GENERAL.into(), pos })?;
            let user = state.user_id(name).expect("just added");
            Ok((user, state.users[user].name.clone()))
        })?;
        self.wait(ticket)?;
        self.logins.remember(user.0, password);
        Ok(user)
    }

    /// Checks a password. With `auto_register`, an unknown name becomes a
    /// new account with this password.
    pub fn login(
        &self,
        name: &str,
        password: &str,
        auto_register: bool,
    ) -> std::result::Result<(UserId, Arc<str>), Ko> {
        let found = {
            let state = self.state.lock();
            state.user_id(name).map(|id| (id, state.users[id].name.clone(), state.users[id].hash.clone()))
        };
        match found {
            Some((id, name, _)) if self.logins.recall(id, password) => Ok((id, name)),
            Some((id, name, hash)) if self.hasher.verify(Some(&hash), password) => {
                self.logins.remember(id, password);
                Ok((id, name))
            }
            None if auto_register => match self.register(name, "", password) {
                // Two first logins at once: the other one created it.
                Err(e) if e.code == Code::UserExists => self.login(name, password, false),
                other => other,
            },
            None => {
                self.hasher.verify(None, password); // same time as a wrong password
                Err(ko(Code::AuthFailed, "wrong user or password"))
            }
            Some(_) => Err(ko(Code::AuthFailed, "wrong user or password")),
        }
    }

    /// The id of an account.
    pub fn user_id(&self, name: &str) -> Option<UserId> {
        self.state.lock().user_id(name)
    }

    /// The registered spelling of a user name, if the account exists.
    pub fn user_name(&self, name: &str) -> Option<Arc<str>> {
        let state = self.state.lock();
        state.user_id(name).map(|id| state.users[id].name.clone())
    }

    // ----- messages -----------------------------------------------------

    /// `MSG`: accepts a message (or recognises a resend) and returns the
    /// `<id>:<ts>` of its `OK`, valid once the ticket is durable.
    pub fn send(
        &self,
        from: UserId,
        to: &Chat,
        id: &str,
        text: &Text,
    ) -> std::result::Result<(String, Ticket), Ko> {
        self.write(|state| send_one(state, from, to, id, text))
    }

    /// Several `MSG`s of one sender under one lock: a pipelined burst costs
    /// one lock acquisition, not one per message. One result per message.
    pub fn send_many(
        &self,
        from: UserId,
        msgs: &[Outgoing],
    ) -> (Vec<std::result::Result<String, Ko>>, Ticket) {
        let applied = self.write(|state| {
            Ok(msgs.iter().map(|(to, id, text)| send_one(state, from, to, id, text)).collect())
        });
        match applied {
            Ok(results) => results,
            // The store refuses every write (disk failure, shutdown).
            Err(ko) => (vec![Err(ko); msgs.len()], Ticket(0)),
        }
    }

    /// `READ`: `user` read `chat` up to the message `id`.
    pub fn read(&self, user: UserId, chat: &Chat, id: &str) -> std::result::Result<Ticket, Ko> {
        let unknown = || ko(Code::UnknownMessage, format!("no message {id} from {chat} to you"));
        let ((), ticket) = self.write(|state| {
            let me = state.users[user].name.clone();
            let ts = state.next_ts(now_ms());
            match chat {
                Chat::User(name) => {
                    // The contract has one code for READ: UNKNOWN_MESSAGE.
                    let from = state
                        .user_id(name)
                        .ok_or_else(|| ko(Code::UnknownMessage, format!("no user named {name}")))?;
                    match state.find_sent(from, id) {
                        Some((msg, _)) if !msg.is_room() && state.user_id(&msg.to) == Some(user) => {}
                        _ => return Err(unknown()),
                    }
                    let chat = state.users[from].name.clone();
                    state.commit(Record::Read { ts, user: me, chat, id: id.into() })
                }
                Chat::Room(name) => {
                    let room = state.room_id(name).filter(|&r| state.is_member(r, user));
                    let room = room.ok_or_else(|| ko(Code::NotMember, format!("you are not in #{name}")))?;
                    state.find_in_room(room, id).ok_or_else(unknown)?;
                    let chat = state.rooms[room].name.clone();
                    state.commit(Record::Read { ts, user: me, chat, id: id.into() })
                }
            }
        })?;
        Ok(ticket)
    }

    /// `ACK:<seq>` on the receive port: drops the events up to `seq` from
    /// the inbox and turns direct messages among them into DELIVERED.
    /// Nothing waits for this to be on disk (see `csv_backend`).
    pub fn ack(&self, user: UserId, seq: u64) {
        let result = self.write(|state| {
            if seq <= state.users[user].inbox.acked {
                return Ok(());
            }
            let me = state.users[user].name.clone();
            for msg in state.acked_messages(user, seq) {
                let Some((sender, pos)) =
                    state.user_id(&msg.from).and_then(|s| Some((s, state.find_sent(s, &msg.id)?.1)))
                else {
                    continue;
                };
                if !state.would_deliver(sender, user, pos) {
                    continue; // already READ: states only move forward
                }
                let ts = state.next_ts(now_ms());
                let (chat, id) = (msg.from.clone(), msg.id.clone());
                state.commit(Record::Delivered { ts, user: me.clone(), chat, id })?;
            }
            state.commit(Record::Ack { user: me, seq })
        });
        if let Err(e) = result {
            log::warn!("store: ack {seq} of user #{user} not stored: {}", e.reason);
        }
    }

    // ----- rooms --------------------------------------------------------

    /// `JOIN`: creates the room if new. Returns the ticket and whether
    /// anything changed (joining a room twice is fine).
    pub fn join(&self, user: UserId, room: &str) -> std::result::Result<Ticket, Ko> {
        let ((), ticket) = self.write(|state| {
            let existing = state.room_id(room);
            if existing.is_some_and(|r| state.is_member(r, user)) {
                return Ok(());
            }
            let name = existing.map_or_else(|| format!("#{room}"), |r| state.rooms[r].name.to_string());
            let pos = existing.map_or(0, |r| state.room_len(r));
            let ts = state.next_ts(now_ms());
            let me = state.users[user].name.to_string();
            state.commit(Record::Join { ts, user: me, room: name, pos })
        })?;
        Ok(ticket)
    }

    /// `LEAVE`.
    pub fn leave(&self, user: UserId, room: &str) -> std::result::Result<Ticket, Ko> {
        let ((), ticket) = self.write(|state| {
            let r = state.room_id(room).filter(|&r| state.is_member(r, user));
            let r = r.ok_or_else(|| ko(Code::NotMember, format!("you are not in #{room}")))?;
            let (ts, me) = (state.next_ts(now_ms()), state.users[user].name.to_string());
            let name = state.rooms[r].name.to_string();
            state.commit(Record::Leave { ts, user: me, room: name })
        })?;
        Ok(ticket)
    }

    /// `ROOMS`
    pub fn rooms(&self, user: UserId) -> Vec<String> {
        self.state.lock().rooms_list(user)
    }

    /// Users who share at least one room of at most `limit` members with
    /// `user` (who gets their presence, and whose presence they get).
    pub fn roommates(&self, user: UserId, limit: usize) -> Vec<UserId> {
        let state = self.state.lock();
        let mut mates: Vec<UserId> = state
            .rooms_of(user)
            .filter(|&r| state.members(r).count() <= limit)
            .flat_map(|r| state.members(r))
            .filter(|&m| m != user)
            .collect();
        mates.sort_unstable();
        mates.dedup();
        mates
    }

    // ----- reading ------------------------------------------------------

    /// `HISTORY`
    pub fn history(&self, user: UserId, chat: &Chat, limit: usize) -> std::result::Result<Vec<String>, Ko> {
        let state = self.state.lock();
        match chat {
            Chat::User(name) => {
                let peer = state
                    .user_id(name)
                    .ok_or_else(|| ko(Code::UnknownUser, format!("no user named {name}")))?;
                Ok(state.direct_history(user, peer, limit, self.durable_batch()))
            }
            Chat::Room(name) => {
                let room = state.room_id(name).filter(|&r| state.is_member(r, user));
                let room = room.ok_or_else(|| ko(Code::NotMember, format!("you are not in #{name}")))?;
                Ok(state.room_history(room, limit, self.durable_batch()))
            }
        }
    }

    /// `CHATS`
    pub fn chats(&self, user: UserId) -> Vec<String> {
        self.state.lock().chats(user, self.durable_batch())
    }

    /// The last batch on disk: readers show nothing newer.
    fn durable_batch(&self) -> u64 {
        self.durable.done.load(Ordering::SeqCst)
    }

    // ----- the receive port ---------------------------------------------

    /// A user's receive connection is up: registers `outlet` with the
    /// router and returns the inbox events it must be sent first, and the
    /// outlet it replaced, if any.
    ///
    /// No event may be lost or sent twice between the replay and live
    /// delivery. The committer marks a batch durable, *then* delivers it
    /// through the router; here the durable mark is read and the outlet
    /// registered under the router's lock. So either the replay includes
    /// the batch (and the outlet skips it when delivered, by sequence
    /// number), or the outlet is registered before the batch is delivered.
    pub fn attach(&self, user: UserId, outlet: &Arc<Outlet>) -> (Vec<Arc<str>>, Option<Arc<Outlet>>) {
        let state = self.state.lock();
        let mut frames = Vec::new();
        let replaced = self.router.insert_with(user, outlet.clone(), || {
            let (replay, last) = state.replay(user, self.durable_batch());
            outlet.start_replay(last);
            frames = replay;
        });
        (frames, replaced)
    }
}

/// A message to send: recipient, id, text.
pub type Outgoing = (Chat, String, Text);

/// Applies one `MSG` to the locked state; the `<id>:<ts>` of its `OK`.
fn send_one(
    state: &mut State,
    from: UserId,
    to: &Chat,
    id: &str,
    text: &Text,
) -> std::result::Result<String, Ko> {
    if let Some((msg, _)) = state.find_sent(from, id) {
        return Ok(format!("{}:{}", msg.id, msg.ts)); // a resend
    }
    let sender = state.users[from].name.clone();
    let (to_name, recipients) = match to {
        Chat::User(name) => {
            let to =
                state.user_id(name).ok_or_else(|| ko(Code::UnknownUser, format!("no user named {name}")))?;
            (state.users[to].name.clone(), Vec::new())
        }
        Chat::Room(name) => {
            let room = state.room_id(name).filter(|&r| state.is_member(r, from));
            let room = room.ok_or_else(|| ko(Code::NotMember, format!("you are not in #{name}")))?;
            let mut members: Vec<UserId> = state.members(room).filter(|&m| m != from).collect();
            members.sort_unstable();
            let names = members.iter().map(|&m| state.users[m].name.clone()).collect();
            (state.rooms[room].name.clone(), names)
        }
    };
    let ts = state.next_ts(now_ms());
    let msg = Message { from: sender, to: to_name, id: id.into(), ts, text: text.clone() };
    state.commit(Record::Message { msg: Arc::new(msg), recipients })?;
    Ok(format!("{id}:{ts}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    /// A disk that fails every write after the first `ok_writes`.
    struct FailingDisk {
        ok_writes: usize,
    }

    impl Backend for FailingDisk {
        fn load(&mut self, _: &mut dyn FnMut(Record) -> std::result::Result<(), String>) -> Result<()> {
            Ok(())
        }
        fn append(&mut self, _: &[Record]) -> Result<()> {
            if self.ok_writes == 0 {
                return Err(Error::io("store: test disk", std::io::Error::other("no space left")));
            }
            self.ok_writes -= 1;
            Ok(())
        }
    }

    #[test]
    fn a_failed_write_is_never_acknowledged_and_reads_go_on() {
        let router = Arc::new(Router::default());
        let (store, committer) =
            Store::open(Box::new(FailingDisk { ok_writes: 2 }), Hasher::new(8).unwrap(), router).unwrap();
        let (ana, _) = store.register("ana", "", "pw").unwrap();
        store.register("bob", "", "pw").unwrap();
        let to_bob = Chat::User("bob".into());
        let text = Text::parse("hi").unwrap();
        let (_, ticket) = store.send(ana, &to_bob, "m1", &text).unwrap();
        assert_eq!(store.wait(ticket).unwrap_err().code, Code::Internal);
        // Every later write is refused at once, with the same code ...
        let refused = store.send(ana, &to_bob, "m2", &text).unwrap_err();
        assert_eq!(refused.code, Code::Internal);
        // ... while reads are still served, without the refused message.
        assert_eq!(store.rooms(ana), ["#general:2"]);
        assert_eq!(store.history(ana, &to_bob, 10).unwrap(), Vec::<String>::new());
        assert_eq!(store.chats(ana), Vec::<String>::new());
        assert!(store.login("bob", "pw", false).is_ok());
        store.stop();
        committer.join().unwrap();
    }
}
