//! Invite codes (`wachat users invite`, protocol 1.2 `REDEEM`): how a
//! teacher lets the class in and keeps strangers out
//! (`serve --registration invite`), without restarting the server.
//!
//! A code is a file, `invites/<code>`, holding its expiry (Unix
//! milliseconds). One file per code, because two processes share them
//! while the server runs: `wachat users invite` creates files (never
//! touching an existing one), and the server claims a code by renaming
//! its file to `<code>.used`. A rename is atomic, so a code is used once
//! even if two students type it at the same moment, and the claim is
//! synced before the account is created: after a crash, a code that made
//! an account is never valid again (one that did not may be lost; the
//! teacher prints another). No lock, no cache: a code printed a second
//! ago works at once.
//!
//! The code is checked (`A-Z a-z 0-9 _ -`, as a message id) before it
//! names a file, so no request can reach another path.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::protocol::codes;
use crate::protocol::names::check_id;

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
    /// The disk failed; the message says where.
    Io(String),
}

/// A code taken for one registration: [`Claim::release`] it if the
/// account was not created, so that the student can try again.
pub struct Claim {
    code: PathBuf,
    used: PathBuf,
}

impl Claim {
    /// The registration failed (a taken name, a full disk): the code is
    /// valid again.
    pub fn release(self) {
        if let Err(e) = fs::rename(&self.used, &self.code) {
            log::warn!("invites: giving back {}: {e}", self.code.display());
        }
    }
}

fn folder(data_dir: &Path) -> PathBuf {
    data_dir.join(FOLDER)
}

/// Makes `count` new codes valid until `expires_ms`, and returns them.
pub fn create(data_dir: &Path, count: usize, expires_ms: u64) -> std::io::Result<Vec<String>> {
    let dir = folder(data_dir);
    {
        use std::os::unix::fs::DirBuilderExt;
        fs::DirBuilder::new().recursive(true).mode(0o700).create(&dir)?; // private, as the rest
    }
    let mut codes = Vec::with_capacity(count);
    while codes.len() < count {
        let code = new_code()?;
        let mut file = match private_new_file(&dir.join(&code)) {
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue, // 1 in 2^75
            other => other?,
        };
        writeln!(file, "{expires_ms}")?;
        file.sync_all()?;
        codes.push(code);
    }
    sync_dir(&dir)?;
    Ok(codes)
}

/// Takes `code` for a registration at `now_ms`, if it is valid.
pub fn claim(data_dir: &Path, code: &str, now_ms: u64) -> Result<Claim, Refused> {
    let code = codes::normalize(code); // as printed, whatever the keyboard did
    if check_id(&code).is_err() {
        return Err(Refused::Unknown);
    }
    let dir = folder(data_dir);
    let claim = Claim { code: dir.join(&code), used: dir.join(format!("{code}.used")) };
    let shown = claim.code.display().to_string();
    let io = |e: std::io::Error| Refused::Io(format!("invites: {shown}: {e}"));
    let expires = match fs::read_to_string(&claim.code) {
        Ok(text) => text.trim().parse::<u64>().unwrap_or(0), // unreadable: expired
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(if claim.used.exists() { Refused::Used } else { Refused::Unknown });
        }
        Err(e) => return Err(io(e)),
    };
    if expires <= now_ms {
        return Err(Refused::Expired(expires));
    }
    match fs::rename(&claim.code, &claim.used) {
        Ok(()) => {}
        // Another registration renamed it first.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Refused::Used),
        Err(e) => return Err(io(e)),
    }
    if let Err(e) = sync_dir(&dir) {
        claim.release();
        return Err(io(e));
    }
    Ok(claim)
}

/// A random code from the operating system's generator, every character
/// equally likely.
fn new_code() -> std::io::Result<String> {
    codes::random(CODE_LEN)
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
        let codes = create(dir.path(), 3, 1_000).unwrap();
        assert_eq!(codes.len(), 3);
        assert!(codes.iter().all(|c| c.len() == CODE_LEN && c.bytes().all(|b| codes::ALPHABET.contains(&b))));
        assert_ne!(codes[0], codes[1]);
        // Used once; typed in capitals, with a space, it is the same code.
        let typed = format!("{} {}", codes[0][..5].to_uppercase(), &codes[0][5..]);
        let claim = claim(dir.path(), &typed, 999).unwrap();
        assert_eq!(super::claim(dir.path(), &codes[0], 999).err(), Some(Refused::Used));
        // Given back (the name was taken): valid again.
        claim.release();
        assert!(super::claim(dir.path(), &codes[0], 999).is_ok());
        assert_eq!(super::claim(dir.path(), &codes[1], 1_000).err(), Some(Refused::Expired(1_000)));
        assert_eq!(super::claim(dir.path(), "nosuchcode", 0).err(), Some(Refused::Unknown));
        assert_eq!(super::claim(dir.path(), "../users.csv", 0).err(), Some(Refused::Unknown));
        assert_eq!(super::claim(dir.path(), "", 0).err(), Some(Refused::Unknown));
    }
}
