//! One store, several servers: a log shared by the nodes of a cluster
//! (`--features cluster`, docs/CLUSTER.md).
//!
//! A cluster runs the single server's store on every node, with the same
//! `State`, the same rules and the same records. What differs is who
//! writes:
//!
//! - the **leader** runs the store as a single server does, requests and
//!   group commit included, and makes each batch durable in the
//!   [`SharedLog`] *before* it writes the batch to its own disk (which
//!   then needs no fsync: the shared log is the durable copy). So a node's
//!   own log is never ahead of the shared one.
//! - a **follower** writes no batch of its own: it passes every client
//!   on to the leader ([`server::Leader`](crate::server::Leader)). It reads the leader's batches
//!   from the shared log, in order, and applies each with
//!   [`LocalStore::apply_shared`](super::LocalStore::apply_shared): the
//!   same records, applied by the same code at the same positions, give
//!   the same state and the same sequence numbers: a copy ready to lead.
//!
//! A store is opened [`Duty::Alone`] (a single server), or as a follower
//! of a shared log, which a cluster may later make the leader
//! ([`LocalStore::lead`](super::LocalStore::lead)) once it has applied
//! every batch of the shared log.

use std::io;

use super::record::Pos;

/// Where a leader's batches become durable, beyond its own disk: a
/// cluster's log in PostgreSQL (`cluster::log`).
pub trait SharedLog: Send + Sync {
    /// Makes the batch that begins at `base` durable: its new accounts'
    /// lines of `users.csv` and its records (the log's bytes). Called by
    /// the leader of the group commit before it writes them to the local
    /// files, one batch at a time, in order. `Err`: the batch is not
    /// stored. If the shared log could not be reached ([`unreachable()`]),
    /// the store keeps the batch, refuses every new write
    /// (`KO:UNAVAILABLE`) and commits it again every second, as a single
    /// server waits for room on a full disk: committed again at the same
    /// `base` with the same records, a batch that was stored after all is
    /// a success. Any other `Err` is final: another node leads, and this
    /// one must stop writing.
    fn commit(&self, base: Pos, users: &[u8], log: &[u8]) -> io::Result<()>;

    /// Overwrites `bytes` at `pos` of the shared log, in place: a deleted
    /// text erased (`store::local::erase`), by whichever node erases its
    /// own copy (the same filler at the same place: done twice, it is
    /// done once). The records keep their length.
    fn overwrite(&self, pos: Pos, bytes: &[u8]) -> io::Result<()>;

    /// Stores the leader's checkpoint at `pos` (`store::checkpoint`'s
    /// file, `state`), with the erasures it still has to do (`erasures`,
    /// rows of `erase.csv`), so that a node that joins starts from it
    /// and the log before it can be let go; `kept_from` is where the
    /// leader's own log begins (what `--retain-days` removed goes from
    /// the shared log too). Called by the leader's checkpointer once its
    /// own file is written. `Err`: not stored (the next checkpoint is).
    fn checkpoint(&self, pos: Pos, state: &[u8], erasures: &[u8], kept_from: Pos) -> io::Result<()>;
}

/// A commit that the shared log did not answer now (its database fails
/// over): tried again ([`SharedLog::commit`]).
pub fn unreachable(why: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, why.into())
}

/// Whether a write failed for [`unreachable()`]'s reason.
pub fn is_unreachable(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotConnected
}

/// What a store does with its log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Duty {
    /// A single server: its own disk is the durable copy.
    Alone,
    /// A cluster's leader: batches go to the shared log, then to the disk.
    Leader,
    /// A cluster's follower: writes nothing of its own, applies the
    /// leader's batches.
    Follower,
}
