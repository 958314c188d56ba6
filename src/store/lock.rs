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
use crate::i18n::commands::Msg;
use crate::i18n::tr;

/// Held while alive; dropping it (or the process ending) releases it.
pub struct DataLock {
    _file: File,
    pub path: PathBuf,
}

impl DataLock {
    /// Takes the lock of `dir` without waiting, or says who holds it.
    pub fn acquire(dir: &Path) -> Result<DataLock> {
        let path = dir.join("wachat.lock");
        let ctx = |e| Error::io(tr!(crate::i18n::client::Msg::StoreFile, path = path.display()), e);
        std::fs::create_dir_all(dir).map_err(ctx)?;
        let file = match crate::pidlock::try_lock(&path, 0o666).map_err(ctx)? {
            crate::pidlock::Locked::Held(file) => file,
            crate::pidlock::Locked::Busy(holder) => {
                let who = if holder.is_empty() { String::new() } else { tr!(Msg::HolderPid, pid = holder) };
                // In the user's words for `wachat users …`; a second server
                // never chose a language, so it says this in English.
                return Err(Error::Usage(tr!(Msg::InUse, dir = dir.display(), who = who)));
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
