//! The committer thread: group commit.
//!
//! ```text
//!  handler threads                committer thread
//!  ───────────────                ────────────────
//!  lock state (then pending),     wait for a kick
//!  apply records, add them        lock pending only, take it as batch N
//!  to `pending`; kick ────────▶   write batch N, fsync once
//!  wait(ticket N) on its own ◀──  mark N durable (one atomic), send to
//!  channel; reply OK              each waiter, hand N's events to the router
//! ```
//!
//! While batch N is being written, new requests fill batch N+1, so the
//! busier the server, the more messages share each fsync. The events of a
//! batch reach the router only after its fsync: no one ever sees a message
//! that a crash could take back. The committer never takes the state lock,
//! so it never queues behind the requests it is about to make durable.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;

use super::{Backend, Store};
use crate::error::{Error, Result};

/// Starts the committer; it ends after [`Store::stop`], once the last
/// pending batch is written.
pub fn spawn(store: Arc<Store>, backend: Box<dyn Backend>, kicked: Receiver<()>) -> Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("committer".into())
        .spawn(move || run(&store, backend, &kicked))
        .map_err(|e| Error::io("store: starting the committer thread", e))
}

fn run(store: &Store, mut backend: Box<dyn Backend>, kicked: &Receiver<()>) {
    let mut stats = Stats::default();
    loop {
        // `Store` owns the sending end, so this only fails if it is gone.
        let alive = kicked.recv().is_ok();
        let stopping = !alive || store.stopping.load(Ordering::SeqCst);
        commit_pending(store, backend.as_mut(), stopping, &mut stats);
        if stopping {
            log::debug!("committer: stopped");
            return;
        }
    }
}

/// Batch figures, logged every few seconds at debug level
/// (`RUST_LOG=wachat::store=debug`): how well group commit is working.
struct Stats {
    since: Instant,
    batches: u64,
    records: u64,
    write_time: Duration,
}

impl Default for Stats {
    fn default() -> Stats {
        Stats { since: Instant::now(), batches: 0, records: 0, write_time: Duration::ZERO }
    }
}

impl Stats {
    fn add(&mut self, records: usize, write_time: Duration) {
        self.batches += 1;
        self.records += records as u64;
        self.write_time += write_time;
        if self.since.elapsed() >= Duration::from_secs(5) {
            log::debug!(
                "committer: {} batches, {:.1} records each, write+fsync {:.0} µs each, busy {:.0}%",
                self.batches,
                self.records as f64 / self.batches as f64,
                self.write_time.as_micros() as f64 / self.batches as f64,
                100.0 * self.write_time.as_secs_f64() / self.since.elapsed().as_secs_f64()
            );
            *self = Stats::default();
        }
    }
}

/// Writes the pending batch, if any, and publishes the result. The last
/// one (`last`) also closes the state to writes, in the same critical
/// section, so no request can slip in behind it and wait forever.
fn commit_pending(store: &Store, backend: &mut dyn Backend, last: bool, stats: &mut Stats) {
    let (batch, number) = {
        let mut pending = store.pending.lock();
        pending.closed |= last;
        if pending.batch.records.is_empty() {
            return;
        }
        pending.number += 1;
        let spare = std::mem::take(&mut pending.spare);
        (std::mem::replace(&mut pending.batch, spare), pending.number - 1)
    };
    let started = Instant::now();
    let result = backend.append(&batch.records);
    stats.add(batch.records.len(), started.elapsed());
    if let Err(e) = &result {
        // We cannot know what reached the disk: stop accepting writes
        // (reads go on) until an operator looks and restarts the server.
        log::error!("store: {e}; refusing every write from now on");
    }
    store.publish(number, result.is_ok());
    if result.is_ok() {
        store.router.deliver(&batch.deliveries);
    }
    let mut batch = batch;
    batch.records.clear();
    batch.deliveries.clear();
    store.pending.lock().spare = batch;
}
