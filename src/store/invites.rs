//! Invite codes (`wachat users invite`, protocol 1.2 `REDEEM`): how a
//! teacher lets the class in and keeps strangers out
//! (`serve --registration invite`), without restarting the server.
//!
//! What a code allows is decided here, once ([`judge`]): an unknown code,
//! one used already and one past its expiry let nobody in, in that
//! order. Where codes are kept is the storage's ([`Invites`]), as the
//! files of chats are (`store::files::FileStore`):
//!
//! - a single server keeps them in its data directory ([`Folder`]);
//! - a cluster keeps them in its database (`cluster::invites`), so that a
//!   code printed for a class lets a student in through whichever node
//!   the student reaches, once.
//!
//! Either way a code is taken in one step (a rename; a row locked in a
//! transaction), so it is used once even if two students type it at the
//! same moment, and the taking is durable before the account is created:
//! after a crash, a code that made an account is never valid again (one
//! that did not may be lost; the teacher prints another). A registration
//! that fails after (a taken name) gives the code back ([`Claim::release`]).
//! No cache: a code printed a second ago works at once.
//!
//! The code is checked (`A-Z a-z 0-9 _ -`, as a message id) before it
//! names a file or a row, so no request can reach another path.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::protocol::codes;
use crate::protocol::names::check_id;
use crate::protocol::{Code, Ko};

/// The folder of the codes, in the data directory.
const FOLDER: &str = "invites";

/// Characters of a code: 15 of `codes::ALPHABET` (no look-alikes, which
/// a student copying from paper would mistype), about 74 bits.
const CODE_LEN: usize = 15;

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

/// Where invite codes are kept. Each call is one change, durable when it
/// returns `Ok`; what a code allows is [`judge`]'s.
pub trait Invites: Send + Sync {
    /// Keeps `codes`, new and unused, valid until `expires_ms`.
    fn keep(&self, codes: &[String], expires_ms: u64) -> Result<(), Ko>;
    /// Takes `code` (checked) for one registration at `now_ms` if
    /// [`judge`] lets it: the judging and the taking in one step.
    fn take(&self, code: &str, now_ms: u64) -> Result<(), Refused>;
    /// Gives `code` back: the registration it was taken for failed.
    fn give_back(&self, code: &str);
}

/// Makes `count` new codes valid until `expires_ms`, keeps them in
/// `invites`, and returns them.
pub fn create(invites: &dyn Invites, count: usize, expires_ms: u64) -> Result<Vec<String>, Ko> {
    let codes = (0..count)
        .map(|_| codes::random(CODE_LEN))
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(|e| Ko::new(Code::Internal, format!("no random numbers for the codes: {e}")))?;
    invites.keep(&codes, expires_ms)?;
    Ok(codes)
}

/// A code taken for one registration: [`Claim::release`] it if the
/// account was not created, so that the student can try again.
pub struct Claim<'a> {
    invites: &'a dyn Invites,
    code: String,
}

impl Claim<'_> {
    /// The registration failed (a taken name, a full disk): the code is
    /// valid again.
    pub fn release(self) {
        self.invites.give_back(&self.code);
    }
}

/// Takes `code`, as typed, for a registration at `now_ms`, if it is valid.
pub fn claim<'a>(invites: &'a dyn Invites, code: &str, now_ms: u64) -> Result<Claim<'a>, Refused> {
    let code = codes::normalize(code); // as printed, whatever the keyboard did
    if check_id(&code).is_err() {
        return Err(Refused::Unknown);
    }
    invites.take(&code, now_ms)?;
    Ok(Claim { invites, code })
}

/// A single server's codes: a file each, `invites/<code>` in the data
/// directory, holding its expiry (Unix milliseconds). One file per code,
/// because two processes share them while the server runs: `wachat users
/// invite` creates files (never touching an existing one), and the server
/// takes a code by renaming its file to `<code>.used`, which is atomic.
pub struct Folder {
    dir: PathBuf,
}

impl Folder {
    /// The codes of the data directory `data_dir`.
    pub fn new(data_dir: &Path) -> Folder {
        Folder { dir: data_dir.join(FOLDER) }
    }

    /// The file of an unused `code`, and of a used one.
    fn files(&self, code: &str) -> (PathBuf, PathBuf) {
        (self.dir.join(code), self.dir.join(format!("{code}.used")))
    }

    /// How `code` is kept, read from whichever of its two files there is.
    fn kept(&self, code: &str) -> std::io::Result<Option<Kept>> {
        let (unused, used) = self.files(code);
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

    /// `KO:INTERNAL` for a failed file operation, logged with its path.
    fn failed(&self, e: std::io::Error) -> Ko {
        log::warn!("invites: {}: {e}", self.dir.display());
        Ko::new(Code::Internal, "the invite codes cannot be read now; try again later")
    }
}

impl Invites for Folder {
    fn keep(&self, codes: &[String], expires_ms: u64) -> Result<(), Ko> {
        let write = || -> std::io::Result<()> {
            use std::os::unix::fs::DirBuilderExt;
            fs::DirBuilder::new().recursive(true).mode(0o700).create(&self.dir)?; // private, as the rest
            for code in codes {
                // A code already there (1 in 2^74) fails, never overwritten.
                let mut file = private_new_file(&self.dir.join(code))?;
                writeln!(file, "{expires_ms}")?;
                file.sync_all()?;
            }
            sync_dir(&self.dir)
        };
        write().map_err(|e| self.failed(e))
    }

    fn take(&self, code: &str, now_ms: u64) -> Result<(), Refused> {
        judge(self.kept(code).map_err(|e| Refused::Failed(self.failed(e)))?, now_ms)?;
        let (unused, used) = self.files(code);
        match fs::rename(&unused, &used) {
            Ok(()) => {}
            // Another registration renamed it first.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Refused::Used),
            Err(e) => return Err(Refused::Failed(self.failed(e))),
        }
        if let Err(e) = sync_dir(&self.dir) {
            self.give_back(code);
            return Err(Refused::Failed(self.failed(e)));
        }
        Ok(())
    }

    fn give_back(&self, code: &str) {
        let (unused, used) = self.files(code);
        if let Err(e) = fs::rename(&used, &unused) {
            log::warn!("invites: giving back {}: {e}", unused.display());
        }
    }
}

/// Creates a file only its owner may read, failing if it exists.
fn private_new_file(path: &Path) -> std::io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_lets_in_once_until_it_expires() {
        let dir = tempfile::tempdir().unwrap();
        let folder = Folder::new(dir.path());
        let codes = create(&folder, 3, 1_000).unwrap();
        assert_eq!(codes.len(), 3);
        assert!(codes.iter().all(|c| c.len() == CODE_LEN && c.bytes().all(|b| codes::ALPHABET.contains(&b))));
        assert_ne!(codes[0], codes[1]);
        // Used once; typed in capitals, with a space, it is the same code.
        let typed = format!("{} {}", codes[0][..5].to_uppercase(), &codes[0][5..]);
        let claim = claim(&folder, &typed, 999).unwrap();
        assert_eq!(super::claim(&folder, &codes[0], 999).err(), Some(Refused::Used));
        // Given back (the name was taken): valid again.
        claim.release();
        assert!(super::claim(&folder, &codes[0], 999).is_ok());
        assert_eq!(super::claim(&folder, &codes[1], 1_000).err(), Some(Refused::Expired(1_000)));
        assert_eq!(super::claim(&folder, "nosuchcode", 0).err(), Some(Refused::Unknown));
        assert_eq!(super::claim(&folder, "../users.csv", 0).err(), Some(Refused::Unknown));
        assert_eq!(super::claim(&folder, "", 0).err(), Some(Refused::Unknown));
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
