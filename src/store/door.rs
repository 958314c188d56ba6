//! The door: what an administrator decides about who may come in while
//! the server runs — invite codes (`wachat users invite`, `REDEEM`,
//! `store::invites`) and disabled accounts (`wachat users disable`,
//! `store::disabled`) — and where it is kept.
//!
//! What each means is decided once, in its own module (a code is judged
//! by [`invites::judge`](super::invites::judge); a disabled account is
//! refused at every login and its sessions closed, `server::operator`).
//! Where it is kept is the storage's, as the files of chats are
//! (`store::files::FileStore`):
//!
//! - a single server keeps it in its data directory ([`Folder`]): a file
//!   a code, a file a disabled name, which `wachat users` writes beside
//!   the running server;
//! - a cluster keeps it in its database (`cluster::door`), so that a code
//!   printed for a class lets a student in through any node, once, and a
//!   disabled student is refused by every node.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::invites::{self, CODE_LEN, Refused};
use crate::protocol::codes;
use crate::protocol::names::check_id;
use crate::protocol::{Code, Ko};

/// Where the door's decisions are kept. Each change is durable when it
/// returns `Ok`.
pub trait Door: Send + Sync {
    /// Keeps invite `codes`, new and unused, valid until `expires_ms`.
    fn keep(&self, codes: &[String], expires_ms: u64) -> Result<(), Ko>;
    /// Takes invite `code` (checked) for one registration at `now_ms` if
    /// [`invites::judge`] lets it: the judging and the taking in one step,
    /// so that two students typing one code are let in once.
    fn take(&self, code: &str, now_ms: u64) -> Result<(), Refused>;
    /// Gives invite `code` back: the registration it was taken for failed.
    fn give_back(&self, code: &str);
    /// Disables the account `name` (`on`) or enables it again; false if
    /// it already was so. (Whether the account exists is the caller's.)
    fn set_disabled(&self, name: &str, on: bool) -> Result<bool, Ko>;
    /// Whether `name` is disabled, asked at every login.
    fn is_disabled(&self, name: &str) -> bool;
    /// Every disabled name, folded: the operator thread's look, twice a
    /// second, closes the sessions of those newly disabled.
    fn disabled(&self) -> BTreeSet<String>;
}

/// Makes `count` new codes valid until `expires_ms`, keeps them in
/// `door`, and returns them.
pub fn create(door: &dyn Door, count: usize, expires_ms: u64) -> Result<Vec<String>, Ko> {
    let codes = (0..count)
        .map(|_| codes::random(CODE_LEN))
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(|e| Ko::new(Code::Internal, format!("no random numbers for the codes: {e}")))?;
    door.keep(&codes, expires_ms)?;
    Ok(codes)
}

/// A code taken for one registration: [`Claim::release`] it if the
/// account was not created, so that the student can try again.
pub struct Claim<'a> {
    door: &'a dyn Door,
    code: String,
}

impl Claim<'_> {
    /// The registration failed (a taken name, a full disk): the code is
    /// valid again.
    pub fn release(self) {
        self.door.give_back(&self.code);
    }
}

/// Takes `code`, as typed, for a registration at `now_ms`, if it is valid.
pub fn claim<'a>(door: &'a dyn Door, code: &str, now_ms: u64) -> Result<Claim<'a>, Refused> {
    let code = codes::normalize(code); // as printed, whatever the keyboard did
    if check_id(&code).is_err() {
        return Err(Refused::Unknown);
    }
    door.take(&code, now_ms)?;
    Ok(Claim { door, code })
}

/// A single server's door: files in its data directory.
pub struct Folder {
    data_dir: PathBuf,
}

impl Folder {
    pub fn new(data_dir: &Path) -> Folder {
        Folder { data_dir: data_dir.to_path_buf() }
    }
}

impl Door for Folder {
    fn keep(&self, codes: &[String], expires_ms: u64) -> Result<(), Ko> {
        invites::files::keep(&self.data_dir, codes, expires_ms)
    }

    fn take(&self, code: &str, now_ms: u64) -> Result<(), Refused> {
        invites::files::take(&self.data_dir, code, now_ms)
    }

    fn give_back(&self, code: &str) {
        invites::files::give_back(&self.data_dir, code)
    }

    fn set_disabled(&self, name: &str, on: bool) -> Result<bool, Ko> {
        let changed = if on {
            super::disabled::disable(&self.data_dir, name)
        } else {
            super::disabled::enable(&self.data_dir, name)
        };
        changed.map_err(|e| {
            log::warn!("{}: {e}", self.data_dir.join(super::disabled::FOLDER).display());
            Ko::new(Code::Internal, "the disabled accounts cannot be written now; try again later")
        })
    }

    fn is_disabled(&self, name: &str) -> bool {
        super::disabled::is_disabled(&self.data_dir, name)
    }

    fn disabled(&self) -> BTreeSet<String> {
        super::disabled::all(&self.data_dir)
    }
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
}
