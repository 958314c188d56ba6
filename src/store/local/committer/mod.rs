//! The group commit: how records applied in memory reach the disk, who
//! writes them, and how those who wait for them are told.
//!
//! ```text
//!  request threads: each applies its records under the state lock, adds
//!  their lines to `pending`, then either waits for "synced up to my
//!  ticket" (wait) or leaves a callback for that moment (when_durable)
//!  ─────────────────────────────────────────────────────────────────────
//!  is anyone writing?  ──no──▶  this thread is the LEADER for one batch:
//!        │                        take `pending`, write it, fsync once,
//!       yes                       mark it durable (one atomic), pick who
//!        ▼                        leads next, hand the batch's events to
//!  sleep until told, or           the router, run the callbacks and wake
//!  return at once (callback)      the sleepers whose records are durable
//! ```
//!
//! The first thread that needs the disk writes for everyone who queued
//! behind it, so the busier the server, the more records share each fsync,
//! and no thread hop is paid on the way there: the leader's own request
//! crosses none, where a separate committer thread costs one wake-up to
//! start the batch and one to tell each waiter (~20 µs each here across
//! the two vCPUs, and the CPU of a wake-up was most of what a message cost
//! at 10,000 msgs/s: BENCHMARKS.md, "Latency").
//!
//! Who leads next, when a batch is done and some still wait: the oldest
//! sleeping thread (it had to be woken anyway); if only callbacks are left
//! (send handlers that went back to reading their sockets), the
//! **committer** thread, which goes on leading while there is work, so
//! that no handler is kept from its own connection for long. The
//! committer also writes, [`RIDE`] after they were applied, records that
//! nobody waits for (acknowledgements, `DELIVERED`, last-seen times) if no
//! batch took them along.
//!
//! The events of a batch are handed on only after its fsync: nobody sees
//! a message that a crash could take back. Batches reach the router in
//! the order they were written: a leader takes the *delivery turn* before
//! it gives up the leadership, so the next leader writes its batch while
//! this one delivers, and delivers after it.
//!
//! **When the disk is full**, the leader cuts the batch back out of the
//! file, spends the ballast (`store::ballast`) and writes it again at
//! once: its `OK`s are true, and every new write is refused `KO:FULL` at
//! admission until there is room.
//!
//! **When the disk fails** (full with no ballast left, or a file-size
//! limit), the batch being
//! written is cut back out of the file and kept (the *stalled* batch):
//! its records are already in the state, with positions after it that
//! later records build on, so it cannot be dropped. Every new write is
//! refused at once (`KO:INTERNAL`, `KO:FULL` once the ballast is spent),
//! before it is applied, so that `KO`
//! means "not stored" (reads go on), and the committer tries the stalled
//! batch again every [`RETRY`]. Those who wait for the stalled batch (and
//! for records applied before the failure was seen) are **not answered**
//! meanwhile: the first try that succeeds writes the batch where it was
//! meant to be, answers them `OK`, delivers its events and lets writes in
//! again, with no restart. Only when the store stops with the batch still
//! unwritten are they answered `KO:INTERNAL`: the batch is then not on
//! disk, and never will be. (Refused at once, a retry that succeeded
//! later would store a message whose sender had been told it was
//! refused.) Only the lack of room is waited for,
//! and, on a cluster's leader, a shared log that does not answer (its
//! database failing over: new writes are refused `KO:UNAVAILABLE`
//! meanwhile, `store::shared_log`); any other failure (an I/O error, a
//! failed fsync, another node leading) is final until a restart, and
//! answered `KO:INTERNAL` at once: the batch is never written
//! ([`Inner::final_failure`]).
//!
//! The checkpointer thread and retention are in `checkpointer.rs`. Beside
//! this file: [`write`](mod@write), a leader's term at the disk (`commit_pending`),
//! and [`wake`], how the threads here sleep and are woken.

mod shared;
mod wake;
mod write;

pub(in crate::store) use wake::{Bell, Sleeper, spawn_committer};
pub(in crate::store) use write::LogFiles;
use write::commit_pending;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;

use super::super::interface::Then;
use super::super::record::Pos;
use super::super::state::Batch;
use super::Inner;
use crate::error::Error;
use crate::protocol::{Code, Ko};

/// How long records that nobody waits for wait for a leader's batch to
/// ride with, before the committer writes them itself. At 10,000 msgs/s a
/// leader writes a batch every ~0.2–0.4 ms, so receipts ride for free; on
/// a quiet server a `DELIVERED` reaches its sender ~1 ms later than it
/// could, which no one sees. Riding saves the ~310 fsyncs per second that
/// the receivers' `ACK`s forced at that rate (one per 32 messages).
pub const RIDE: Duration = Duration::from_millis(1);

/// How often a failed write is tried again (see the module
/// documentation): a `write` and an `fsync` of one batch a second cost
/// nothing, and a user waits at most this long after space came back.
pub const RETRY: Duration = Duration::from_secs(1);

/// What a waiter waits for.
#[derive(Clone, Copy, Debug)]
pub(in crate::store) enum Goal {
    /// Every record before this position synced: an `OK`, a delivery.
    Synced(Pos),
    /// Every record before this position handed to the file, synced or not
    /// (acknowledgements, which need no sync of their own).
    Written(Pos),
}

/// How far the log is durable, who waits for it, and who is writing it.
#[derive(Default)]
pub(in crate::store) struct Durable {
    /// Every record before this position is in the file (maybe not synced).
    written: AtomicU64,
    /// Every record before this position is on disk (read without a lock).
    synced: AtomicU64,
    /// A write or sync failed: nothing after `synced` is durable until a
    /// retry succeeds; new writes are refused meanwhile.
    pub(in crate::store) failed: AtomicBool,
    /// The store is stopping: a failure is final, and whoever waits for
    /// what it kept from the disk is answered `KO:INTERNAL` (not stored).
    given_up: AtomicBool,
    queue: Mutex<Queue>,
}

/// The leadership, and those waiting until the log reaches their goal.
#[derive(Default)]
struct Queue {
    /// A thread is writing a batch now.
    leading: bool,
    /// Oldest first.
    waiters: Vec<(Goal, Waiter)>,
}

/// Someone waiting for the log.
enum Waiter {
    /// A thread asleep in [`Inner::await_log`].
    Asleep(Arc<Sleeper>),
    /// A callback left by [`Inner::when_durable`].
    Then(Then),
}

impl Durable {
    /// Everything before `end` is on disk (the log as opened).
    pub(in crate::store) fn new(end: Pos) -> Durable {
        Durable { written: AtomicU64::new(end), synced: AtomicU64::new(end), ..Durable::default() }
    }

    pub(in crate::store) fn synced(&self) -> Pos {
        self.synced.load(Ordering::SeqCst)
    }

    fn reached(&self, goal: Goal) -> bool {
        match goal {
            Goal::Synced(pos) => self.synced.load(Ordering::SeqCst) >= pos,
            Goal::Written(pos) => self.written.load(Ordering::SeqCst) >= pos,
        }
    }

    fn failure() -> Ko {
        Ko::new(Code::Internal, "the message could not be stored; try again")
    }

    /// A waiter is answered `KO:INTERNAL`: the disk failed and the store
    /// stops, so what it waits for will never be on disk.
    fn refused(&self) -> bool {
        self.failed.load(Ordering::SeqCst) && self.given_up.load(Ordering::SeqCst)
    }
}

/// What a leader's term did.
enum TermEnd {
    /// Nothing was pending.
    Nothing,
    /// A batch is in the file up to `end`, synced or not.
    Wrote { batch: Batch, end: Pos, synced: bool },
    /// No batch, but what was written before without a sync is synced now.
    Synced { end: Pos },
    /// The disk failed: nothing will be durable any more.
    Failed,
}

/// Who leads after a term.
enum Next {
    /// Nobody waits: the next thread that needs the disk.
    Nobody,
    /// The oldest sleeping waiter, woken for it.
    Sleeper(Arc<Sleeper>),
    /// The committer thread (only callbacks are left).
    Committer,
    /// The committer itself, which goes on while there is work.
    Same,
}

/// Who is leading: a thread that needs the disk for itself (one term,
/// then it passes the leadership on), or the committer (as long as
/// callbacks are left).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Leading {
    Request { want_sync: bool },
    Committer,
}

impl Inner {
    /// Blocks until the log reaches `goal`, writing it as the leader if no
    /// one else is (see the module documentation). `KO:INTERNAL` if the
    /// disk failed.
    pub(in crate::store) fn await_log(&self, goal: Goal) -> std::result::Result<(), Ko> {
        self.await_as(goal, Leading::Request { want_sync: matches!(goal, Goal::Synced(_)) })
    }

    fn await_as(&self, goal: Goal, leader: Leading) -> std::result::Result<(), Ko> {
        let durable = &self.durable;
        loop {
            if durable.reached(goal) {
                return Ok(());
            }
            let asleep = {
                let mut queue = durable.queue.lock();
                // Checked again under the lock: a leader moves the positions
                // before it takes this lock to give up its leadership.
                if durable.reached(goal) {
                    return Ok(());
                }
                if durable.refused() {
                    return Err(Durable::failure());
                }
                let failed = durable.failed.load(Ordering::SeqCst);
                if failed && leader == Leading::Committer {
                    return Err(Durable::failure()); // it retries on its own clock
                }
                // The committer never sleeps behind another leader: if
                // that leader's write failed, nobody would be left to try
                // it again. It comes back after a ride instead.
                if queue.leading && leader == Leading::Committer {
                    drop(queue);
                    self.bell.ring(Bell::SOON);
                    return Ok(());
                }
                // While the disk fails, only the committer's retries lead:
                // the others sleep until one succeeds (or the store stops).
                // A follower's batches come from the shared log: it waits
                // for them (`shared.rs`), it never leads.
                if queue.leading || failed || self.following.load(Ordering::SeqCst) {
                    let sleeper = Sleeper::new();
                    queue.waiters.push((goal, Waiter::Asleep(sleeper.clone())));
                    Some(sleeper)
                } else {
                    queue.leading = true;
                    None
                }
            };
            match asleep {
                // Woken because the goal is reached, or to lead: look again.
                Some(sleeper) => sleeper.sleep(),
                None => self.lead(leader),
            }
        }
    }

    /// Runs `then` once every record before `ticket` is synced (`Err`: the
    /// disk failed), without waiting for it: on this thread if it is
    /// already so or if this thread has to lead the batch, else on the
    /// leader's thread when it is.
    pub(in crate::store) fn when_durable(&self, pos: Pos, then: Then) {
        let durable = &self.durable;
        let goal = Goal::Synced(pos);
        if durable.reached(goal) {
            return then(Ok(()));
        }
        {
            let mut queue = durable.queue.lock();
            if durable.reached(goal) {
                drop(queue);
                return then(Ok(()));
            }
            if durable.refused() {
                drop(queue);
                return then(Err(Durable::failure()));
            }
            queue.waiters.push((goal, Waiter::Then(then)));
            if queue.leading || durable.failed.load(Ordering::SeqCst) || self.following.load(Ordering::SeqCst)
            {
                // The leader's term ends by looking at the queue; while the
                // disk fails, the committer's retry does.
                return;
            }
            queue.leading = true;
        }
        self.lead(Leading::Request { want_sync: true });
    }

    /// Leads: writes what is pending, syncs it if a record in it needs
    /// that (or the leader waits for a sync), passes the leadership on and
    /// tells who waited. A request's thread leads one term; the committer
    /// goes on as long as callbacks are left.
    fn lead(&self, leader: Leading) {
        let mut want_sync = match leader {
            Leading::Request { want_sync } => want_sync,
            Leading::Committer => false,
        };
        loop {
            let done = {
                let mut files = self.files.lock(); // only ever the leader's: never contended
                commit_pending(self, &mut files, want_sync)
            };
            let idle = matches!(done, TermEnd::Nothing);
            if !self.end_term(done, leader) {
                return;
            }
            if idle && want_sync {
                // Callbacks wait for what no sync can reach: a bug. Better
                // a loud log than a thread spinning for ever.
                log::error!("store: callbacks wait for positions past the end of the log");
                self.durable.queue.lock().leading = false;
                return;
            }
            // A term with nothing to write, callbacks left: they wait for
            // records written without a sync; the next term syncs them.
            want_sync |= idle;
        }
    }

    /// Ends a term that did `done`: passes the leadership on, hands the
    /// batch's events to the router and tells who waited. True if the
    /// same leader (the committer) goes on.
    fn end_term(&self, done: TermEnd, leader: Leading) -> bool {
        // The delivery turn before the leadership is given up: batches
        // reach the router in the order they were written.
        let turn = self.delivering.lock();
        let (next, ready) = self.hand_over(&done, leader);
        match &next {
            // First: the next batch's fsync starts while this one is delivered.
            Next::Sleeper(sleeper) => sleeper.wake(),
            Next::Committer => self.bell.ring(Bell::NOW),
            Next::Nobody | Next::Same => {}
        }
        if let TermEnd::Wrote { batch, .. } = &done {
            (self.deliver)(batch);
        }
        drop(turn);
        for (goal, waiter) in ready {
            match waiter {
                Waiter::Asleep(sleeper) => sleeper.wake(),
                // Not reached: refused, the store stops with the disk failed.
                Waiter::Then(then) if self.durable.reached(goal) => then(Ok(())),
                Waiter::Then(then) => then(Err(Durable::failure())),
            }
        }
        if let TermEnd::Wrote { mut batch, .. } = done {
            batch.clear();
            self.pending.lock().spare = batch; // its buffers, for reuse
        }
        matches!(next, Next::Same)
    }

    /// Publishes what a term did and passes the leadership on, in one
    /// critical section: a thread that finds no leader afterwards leads
    /// itself, one that queued before was counted here. Returns who leads
    /// next and the waiters whose goal is reached.
    fn hand_over(&self, done: &TermEnd, leader: Leading) -> (Next, Vec<(Goal, Waiter)>) {
        let durable = &self.durable;
        match *done {
            TermEnd::Nothing => {}
            // A write or sync that succeeds after a failure (a retry, see
            // the module documentation) lets writes in again.
            TermEnd::Wrote { end, synced, .. } => {
                durable.written.store(end, Ordering::SeqCst);
                if synced {
                    durable.synced.store(end, Ordering::SeqCst);
                }
                durable.failed.store(false, Ordering::SeqCst);
            }
            TermEnd::Synced { end } => {
                durable.synced.store(end, Ordering::SeqCst);
                durable.failed.store(false, Ordering::SeqCst);
            }
            TermEnd::Failed => {
                if !durable.failed.swap(true, Ordering::SeqCst) {
                    self.bell.ring(Bell::SOON); // the committer starts its retries
                }
            }
        }
        let (failed, refused) = (durable.failed.load(Ordering::SeqCst), durable.refused());
        let mut queue = durable.queue.lock();
        let (ready, left): (Vec<_>, Vec<_>) = std::mem::take(&mut queue.waiters)
            .into_iter()
            .partition(|(goal, _)| refused || durable.reached(*goal));
        queue.waiters = left;
        let asleep = queue.waiters.iter().position(|(_, w)| matches!(w, Waiter::Asleep(_)));
        let next = match asleep {
            // While the disk fails the waiters wait for the committer's retry.
            _ if queue.waiters.is_empty() || failed => Next::Nobody,
            Some(i) => match queue.waiters.remove(i).1 {
                Waiter::Asleep(sleeper) => Next::Sleeper(sleeper),
                Waiter::Then(_) => unreachable!("position() found a sleeper"),
            },
            None if leader == Leading::Committer => Next::Same,
            None => Next::Committer,
        };
        queue.leading = matches!(next, Next::Same);
        (next, ready)
    }

    /// Every record before this position is on disk.
    pub(in crate::store) fn synced(&self) -> Pos {
        self.durable.synced()
    }

    /// Tries again what failed (the committer thread, every [`RETRY`]
    /// while writes are refused): leads one round if nobody leads.
    fn retry_failed(&self) {
        {
            let mut queue = self.durable.queue.lock();
            if queue.leading || !self.durable.failed.load(Ordering::SeqCst) || self.durable.refused() {
                return;
            }
            queue.leading = true;
        }
        self.lead(Leading::Committer);
        if !self.durable.failed.load(Ordering::SeqCst) {
            log::info!("store: the log is written again; writes resume");
            self.bell.ring(Bell::SOON); // what was applied as the write failed
        }
    }

    /// Whether the failure `e` of a write or sync is final: only the lack
    /// of room (a full disk, a quota, `ulimit -f`) and a cluster's shared
    /// log that did not answer may pass, and are waited for. Anything else (an I/O error of a failing disk, a power cut of
    /// the simulated one) ends writing until a restart: the batch is then
    /// never written, and its waiters are answered `KO:INTERNAL` at once,
    /// which is true. (A failed fsync cannot be retried safely: Linux may
    /// have dropped the pages it could not write, and a second fsync then
    /// reports success for data that is not on disk.)
    fn final_failure(&self, e: &Error) -> bool {
        let passes = write::passes(e);
        if !passes {
            self.durable.given_up.store(true, Ordering::SeqCst);
        }
        !passes
    }

    /// The store stops: one last try of what failed; after it a failure is
    /// final, and those waiting for what it kept from the disk are answered
    /// `KO:INTERNAL`, truthfully: it will never be stored.
    pub(in crate::store) fn give_up_on_failure(&self) {
        self.retry_failed();
        self.durable.given_up.store(true, Ordering::SeqCst);
        if !self.durable.failed.load(Ordering::SeqCst) {
            return;
        }
        let waiters = std::mem::take(&mut self.durable.queue.lock().waiters);
        if !waiters.is_empty() {
            log::error!(
                "store: stopping with the disk failed: {} requests refused, not stored",
                waiters.len()
            );
        }
        for (goal, waiter) in waiters {
            match waiter {
                Waiter::Asleep(sleeper) => sleeper.wake(),
                Waiter::Then(then) if self.durable.reached(goal) => then(Ok(())),
                Waiter::Then(then) => then(Err(Durable::failure())),
            }
        }
    }

    /// Records nobody will wait for were just applied: make sure that they
    /// are written within [`RIDE`] even if no leader comes.
    pub(in crate::store) fn flush_later(&self) {
        if !self.flush_armed.swap(true, Ordering::SeqCst) {
            self.bell.ring(Bell::SOON);
        }
    }
}
