//! The committer thread: group commit.
//!
//! ```text
//!  handler threads                committer thread
//!  ───────────────                ────────────────
//!  lock state, apply records,     wait for a kick
//!  add them to `pending`          lock state, take `pending` as batch N
//!  kick ─────────────────────▶    write batch N, fsync once
//!  wait(ticket N) ◀────────────   mark N durable, wake the waiters
//!  reply OK                       hand batch N's events to the router
//! ```
//!
//! While batch N is being written, new requests fill batch N+1, so the
//! busier the server, the more messages share each fsync. The events of a
//! batch reach the router only after its fsync: no one ever sees a message
//! that a crash could take back.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;

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
    loop {
        // `Store` owns the sending end, so this only fails if it is gone.
        let alive = kicked.recv().is_ok();
        let stopping = !alive || store.stopping.load(Ordering::SeqCst);
        commit_pending(store, backend.as_mut(), stopping);
        if stopping {
            log::debug!("committer: stopped");
            return;
        }
    }
}

/// Writes the pending batch, if any, and publishes the result. The last
/// one (`last`) also closes the state to writes, in the same critical
/// section, so no request can slip in behind it and wait forever.
fn commit_pending(store: &Store, backend: &mut dyn Backend, last: bool) {
    let (batch, number) = {
        let mut state = store.state.lock();
        state.closed |= last;
        if state.pending.records.is_empty() {
            return;
        }
        let number = state.batch_no;
        state.batch_no += 1;
        (std::mem::take(&mut state.pending), number)
    };
    let result = backend.append(&batch.records);
    if let Err(e) = &result {
        // We cannot know what reached the disk: stop accepting writes
        // (reads go on) until an operator looks and restarts the server.
        log::error!("store: {e}; refusing every write from now on");
    } else {
        store.state.lock().mark_durable(&batch.deliveries);
    }
    store.publish(number, result.is_ok());
    if result.is_ok() {
        store.router.deliver(&batch.deliveries);
    }
}
