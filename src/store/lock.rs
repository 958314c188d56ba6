//! The data directory's lock: one process at a time may own the files.
//!
//! The server holds an exclusive `flock` on `wachat.lock` for as long as it
//! runs; account commands (`wachat users …`) take the same lock, so they
//! refuse clearly instead of editing files under a running server's feet,
//! and a second server on the same directory refuses to start. The kernel
//! drops the lock when the process ends, even by `kill -9`: a stale lock
//! file never blocks anyone.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Held while alive; dropping it (or the process ending) releases it.
pub struct DataLock {
    _file: File,
    pub path: PathBuf,
}

impl DataLock {
    /// Takes the lock of `dir` without waiting, or says who holds it.
    pub fn acquire(dir: &Path) -> Result<DataLock> {
        let path = dir.join("wachat.lock");
        let ctx = |e| Error::io(format!("store: {}", path.display()), e);
        std::fs::create_dir_all(dir).map_err(ctx)?;
        // 0600: the lock file is private like the rest of the directory.
        let file = match crate::pidlock::try_lock(&path, 0o600).map_err(ctx)? {
            crate::pidlock::Locked::Held(file) => file,
            crate::pidlock::Locked::Busy(holder) => {
                let pid = (!holder.is_empty()).then_some(holder);
                return Err(Error::Locked { dir: dir.to_path_buf(), pid });
            }
        };
        Ok(DataLock { _file: file, path })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let first = DataLock::acquire(dir.path()).unwrap();
        let err = DataLock::acquire(dir.path()).err().unwrap().to_string();
        assert!(err.contains("in use by a running wachat server"), "{err}");
        assert!(err.contains(&format!("pid {}", std::process::id())), "{err}");
        drop(first);
        assert!(DataLock::acquire(dir.path()).is_ok());
    }
}
