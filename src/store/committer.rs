//! The group commit: how records applied in memory reach the disk, who
//! writes them, and how the threads waiting for them are told.
//!
//! ```text
//!  request threads (each applies its records under the state lock, adds
//!  their lines to `pending`, then waits for "synced up to my ticket")
//!  ────────────────────────────────────────────────────────────────────
//!  no one is writing?  ──yes──▶  this thread is the LEADER for one batch:
//!        │                         take `pending`, write it, fsync once,
//!        no                        mark it durable (one atomic),
//!        ▼                         wake the next leader, hand the batch's
//!  sleep until a leader            events to the router, wake the others
//!  says "durable" (or "your
//!  turn to lead")
//! ```
//!
//! There is no committer thread on the path of a message: the first
//! thread that needs the disk writes for everyone who queued behind it.
//! While one leader writes and syncs, new requests fill the next batch, so
//! the busier the server, the more records share each fsync. A message
//! crosses one thread wake-up fewer than with a separate committer (the
//! leader's own request none at all), and each wake-up costs ~20 µs here
//! across the two vCPUs (BENCHMARKS.md, "Latency").
//!
//! The events of a batch are handed on only after its fsync: nobody sees
//! a message that a crash could take back. Batches reach the router in
//! the order they were written: a leader takes the *delivery turn* before
//! it gives up the leadership, so the next leader writes its batch while
//! this one delivers, and delivers after it.
//!
//! Records nobody waits for (acknowledgements, `DELIVERED`, last-seen
//! times) ride with the next batch a leader writes; if none comes within
//! [`RIDE`], the **flusher** thread writes them (see there).
//!
//! The checkpointer thread wakes when enough records were written (or after
//! `--checkpoint-interval`, or at shutdown), copies the state into a
//! checkpoint's lines under the state lock (a few milliseconds), waits
//! until the log is durable up to that point, and writes the file outside
//! every lock.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};
use parking_lot::Mutex;

use super::disk::SyncPoint;
use super::local::Inner;
use super::log::LogWriter;
use super::record::Pos;
use super::state::Batch;
use super::{checkpoint, now_ms};
use crate::error::{Error, Result};
use crate::protocol::{Code, Ko};

/// How long records that nobody waits for wait for a leader's batch to
/// ride with, before the flusher writes them itself. At 10,000 messages/s
/// a leader writes a batch every ~0.2–0.4 ms, so receipts ride for free;
/// on a quiet server a `DELIVERED` reaches its sender ~1 ms later than it
/// could, which no one sees. Riding saved the ~310 fsyncs per second that
/// the receivers' `ACK`s forced at that rate (one per 32 messages).
pub const RIDE: Duration = Duration::from_millis(1);

/// What a waiting thread waits for.
#[derive(Clone, Copy, Debug)]
pub(super) enum Goal {
    /// Every record before this position synced: an `OK`, a delivery.
    Synced(Pos),
    /// Every record before this position handed to the file, synced or not
    /// (acknowledgements, which need no sync of their own).
    Written(Pos),
}

/// How far the log is durable, who waits for it, and who is writing it.
#[derive(Default)]
pub(super) struct Durable {
    /// Every record before this position is in the file (maybe not synced).
    written: AtomicU64,
    /// Every record before this position is on disk (read without a lock).
    synced: AtomicU64,
    /// A write or sync failed: nothing after `synced` will ever be durable.
    pub(super) failed: AtomicBool,
    queue: Mutex<Queue>,
}

/// The leadership and the threads asleep until the log reaches their goal.
#[derive(Default)]
struct Queue {
    /// A thread is writing a batch now.
    leading: bool,
    /// Oldest first: the oldest is woken to lead the next batch.
    waiters: Vec<(Goal, Arc<Sleeper>)>,
}

impl Durable {
    /// Everything before `end` is on disk (the log as opened).
    pub(super) fn new(end: Pos) -> Durable {
        Durable { written: AtomicU64::new(end), synced: AtomicU64::new(end), ..Durable::default() }
    }

    pub(super) fn synced(&self) -> Pos {
        self.synced.load(Ordering::SeqCst)
    }

    fn reached(&self, goal: Goal) -> bool {
        match goal {
            Goal::Synced(pos) => self.synced.load(Ordering::SeqCst) >= pos,
            Goal::Written(pos) => self.written.load(Ordering::SeqCst) >= pos,
        }
    }
}

/// A thread asleep until another one wakes it, once.
///
/// Why not a channel per wait: crossbeam's `recv` spins and yields the CPU
/// again and again before it sleeps; with a hundred handlers waiting for
/// the same fsync, those `sched_yield`s were 31 % of the server's CPU at
/// 10,000 messages/s (perf, BENCHMARKS.md). Parking sleeps at once.
pub(super) struct Sleeper {
    thread: Thread,
    woken: AtomicBool,
}

impl Sleeper {
    fn new() -> Arc<Sleeper> {
        Arc::new(Sleeper { thread: std::thread::current(), woken: AtomicBool::new(false) })
    }

    fn sleep(&self) {
        // `park` may return without an `unpark` meant for us: check the flag.
        while !self.woken.load(Ordering::Acquire) {
            std::thread::park();
        }
    }

    fn wake(&self) {
        self.woken.store(true, Ordering::Release);
        self.thread.unpark();
    }
}

/// The files a leader appends to, with its figures.
pub(super) struct Files {
    log: LogWriter,
    stats: Stats,
}

impl Files {
    pub(super) fn new(log: LogWriter) -> Files {
        Files { log, stats: Stats::default() }
    }
}

/// What a leader's term did.
enum Done {
    /// Nothing was pending.
    Nothing,
    /// A batch is in the file up to `end`, synced or not.
    Wrote { batch: Batch, end: Pos, synced: bool },
    /// No batch, but what was written before without a sync is synced now.
    Synced { end: Pos },
    /// The disk failed: nothing will be durable any more.
    Failed,
}

impl Inner {
    /// Blocks until the log reaches `goal`, writing it as the leader if no
    /// one else is (see the module documentation). `KO:INTERNAL` if the
    /// disk failed.
    pub(super) fn await_log(&self, goal: Goal) -> std::result::Result<(), Ko> {
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
                if durable.failed.load(Ordering::SeqCst) {
                    return Err(Ko::new(Code::Internal, "the message could not be stored; try again"));
                }
                if queue.leading {
                    let sleeper = Sleeper::new();
                    queue.waiters.push((goal, sleeper.clone()));
                    Some(sleeper)
                } else {
                    queue.leading = true;
                    None
                }
            };
            match asleep {
                // Woken because the goal is reached, or to lead: look again.
                Some(sleeper) => sleeper.sleep(),
                None => self.lead(matches!(goal, Goal::Synced(_))),
            }
        }
    }

    /// One leader's term: writes what is pending, syncs it if a record in
    /// it needs that (or `want_sync`: the leader waits for a sync), then
    /// passes the leadership on and hands the batch's events to the router.
    fn lead(&self, want_sync: bool) {
        let done = {
            let mut files = self.files.lock(); // only ever the leader's: never contended
            commit_pending(self, &mut files, want_sync)
        };
        // The delivery turn before the leadership is given up: batches
        // reach the router in the order they were written.
        let turn = self.delivering.lock();
        let (next, ready) = self.hand_over(&done);
        if let Some(next) = next {
            next.wake(); // first: the next batch's fsync starts while this one is delivered
        }
        let Done::Wrote { mut batch, .. } = done else {
            drop(turn);
            ready.iter().for_each(|s| s.wake());
            return;
        };
        (self.deliver)(&batch.deliveries);
        drop(turn);
        ready.iter().for_each(|s| s.wake());
        batch.clear();
        self.pending.lock().spare = batch; // its buffers, for reuse
    }

    /// Publishes what a term did and gives up the leadership, in one
    /// critical section: a thread that finds no leader afterwards leads
    /// itself, one that queued before is woken. Returns the oldest thread
    /// still waiting (to lead next) and those whose goal is reached.
    fn hand_over(&self, done: &Done) -> (Option<Arc<Sleeper>>, Vec<Arc<Sleeper>>) {
        let durable = &self.durable;
        match *done {
            Done::Nothing => {}
            Done::Wrote { end, synced, .. } => {
                durable.written.store(end, Ordering::SeqCst);
                if synced {
                    durable.synced.store(end, Ordering::SeqCst);
                }
            }
            Done::Synced { end } => durable.synced.store(end, Ordering::SeqCst),
            Done::Failed => durable.failed.store(true, Ordering::SeqCst),
        }
        let failed = durable.failed.load(Ordering::SeqCst);
        let mut queue = durable.queue.lock();
        queue.leading = false;
        let mut ready = Vec::new();
        queue.waiters.retain(|(goal, sleeper)| {
            let done = failed || durable.reached(*goal);
            if done {
                ready.push(sleeper.clone());
            }
            !done
        });
        let next = (!queue.waiters.is_empty()).then(|| queue.waiters.remove(0).1);
        (next, ready)
    }

    /// Every record before this position is on disk.
    pub(super) fn synced(&self) -> Pos {
        self.durable.synced()
    }

    /// Records nobody will wait for were just applied: make sure that they
    /// are written within [`RIDE`] even if no leader comes.
    pub(super) fn flush_later(&self) {
        if !self.flush_armed.swap(true, Ordering::SeqCst) {
            let _ = self.flush_soon.try_send(());
        }
    }
}

/// Takes the pending batch, if any, and writes it (and syncs it if needed).
fn commit_pending(inner: &Inner, files: &mut Files, want_sync: bool) -> Done {
    if inner.durable.failed.load(Ordering::SeqCst) {
        return Done::Failed; // nothing after a failure is ever written (see below)
    }
    let (mut batch, in_flight) = {
        let mut pending = inner.pending.lock();
        if pending.batch.is_empty() {
            drop(pending);
            // Records written without a sync (acknowledgements) that a
            // waiter needs synced now (a checkpoint, the shutdown).
            let end = files.log.end();
            if want_sync && inner.synced() < end {
                let synced = !inner.options.fsync || files.log.sync().is_ok();
                return if synced { Done::Synced { end } } else { Done::Failed };
            }
            return Done::Nothing;
        }
        let spare = std::mem::take(&mut pending.spare);
        let mut batch = std::mem::replace(&mut pending.batch, spare);
        let base = pending.base;
        pending.base += batch.log.len() as u64;
        let in_flight = Arc::new((base, std::mem::take(&mut batch.log)));
        pending.in_flight = Some(in_flight.clone());
        (batch, in_flight)
    };
    let sync = batch.sync || want_sync;
    let started = Instant::now();
    let (base, bytes) = (in_flight.0, &in_flight.1);
    let result = write(inner, files, &batch.users, bytes, sync);
    files.stats.add(bytes.len(), started.elapsed());
    match result {
        Ok(()) => {
            inner.pending.lock().in_flight = None;
            // The bytes, back for reuse if no reader holds them.
            batch.log = Arc::try_unwrap(in_flight).map(|(_, bytes)| bytes).unwrap_or_default();
            Done::Wrote { batch, end: files.log.end(), synced: sync }
        }
        Err(e) => {
            // We cannot know what reached the disk: cut the files back to
            // before this batch, refuse every write from now on (reads go
            // on, showing what is on disk) until an operator restarts.
            // The batch stays in memory (`in_flight`): readers walk past
            // its records.
            log::error!("store: {e}; refusing every write from now on");
            files.log.truncate(base);
            Done::Failed
        }
    }
}

/// Appends a batch: new accounts first (a record never names a user that
/// a crash could leave out), then the log; one sync each if needed.
fn write(inner: &Inner, files: &mut Files, users: &[u8], log: &[u8], sync: bool) -> Result<()> {
    let fsync = inner.options.fsync;
    if !users.is_empty() {
        let path = inner.dir.join("users.csv");
        let ctx = |e| Error::io(format!("store: {} (write)", path.display()), e);
        let mut file = inner.disk.open_append(&path).map_err(ctx)?;
        let before = file.len();
        let written =
            file.append(users).and_then(|()| if fsync { file.sync(SyncPoint::Users) } else { Ok(()) });
        if let Err(e) = written {
            let _ = file.truncate(before);
            return Err(ctx(e));
        }
    }
    files.log.append(log)?;
    if sync && fsync {
        files.log.sync()?;
    }
    Ok(())
}

/// Batch figures, logged every few seconds at debug level
/// (`RUST_LOG=wachat::store=debug`): how well group commit is working.
struct Stats {
    since: Instant,
    batches: u64,
    bytes: u64,
    write_time: Duration,
}

impl Default for Stats {
    fn default() -> Stats {
        Stats { since: Instant::now(), batches: 0, bytes: 0, write_time: Duration::ZERO }
    }
}

impl Stats {
    fn add(&mut self, bytes: usize, write_time: Duration) {
        self.batches += 1;
        self.bytes += bytes as u64;
        self.write_time += write_time;
        if self.since.elapsed() >= Duration::from_secs(5) {
            log::debug!(
                "group commit: {} batches, {:.0} bytes each, write+fsync {:.0} µs each, busy {:.0}%",
                self.batches,
                self.bytes as f64 / self.batches as f64,
                self.write_time.as_micros() as f64 / self.batches as f64,
                100.0 * self.write_time.as_secs_f64() / self.since.elapsed().as_secs_f64()
            );
            *self = Stats::default();
        }
    }
}

/// Starts the flusher: once armed by [`Inner::flush_later`], it gives the
/// records nobody waits for [`RIDE`] to leave with a leader's batch, then
/// makes sure they are written (leading a batch itself if needed). It
/// sleeps, without a timer, while nothing of the kind is pending.
pub(super) fn spawn_flusher(inner: Arc<Inner>, soon: Receiver<()>) -> Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("flusher".into())
        .spawn(move || {
            while soon.recv().is_ok() && !inner.stopping.load(Ordering::SeqCst) {
                std::thread::sleep(RIDE);
                // Disarmed before the end is read: records applied after
                // this arm it again (and come in the next round).
                inner.flush_armed.store(false, Ordering::SeqCst);
                let end = inner.pending.lock().end();
                if let Err(ko) = inner.await_log(Goal::Written(end)) {
                    log::debug!("flusher: {}", ko.reason);
                }
            }
            log::debug!("flusher: stopped");
        })
        .map_err(|e| Error::io("store: starting the flusher thread", e))
}

/// Starts the checkpointer; it writes a last checkpoint when `stop` tells it.
pub(super) fn spawn_checkpointer(inner: Arc<Inner>, due: Receiver<()>) -> Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("checkpointer".into())
        .spawn(move || {
            let interval = inner.options.checkpoint_interval;
            let mut last = Instant::now();
            loop {
                // Asleep until told, or until the interval is over: no timer
                // wakes it in between.
                let woke = due.recv_timeout(interval.saturating_sub(last.elapsed()));
                let finishing = inner.committed_last.load(Ordering::SeqCst);
                if inner.stopping.load(Ordering::SeqCst) && !finishing {
                    continue; // `stop` is writing the last batch
                }
                let records = inner.state.lock().since_checkpoint;
                let interval_over = last.elapsed() >= interval;
                let due_now = records >= inner.options.checkpoint_records
                    || (records > 0 && (interval_over || finishing));
                if due_now && !inner.durable.failed.load(Ordering::SeqCst) {
                    if let Err(e) = checkpoint(&inner) {
                        log::error!("store: checkpoint failed: {e}");
                    }
                    last = Instant::now();
                } else if interval_over {
                    last = Instant::now(); // nothing was written: a new interval
                }
                if finishing || woke == Err(RecvTimeoutError::Disconnected) {
                    return;
                }
            }
        })
        .map_err(|e| Error::io("store: starting the checkpointer thread", e))
}

/// Writes a checkpoint of the state as it is now, then applies retention.
pub(super) fn checkpoint(inner: &Inner) -> Result<()> {
    let _one_at_a_time = inner.checkpointing.lock();
    let started = Instant::now();
    let (pos, bytes, oldest_queued, records) = {
        let mut state = inner.state.lock();
        let (pos, bytes) = checkpoint::encode(&state);
        let records = std::mem::take(&mut state.since_checkpoint);
        (pos, bytes, state.oldest_queued(), records)
    };
    let copied = started.elapsed();
    let written = inner
        .sync_through(pos)
        .map_err(|ko| Error::io("store: checkpoint", std::io::Error::other(ko.reason)))
        .and_then(|()| checkpoint::write(inner.disk.as_ref(), &inner.dir, pos, &bytes));
    let path = match written {
        Ok(path) => path,
        Err(e) => {
            inner.state.lock().since_checkpoint += records;
            return Err(e);
        }
    };
    log::info!(
        "store: {} ({} KiB, {records} records since the last; state copied in {} ms, written in {} ms)",
        path.display(),
        bytes.len() / 1024,
        copied.as_millis(),
        (started.elapsed() - copied).as_millis()
    );
    if let Some(retain) = inner.options.retain {
        // The older kept checkpoint must stay usable (the newer one could
        // be unreadable), and no undelivered event may lose its record.
        let oldest_checkpoint = checkpoint::list(inner.disk.as_ref(), &inner.dir).last().map_or(0, |c| c.0);
        let keep_from = oldest_checkpoint.min(oldest_queued);
        let older_than = now_ms().saturating_sub(retain.as_millis() as u64);
        inner.log.remove_old(keep_from, older_than)?;
    }
    Ok(())
}
