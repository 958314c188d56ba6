//! The checkpointer thread, and retention after each checkpoint.
//!
//! The checkpointer wakes when enough records were written (or after the
//! checkpoint interval, or at shutdown), takes a snapshot of the state
//! under its lock (sharing what is big, see `checkpoint::snapshot`),
//! formats it without the lock, waits until the log is durable up to that
//! point (the group commit, `committer/mod.rs`), and writes the file outside
//! every lock; a cluster's leader then stores it in the shared log's
//! database too (`store::shared_log`). Then retention (`--retain`) removes the log segments that
//! neither the older kept checkpoint nor an undelivered event needs.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::Instant;

use crossbeam_channel::{Receiver, RecvTimeoutError};

use super::super::{checkpoint, now_ms};
use super::Inner;
use crate::error::{Error, Result};

/// Starts the checkpointer; it writes a last checkpoint when `stop` tells it.
pub(in crate::store) fn spawn_checkpointer(inner: Arc<Inner>, due: Receiver<()>) -> Result<JoinHandle<()>> {
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
                // Not on a full disk: the room the ballast freed is the
                // log's, which holds everything meanwhile.
                let full = inner.durable.failed.load(Ordering::SeqCst) || inner.floor.is_spent();
                if due_now && !full {
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

/// Gives the senders of the messages before `end` their bytes back
/// (`--user-quota`, `store::budget`), before retention removes them. If
/// the segments cannot be read, nothing is given back now: the next start
/// counts again (the checkpoints' `USAGE_FROM` is before the log's start).
fn give_back(inner: &Inner, end: super::super::record::Pos) {
    let from = inner.state.lock().usage.from.unwrap_or(0);
    match super::super::budget::tally(&inner.log, from, end) {
        Ok(freed) => inner.state.lock().give_back(&freed, end),
        Err(e) => log::warn!("store: quotas: reading the segments retention removes: {e}"),
    }
}

/// Writes a checkpoint of the state as it is now, then applies retention.
pub(in crate::store) fn checkpoint(inner: &Inner) -> Result<()> {
    let _one_at_a_time = inner.checkpointing.lock();
    let started = Instant::now();
    let (snapshot, oldest_queued, records, leading) = {
        let mut state = inner.state.lock();
        let snapshot = checkpoint::snapshot(&state);
        let records = std::mem::take(&mut state.since_checkpoint);
        (snapshot, state.oldest_queued(), records, !inner.following.load(Ordering::SeqCst))
    };
    let copied = started.elapsed();
    // Formatted outside the lock: requests go on meanwhile.
    let (pos, bytes) = checkpoint::encode(&snapshot);
    drop(snapshot); // the windows and inboxes it shared are the state's alone again

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
        "store: {} ({} KiB, {records} records since the last; state taken in {} ms, written in {} ms)",
        path.display(),
        bytes.len() / 1024,
        copied.as_millis(),
        (started.elapsed() - copied).as_millis()
    );
    // A cluster's leader stores it in the database too, where a node
    // that joins starts from it (`store::shared_log`); not one taken
    // while it still followed.
    if let Some(shared) = inner.shared.get().filter(|_| leading) {
        let stored = shared.checkpoint(pos, &bytes, &inner.eraser.rows(), inner.log.start());
        if let Err(e) = stored {
            log::warn!("store: the cluster's checkpoint at {pos}: {e} (the next one is tried again)");
        }
    }
    if let Some(retain) = inner.options.retain {
        // The older kept checkpoint must stay usable (the newer one could
        // be unreadable), and no undelivered event may lose its record.
        let oldest_checkpoint = checkpoint::list(inner.disk.as_ref(), &inner.dir).last().map_or(0, |c| c.0);
        let keep_from = oldest_checkpoint.min(oldest_queued);
        let older_than = now_ms().saturating_sub(retain.as_millis() as u64);
        let end = inner.log.removable_end(keep_from, older_than);
        if end > inner.log.start() {
            give_back(inner, end);
            inner.log.remove_before(end)?;
        }
    }
    Ok(())
}
