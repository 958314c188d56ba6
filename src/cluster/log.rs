//! The log the nodes share, in PostgreSQL: the leader's batches, one row
//! each (`log`, schema 19); its checkpoints and the records before them
//! are `cluster::checkpoint`'s.
//!
//! ```text
//!   leader: a batch of the group commit ──▶ INSERT one row, fenced, ──▶ its own files
//!                                           and NOTIFY wachat_log
//!   follower: woken by the notification (or a second later) ──▶ SELECT the rows
//!             after its copy's end ──▶ LocalStore::apply_shared: the same
//!             records, the same code
//! ```
//!
//! **The tail.** PostgreSQL holds the truth, and a follower reads it: the
//! notification only says "read now" (`LISTEN`/`NOTIFY`, delivered at the
//! batch's commit), so one that is lost (a follower reconnecting) costs
//! at most a poll's delay, never a batch.
//!
//! **The fence.** The leader writes a batch in one statement that reads
//! the lease's row `FOR SHARE` and inserts only if the lease still holds
//! the leader's epoch ([`PgLog::commit`]). A node taking the lease updates
//! that row, so it waits for a batch being written, and every batch
//! written after it fails: a deposed leader cannot add to the log, and
//! two batches can never claim one position (`pos` is the primary key).
//! Being one statement, a batch never leaves a transaction open behind a
//! frozen leader: its locks last as long as PostgreSQL takes to run it.

use std::io;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, OnceLock};

use crate::cluster::db::postgres;
use crate::cluster::db::postgres::Client;
use parking_lot::Mutex;

use super::checkpoint;
use super::db::{Db, PgLink, describe};
use crate::store::record::Pos;
use crate::store::shared_log::{SharedLog, unreachable};

/// Batches a follower reads from PostgreSQL at once.
pub const READ_AT_ONCE: i64 = 64;

/// The channel on which the leader tells its followers that the log
/// grew (`NOTIFY`), or that a node took the lease ([`LEASE_TAKEN`]).
pub const CHANNEL: &str = "wachat_log";

/// The payload of a notification that a node took the lease: followers
/// look at it at once, rather than up to a second later.
pub const LEASE_TAKEN: &str = "lease";

/// One row of the log.
pub struct LogRow {
    pub base: Pos,
    pub users: Vec<u8>,
    pub records: Vec<u8>,
}

/// A node's end of the shared log (`store::shared_log::SharedLog`): the
/// leader's writes, and every node's erasures.
pub struct PgLog {
    db: Arc<Db>,
    /// The epoch this node leads in (0: it does not lead).
    epoch: AtomicI64,
    /// Its own connection, made again when it breaks.
    link: Mutex<Option<PgLink>>,
    /// Called when a write is refused for another epoch: the node is no
    /// longer the leader.
    deposed: OnceLock<Box<dyn Fn() + Send + Sync>>,
}

impl PgLog {
    pub fn new(db: Arc<Db>) -> PgLog {
        PgLog { db, epoch: AtomicI64::new(0), link: Mutex::new(None), deposed: OnceLock::new() }
    }

    /// This node leads in `epoch` from now on; `deposed` is called if
    /// another node turns out to lead instead.
    pub fn lead(&self, epoch: i64, deposed: Box<dyn Fn() + Send + Sync>) {
        let _ = self.deposed.set(deposed);
        self.epoch.store(epoch, Ordering::SeqCst);
    }

    fn deposed(&self) {
        if let Some(deposed) = self.deposed.get() {
            deposed();
        }
    }

    /// Inserts the batch under the fence, and tells the followers at its
    /// commit: `Ok(true)` if written (now or by an earlier try whose answer
    /// was lost), `Ok(false)` if refused (another epoch holds the lease,
    /// or another batch is at `base`).
    fn insert(
        &self,
        client: &mut Client,
        base: Pos,
        users: &[u8],
        records: &[u8],
    ) -> Result<bool, postgres::Error> {
        let written = client.query(
            "WITH fence AS (SELECT 1 FROM lease WHERE epoch = $2 FOR SHARE),
                  written AS (INSERT INTO log (pos, epoch, users, records) SELECT $1, $2, $3, $4 FROM fence
                              ON CONFLICT (pos) DO NOTHING RETURNING pos)
             SELECT pg_notify($5, '') FROM written",
            &[&(base as i64), &self.epoch.load(Ordering::SeqCst), &users, &records, &CHANNEL],
        )?;
        if written.len() == 1 {
            return Ok(true);
        }
        // Nothing written: this batch already (an earlier try committed,
        // its answer lost), or another's, or the fence refused.
        let there = client.query_opt("SELECT epoch, records FROM log WHERE pos = $1", &[&(base as i64)])?;
        let epoch = self.epoch.load(Ordering::SeqCst);
        Ok(there.is_some_and(|row| row.get::<i64>(0) == epoch && row.get::<Vec<u8>>(1) == records))
    }
}

impl SharedLog for PgLog {
    fn commit(&self, base: Pos, users: &[u8], log: &[u8]) -> io::Result<()> {
        let mut link = self.link.lock();
        let connected = match link.take() {
            Some(l) if l.usable() => Ok(l),
            _ => self.db.connect(),
        };
        let why = match connected {
            Ok(mut l) => {
                let inserted = self.insert(l.timed(), base, users, log);
                match inserted {
                    Ok(true) => {
                        *link = Some(l);
                        return Ok(());
                    }
                    Ok(false) => {
                        self.deposed();
                        let epoch = self.epoch.load(Ordering::SeqCst);
                        return Err(io::Error::other(format!(
                            "the batch at {base} was refused: epoch {epoch} does not lead any more"
                        )));
                    }
                    Err(e) => {
                        self.db.broken(&l);
                        describe(&e)
                    }
                }
            }
            Err(e) => e,
        };
        // The store keeps the batch and commits it again each second.
        Err(unreachable(format!("the batch at {base}: {why}")))
    }

    fn overwrite(&self, pos: Pos, bytes: &[u8]) -> io::Result<()> {
        let mut link = self.db.connect().map_err(io::Error::other)?;
        // In `log`, then in the archive: a row that the leader's trim
        // moves meanwhile (`cluster::checkpoint`) is found there by the
        // second statement, which sees what the move committed.
        for table in ["log", "log_archive"] {
            link.timed()
                .execute(
                    &format!(
                        "UPDATE {table} SET records = overlay(records PLACING $2 FROM ($1 - pos + 1)::int)
                         WHERE pos = (SELECT max(pos) FROM {table} WHERE pos <= $1)
                           AND pos + octet_length(records) >= $1 + octet_length($2)"
                    ),
                    &[&(pos as i64), &bytes],
                )
                .map_err(|e| io::Error::other(describe(&e)))?;
        }
        Ok(())
    }

    fn checkpoint(&self, pos: Pos, state: &[u8], erasures: &[u8], kept_from: Pos) -> io::Result<()> {
        let mut link = self.db.connect().map_err(io::Error::other)?;
        let epoch = self.epoch.load(Ordering::SeqCst);
        let refused = || {
            self.deposed();
            io::Error::other(format!("refused: epoch {epoch} does not lead any more"))
        };
        let stored = checkpoint::store(&mut link, epoch, pos, state, erasures);
        if !stored.map_err(io::Error::other)? {
            return Err(refused());
        }
        match checkpoint::trim(&mut link, epoch, kept_from).map_err(io::Error::other)? {
            Some(moved) if moved > 0 => {
                ::log::info!("cluster: {moved} pieces of the log moved to its archive")
            }
            Some(_) => {}
            None => return Err(refused()),
        }
        Ok(())
    }
}

/// Tells the followers that a node took the lease (`epoch`, as the log
/// says): each looks at the lease at once rather than at its next look,
/// up to a second later, and cuts the connections it passed on to the
/// old leader: after a leader froze, every second a follower still
/// passes clients to it is a second more before their writes are taken.
pub fn announce(client: &mut Client) -> Result<(), postgres::Error> {
    client.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &LEASE_TAKEN]).map(drop)
}

/// The batches from position `from` on, in order, at most [`READ_AT_ONCE`].
/// A copy made from a checkpoint inside a batch (`cluster::checkpoint`)
/// gets the rest of that batch first, from `from`, without its accounts:
/// the checkpoint's `users.csv` has them.
pub fn read_from(client: &mut Client, from: Pos) -> Result<Vec<LogRow>, postgres::Error> {
    let rows = client.query(
        "SELECT pos, users, records FROM log
         WHERE pos >= (SELECT coalesce(max(pos), 0) FROM log WHERE pos <= $1) ORDER BY pos LIMIT $2",
        &[&(from as i64), &READ_AT_ONCE],
    )?;
    let mut batches = Vec::new();
    for row in rows {
        let batch = LogRow { base: row.get::<i64>(0) as Pos, users: row.get(1), records: row.get(2) };
        let inside = (from - batch.base.min(from)) as usize;
        match batch.records.get(..inside) {
            _ if batch.base >= from => batches.push(batch),
            // A batch that ends where the copy does: it has it all.
            _ if inside >= batch.records.len() => {}
            Some(before) if before.ends_with(b"\n") => batches.push(LogRow {
                base: from,
                users: Vec::new(),
                records: batch.records[inside..].to_vec(),
            }),
            // Not at a record's start: the copy differs from the log.
            _ => batches.push(batch),
        }
    }
    Ok(batches)
}

/// The bytes of records a row holds, about, in a log written all at once
/// before any node led (`wachat migrate`, an upgrade): what a large group
/// commit holds.
const ROW_BYTES: usize = 1 << 20;

/// `users.csv` rows, each with the offset in the records of the record
/// whose row must carry it (the first row carries those at 0).
pub type AccountRows = Vec<(usize, Vec<u8>)>;

/// Writes `records` into the log from position `pos`, before any node
/// leads (epoch 0): rows of about [`ROW_BYTES`] cut after whole lines,
/// and cut too where an account must be carried ([`AccountRows`]: a `REUSE`
/// carries its name's new row). Returns how many rows it wrote (none for
/// no record and no account).
pub fn write_unled(
    tx: &mut postgres::Transaction,
    pos: Pos,
    accounts: AccountRows,
    records: &[u8],
) -> Result<u64, postgres::Error> {
    if records.is_empty() && accounts.iter().all(|(_, row)| row.is_empty()) {
        return Ok(0);
    }
    let insert = "INSERT INTO log (pos, epoch, users, records) VALUES ($1, 0, $2, $3)";
    let mut accounts = accounts.into_iter().peekable();
    let (mut start, mut rows) = (0, 0);
    loop {
        let mut users = Vec::new();
        while let Some((_, row)) = accounts.next_if(|(at, _)| *at <= start) {
            users.extend_from_slice(&row);
        }
        let forced = accounts.peek().map_or(records.len(), |(at, _)| *at);
        let mut end = forced.min(start + ROW_BYTES);
        if end < forced {
            end =
                start + records[start..end].iter().rposition(|&b| b == b'\n').map_or(end - start, |i| i + 1);
        }
        tx.execute(insert, &[&((pos + start as Pos) as i64), &users, &&records[start..end]])?;
        rows += 1;
        start = end;
        if start >= records.len() && accounts.peek().is_none() {
            return Ok(rows);
        }
    }
}

/// Where the log ends (0: empty).
pub fn end(client: &mut postgres::Client) -> Result<Pos, postgres::Error> {
    let row =
        client.query_opt("SELECT pos + octet_length(records) FROM log ORDER BY pos DESC LIMIT 1", &[])?;
    Ok(row.map_or(0, |row| row.get::<i64>(0) as Pos))
}
