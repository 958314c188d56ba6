//! The ballast: a file of [`BALLAST`] bytes that the data directory keeps
//! in reserve, given up when a write meets a full disk, so that the write
//! is still answered (CockroachDB keeps one for the same reason).
//!
//! Why. The single server applies a batch's records to its state before
//! the group commit writes them (`local/committer/mod.rs`). A write that
//! meets a full disk cannot refuse them without undoing them in memory,
//! together with every record applied after them that builds on their
//! positions; and answering `KO` while keeping them would be a lie the
//! first retry that succeeds exposes (a `KO` means not stored). Without
//! room their senders would wait, unanswered, for as long as the disk
//! stays full (more than 10 s in one run with `--min-free 0`). With the
//! ballast the writer frees room it knows is there: it removes the file,
//! writes the batch again at once (its `OK`s are then true), and the
//! store turns *full*: every new write is refused `KO:FULL` at admission,
//! as below the `--min-free` floor (`budget::Floor`), and reads go on.
//! When the disk has room for the ballast and as much again, the ballast
//! is made again and writes are admitted, without a restart.
//!
//! Why not undo the batch. Undoing means a reverse of every change a
//! record makes to the state (inboxes, rooms, quotas, the resend window,
//! search), for records that later ones may build on: a second
//! implementation of the state, to be kept right for a path that runs
//! once a year. The ballast is one file and two calls.
//!
//! The bound. A batch is what the server applied while the previous one
//! was written and synced: at the ~150,000 messages/s of ~250 bytes this
//! server reaches (BENCHMARKS.md) that is ~40 KB per millisecond of
//! fsync, so [`BALLAST`] covers a batch of ~200 ms of fsync at full
//! speed, and acknowledgements written meanwhile. A batch larger than the
//! room the ballast frees, or a disk that something else fills again at
//! once, falls back to waiting: the batch waits for room, retried every
//! second, and its senders wait (never a false `KO`).

use std::io;
use std::path::{Path, PathBuf};

use super::disk::{Disk, SyncPoint};

/// Bytes the data directory keeps in reserve (its file `ballast`).
pub const BALLAST: u64 = 8 << 20;

/// The ballast's path in data directory `dir`.
pub fn path(dir: &Path) -> PathBuf {
    dir.join("ballast")
}

/// Makes the ballast of `dir` if it is missing or not whole (a crash
/// while it was made): `Err` if the disk has no room for it.
pub fn make(disk: &dyn Disk, dir: &Path) -> io::Result<()> {
    let path = path(dir);
    if disk.exists(&path) {
        if disk.open_read(&path)?.len()? == BALLAST {
            return Ok(());
        }
        disk.remove(&path)?;
    }
    if let Err(e) = disk.reserve(&path, BALLAST) {
        let _ = disk.remove(&path); // what was reserved of it goes back
        return Err(e);
    }
    disk.sync_dir(dir, SyncPoint::DataDir)
}

/// Removes the ballast of `dir`: its room is free for the writes under
/// way. `false` if there was none to remove.
pub fn spend(disk: &dyn Disk, dir: &Path) -> bool {
    match disk.remove(&path(dir)) {
        Ok(()) => true,
        Err(e) => {
            log::error!("store: removing {}: {e}", path(dir).display());
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sim_disk::SimDisk;

    #[test]
    fn a_ballast_is_made_whole_and_its_room_comes_back_when_spent() {
        let sim = SimDisk::new();
        let disk: &dyn Disk = &sim;
        let dir = Path::new("/data");
        disk.create_dir_all(dir).unwrap();
        make(disk, dir).unwrap();
        assert_eq!(sim.used_bytes(), BALLAST);
        make(disk, dir).unwrap();
        assert_eq!(sim.used_bytes(), BALLAST, "made once");
        assert!(spend(disk, dir));
        assert_eq!(sim.used_bytes(), 0);
        assert!(!spend(disk, dir), "nothing left to spend");
        sim.set_capacity(Some(BALLAST / 2));
        assert!(make(disk, dir).is_err(), "no room for it");
        assert_eq!(sim.used_bytes(), 0, "nothing of it left behind");
    }
}
