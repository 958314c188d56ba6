//! The local store's two threads: the committer (group commit) and the
//! checkpointer.
//!
//! ```text
//!  request threads                committer thread
//!  ───────────────                ────────────────
//!  lock state (then pending),     wait for a kick
//!  apply records, add their       lock pending only, take its batch
//!  lines to `pending`; kick ──▶   write the batch, fsync once
//!  wait(ticket) on its own   ◀──  mark it durable (one atomic), tell each
//!  channel; reply OK              waiter, hand the batch's events to the router
//! ```
//!
//! While one batch is being written, new requests fill the next, so the
//! busier the server, the more messages share each fsync. The events of a
//! batch are handed on only after its fsync: nobody sees a message that a
//! crash could take back.
//!
//! The checkpointer wakes when enough records were written (or every few
//! minutes, or at shutdown), copies the state into a checkpoint's lines
//! under the state lock (a few milliseconds), waits until the log is
//! durable up to that point, and writes the file outside every lock.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};

use super::disk::SyncPoint;
use super::local::Inner;
use super::log::LogWriter;
use super::{checkpoint, now_ms};
use crate::error::{Error, Result};

/// Starts the committer; it ends after `stop`, once the last batch is written.
pub(super) fn spawn_committer(
    inner: Arc<Inner>,
    writer: LogWriter,
    kicked: Receiver<()>,
) -> Result<JoinHandle<()>> {
    let mut files = Files { log: writer };
    std::thread::Builder::new()
        .name("committer".into())
        .spawn(move || {
            let mut stats = Stats::default();
            loop {
                let _ = kicked.recv_timeout(Duration::from_secs(1));
                let stopping = inner.stopping.load(Ordering::SeqCst);
                commit_pending(&inner, &mut files, stopping, &mut stats);
                if stopping {
                    log::debug!("committer: stopped");
                    return;
                }
            }
        })
        .map_err(|e| Error::io("store: starting the committer thread", e))
}

/// The files the committer appends to. (`users.csv` is opened for each
/// batch that adds accounts: they are rare, and `wachat users passwd`
/// replaces the file whole.)
struct Files {
    log: LogWriter,
}

/// Writes the pending batch, if any, and publishes the result. The last
/// one (`last`) also closes the store to writes, in the same critical
/// section, so no request can slip in behind it and wait forever.
fn commit_pending(inner: &Inner, files: &mut Files, last: bool, stats: &mut Stats) {
    let failed = inner.durable.failed.load(Ordering::SeqCst);
    let (mut batch, in_flight, sync) = {
        let mut pending = inner.pending.lock();
        pending.closed |= last;
        let sync_wanted = std::mem::take(&mut pending.sync_wanted) || last;
        if failed {
            return; // nothing after a failure is ever written (see below)
        }
        if pending.batch.is_empty() {
            drop(pending);
            if sync_wanted && inner.synced() < files.log.end() {
                let synced = !inner.options.fsync || files.log.sync().is_ok();
                inner.publish(files.log.end(), synced);
            }
            return;
        }
        let spare = std::mem::take(&mut pending.spare);
        let mut batch = std::mem::replace(&mut pending.batch, spare);
        let base = pending.base;
        pending.base += batch.log.len() as u64;
        let in_flight = Arc::new((base, std::mem::take(&mut batch.log)));
        pending.in_flight = Some(in_flight.clone());
        let sync = batch.sync || sync_wanted;
        (batch, in_flight, sync)
    };
    let started = Instant::now();
    let (base, bytes) = (in_flight.0, &in_flight.1);
    let result = write(inner, files, &batch.users, bytes, sync);
    stats.add(bytes.len(), started.elapsed());
    match result {
        Ok(()) => {
            if sync {
                inner.publish(files.log.end(), true);
            }
            {
                let mut pending = inner.pending.lock();
                pending.in_flight = None;
            }
            (inner.deliver)(&batch.deliveries);
            // The bytes, back for reuse if no reader holds them.
            batch.log = Arc::try_unwrap(in_flight).map(|(_, bytes)| bytes).unwrap_or_default();
            batch.clear();
            inner.pending.lock().spare = batch;
        }
        Err(e) => {
            // We cannot know what reached the disk: cut the files back to
            // before this batch, refuse every write from now on (reads go
            // on, showing what is on disk) until an operator restarts.
            // The batch stays in memory: readers walk past its records.
            log::error!("store: {e}; refusing every write from now on");
            files.log.truncate(base);
            inner.publish(0, false);
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
                "committer: {} batches, {:.0} bytes each, write+fsync {:.0} µs each, busy {:.0}%",
                self.batches,
                self.bytes as f64 / self.batches as f64,
                self.write_time.as_micros() as f64 / self.batches as f64,
                100.0 * self.write_time.as_secs_f64() / self.since.elapsed().as_secs_f64()
            );
            *self = Stats::default();
        }
    }
}

/// Starts the checkpointer; it writes a last checkpoint when `stop` tells it.
pub(super) fn spawn_checkpointer(inner: Arc<Inner>, due: Receiver<()>) -> Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("checkpointer".into())
        .spawn(move || {
            let mut last = Instant::now();
            loop {
                let woke = due.recv_timeout(Duration::from_secs(1));
                let finishing = inner.committed_last.load(Ordering::SeqCst);
                if inner.stopping.load(Ordering::SeqCst) && !finishing {
                    continue; // the committer is writing its last batch
                }
                let records = inner.state.lock().since_checkpoint;
                let due_now = records >= inner.options.checkpoint_records
                    || (records > 0 && (last.elapsed() >= inner.options.checkpoint_interval || finishing));
                if due_now && !inner.durable.failed.load(Ordering::SeqCst) {
                    if let Err(e) = checkpoint(&inner) {
                        log::error!("store: checkpoint failed: {e}");
                    }
                    last = Instant::now();
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
    let level = if inner.options.report { log::Level::Info } else { log::Level::Debug };
    log::log!(
        level,
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
