//! The connections a node's readers share: at most [`POOL`], kept open
//! once made and given from one reader to the next.
//!
//! A reader that finds them all busy waits for one to come back, until
//! its request's deadline (`store::deadline`), rather than connecting one
//! of its own: a new connection is a PostgreSQL process forked, its
//! handshake and the primary checked (`db/mod.rs`), tens of times the cost of the read itself, and a machine
//! that is slow already is made slower by every one (connecting and
//! closing one per read past 16 idle ones took the p50 at 2,000 msgs/s
//! on two nodes from ~5 ms to ~200 ms).
//!
//! The one reader that never waits is a thread that already holds one of
//! the pool's connections and asks for a second: it could wait for
//! itself. It takes an idle one or a free place if there is one, and
//! otherwise connects one of its own, closed when given back.

use std::cell::Cell;
use std::time::Instant;

use parking_lot::{Condvar, Mutex};

use super::PgLink;

/// Connections the readers of a node share. Reads are by key and take
/// about a millisecond: 16 serve thousands a second, and bound what one
/// node costs PostgreSQL (a process each) whatever its load.
pub const POOL: usize = 16;

thread_local! {
    /// How many of the pool's connections this thread holds now.
    static HELD: Cell<usize> = const { Cell::new(0) };
}

/// What a borrower got from [`Pool::take`]. (One is made per borrow and
/// moved once: boxing the connection would allocate on every read for
/// nothing.)
#[allow(clippy::large_enum_variant)]
pub enum Taken {
    /// An idle connection, with when it was given back.
    Idle(PgLink, Instant),
    /// A place in the pool with no connection yet: connect one, which is
    /// kept when given back.
    Place,
    /// This thread holds one already and every place is busy: connect one
    /// of its own, closed when given back.
    Own,
}

/// The pool: idle connections, and how many are out.
#[derive(Default)]
pub struct Pool {
    state: Mutex<PoolState>,
    /// Signalled when a place is given back (or connections forgotten).
    returned: Condvar,
}

#[derive(Default)]
struct PoolState {
    /// Idle connections, each with when it was given back.
    idle: Vec<(PgLink, Instant)>,
    /// The pool's connections borrowed now (or being made).
    out: usize,
}

impl Pool {
    /// A connection or a place, waiting until `until` for one to be given
    /// back if every place is busy; `None` past `until` (the request gets
    /// `KO:UNAVAILABLE`).
    pub fn take(&self, until: Instant) -> Option<Taken> {
        let nested = HELD.with(Cell::get) > 0;
        let mut state = self.state.lock();
        loop {
            if let Some((link, since)) = state.idle.pop() {
                state.out += 1;
                HELD.with(|held| held.set(held.get() + 1));
                return Some(Taken::Idle(link, since));
            }
            if state.out < POOL {
                state.out += 1;
                HELD.with(|held| held.set(held.get() + 1));
                return Some(Taken::Place);
            }
            if nested {
                return Some(Taken::Own);
            }
            if self.returned.wait_until(&mut state, until).timed_out() {
                return None;
            }
        }
    }

    /// A place back from a borrower of [`Taken::Idle`] or [`Taken::Place`],
    /// on the thread that took it, with its connection (`None`: it broke,
    /// or could not be made).
    pub fn give_back(&self, link: Option<PgLink>) {
        let mut state = self.state.lock();
        state.out -= 1;
        if let Some(link) = link {
            state.idle.push((link, Instant::now()));
        }
        drop(state);
        HELD.with(|held| held.set(held.get().saturating_sub(1)));
        self.returned.notify_one();
    }

    /// The idle connections are closed (the primary may have changed).
    pub fn forget_idle(&self) {
        let forgotten = std::mem::take(&mut self.state.lock().idle);
        drop(forgotten); // closed outside the lock
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    /// Takes every place (no connection is made: places alone).
    fn full(pool: &Pool) {
        for _ in 0..POOL {
            assert!(matches!(pool.take(Instant::now()), Some(Taken::Place)));
        }
    }

    #[test]
    fn a_reader_past_the_pool_waits_for_a_place_and_connects_nothing() {
        let pool = Arc::new(Pool::default());
        full(&pool); // held by this thread
        let waiter = std::thread::spawn({
            let pool = pool.clone();
            move || {
                // Every place busy: a reader waits for one, until its
                // deadline, and connects nothing of its own.
                let started = Instant::now();
                assert!(pool.take(started + Duration::from_millis(50)).is_none());
                assert!(started.elapsed() >= Duration::from_millis(50));
                let taken = pool.take(Instant::now() + Duration::from_secs(30));
                assert!(matches!(taken, Some(Taken::Place)), "woken by the place given back");
            }
        });
        std::thread::sleep(Duration::from_millis(100));
        pool.give_back(None);
        waiter.join().unwrap();
        assert_eq!(pool.state.lock().out, POOL);
    }

    #[test]
    fn a_thread_holding_one_never_waits_for_itself() {
        let pool = Pool::default();
        full(&pool);
        let started = Instant::now();
        let taken = pool.take(started + Duration::from_secs(30));
        assert!(matches!(taken, Some(Taken::Own)), "connects its own at once");
        assert!(started.elapsed() < Duration::from_secs(5));
        for _ in 0..POOL {
            pool.give_back(None);
        }
        assert_eq!(pool.state.lock().out, 0);
        assert_eq!(HELD.with(Cell::get), 0);
        assert!(matches!(pool.take(Instant::now()), Some(Taken::Place)), "a place again");
    }
}
