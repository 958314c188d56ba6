//! Invite codes (`wachat users invite`, protocol 1.2 `REDEEM`): how a
//! teacher lets the class in and keeps strangers out
//! (`serve --registration invite`), without restarting the server.
//!
//! What a code allows is decided here, once ([`judge`]): an unknown code,
//! one used already and one past its expiry let nobody in, in that
//! order. Where codes are kept is the storage's (`store::door`): a file each in
//! a single server's data directory ([`files`]), a row each in a
//! cluster's database (`cluster::door`), so that a code printed for a
//! class lets a student in through whichever node the student reaches.
//!
//! Either way a code is taken in one step (a rename; a row locked in a
//! transaction), so it is used once even if two students type it at the
//! same moment, and the taking is durable before the account is created:
//! after a crash, a code that made an account is never valid again (one
//! that did not may be lost; the teacher prints another). A registration
//! that fails after (a taken name) gives the code back (`door::Claim`).
//! No cache: a code printed a second ago works at once.
//!
//! The code is checked (`A-Z a-z 0-9 _ -`, as a message id) before it
//! names a file or a row, so no request can reach another path.

use crate::protocol::Ko;

/// Characters of a code: 15 of `codes::ALPHABET` (no look-alikes, which
/// a student copying from paper would mistype), about 74 bits.
pub const CODE_LEN: usize = 15;

/// Why a code does not let anyone in.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// No such code (mistyped, or never made here).
    Unknown,
    /// Used once already.
    Used,
    /// Past its expiry (Unix milliseconds).
    Expired(u64),
    /// The codes cannot be read now (a disk failed, the database does
    /// not answer): the `KO` to tell, the cause already logged.
    Failed(Ko),
}

/// A code as its storage keeps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Kept {
    /// Valid until (Unix milliseconds).
    pub expires_ms: u64,
    /// Taken by a registration already.
    pub used: bool,
}

/// The rule, for every storage: whether the code kept as `kept` (`None`:
/// no such code) lets one account in at `now_ms`.
pub fn judge(kept: Option<Kept>, now_ms: u64) -> Result<(), Refused> {
    match kept {
        None => Err(Refused::Unknown),
        Some(Kept { used: true, .. }) => Err(Refused::Used),
        Some(Kept { expires_ms, .. }) if expires_ms <= now_ms => Err(Refused::Expired(expires_ms)),
        Some(_) => Ok(()),
    }
}

/// A single server's codes: a file each, `invites/<code>` in the data
/// directory, holding its expiry (Unix milliseconds). One file per code,
/// because two processes share them while the server runs: `wachat users
/// invite` creates files (never touching an existing one), and the server
/// takes a code by renaming its file to `<code>.used`, which is atomic.
pub mod files {
    use std::fs;
    use std::io::Write;
    use std::path::{Path, PathBuf};

    use super::{Kept, Refused, judge};
    use crate::protocol::{Code, Ko};

    /// The folder of the codes, in the data directory.
    const FOLDER: &str = "invites";

    /// The file of an unused `code`, and of a used one.
    fn paths(data_dir: &Path, code: &str) -> (PathBuf, PathBuf) {
        let dir = data_dir.join(FOLDER);
        (dir.join(code), dir.join(format!("{code}.used")))
    }

    /// How `code` is kept, read from whichever of its two files there is.
    fn kept(data_dir: &Path, code: &str) -> std::io::Result<Option<Kept>> {
        let (unused, used) = paths(data_dir, code);
        for (path, used) in [(unused, false), (used, true)] {
            match fs::read_to_string(path) {
                // Unreadable: expired.
                Ok(text) => return Ok(Some(Kept { expires_ms: text.trim().parse().unwrap_or(0), used })),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }

    /// `KO:INTERNAL`, the cause logged with the folder's path.
    fn io(data_dir: &Path, e: std::io::Error) -> Ko {
        log::warn!("invites: {}: {e}", data_dir.join(FOLDER).display());
        Ko::new(Code::Internal, "the invite codes cannot be read now; try again later")
    }

    pub fn keep(data_dir: &Path, codes: &[String], expires_ms: u64) -> Result<(), Ko> {
        let dir = data_dir.join(FOLDER);
        let write = || -> std::io::Result<()> {
            use crate::sys::private::Mode;
            fs::DirBuilder::new().recursive(true).mode(0o700).create(&dir)?; // private, as the rest
            for code in codes {
                // A code already there (1 in 2^74) fails, never overwritten.
                let mut file = private_new_file(&dir.join(code))?;
                writeln!(file, "{expires_ms}")?;
                file.sync_all()?;
            }
            sync_dir(&dir)
        };
        write().map_err(|e| io(data_dir, e))
    }

    pub fn take(data_dir: &Path, code: &str, now_ms: u64) -> Result<(), Refused> {
        judge(kept(data_dir, code).map_err(|e| Refused::Failed(io(data_dir, e)))?, now_ms)?;
        let (unused, used) = paths(data_dir, code);
        match fs::rename(&unused, &used) {
            Ok(()) => {}
            // Another registration renamed it first.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Refused::Used),
            Err(e) => return Err(Refused::Failed(io(data_dir, e))),
        }
        if let Err(e) = sync_dir(&data_dir.join(FOLDER)) {
            give_back(data_dir, code);
            return Err(Refused::Failed(io(data_dir, e)));
        }
        Ok(())
    }

    /// Every code of the folder with how it is kept, by expiry then code.
    /// A file whose name is not a code (an editor's leftover) is passed over.
    pub fn list(data_dir: &Path) -> Result<Vec<(String, Kept)>, Ko> {
        let entries = match fs::read_dir(data_dir.join(FOLDER)) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(data_dir, e)),
        };
        let mut all = Vec::new();
        for entry in entries {
            let name = entry.map_err(|e| io(data_dir, e))?.file_name().to_string_lossy().into_owned();
            let code = name.strip_suffix(".used").unwrap_or(&name);
            if crate::protocol::names::check_id(code).is_err() {
                continue;
            }
            // Taken or revoked meanwhile: as it is now, if it still is.
            if let Some(kept) = kept(data_dir, code).map_err(|e| io(data_dir, e))? {
                all.push((code.to_string(), kept));
            }
        }
        all.sort_by(|a, b| (a.1.expires_ms, &a.0).cmp(&(b.1.expires_ms, &b.0)));
        all.dedup_by(|a, b| a.0 == b.0);
        Ok(all)
    }

    /// Removes `code`'s file if it is unused; returns how it was kept.
    /// A registration that takes it meanwhile (the rename) wins: then it
    /// was used, and stays so.
    pub fn revoke(data_dir: &Path, code: &str) -> Result<Option<Kept>, Ko> {
        if crate::protocol::names::check_id(code).is_err() {
            return Ok(None);
        }
        let Some(was) = kept(data_dir, code).map_err(|e| io(data_dir, e))? else { return Ok(None) };
        if was.used {
            return Ok(Some(was));
        }
        let (unused, _) = paths(data_dir, code);
        match fs::remove_file(&unused) {
            Ok(()) => sync_dir(&data_dir.join(FOLDER)).map_err(|e| io(data_dir, e))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Some(Kept { used: true, ..was }));
            }
            Err(e) => return Err(io(data_dir, e)),
        }
        Ok(Some(was))
    }

    pub fn give_back(data_dir: &Path, code: &str) {
        let (unused, used) = paths(data_dir, code);
        if let Err(e) = fs::rename(&used, &unused) {
            log::warn!("invites: giving back {}: {e}", unused.display());
        }
    }

    /// Creates a file only its owner may read, failing if it exists.
    fn private_new_file(path: &Path) -> std::io::Result<fs::File> {
        use crate::sys::private::Mode;
        fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)
    }

    fn sync_dir(dir: &Path) -> std::io::Result<()> {
        crate::sys::disk::sync_dir(dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_listed_and_an_unused_one_revoked_for_good() {
        let dir = tempfile::tempdir().unwrap();
        let codes: Vec<String> = ["bbbb", "aaaa", "cccc"].map(String::from).to_vec();
        files::keep(dir.path(), &codes[..2], 100).unwrap();
        files::keep(dir.path(), &codes[2..], 50).unwrap();
        files::take(dir.path(), "aaaa", 10).unwrap();
        std::fs::write(dir.path().join("invites/.aaaa.swp"), "x").unwrap();
        let listed: Vec<(String, bool)> =
            files::list(dir.path()).unwrap().into_iter().map(|(c, k)| (c, k.used)).collect();
        let want = [("cccc", false), ("aaaa", true), ("bbbb", false)].map(|(c, used)| (c.to_string(), used));
        assert_eq!(listed, want);
        // Revoked: gone, and a registration with it is told it is unknown.
        assert_eq!(files::revoke(dir.path(), "bbbb").unwrap(), Some(Kept { expires_ms: 100, used: false }));
        assert_eq!(files::take(dir.path(), "bbbb", 10), Err(Refused::Unknown));
        // A used code stays as it was; an unknown one is none.
        assert_eq!(files::revoke(dir.path(), "aaaa").unwrap(), Some(Kept { expires_ms: 100, used: true }));
        assert_eq!(files::revoke(dir.path(), "zzzz").unwrap(), None);
        assert_eq!(files::revoke(dir.path(), "../users.csv").unwrap(), None);
        assert_eq!(files::list(dir.path()).unwrap().len(), 2);
    }

    #[test]
    fn a_used_code_says_used_even_once_expired() {
        let used = Some(Kept { expires_ms: 10, used: true });
        assert_eq!(judge(used, 5), Err(Refused::Used));
        assert_eq!(judge(used, 50), Err(Refused::Used));
        assert_eq!(judge(Some(Kept { expires_ms: 10, used: false }), 10), Err(Refused::Expired(10)));
        assert_eq!(judge(Some(Kept { expires_ms: 10, used: false }), 9), Ok(()));
        assert_eq!(judge(None, 0), Err(Refused::Unknown));
    }
}
