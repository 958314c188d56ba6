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
//! - `requests`: what each request does (accounts, messages, rooms, reads,
//!   the receive port): it checks what the client asked, returns a `Ko`
//!   when it cannot be done, and otherwise builds records and commits them.

pub mod accounts;
pub mod committer;
pub mod csv_backend;
pub mod lock;
pub mod password;
pub mod record;
mod requests;
pub mod state;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;

pub use password::Hasher;
pub use record::{Message, Record};
pub use requests::Outgoing;
use state::Batch;
pub use state::{State, UserId};

use crate::error::Result;
use crate::protocol::{Code, Ko};
use crate::router::Router;

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

    /// The last batch on disk: readers show nothing newer.
    pub(super) fn durable_batch(&self) -> u64 {
        self.durable.done.load(Ordering::SeqCst)
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::protocol::{Chat, Text};

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
