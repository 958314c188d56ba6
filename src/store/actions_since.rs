//! Since when the message ids of actions are the server's own
//! (`protocol::action::ActionsSince`): the time this data directory was
//! first served by a server that refuses them from clients, kept in
//! `actions.csv`, one row under its header:
//!
//! ```text
//! since_ms
//! 1795246940612
//! ```
//!
//! Made at the first start without it, which for a directory of an older
//! server is the upgrade: after the newest record's time, so that every
//! message stored before it (when a client could send `MSG:bob:_e1_m1:…`
//! and have it taken for an edit) is read as the plain message it is,
//! and every message after it, whose action id only the server can have
//! made, as an action. A cluster keeps the same time in its `server` row
//! (`cluster/schema.sql`).

use std::path::Path;

use super::disk::Disk;
use crate::error::{Error, Result};

/// The file, in the data directory.
pub const FILE: &str = "actions.csv";
const HEADER: &str = "since_ms";

/// The directory's time, made (and written durably) if it has none yet:
/// after `newest_ts`, the newest record's time, and after now.
pub fn load_or_create(disk: &dyn Disk, dir: &Path, newest_ts: u64) -> Result<u64> {
    let path = dir.join(FILE);
    if disk.exists(&path) {
        return read(disk, &path);
    }
    let since = super::now_ms().max(newest_ts + 1);
    // Written whole and synced, then renamed into place (as `server.csv`).
    let row = format!("{HEADER}\n{since}\n");
    disk.replace(&path, row.as_bytes()).map_err(|e| Error::io(format!("store: {}", path.display()), e))?;
    // Said in words a student reading the start-up lines can follow, not
    // only the file's name.
    log::info!(
        "store: from now on, only this server makes the ids of edits, deletions and reactions \
         (a client's MSG cannot pass for one; noted in {})",
        path.display()
    );
    Ok(since)
}

/// Gives the directory the time `since` (a cluster's node: the
/// cluster's, `store::shared_log`).
pub fn write(disk: &dyn Disk, dir: &Path, since: u64) -> Result<()> {
    let path = dir.join(FILE);
    let row = format!("{HEADER}\n{since}\n");
    disk.replace(&path, row.as_bytes()).map_err(|e| Error::io(format!("store: {}", path.display()), e))
}

/// The directory's time, if it has one (`wachat migrate` carries it
/// into a cluster, whose messages it copies with their times).
pub fn read_in(disk: &dyn Disk, dir: &Path) -> Result<Option<u64>> {
    let path = dir.join(FILE);
    if !disk.exists(&path) {
        return Ok(None);
    }
    read(disk, &path).map(Some)
}

fn read(disk: &dyn Disk, path: &Path) -> Result<u64> {
    let bytes = disk.read_all(path).map_err(|e| Error::io(format!("store: {}", path.display()), e))?;
    let mut since = None;
    crate::csvlog::read_rows_from(path, &bytes, HEADER, |row| {
        let found = row.get(0).unwrap_or_default();
        let ms = found.parse::<u64>().map_err(|_| format!("bad time {found:?}"))?;
        if since.replace(ms).is_some() {
            return Err("more than one row".into());
        }
        Ok(())
    })
    .map_err(|e| e.into_error(path))?;
    since.ok_or_else(|| Error::Corrupt {
        path: path.to_path_buf(),
        line: 2,
        reason: "no time (remove the file: the next start makes one, from then on)".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sim_disk::SimDisk;

    #[test]
    fn made_once_after_the_newest_record_then_read_back() {
        let sim = SimDisk::new();
        let disk: &dyn Disk = &sim;
        let dir = Path::new("/data");
        disk.create_dir_all(dir).unwrap();
        let later = crate::store::now_ms() + 60_000;
        let since = load_or_create(disk, dir, later).unwrap();
        assert_eq!(since, later + 1, "after the newest record, even one stamped ahead of now");
        assert_eq!(load_or_create(disk, dir, 0).unwrap(), since, "kept across starts");
    }
}
