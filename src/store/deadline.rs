//! A request's deadline: how long one request may wait for a storage
//! that can make it wait (a cluster's database; a single server's disk
//! has no deadline), in all.
//!
//! A `MSG` on a cluster asks the database up to three times: the sender's
//! file quota, whether the recipient blocked the sender, and the commit.
//! Each call alone is bounded ([`DEADLINE`]); without one deadline for
//! the request, a `MSG` during a failover could wait three of them. The
//! server runs each request, and each burst of `MSG`s, [`within`] a
//! deadline; the cluster's calls end at [`until`] (docs/CLUSTER-OPS.md,
//! "Nodes that never hang").
//!
//! One request runs on one thread (a thread per connection), so the
//! deadline is the thread's: a storage reads it without every call of
//! the store carrying it.

use std::cell::Cell;
use std::time::{Duration, Instant};

/// What one request waits for its storage at most, in all; past it, it
/// gets `KO:UNAVAILABLE`.
pub const DEADLINE: Duration = Duration::from_secs(5);

thread_local! {
    /// The deadline of the request this thread is serving, if any.
    static UNTIL: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Runs `serve` (one request, or one burst of `MSG`s) with a deadline
/// [`DEADLINE`] from now; the one before, if any, is back after it.
pub fn within<T>(serve: impl FnOnce() -> T) -> T {
    let before = UNTIL.with(|until| until.replace(Some(Instant::now() + DEADLINE)));
    // Put back even if `serve` panics (a bug: the session's thread ends).
    struct Restore(Option<Instant>);
    impl Drop for Restore {
        fn drop(&mut self) {
            UNTIL.with(|until| until.set(self.0));
        }
    }
    let _restore = Restore(before);
    serve()
}

/// When a call starting now must end: [`DEADLINE`] from now, or the
/// request's deadline if that comes first.
pub fn until() -> Instant {
    let own = Instant::now() + DEADLINE;
    UNTIL.with(Cell::get).map_or(own, |request| request.min(own))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_ends_at_its_requests_deadline_and_the_outer_one_comes_back() {
        let alone = until();
        assert!(alone > Instant::now() + DEADLINE - Duration::from_secs(1));
        within(|| {
            let request = until();
            std::thread::sleep(Duration::from_millis(20)); // the request's first call took this long
            assert_eq!(until(), request, "a later call ends with its request");
            within(|| assert!(until() > request, "a burst inside gets a deadline of its own"));
            assert_eq!(until(), request, "the request's deadline is back");
        });
        assert!(UNTIL.with(Cell::get).is_none());
    }
}
