//! Invite codes (`wachat users invite`, protocol 1.2 `REDEEM`): how a
//! teacher lets the class in and keeps strangers out
//! (`serve --registration invite`), without restarting the server.
//!
//! What a code allows is decided here, once ([`judge`]): an unknown code,
//! one used already and one past its expiry let nobody in, in that
//! order. A code is kept as records of the log (`INVITE`,
//! `store::record::invites`): made (with its expiry), used, revoked,
//! each applied to the one `State` ([`Invites`]) as every other record
//! is, so a single server and every node of a cluster know the codes
//! the same way, and its checkpoints keep them as they keep the rest.
//!
//! `REDEEM` judges the code and creates the account in one write of the
//! store (`LocalStore::create_account`'s `invite`): the `INVITE` record that
//! uses the code and the account's records are one group commit, so two
//! students typing one code at once make one account (the second write
//! finds the code used), and a registration refused (a taken name)
//! leaves the code as it was. The server writes the records that make
//! and revoke codes when `wachat users invite|revoke` asks it at its
//! door (`server::operator::changes`); with no server running on a data
//! directory, the command writes them itself (`store::accounts`).
//!
//! The code is checked (`A-Z a-z 0-9 _ -`, as a message id) before it is
//! looked up, so no request names anything but a code.

use std::collections::BTreeMap;
use std::path::Path;

use crate::protocol::names::check_id;
use crate::protocol::{Code, Ko, codes};

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
}

impl Refused {
    /// The `KO` a `REDEEM` with such a code is answered.
    pub fn ko(&self) -> Ko {
        let reason = match self {
            Refused::Unknown => "no such invite code: check how you typed it",
            Refused::Used => "this invite code was used already: ask for another",
            Refused::Expired(_) => "this invite code has expired: ask for another",
        };
        Ko::new(Code::AuthFailed, reason)
    }
}

/// A code as the state keeps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Kept {
    /// Valid until (Unix milliseconds).
    pub expires_ms: u64,
    /// Taken by a registration already.
    pub used: bool,
}

/// The rule: whether the code kept as `kept` (`None`: no such code) lets
/// one account in at `now_ms`.
pub fn judge(kept: Option<Kept>, now_ms: u64) -> Result<(), Refused> {
    match kept {
        None => Err(Refused::Unknown),
        Some(Kept { used: true, .. }) => Err(Refused::Used),
        Some(Kept { expires_ms, .. }) if expires_ms <= now_ms => Err(Refused::Expired(expires_ms)),
        Some(_) => Ok(()),
    }
}

/// A code as typed, as it was printed (whatever the keyboard did to it),
/// if it can be a code at all.
pub fn normalize(typed: &str) -> Option<String> {
    let code = codes::normalize(typed);
    check_id(&code).is_ok().then_some(code)
}

/// `wachat users invite`: `count` new random codes.
pub fn make(count: usize) -> Result<Vec<String>, Ko> {
    (0..count)
        .map(|_| codes::random(CODE_LEN))
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(|e| Ko::new(Code::Internal, format!("no random numbers for the codes: {e}")))
}

/// What becomes of a code: the `INVITE` record's word for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    /// Made, unused, valid until its expiry.
    Kept,
    /// Taken by a registration.
    Used,
    /// Revoked while unused: gone.
    Revoked,
}

impl Mark {
    pub fn word(self) -> &'static str {
        match self {
            Mark::Kept => "KEPT",
            Mark::Used => "USED",
            Mark::Revoked => "REVOKED",
        }
    }

    pub fn from_word(word: &str) -> Option<Mark> {
        [Mark::Kept, Mark::Used, Mark::Revoked].into_iter().find(|m| m.word() == word)
    }
}

/// Every code the state keeps, used or not (a revoked one is gone).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Invites(BTreeMap<String, Kept>);

impl Invites {
    /// How `code` is kept, if it is.
    pub fn get(&self, code: &str) -> Option<Kept> {
        self.0.get(code).copied()
    }

    /// What an `INVITE` record does: `code`, valid until `expires_ms`,
    /// is kept, used or gone.
    pub fn mark(&mut self, code: &str, expires_ms: u64, mark: Mark) {
        match mark {
            Mark::Kept => {
                self.0.insert(code.to_string(), Kept { expires_ms, used: false });
            }
            Mark::Used => {
                self.0.insert(code.to_string(), Kept { expires_ms, used: true });
            }
            Mark::Revoked => {
                self.0.remove(code);
            }
        }
    }

    /// Every code with how it is kept, by code.
    pub fn all(&self) -> impl Iterator<Item = (&str, Kept)> {
        self.0.iter().map(|(code, kept)| (code.as_str(), *kept))
    }

    /// Every code, by expiry then code (`wachat users invites`).
    pub fn listing(&self) -> Vec<(String, Kept)> {
        let mut all: Vec<(String, Kept)> = self.all().map(|(c, k)| (c.to_string(), k)).collect();
        all.sort_by(|a, b| (a.1.expires_ms, &a.0).cmp(&(b.1.expires_ms, &b.0)));
        all
    }
}

/// The folder a data directory kept its codes in, a file each
/// (`<code>`, or `<code>.used` once taken, holding its expiry): the
/// store's start converts them into records once (`LocalStore::open`).
pub const FOLDER: &str = "invites";

/// The codes a data directory's [`FOLDER`] holds (none if there is none),
/// each a valid code, by code. A file whose name is not a code (an
/// editor's leftover) is passed over; an unreadable expiry is an expired
/// code.
pub fn in_folder(data_dir: &Path) -> Vec<(String, Kept)> {
    let Ok(entries) = std::fs::read_dir(data_dir.join(FOLDER)) else { return Vec::new() };
    let mut all = BTreeMap::new();
    for entry in entries.flatten() {
        let Ok(name) = entry.file_name().into_string() else { continue };
        let (code, used) = match name.strip_suffix(".used") {
            Some(code) => (code.to_string(), true),
            None => (name, false),
        };
        if check_id(&code).is_err() {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        let expires_ms = text.trim().parse().unwrap_or(0);
        let kept = all.entry(code).or_insert(Kept { expires_ms, used });
        kept.used |= used;
    }
    all.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_used_code_says_used_even_once_expired() {
        let used = Some(Kept { expires_ms: 10, used: true });
        assert_eq!(judge(used, 5), Err(Refused::Used));
        assert_eq!(judge(used, 50), Err(Refused::Used));
        assert_eq!(judge(Some(Kept { expires_ms: 10, used: false }), 10), Err(Refused::Expired(10)));
        assert_eq!(judge(Some(Kept { expires_ms: 10, used: false }), 9), Ok(()));
        assert_eq!(judge(None, 0), Err(Refused::Unknown));
    }

    #[test]
    fn codes_are_kept_used_and_revoked_for_good() {
        let mut invites = Invites::default();
        invites.mark("bbbb", 100, Mark::Kept);
        invites.mark("aaaa", 100, Mark::Kept);
        invites.mark("cccc", 50, Mark::Kept);
        invites.mark("aaaa", 100, Mark::Used);
        invites.mark("bbbb", 100, Mark::Revoked);
        let listed: Vec<(String, bool)> = invites.listing().into_iter().map(|(c, k)| (c, k.used)).collect();
        assert_eq!(listed, [("cccc".to_string(), false), ("aaaa".to_string(), true)]);
        assert_eq!(judge(invites.get("bbbb"), 10), Err(Refused::Unknown));
        let typed = normalize(" CCcc ").unwrap();
        assert_eq!(judge(invites.get(&typed), 10), Ok(()));
        assert_eq!(normalize("../users.csv"), None);
        assert_eq!(normalize(""), None);
    }

    #[test]
    fn a_folder_of_codes_reads_as_it_was_kept() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join(FOLDER);
        std::fs::create_dir(&folder).unwrap();
        std::fs::write(folder.join("aaaa"), "100\n").unwrap();
        std::fs::write(folder.join("bbbb.used"), "200\n").unwrap();
        std::fs::write(folder.join(".aaaa.swp"), "x").unwrap();
        let want = vec![
            ("aaaa".to_string(), Kept { expires_ms: 100, used: false }),
            ("bbbb".to_string(), Kept { expires_ms: 200, used: true }),
        ];
        assert_eq!(in_folder(dir.path()), want);
        assert!(in_folder(&dir.path().join("none")).is_empty());
    }
}
