//! How the threads of the group commit sleep and are woken: a request
//! thread waiting for its batch ([`Sleeper`]), and the committer thread
//! ([`spawn_committer`]) waiting for a call ([`Bell`]). Both park the
//! thread instead of waiting on a channel, for the reason given at
//! [`Sleeper`]: with a hundred handlers waiting for one fsync, how they
//! sleep is most of what a message costs.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

use super::{Goal, Leading, RETRY, RIDE};
use crate::error::{Error, Result};
use crate::store::local::Inner;

/// A thread asleep until another one wakes it, once.
///
/// Why not a channel per wait: crossbeam's `recv` spins and yields the CPU
/// again and again before it sleeps; with a hundred handlers waiting for
/// the same fsync, those `sched_yield`s were 31 % of the server's CPU at
/// 10,000 msgs/s (perf, BENCHMARKS.md). Parking sleeps at once.
pub(in crate::store) struct Sleeper {
    thread: Thread,
    woken: AtomicBool,
}

impl Sleeper {
    pub(super) fn new() -> Arc<Sleeper> {
        Arc::new(Sleeper { thread: std::thread::current(), woken: AtomicBool::new(false) })
    }

    pub(super) fn sleep(&self) {
        // `park` may return without an `unpark` meant for us: check the flag.
        while !self.woken.load(Ordering::Acquire) {
            std::thread::park();
        }
    }

    pub(super) fn wake(&self) {
        self.woken.store(true, Ordering::Release);
        self.thread.unpark();
    }
}

/// How the committer thread is called: [`Bell::SOON`] (records nobody
/// waits for: write them after [`super::RIDE`]) or [`Bell::NOW`] (a leader left
/// callbacks behind: lead at once). Parking, for the reason given at
/// [`Sleeper`].
pub(in crate::store) struct Bell {
    call: AtomicU8,
    /// The committer thread, once it started.
    pub(super) thread: std::sync::OnceLock<Thread>,
}

impl Bell {
    pub(super) const QUIET: u8 = 0;
    pub(super) const SOON: u8 = 1;
    pub(super) const NOW: u8 = 2;
    pub(super) const STOP: u8 = 3;

    pub(in crate::store) fn new() -> Bell {
        Bell { call: AtomicU8::new(Bell::QUIET), thread: std::sync::OnceLock::new() }
    }

    pub(super) fn ring(&self, call: u8) {
        if self.call.fetch_max(call, Ordering::SeqCst) < call
            && let Some(thread) = self.thread.get()
        {
            thread.unpark();
        }
    }

    /// Sleeps until called (the committer thread only); takes the call.
    pub(super) fn answer(&self) -> u8 {
        loop {
            let call = self.call.swap(Bell::QUIET, Ordering::SeqCst);
            if call != Bell::QUIET {
                return call;
            }
            std::thread::park();
        }
    }

    /// Like [`Bell::answer`], but [`Bell::QUIET`] after `wait` without a call.
    pub(super) fn answer_within(&self, wait: Duration) -> u8 {
        let until = Instant::now() + wait;
        loop {
            let call = self.call.swap(Bell::QUIET, Ordering::SeqCst);
            if call != Bell::QUIET {
                return call;
            }
            match until.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => std::thread::park_timeout(left),
                _ => return Bell::QUIET,
            }
        }
    }

    /// Sleeps for `ride`, unless called to act at once meanwhile.
    pub(super) fn ride(&self, ride: Duration) {
        let until = Instant::now() + ride;
        while self.call.load(Ordering::SeqCst) < Bell::NOW {
            match until.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => std::thread::park_timeout(left),
                _ => return,
            }
        }
    }
}

/// Starts the committer thread: it leads when a leader left callbacks
/// behind ([`Bell::NOW`]), and writes the records nobody waits for
/// ([`Bell::SOON`], see [`RIDE`]). It sleeps, without a timer, while there
/// is nothing of the kind.
pub(in crate::store) fn spawn_committer(inner: Arc<Inner>) -> Result<JoinHandle<()>> {
    let thread = std::thread::Builder::new()
        .name("committer".into())
        .spawn({
            let inner = inner.clone();
            move || {
                // While writes are refused: when the next retry is due. It
                // comes then whatever called meanwhile: records nobody
                // waits for (acknowledgements, where devices are) keep
                // calling, and may call more often than each RETRY.
                let mut retry_at: Option<Instant> = None;
                loop {
                    let call = if inner.durable.failed.load(Ordering::SeqCst) {
                        let at = *retry_at.get_or_insert_with(|| Instant::now() + RETRY);
                        inner.bell.answer_within(at.saturating_duration_since(Instant::now()))
                    } else {
                        retry_at = None;
                        inner.bell.answer()
                    };
                    if call == Bell::STOP {
                        break;
                    }
                    if retry_at.is_some_and(|at| Instant::now() >= at) {
                        retry_at = None;
                        inner.retry_failed(); // RETRY passed while writes are refused
                        continue;
                    }
                    if call == Bell::QUIET {
                        continue;
                    }
                    if call == Bell::SOON {
                        inner.bell.ride(RIDE);
                    }
                    // Disarmed before the end is read: records applied after
                    // this arm it again (and come in the next round).
                    inner.flush_armed.store(false, Ordering::SeqCst);
                    let end = inner.pending.lock().end();
                    if let Err(ko) = inner.await_as(Goal::Written(end), Leading::Committer) {
                        log::debug!("committer: {}", ko.reason);
                    }
                }
                log::debug!("committer: stopped");
            }
        })
        .map_err(|e| Error::io("store: starting the committer thread", e))?;
    let _ = inner.bell.thread.set(thread.thread().clone());
    // Called before it could be found: it looks at its call before it parks.
    thread.thread().unpark();
    Ok(thread)
}

impl Inner {
    /// Stops the committer thread (it finishes what it is doing).
    pub(in crate::store) fn stop_committer(&self) {
        self.bell.ring(Bell::STOP);
    }
}
