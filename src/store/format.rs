//! The data directory's format version, `format.csv`: which layout of
//! the files this directory is in, so that a wachat never opens a
//! directory that a newer one wrote (and could misread, then corrupt),
//! and says so naming both versions.
//!
//! ```text
//! format,written_by
//! 3,0.1.0
//! ```
//!
//! | format | layout |
//! |---|---|
//! | 1 | four CSV files replayed whole (`rooms.csv`, `history.csv`, `inbox.csv`, `seen.csv`): converted once by `store::convert` |
//! | 2 | the segmented log, checkpoints and the files beside them (module `store`); older builds of it wrote no `format.csv` |
//! | 3 | the descriptions of the files of chats are `FILE` records of the log, no longer a `files/<id>.meta` beside their bytes: a format-2 directory's are put into the log when its files open (`store::files::disk::open`) |
//! | 4 | the log's segments begin with the header `…,dord,body`, no longer `…,dord,text` (`store::record::LOG_HEADER`, as long: no record moves); the log gives an older segment the new header when it opens (`store::log`). Nothing else changed: the new header is what makes a build older than this file refuse the directory. Such a build requires its header to the byte, so its start stops at the first segment, and its `users check --repair`, which would set aside every `FILE` record (a kind it does not know: the files' only descriptions), refuses that segment before it changes one |
//!
//! A directory without the file is of a build before the file (format 1
//! or 2, which the store tells apart and opens); once opened, the store
//! writes the file with [`CURRENT`]. A file that says more than
//! [`CURRENT`] stops the start before anything is read or changed.
//! A change to a file's layout that an older wachat would misread takes
//! the next number, and this table gets its row.
//!
//! Builds before this file (formats 1 and 2) know nothing of it; what keeps them from a newer directory is format
//! 4's header, which they refuse by themselves (the table).
//!
//! A cluster's database has its own version (`cluster::schema`), which a
//! node checks the same way.

use std::path::Path;

use super::disk::Disk;
use crate::error::{Error, Result};

/// The file, in the data directory.
pub const FILE: &str = "format.csv";
const HEADER: &str = "format,written_by";

/// The format this wachat writes, and the newest it reads.
pub const CURRENT: u64 = 4;

/// The format `dir` says it is in (`None`: it has no `format.csv`).
pub fn read(disk: &dyn Disk, dir: &Path) -> Result<Option<u64>> {
    let path = dir.join(FILE);
    if !disk.exists(&path) {
        return Ok(None);
    }
    let bytes = disk.read_all(&path).map_err(|e| Error::io(format!("store: {}", path.display()), e))?;
    let mut format = None;
    crate::csvlog::read_rows_from(&path, &bytes, HEADER, |row| {
        let found = row.get(0).unwrap_or_default();
        let n = found.parse::<u64>().map_err(|_| format!("{found:?} is not a format number"))?;
        if format.replace(n).is_some() {
            return Err("more than one format".into());
        }
        Ok(())
    })
    .map_err(|e| e.into_error(&path))?;
    Ok(format)
}

/// Refuses a directory of a format newer than this wachat's.
pub fn check(disk: &dyn Disk, dir: &Path) -> Result<()> {
    match read(disk, dir)? {
        Some(format) if format > CURRENT => Err(Error::Usage(format!(
            "store: {} is in data format {format}, newer than this wachat ({}) reads (format {CURRENT}): \
             it was written by a newer wachat; run that one on it (opening it here could damage it), \
             or restore a backup made before the upgrade",
            dir.display(),
            env!("CARGO_PKG_VERSION"),
        ))),
        _ => Ok(()),
    }
}

/// Writes [`CURRENT`] into `dir` unless it says so already (synced,
/// replaced atomically).
pub fn mark(disk: &dyn Disk, dir: &Path) -> Result<()> {
    if read(disk, dir)? == Some(CURRENT) {
        return Ok(());
    }
    let path = dir.join(FILE);
    let row = format!("{HEADER}\n{CURRENT},{}\n", env!("CARGO_PKG_VERSION"));
    disk.replace(&path, row.as_bytes()).map_err(|e| Error::io(format!("store: {}", path.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::disk::RealDisk;

    #[test]
    fn a_directory_is_marked_once_and_a_newer_format_is_refused_naming_both() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(&RealDisk, dir.path()).unwrap(), None);
        check(&RealDisk, dir.path()).unwrap();
        mark(&RealDisk, dir.path()).unwrap();
        assert_eq!(read(&RealDisk, dir.path()).unwrap(), Some(CURRENT));
        std::fs::write(dir.path().join(FILE), format!("{HEADER}\n{},9.9.9\n", CURRENT + 1)).unwrap();
        let err = check(&RealDisk, dir.path()).unwrap_err().to_string();
        assert!(
            err.contains(&format!("format {}", CURRENT + 1)) && err.contains(&format!("format {CURRENT}")),
            "{err}"
        );
        std::fs::write(dir.path().join(FILE), format!("{HEADER}\nthree,x\n")).unwrap();
        assert!(check(&RealDisk, dir.path()).is_err(), "a damaged file is no format");
    }
}
