//! A cluster node's copy of the store made from the cluster's newest
//! checkpoint (`cluster::checkpoint`), not from every record since the
//! first: the log's bytes up to the checkpoint, copied and not applied;
//! then `users.csv`, the erasures still to do and the checkpoint itself,
//! as of the same position. The store then opens the directory as it
//! opens any other (`load`: the newest checkpoint, and nothing of the log
//! after it to replay), and the node applies the shared log's rows after
//! it.
//!
//! ```text
//!   seeding          (a marker: a copy begun and not finished)
//!   log/<start>.csv  the bytes, as many segments as they fill
//!   users.csv        the accounts as of the checkpoint
//!   erase.csv        the deleted texts the leader had still to erase
//!   checkpoint-<position>.csv, last (synced, renamed into place)
//! ```
//!
//! The bytes are not synced, as a follower's batches are not: the shared
//! log is the durable copy. A copy that a crash interrupted keeps its
//! marker, and the next start throws it away and begins again.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::erase::{ERASE_FILE, Eraser};
use crate::error::{Error, Result};
use crate::store::checkpoint;
use crate::store::disk::{Disk, RealDisk};
use crate::store::log::{Log, LogWriter};
use crate::store::record::Pos;
use crate::store::users::USERS_HEADER;

/// The marker of a copy being made.
const SEEDING: &str = "seeding";

/// A checkpoint of the cluster's, as the nodes store it.
pub struct Seed {
    /// The log position it covers.
    pub pos: Pos,
    /// The checkpoint's file (`store::checkpoint`).
    pub state: Vec<u8>,
    /// `users.csv` as of `pos`, without its header line.
    pub users: Vec<u8>,
    /// `erase.csv`'s rows the leader had not done yet, without the header.
    pub erasures: Vec<u8>,
}

/// Where the copy of the store in `dir` ends, if it holds one: `None` for
/// a directory with no log, or with an unfinished copy (thrown away
/// here). Takes no lock: the caller holds the directory's.
pub fn copy_end(dir: &Path, segment_size: u64) -> Result<Option<Pos>> {
    if dir.join(SEEDING).exists() {
        log::warn!("store: {}: a copy of the cluster's store was left unfinished: made again", dir.display());
        discard(dir)?;
        return Ok(None);
    }
    if !dir.join("log").exists() {
        return Ok(None);
    }
    let (_, writer) = Log::open(Arc::new(RealDisk), &dir.join("log"), segment_size)?;
    Ok(Some(writer.end()))
}

/// Removes the store's copy from `dir` (its log, checkpoints, accounts
/// and erasures); the directory's identity and the node's other files
/// stay.
fn discard(dir: &Path) -> Result<()> {
    let ctx = |path: &Path| {
        let shown = path.display().to_string();
        move |e| Error::io(format!("store: {shown} (removing the old copy)"), e)
    };
    let log = dir.join("log");
    if log.exists() {
        std::fs::remove_dir_all(&log).map_err(ctx(&log))?;
    }
    let disk = RealDisk;
    for name in disk.list(dir).map_err(ctx(dir))? {
        let old = name.starts_with("checkpoint-") || name == "users.csv" || name == ERASE_FILE;
        if old {
            disk.remove(&dir.join(&name)).map_err(ctx(&dir.join(&name)))?;
        }
    }
    Ok(())
}

/// A copy being made: the log's bytes appended in order, then
/// [`Filling::finish`].
pub struct Filling {
    dir: PathBuf,
    writer: LogWriter,
}

impl Filling {
    /// Throws away the copy in `dir`, if any, and begins one whose log
    /// starts at `start` (0, or where retention left the cluster's).
    pub fn begin(dir: &Path, start: Pos, segment_size: u64) -> Result<Filling> {
        let disk = RealDisk;
        let marker = dir.join(SEEDING);
        disk.open_append(&marker).map_err(|e| Error::io(format!("store: {}", marker.display()), e))?;
        discard(dir)?;
        let (_, writer) = Log::create_at(Arc::new(disk), &dir.join("log"), start, segment_size)?;
        Ok(Filling { dir: dir.to_path_buf(), writer })
    }

    /// Where the copy ends so far.
    pub fn end(&self) -> Pos {
        self.writer.end()
    }

    /// Appends whole records, the next ones of the log.
    pub fn append(&mut self, records: &[u8]) -> Result<()> {
        if !records.is_empty() && !records.ends_with(b"\n") {
            let at = self.writer.end();
            return Err(Error::Usage(format!("store: the log's bytes at {at} end inside a record")));
        }
        self.writer.append(records)
    }

    /// Ends the copy with the checkpoint at its end: the accounts and the
    /// erasures first, the checkpoint last (synced), then the marker goes.
    pub fn finish(self, seed: Seed) -> Result<()> {
        let disk = RealDisk;
        let end = self.writer.end();
        let covered = checkpoint::verify(&seed.state)
            .map_err(|why| Error::Usage(format!("store: the cluster's checkpoint at {}: {why}", seed.pos)))?;
        if covered != seed.pos || end != seed.pos {
            return Err(Error::Usage(format!(
                "store: the cluster's checkpoint covers {covered} (stored at {}), the log's copy ends at {end}",
                seed.pos
            )));
        }
        drop(self.writer);
        let ctx = |path: PathBuf| move |e| Error::io(format!("store: {}", path.display()), e);
        let mut users = format!("{USERS_HEADER}\n").into_bytes();
        users.extend_from_slice(&seed.users);
        let path = self.dir.join("users.csv");
        disk.replace(&path, &users).map_err(ctx(path))?;
        if !seed.erasures.is_empty() {
            let path = self.dir.join(ERASE_FILE);
            disk.replace(&path, &Eraser::file(&seed.erasures)).map_err(ctx(path))?;
        }
        checkpoint::write(&disk, &self.dir, seed.pos, &seed.state)?;
        let marker = self.dir.join(SEEDING);
        disk.remove(&marker).map_err(ctx(marker))?;
        Ok(())
    }
}
