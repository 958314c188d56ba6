//! What a leader does with the disk in its term: take the pending batch,
//! append it (new accounts first, then the log), fsync once, and keep
//! the batch aside if the disk refused it (`Stalled`, written again by
//! the retries: see the documentation of [`committer`](super)). The
//! leadership itself, who waits and who is woken, is `committer/mod.rs`'s.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::{RETRY, TermEnd};
use crate::error::{Error, Result};
use crate::store::disk::SyncPoint;
use crate::store::local::Inner;
use crate::store::log::LogWriter;
use crate::store::record::Pos;
use crate::store::state::Batch;

/// The files a leader appends to, with its figures.
pub(in crate::store) struct LogFiles {
    pub(super) log: LogWriter,
    stats: Stats,
    /// The batch whose write failed, kept to be written again (its bytes
    /// stay in `Pending::in_flight`, where readers find them).
    pub(super) stalled: Option<Stalled>,
}

/// A batch that could not be written, and where it begins in the log.
pub(super) struct Stalled {
    batch: Batch,
    base: Pos,
}

impl LogFiles {
    pub(in crate::store) fn new(log: LogWriter) -> LogFiles {
        LogFiles { log, stats: Stats::default(), stalled: None }
    }
}

/// Takes the pending batch, if any, and writes it (and syncs it if needed).
pub(super) fn commit_pending(inner: &Inner, files: &mut LogFiles, want_sync: bool) -> TermEnd {
    if inner.durable.failed.load(Ordering::SeqCst) {
        // Only `retry_failed` leads while writes are refused: nothing
        // after the stalled batch may be written before it.
        return match files.stalled.take() {
            Some(stalled) => rewrite(inner, files, stalled),
            None => resync(inner, files),
        };
    }
    let (mut batch, in_flight) = {
        let mut pending = inner.pending.lock();
        if pending.batch.is_empty() {
            drop(pending);
            // Records written without a sync (acknowledgements) that a
            // waiter needs synced now (a checkpoint, the shutdown).
            let end = files.log.end();
            if want_sync && inner.synced() < end {
                let synced = if inner.options.fsync { files.log.sync() } else { Ok(()) };
                return match synced {
                    Ok(()) => TermEnd::Synced { end },
                    Err(e) => {
                        log::error!("store: {e}");
                        inner.final_failure(&e);
                        TermEnd::Failed
                    }
                };
            }
            return TermEnd::Nothing;
        }
        let spare = std::mem::take(&mut pending.spare);
        let mut batch = std::mem::replace(&mut pending.batch, spare);
        let base = pending.base;
        pending.base += batch.log.len() as u64;
        let in_flight = Arc::new((base, std::mem::take(&mut batch.log)));
        pending.in_flight = Some(in_flight.clone());
        (batch, in_flight)
    };
    // A leader's every batch is durable once the shared log has it.
    let sync = batch.sync || want_sync || inner.shared.get().is_some();
    let started = Instant::now();
    let (base, bytes) = (in_flight.0, &in_flight.1);
    let mut result = write(inner, files, base, &mut batch.users, bytes, sync);
    if let Err(e) = &result
        && no_room(e)
        && spend_ballast(inner, files, base, e)
    {
        result = write(inner, files, base, &mut batch.users, bytes, sync);
    }
    files.stats.add(bytes.len(), started.elapsed());
    match result {
        Ok(()) => {
            inner.pending.lock().in_flight = None;
            // The bytes, back for reuse if no reader holds them.
            batch.log = Arc::try_unwrap(in_flight).map(|(_, bytes)| bytes).unwrap_or_default();
            TermEnd::Wrote { batch, end: files.log.end(), synced: sync }
        }
        Err(e) => {
            // We cannot know what reached the disk: cut the files back to
            // before this batch, and refuse every write (reads go on,
            // showing what is on disk) until the batch is written again
            // (see the module documentation). Its bytes stay in memory
            // (`in_flight`): readers walk past its records.
            files.log.truncate(base);
            files.stalled = Some(Stalled { batch, base });
            if inner.final_failure(&e) {
                log::error!("store: {e}; refusing writes until a restart");
            } else {
                log::error!("store: {e}; refusing writes, trying again every {} s", RETRY.as_secs());
            }
            TermEnd::Failed
        }
    }
}

/// The write of a batch beginning at `base` met a full disk (`e`): if the
/// ballast is there, it is removed and the store turns full (every new
/// write refused `KO:FULL`), so that the batch, cut back out of the
/// file, can be written again at once and its `OK`s be true
/// (`store::ballast`). `false` if there is no ballast to spend or the
/// cut failed: the batch then waits for room, as before.
fn spend_ballast(inner: &Inner, files: &mut LogFiles, base: Pos, e: &Error) -> bool {
    if !inner.floor.spend() {
        return false;
    }
    log::warn!(
        "store: {e}; the disk is full: the ballast removed for the writes under way, new writes \
         refused with KO:FULL until there is room"
    );
    files.log.truncate(base);
    crate::store::ballast::spend(inner.disk.as_ref(), &inner.dir) && files.log.end() == base
}

/// Whether a write failed for lack of room (a full disk, a quota,
/// `ulimit -f`): the failures that room can cure.
pub(super) fn no_room(e: &Error) -> bool {
    matches!(e, Error::Io { source, .. } if crate::store::disk::no_space(source))
}

/// Whether a write failed for what passes by itself, and is waited for:
/// no room on the disk, or a cluster's shared log that did not answer.
pub(super) fn passes(e: &Error) -> bool {
    no_room(e) || matches!(e, Error::Io { source, .. } if crate::store::shared_log::is_unreachable(source))
}

/// Writes the stalled batch again, at the position it was given; synced.
fn rewrite(inner: &Inner, files: &mut LogFiles, mut stalled: Stalled) -> TermEnd {
    if files.log.end() != stalled.base {
        files.log.truncate(stalled.base); // the cut after the failure failed too
    }
    let in_flight = inner.pending.lock().in_flight.clone();
    let bytes = match in_flight {
        Some(bytes) if bytes.0 == stalled.base && files.log.end() == stalled.base => bytes,
        _ => {
            files.stalled = Some(stalled);
            return TermEnd::Failed;
        }
    };
    match write(inner, files, stalled.base, &mut stalled.batch.users, &bytes.1, true) {
        Ok(()) => {
            inner.pending.lock().in_flight = None;
            let mut batch = stalled.batch;
            batch.log = Arc::try_unwrap(bytes).map(|(_, bytes)| bytes).unwrap_or_default();
            TermEnd::Wrote { batch, end: files.log.end(), synced: true }
        }
        Err(e) => {
            log::debug!("store: still cannot write the log: {e}");
            files.log.truncate(stalled.base);
            files.stalled = Some(stalled);
            if inner.final_failure(&e) {
                log::error!("store: {e}; refusing writes until a restart");
            }
            TermEnd::Failed
        }
    }
}

/// Syncs again what a failed sync (with no batch) left unsynced.
fn resync(inner: &Inner, files: &mut LogFiles) -> TermEnd {
    let end = files.log.end();
    if !inner.options.fsync {
        return TermEnd::Synced { end };
    }
    match files.log.sync() {
        Ok(()) => TermEnd::Synced { end },
        Err(e) => {
            log::debug!("store: still cannot sync the log: {e}");
            inner.final_failure(&e);
            TermEnd::Failed
        }
    }
}

/// Appends a batch that begins at `base`: new accounts first (a record
/// never names a user that a crash could leave out), then the log; one
/// sync each if needed. `users` is emptied once written, so that a retry
/// after the log failed does not write the accounts twice.
///
/// A cluster's leader commits the batch to the shared log first
/// (`store::shared_log`): that is its durable copy, so its own files need
/// no sync, and they never hold a batch the shared log does not.
pub(super) fn write(
    inner: &Inner,
    files: &mut LogFiles,
    base: Pos,
    users: &mut Vec<u8>,
    log: &[u8],
    sync: bool,
) -> Result<()> {
    // A follower writes only the leader's batches, committed already.
    let shared = inner.shared.get().filter(|_| !inner.following.load(Ordering::SeqCst));
    if let Some(shared) = shared {
        let started = Instant::now();
        shared.commit(base, users, log).map_err(|e| Error::io("store: the shared log", e))?;
        if let Some(metrics) = crate::metrics::timed() {
            metrics.fsync.observe(started.elapsed().as_secs_f64());
        }
    }
    let fsync = inner.options.fsync && shared.is_none();
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
        users.clear();
    }
    files.log.append(log)?;
    let metrics = crate::metrics::timed();
    if let Some(metrics) = metrics {
        // One record a line, counted by memchr a word at a time: every
        // byte every message writes passes here.
        metrics.batch_records.observe(memchr::memchr_iter(b'\n', log).count() as f64);
    }
    if sync && fsync {
        let started = Instant::now();
        files.log.sync()?;
        if let Some(metrics) = metrics {
            metrics.fsync.observe(started.elapsed().as_secs_f64());
        }
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
