//! How the local store keeps its files ([`StoreOptions`]): fsync, segment size,
//! checkpoints, retention. Apart from `local` so that what reads a data
//! directory without opening the store (`convert`, `export`) names it
//! without naming the store.

use std::time::Duration;

/// How the local store keeps its files.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// fsync before every `OK` (false only to measure what it costs).
    pub fsync: bool,
    /// A new log segment is started once the current one holds this many bytes.
    pub segment_size: u64,
    /// A checkpoint is written after this many records…
    pub checkpoint_records: u64,
    /// … or after this long, if anything was written since the last one.
    pub checkpoint_interval: Duration,
    /// Remove log segments whose records are all older than this (and that
    /// no undelivered event needs); `None`: keep everything.
    pub retain: Option<Duration>,
    /// Say in the log (at `info`) what each start and checkpoint did: the
    /// server's operator wants it; `wachat users` does not (then `debug`).
    pub report: bool,
    /// What a user, an inbox and the disk may take (`store::budget`).
    pub budget: super::budget::Budget,
    /// Deleted texts leave the log's files this often (`--erase-minutes`;
    /// zero: at once), and at every start (see `store::local::erase`).
    pub erase_interval: Duration,
}

/// Default `--erase-minutes`.
pub const ERASE_MINUTES: u64 = 60;

/// Default segment size: 64 MiB, about 300,000 messages of 100 bytes.
pub const SEGMENT_SIZE: u64 = 64 << 20;
/// Default records between checkpoints. Replaying this many at a start
/// takes ~0.3 s here; at full load (~400,000 records/s) it means a
/// checkpoint every ~0.5 s, each a few MiB.
pub const CHECKPOINT_RECORDS: u64 = 200_000;

impl Default for StoreOptions {
    fn default() -> StoreOptions {
        StoreOptions {
            fsync: true,
            segment_size: SEGMENT_SIZE,
            checkpoint_records: CHECKPOINT_RECORDS,
            checkpoint_interval: Duration::from_secs(600),
            retain: None,
            report: true,
            budget: super::budget::Budget::default(),
            erase_interval: Duration::from_secs(ERASE_MINUTES * 60),
        }
    }
}
