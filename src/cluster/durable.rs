//! Commits that do not hold their row locks across the flush.
//!
//! A batch's transaction locks the inbox rows of everyone it touches
//! (`apply.rs`, step 4). A message from ana on node A to bob on node B is
//! one transaction on A that locks ana's and bob's rows; bob's `ACK` of it
//! is one on B that locks bob's row and ana's (her `DELIVERED`). So the
//! two nodes' committers take turns on the same rows all the time, and
//! each waits for the other's whole `COMMIT`, which is mostly the flush of
//! PostgreSQL's log to the disk: an fsync. Measured at 2,000 msgs/s, the
//! lock statement was where the tail went (docs/CLUSTER.md, "Where the
//! p99 went"): one slow fsync held a row, the other node's batch waited
//! for it, and the batches queued behind that one waited too.
//!
//! So a committer commits with `synchronous_commit = off`: PostgreSQL
//! writes the commit record and releases the locks **without** waiting for
//! the flush. Then, before any job is answered or any event delivered, the
//! committer runs a [`barrier`] on a second connection: a one-row update
//! committed the ordinary way, which returns only once the log is on the
//! disk up to its own commit record, and so up to the batch's (the log is
//! one sequence). The batch is durable when anyone hears of it, as
//! before; only its locks are let go earlier.
//!
//! What another transaction reads in between is committed but maybe not
//! yet on the disk. A transaction that writes after reading it commits
//! its own record later in the log, so its flush carries the batch's too.
//! A reader that hands out numbered events (a replay, a refill: `fetch_events`)
//! runs a barrier itself before it gives them to anyone, since a client
//! acknowledges what it received. A plain read (`HISTORY`, `CHATS`) does
//! not: if PostgreSQL failed within that millisecond, such a reader would
//! have seen a message that is then gone, whose sender got no `OK` and
//! sends it again.

use std::hash::{Hash, Hasher};

use postgres::GenericClient;

/// Rows of the `flushes` table (migration `009_flushes`).
const SLOTS: u64 = 64;

/// Waits until PostgreSQL's log is on the disk at least up to everything
/// committed before this call: commits a one-row update, synchronously,
/// on `conn` (which must not be in a transaction, nor have
/// `synchronous_commit` off). `key` picks the row: different committers
/// and readers rarely share one, so they rarely queue on it.
pub fn barrier(conn: &mut impl GenericClient, key: impl Hash) -> Result<(), postgres::Error> {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut hasher);
    let slot = (hasher.finish() % SLOTS) as i16;
    conn.execute("UPDATE flushes SET n = n + 1 WHERE slot = $1", &[&slot])?;
    Ok(())
}

/// The key of the calling thread (for readers: each thread its row).
pub fn this_thread() -> std::thread::ThreadId {
    std::thread::current().id()
}
