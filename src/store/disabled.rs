//! Disabled accounts (`wachat users disable|enable NAME`): an
//! administrator's "not now" that works on a running server, with no
//! restart, and undoes cleanly (unlike `users remove`, which needs the
//! server stopped and is for good).
//!
//! An account is disabled while the file `disabled/<name>` exists in the
//! data directory (`<name>` folded to lowercase, as names compare). Two
//! processes share the folder as they share `invites/` (`store::invites`):
//! `wachat users` creates and deletes files, the server only looks. The
//! server checks the file at every login (one `stat`, beside an argon2
//! hash that costs ~100 ms), so a disable refuses the next login at once;
//! and it looks at the folder twice a second to close the sessions that
//! were already open (`server::operator`).
//!
//! This is a single server's way to keep them; a cluster keeps the same
//! flags in its database (`store::door`, `cluster::door`).
//!
//! The name is checked (`A-Z a-z 0-9 _ . -`, 1–32 characters, not `.` or
//! `..`) before it names a file, so no name can reach another path.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::protocol::names::{check_name, fold};

/// The folder of the flags, in the data directory.
pub const FOLDER: &str = "disabled";

/// The flag file of `name`, if it is a valid name.
fn flag(data_dir: &Path, name: &str) -> Option<PathBuf> {
    check_name(name).ok()?;
    let folded = fold(name);
    (folded != "." && folded != "..").then(|| data_dir.join(FOLDER).join(folded))
}

/// Disables `name`; false if it was already disabled.
pub fn disable(data_dir: &Path, name: &str) -> io::Result<bool> {
    let path = flag(data_dir, name).ok_or_else(|| io::Error::other(format!("bad name {name:?}")))?;
    {
        use crate::sys::private::Mode;
        fs::DirBuilder::new().recursive(true).mode(0o700).create(data_dir.join(FOLDER))?;
    }
    match fs::OpenOptions::new().write(true).create_new(true).open(&path) {
        Ok(file) => file.sync_all().map(|()| true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

/// Enables `name` again; false if it was not disabled.
pub fn enable(data_dir: &Path, name: &str) -> io::Result<bool> {
    let path = flag(data_dir, name).ok_or_else(|| io::Error::other(format!("bad name {name:?}")))?;
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// True if `name` is disabled.
pub fn is_disabled(data_dir: &Path, name: &str) -> bool {
    flag(data_dir, name).is_some_and(|path| path.exists())
}

/// Every disabled name, folded (an empty set if there is no folder).
pub fn all(data_dir: &Path) -> BTreeSet<String> {
    let Ok(entries) = fs::read_dir(data_dir.join(FOLDER)) else { return BTreeSet::new() };
    entries
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| check_name(name).is_ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disable_and_enable_are_files_that_ignore_case() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!is_disabled(dir.path(), "Ana"));
        assert!(disable(dir.path(), "Ana").unwrap());
        assert!(!disable(dir.path(), "ana").unwrap(), "already");
        assert!(is_disabled(dir.path(), "ANA"));
        assert_eq!(all(dir.path()), BTreeSet::from(["ana".to_string()]));
        assert!(enable(dir.path(), "aNa").unwrap());
        assert!(!enable(dir.path(), "ana").unwrap());
        assert!(!is_disabled(dir.path(), "ana"));
    }

    #[test]
    fn no_name_reaches_another_path() {
        let dir = tempfile::tempdir().unwrap();
        for bad in ["..", ".", "../x", "a/b", ""] {
            assert!(disable(dir.path(), bad).is_err(), "{bad}");
            assert!(!is_disabled(dir.path(), bad));
        }
    }
}
