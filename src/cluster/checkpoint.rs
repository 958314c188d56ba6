//! Checkpoints in the database, a node's start from the newest, and a
//! log that does not grow without end.
//!
//! The leader's checkpointer writes the single server's checkpoint
//! (`store::checkpoint`: the state as of a log position) to its own disk
//! every [`StoreOptions::checkpoint_records`] records or
//! [`StoreOptions::checkpoint_interval`] (`--checkpoint-records`, default
//! 200,000, and 10 minutes), then stores it here ([`store`]), fenced by
//! its epoch as its batches are: a deposed leader's checkpoint is
//! refused. Only the leader stores them: its state is the log's by
//! construction (it never writes locally what the log refused), and one
//! writer needs no agreement on whose copy counts. A new leader that
//! finds no checkpoint here (a cluster just migrated or upgraded) stores
//! one at once.
//!
//! ```text
//!   checkpoints: pos, epoch, users.csv as of pos, erasures to do ─┐ parts: the file
//!   log:         the rows from the older kept checkpoint's on ────┤ (applied by a node that is behind)
//!   log_archive: the records before it, in pieces of ~4 MiB ──────┘ (copied, never applied)
//! ```
//!
//! **Trimming.** The two newest checkpoints are kept. After each, the
//! rows of `log` that end before the older one move into `log_archive`
//! ([`trim`]): a follower up to one checkpoint interval behind still
//! finds the rows it needs; one further behind starts from the newest
//! checkpoint as a new node does. `log` thus holds one to two intervals of
//! rows whatever the history's length. The records themselves stay, in
//! `log_archive`, because every node keeps the whole log's bytes:
//! reads of history and search and an inbox's replay read the texts
//! there by position. What `--retain-days` removed from the leader's log goes
//! from `log_archive` too, so with it the database's size is bounded.
//!
//! **A node's start** ([`prepare`], before its store opens): a copy of
//! its own that ends where `log` still has rows applies only the rows
//! after it; an empty directory, or a copy whose rows were trimmed, is
//! made from the newest checkpoint (`store::local::seed`): the archive's
//! and the log's bytes up to it copied, `users.csv`, the erasures and the
//! checkpoint written, all read in one snapshot of the database. The
//! store then opens it as a single server opens its directory, and the
//! node applies the rows after the checkpoint. A copy too far behind is
//! replaced whole, not patched: the texts deleted meanwhile were erased
//! in the database, and its own bytes still hold them.

use std::path::Path;

use crate::cluster::db::postgres;
use crate::cluster::db::postgres::Transaction;

use super::db::{Db, PgLink};
use crate::error::{Error, Result};
use crate::store::StoreOptions;
use crate::store::local::seed::{Filling, Seed, copy_end};
use crate::store::record::Pos;

/// A checkpoint is stored in parts of this many bytes at most.
const PART: usize = 4 << 20;

/// The archive's pieces: the rows moved hold positions within one
/// stretch of this many bytes.
const PIECE: i64 = 4 << 20;

/// Bytes of `log`'s rows moved to the archive in one transaction at most
/// (and one more row): a log of a cluster just migrated or upgraded is
/// moved a step at a time, each within the database's deadline.
const STEP: i64 = 16 * PIECE;

/// Checkpoints kept: the rows after the older one stay in `log`.
const KEEP: i64 = 2;

/// Pieces of the archive read at once when a node copies it.
const PIECES_AT_ONCE: i64 = 4;

/// Rows of `log` read at once when a node copies them.
const ROWS_AT_ONCE: i64 = 16;

fn failed(doing: &str) -> impl Fn(postgres::Error) -> Error + '_ {
    move |e| super::db::error(format!("cluster: {doing}"), &e)
}

/// Stores the leader's checkpoint at `pos` under `epoch` (the fence,
/// [`fenced`]), within the database's deadline. `Ok(false)`: refused,
/// another node leads. `users.csv` as of `pos` is the previous
/// checkpoint's and the rows' accounts since (a row holding `pos` counts
/// whole: its accounts are in the file before the checkpoint's records,
/// as a single server's are).
pub fn store(link: &mut PgLink, epoch: i64, pos: Pos, state: &[u8], erasures: &[u8]) -> Result<bool> {
    let at = pos as i64;
    let mut tx = link.timed().transaction().map_err(failed("storing a checkpoint"))?;
    // One there already at this position or after it: this one is of no
    // use (the archive may hold what a node would need after it). A
    // deposed leader is told so all the same: its trim would be refused.
    let there = tx.query_opt("SELECT 1 FROM checkpoints WHERE pos >= $1 LIMIT 1", &[&at]);
    if there.map_err(failed("storing a checkpoint"))?.is_some() {
        return fenced(&mut tx, epoch);
    }
    let before = tx
        .query_opt("SELECT pos, users FROM checkpoints WHERE pos < $1 ORDER BY pos DESC LIMIT 1", &[&at])
        .map_err(failed("reading the previous checkpoint"))?;
    let (from, mut users) = before.map_or((0, Vec::new()), |row| (row.get::<i64>(0), row.get(1)));
    let rows = tx
        .query_one(
            "SELECT coalesce(string_agg(users, ''::bytea ORDER BY pos), ''::bytea),
                    (SELECT min(pos) FROM log),
                    (SELECT max(pos + octet_length(records)) FROM log)
             FROM log WHERE pos >= $1 AND pos < $2",
            &[&from, &at],
        )
        .map_err(failed("reading the log's accounts"))?;
    let (first, end): (Option<i64>, Option<i64>) = (rows.get(1), rows.get(2));
    if first.is_some_and(|first| first > from) || end.unwrap_or(0) < at {
        return Err(Error::Usage(format!(
            "cluster: a checkpoint at {pos}: the log's rows span {}..{}, the last checkpoint is at {from}",
            first.unwrap_or(0),
            end.unwrap_or(0)
        )));
    }
    users.extend_from_slice(rows.get::<&[u8]>(0));
    let parts: Vec<&[u8]> = state.chunks(PART).collect();
    let head = "INSERT INTO checkpoints (pos, epoch, users, erasures, parts) VALUES ($1, $2, $3, $4, $5)";
    tx.execute(head, &[&at, &epoch, &users, &erasures, &(parts.len() as i32)])
        .map_err(failed("storing a checkpoint"))?;
    for (i, part) in parts.iter().enumerate() {
        tx.execute(
            "INSERT INTO checkpoint_parts (pos, part, bytes) VALUES ($1, $2, $3)",
            &[&at, &(i as i32), part],
        )
        .map_err(failed("storing a checkpoint"))?;
    }
    tx.execute(
        "DELETE FROM checkpoints WHERE pos < (SELECT min(pos) FROM
            (SELECT pos FROM checkpoints ORDER BY pos DESC LIMIT $1) AS kept)",
        &[&KEEP],
    )
    .map_err(failed("removing old checkpoints"))?;
    if !fenced(&mut tx, epoch)? {
        return Ok(false);
    }
    tx.commit().map_err(failed("storing a checkpoint"))?;
    Ok(true)
}

/// The fence, the last statement of a transaction before its commit:
/// whether the lease still names `epoch`, its row then held `FOR SHARE`
/// until the commit, so that a node taking the lease waits for this
/// transaction, and one that took it before makes it fail. Last, so that
/// the lease's renewals wait for a commit only, not for the work before it.
fn fenced(tx: &mut Transaction, epoch: i64) -> Result<bool> {
    let fence = tx.query_opt("SELECT 1 FROM lease WHERE epoch = $1 FOR SHARE", &[&epoch]);
    Ok(fence.map_err(failed("reading the lease"))?.is_some())
}

/// Moves the rows of `log` that end before the older kept checkpoint
/// into `log_archive`, and removes from the archive what ends before
/// `kept_from` (the leader's log's start: `--retain-days`), under the
/// fence of `epoch`: [`STEP`] bytes of rows a transaction, each within
/// the database's deadline. `Ok(None)`: refused, another node leads;
/// else the rows moved. The newest row always stays: it says where the
/// log ends.
pub fn trim(link: &mut PgLink, epoch: i64, kept_from: Pos) -> Result<Option<u64>> {
    let mut moved = 0;
    loop {
        let mut tx = link.timed().transaction().map_err(failed("trimming the log"))?;
        let older: Option<i64> = tx
            .query_one("SELECT CASE WHEN count(*) >= $1 THEN min(pos) END FROM checkpoints", &[&KEEP])
            .map_err(failed("reading the checkpoints"))?
            .get(0);
        let step = match older {
            None => 0,
            Some(older) => tx
                .execute(
                    "WITH moved AS (
                         DELETE FROM log
                         WHERE pos + octet_length(records) <= $1
                           AND pos + octet_length(records) <= (SELECT min(pos) FROM log) + $2
                           AND pos < (SELECT max(pos) FROM log)
                         RETURNING pos, records)
                     INSERT INTO log_archive (pos, records)
                     SELECT min(pos), string_agg(records, ''::bytea ORDER BY pos) FROM moved GROUP BY pos / $3",
                    &[&older, &STEP, &PIECE],
                )
                .map_err(failed("moving the log's old rows"))?,
        };
        if step == 0 {
            tx.execute(
                "DELETE FROM log_archive WHERE pos + octet_length(records) <= $1",
                &[&(kept_from as i64)],
            )
            .map_err(failed("removing what retention removed"))?;
        }
        if !fenced(&mut tx, epoch)? {
            return Ok(None);
        }
        tx.commit().map_err(failed("trimming the log"))?;
        if step == 0 {
            return Ok(Some(moved));
        }
        moved += step;
    }
}

/// The position of the newest checkpoint, if any.
pub fn newest(client: &mut postgres::Client) -> std::result::Result<Option<Pos>, postgres::Error> {
    let row = client.query_one("SELECT max(pos) FROM checkpoints", &[])?;
    Ok(row.get::<Option<i64>>(0).map(|pos| pos as Pos))
}

/// Readies a node's data directory before its store opens (see the
/// module documentation): keeps a copy whose next rows are in `log`, and
/// makes one from the newest checkpoint otherwise. Holds the directory's
/// lock meanwhile.
pub fn prepare(db: &Db, dir: &Path, options: &StoreOptions) -> Result<()> {
    let _lock = crate::store::lock::DataLock::acquire(dir)?;
    remove_devices_cache(dir)?;
    let end = copy_end(dir, options.segment_size)?.filter(|&end| end > 0);
    let mut client = db.connect_at_start()?;
    let mut tx = client
        .transaction_with("ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .map_err(failed("reading the newest checkpoint"))?;
    let Some(pos) = newest(&mut tx).map_err(failed("reading the newest checkpoint"))? else {
        return Ok(()); // the log's rows from the first
    };
    let first: Option<i64> =
        tx.query_one("SELECT min(pos) FROM log", &[]).map_err(failed("reading the log"))?.get(0);
    if let Some(end) = end {
        if first.is_none_or(|first| end >= first as Pos) {
            log::info!("cluster: this node's copy ends at {end}; the log's rows after it follow");
            return Ok(());
        }
        log::warn!(
            "cluster: this node's copy ends at {end}, and the log's rows now begin at {}: \
             it is made again from the checkpoint at {pos}",
            first.unwrap_or(0)
        );
    }
    let started = std::time::Instant::now();
    copy(&mut tx, dir, pos, options.segment_size)?;
    log::info!(
        "cluster: this node's copy was made from the checkpoint at {pos} in {} ms",
        started.elapsed().as_millis()
    );
    Ok(())
}

/// Removes the file of devices that a node of an earlier build kept in
/// its directory (`store::devices::OLD_FILE`, and the room it reserved),
/// a cache of the database's rows: the devices are records of the log,
/// which this node applies, so nothing reads it, and a single server's
/// conversion of such a file must never run on a node's copy.
fn remove_devices_cache(dir: &Path) -> Result<()> {
    use crate::store::devices::{OLD_FILE, OLD_SPARE};
    for path in [dir.join(OLD_FILE), dir.join(OLD_SPARE)] {
        match std::fs::remove_file(&path) {
            Ok(()) => log::info!("cluster: {} removed: the devices are records of the log", path.display()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(format!("cluster: {}", path.display()), e)),
        }
    }
    Ok(())
}

/// Makes the copy in `dir` from the checkpoint at `pos`: the archive's
/// pieces, then the log's rows up to `pos`, then the checkpoint.
fn copy(tx: &mut Transaction, dir: &Path, pos: Pos, segment_size: u64) -> Result<()> {
    let at = pos as i64;
    let head = tx
        .query_one("SELECT users, erasures, parts FROM checkpoints WHERE pos = $1", &[&at])
        .map_err(failed("reading the checkpoint"))?;
    let (users, erasures, parts): (Vec<u8>, Vec<u8>, i32) = (head.get(0), head.get(1), head.get(2));
    let mut state = Vec::new();
    let rows = tx
        .query("SELECT bytes FROM checkpoint_parts WHERE pos = $1 ORDER BY part", &[&at])
        .map_err(failed("reading the checkpoint"))?;
    if rows.len() != parts as usize {
        return Err(Error::Usage(format!(
            "cluster: the checkpoint at {pos} has {} of its {parts} parts",
            rows.len()
        )));
    }
    for row in &rows {
        state.extend_from_slice(row.get::<&[u8]>(0));
    }
    let start: i64 = tx
        .query_one("SELECT coalesce((SELECT min(pos) FROM log_archive), (SELECT min(pos) FROM log), 0)", &[])
        .map_err(failed("reading the log"))?
        .get(0);
    let mut filling = Filling::begin(dir, start as Pos, segment_size)?;
    let out_of_place = |table: &str, row: i64, end: Pos| {
        Error::Usage(format!("cluster: {table} has a row at {row} where the copy ends at {end}"))
    };
    loop {
        let pieces = tx
            .query(
                "SELECT pos, records FROM log_archive WHERE pos >= $1 ORDER BY pos LIMIT $2",
                &[&(filling.end() as i64), &PIECES_AT_ONCE],
            )
            .map_err(failed("reading the log's archive"))?;
        if pieces.is_empty() {
            break;
        }
        for piece in &pieces {
            let base: i64 = piece.get(0);
            if base as Pos != filling.end() {
                return Err(out_of_place("log_archive", base, filling.end()));
            }
            filling.append(piece.get::<&[u8]>(1))?;
        }
    }
    while filling.end() < pos {
        let rows = tx
            .query(
                "SELECT pos, records FROM log WHERE pos >= $1 AND pos < $2 ORDER BY pos LIMIT $3",
                &[&(filling.end() as i64), &at, &ROWS_AT_ONCE],
            )
            .map_err(failed("reading the log"))?;
        if rows.is_empty() {
            return Err(Error::Usage(format!(
                "cluster: the log ends at {} before its checkpoint at {pos}",
                filling.end()
            )));
        }
        for row in &rows {
            let base: i64 = row.get(0);
            if base as Pos != filling.end() {
                return Err(out_of_place("log", base, filling.end()));
            }
            let records: &[u8] = row.get(1);
            // The row that holds the checkpoint's position: up to it.
            let upto = records.len().min((pos - base as Pos) as usize);
            filling.append(&records[..upto])?;
        }
    }
    filling.finish(Seed { pos, state, users, erasures })
}
