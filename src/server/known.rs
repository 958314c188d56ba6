//! Known (account, address) pairs: where each account has logged in
//! before, and with which password, so that a neighbour's failures cannot
//! lock a user out by failing its logins on purpose (see `auth/mod.rs`).
//!
//! A lab shares one address (a NAT). A stranger there who guesses bob's
//! password empties the bucket of the pair (bob, lab address), the very
//! bucket bob's own logins take from: with the buckets alone, 14 of bob's
//! 15 correct logins would be refused. Nothing on a password login tells
//! bob from the stranger (a linked device's token does, see `auth/mod.rs`)
//! except the password. So a
//! known pair remembers a keyed BLAKE2b MAC of the password that last
//! logged in from there, and a login refused by the buckets may still be
//! compared with it: a cheap check (a microsecond, no argon2), within a
//! grace bucket of its own (`auth::GRACE_*`), so that the stranger's extra
//! guesses stay few and counted.
//!
//! Like `store::password::LoginCache`, the key is random per process and
//! never stored: the MACs are useless outside this process's memory, and a
//! restart forgets them.
//!
//! **Which pairs are known survives a restart**: were they forgotten, a NAT
//! neighbour spraying names right after one would lock classmates out,
//! their pairs unknown again. So each pair is also written to `known.csv`
//! in the data directory (`name,address,ms`: the folded name, the address
//! key and when it last logged in, no password or MAC of one): a line when
//! a pair becomes known or was last written more than [`REWRITE_AFTER`]
//! ago, the file rewritten whole (aside, synced, renamed) at start and
//! whenever it holds twice the pairs it should, so it stays bounded by
//! [`KNOWN_MAX`] pairs. A pair loaded from it is known but has no MAC yet:
//! its grace checks the stored hash instead, within a smaller bucket
//! (`auth::RELEARN_*`), until its next login learns the MAC again.
//!
//! Why not write the MACs too: with the key beside them on disk, they
//! would be a fast (BLAKE2) hash of each password, which whoever reads the
//! data directory could try a dictionary against far faster than the
//! argon2 of `users.csv`.
//!
//! A cluster node keeps its own file, in its own `--data-dir`. The leader
//! serves every login (a follower passes its clients on), so a pair is
//! known on the nodes that led when it logged in; each node's file is its
//! own, as its buckets are.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use blake2::Blake2bMac512;
use blake2::digest::{KeyInit, Mac};
use parking_lot::Mutex;

use crate::store::now_ms;
use crate::sys::private::Mode;

/// An account (its name folded) at an address (its `address_key`).
pub type Pair = (String, IpAddr);

/// How long a successful login makes its pair known, and how many pairs
/// are remembered (about 200 bytes each: 20 MB at most in memory, and
/// about 4 MB of `known.csv`).
const KNOWN_FOR: Duration = Duration::from_secs(30 * 24 * 3600);
pub const KNOWN_MAX: usize = 100_000;

/// The file, in the data directory.
pub const FILE: &str = "known.csv";
const HEADER: &str = "name,address,ms";

/// A pair known already is written again at a login only this long after
/// it last was: at most one line a day per pair, whatever the logins.
const REWRITE_AFTER: Duration = Duration::from_secs(24 * 3600);

/// What a known pair holds.
#[derive(Clone, Copy)]
struct Known {
    /// When it last logged in (Unix ms).
    at_ms: u64,
    /// When it was last written to the file (Unix ms; 0: never).
    written_ms: u64,
    /// The MAC of the password it last logged in with; `None` for a pair
    /// loaded from the file, until its next login.
    tag: Option<[u8; 64]>,
}

/// What [`KnownPairs::recall`] finds.
#[derive(Debug, PartialEq, Eq)]
pub enum Recall {
    /// The password that last logged in from this pair.
    Right,
    /// Another one, or the pair is not known.
    Wrong,
    /// Known, but its password not learned since the restart.
    Unlearned,
}

/// The pairs that logged in, when they last did, and the MAC of the
/// password they did it with.
pub struct KnownPairs {
    key: [u8; 64],
    pairs: Mutex<HashMap<Pair, Known>>,
    /// `known.csv` (none: memory only, as in unit tests).
    file: Option<Mutex<OpenFile>>,
}

/// The file open for appending, and how many lines it holds.
struct OpenFile {
    path: PathBuf,
    out: Option<File>,
    lines: usize,
}

impl Default for KnownPairs {
    fn default() -> KnownPairs {
        let mut key = [0u8; 64];
        getrandom::fill(&mut key).expect("the OS random generator is available");
        KnownPairs { key, pairs: Mutex::new(HashMap::new()), file: None }
    }
}

impl KnownPairs {
    /// The pairs of `known.csv` in `dir`, rewritten without the expired
    /// and the surplus ones. A file that cannot be read or written is
    /// logged and the pairs kept in memory only: the limits still work.
    pub fn open(dir: &Path) -> KnownPairs {
        let mut known = KnownPairs::default();
        let path = dir.join(FILE);
        let loaded = load(&path, now_ms());
        let lines = loaded.len();
        *known.pairs.get_mut() = loaded;
        let mut writer = OpenFile { path, out: None, lines };
        if let Err(e) = writer.rewrite(known.pairs.get_mut()) {
            log::warn!("auth: writing {}: {e}; known pairs are kept in memory only", writer.path.display());
        }
        known.file = Some(Mutex::new(writer));
        known
    }

    fn mac(&self, pair: &Pair, password: &str) -> Blake2bMac512 {
        let mut mac = Blake2bMac512::new_from_slice(&self.key).expect("a 64-byte key fits");
        // The name's length first, so that ("ab", "c…") and ("a", "bc…") differ.
        mac.update(&(pair.0.len() as u64).to_le_bytes());
        mac.update(pair.0.as_bytes());
        mac.update(password.as_bytes());
        mac
    }

    /// True if this account logged in from this address lately.
    pub fn contains(&self, pair: &Pair) -> bool {
        self.pairs.lock().get(pair).is_some_and(|k| fresh(k.at_ms, now_ms()))
    }

    /// Whether `password` is the one that last logged in from this pair.
    pub fn recall(&self, pair: &Pair, password: &str) -> Recall {
        let Some(known) = self.pairs.lock().get(pair).copied() else { return Recall::Wrong };
        match known.tag {
            _ if !fresh(known.at_ms, now_ms()) => Recall::Wrong,
            None => Recall::Unlearned,
            Some(tag) if self.mac(pair, password).verify_slice(&tag).is_ok() => Recall::Right,
            Some(_) => Recall::Wrong,
        }
    }

    /// `pair` just logged in with `password`.
    pub fn remember(&self, pair: Pair, password: &str) {
        let tag: [u8; 64] = self.mac(&pair, password).finalize().into_bytes().into();
        let now = now_ms();
        let line = {
            let mut pairs = self.pairs.lock();
            if pairs.len() >= KNOWN_MAX && !pairs.contains_key(&pair) {
                pairs.retain(|_, k| fresh(k.at_ms, now));
                if pairs.len() >= KNOWN_MAX {
                    return; // full of recent pairs: this one stays unknown
                }
            }
            let written_ms = pairs.get(&pair).map_or(0, |k| k.written_ms);
            let due = now.saturating_sub(written_ms) >= REWRITE_AFTER.as_millis() as u64;
            let written_ms = if due && self.file.is_some() { now } else { written_ms };
            pairs.insert(pair.clone(), Known { at_ms: now, written_ms, tag: Some(tag) });
            due.then(|| format!("{},{},{now}\n", pair.0, pair.1))
        };
        if let (Some(line), Some(file)) = (line, &self.file) {
            self.append(file, &line);
        }
    }

    /// Appends one line (no sync: a pair lost in a crash is only unknown
    /// until its next login), rewriting the file once it holds twice the
    /// pairs in memory. Never called under the pairs' lock: the writer's
    /// lock is taken first, the pairs' under it, never the other way.
    fn append(&self, file: &Mutex<OpenFile>, line: &str) {
        let mut writer = file.lock();
        let count = self.pairs.lock().len();
        let result = if writer.lines >= 2 * count.max(1_000) {
            let pairs = self.pairs.lock().clone();
            writer.rewrite(&pairs)
        } else {
            writer.append(line)
        };
        if let Err(e) = result {
            log::warn!("auth: writing {}: {e}", writer.path.display());
            writer.out = None; // opened again at the next line
        }
    }

    /// The account `user` (folded) has a new password (protocol 1.2,
    /// `PASSWD`): no pair of it may be let in with the old one by the
    /// grace check, so what its pairs remember of a password is forgotten
    /// (learned again at their next login). The pairs stay known: the
    /// user did log in from there, and a known pair's grace without a MAC
    /// checks the stored hash, which is the new password's.
    pub fn forget(&self, user: &str) {
        for (_, known) in self.pairs.lock().iter_mut().filter(|((name, _), _)| name == user) {
            known.tag = None;
        }
    }
}

/// True if a pair that logged in at `at_ms` is still known at `now`.
fn fresh(at_ms: u64, now: u64) -> bool {
    now.saturating_sub(at_ms) < KNOWN_FOR.as_millis() as u64
}

impl OpenFile {
    fn append(&mut self, line: &str) -> io::Result<()> {
        if self.out.is_none() {
            self.out = Some(open_private(&self.path, OpenOptions::new().append(true).create(true))?);
        }
        self.out.as_mut().expect("opened above").write_all(line.as_bytes())?;
        self.lines += 1;
        Ok(())
    }

    /// Replaces the file with `pairs` (aside, synced, renamed).
    fn rewrite(&mut self, pairs: &HashMap<Pair, Known>) -> io::Result<()> {
        let mut text = String::with_capacity(40 * pairs.len() + HEADER.len() + 1);
        text.push_str(HEADER);
        text.push('\n');
        for ((name, address), known) in pairs {
            text.push_str(&format!("{name},{address},{}\n", known.at_ms));
        }
        let aside = self.path.with_extension("csv.tmp");
        let mut file = open_private(&aside, OpenOptions::new().write(true).create(true).truncate(true))?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        fs::rename(&aside, &self.path)?;
        self.out = None;
        self.lines = pairs.len();
        Ok(())
    }
}

/// Opens `path` readable by the server's user only, as every file of the
/// data directory (`store::permissions`).
fn open_private(path: &Path, options: &mut OpenOptions) -> io::Result<File> {
    options.mode(0o600).open(path)
}

/// The pairs of the file at `path` still known at `now`, the newest line
/// of each, at most [`KNOWN_MAX`] (the most recent). A line that does not
/// parse (a torn last line after a crash) is skipped.
fn load(path: &Path, now: u64) -> HashMap<Pair, Known> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return HashMap::new(),
        Err(e) => {
            log::warn!("auth: reading {}: {e}; no pair is known", path.display());
            return HashMap::new();
        }
    };
    let mut pairs: HashMap<Pair, Known> = HashMap::new();
    for line in text.lines().skip(1) {
        let Some((pair, at_ms)) = parse_row(line) else { continue };
        if fresh(at_ms, now) && pairs.get(&pair).is_none_or(|k| k.at_ms < at_ms) {
            pairs.insert(pair, Known { at_ms, written_ms: at_ms, tag: None });
        }
    }
    if pairs.len() > KNOWN_MAX {
        let mut times: Vec<u64> = pairs.values().map(|k| k.at_ms).collect();
        times.sort_unstable_by(|a, b| b.cmp(a));
        let oldest_kept = times[KNOWN_MAX - 1];
        pairs.retain(|_, k| k.at_ms >= oldest_kept);
    }
    pairs
}

fn parse_row(line: &str) -> Option<(Pair, u64)> {
    let mut fields = line.split(',');
    let (name, address, at_ms) = (fields.next()?, fields.next()?, fields.next()?);
    if fields.next().is_some() || crate::protocol::names::check_name(name).is_err() {
        return None;
    }
    Some(((name.to_string(), address.parse().ok()?), at_ms.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));

    #[test]
    fn a_pair_recalls_its_last_password_only() {
        let known = KnownPairs::default();
        let bob = ("bob".to_string(), A);
        assert!(!known.contains(&bob));
        assert_eq!(known.recall(&bob, "pw"), Recall::Wrong);
        known.remember(bob.clone(), "pw");
        assert!(known.contains(&bob));
        assert_eq!(known.recall(&bob, "pw"), Recall::Right);
        assert_eq!(known.recall(&bob, "pw2"), Recall::Wrong);
        assert_eq!(known.recall(&("bob".to_string(), B), "pw"), Recall::Wrong, "per address");
        let apart = known.recall(&("bo".to_string(), A), "bpw");
        assert_eq!(apart, Recall::Wrong, "the name and the password are apart");
        known.remember(bob.clone(), "new");
        assert_eq!(known.recall(&bob, "pw"), Recall::Wrong);
        assert_eq!(known.recall(&bob, "new"), Recall::Right);
        known.remember(("ana".to_string(), A), "pw");
        known.forget("bob");
        assert_eq!(known.recall(&bob, "new"), Recall::Unlearned, "a new password: forgotten");
        assert!(known.contains(&bob), "but the pair stays known");
        assert_eq!(known.recall(&("ana".to_string(), A), "pw"), Recall::Right, "only that account's");
    }

    #[test]
    fn known_pairs_survive_a_restart_without_their_passwords() {
        let dir = tempfile::tempdir().unwrap();
        let known = KnownPairs::open(dir.path());
        let bob = ("bob".to_string(), A);
        known.remember(bob.clone(), "pw-bob");
        known.remember(bob.clone(), "pw-bob"); // written once a day at most
        known.remember(("ana".to_string(), B), "pw-ana");
        drop(known);
        let text = fs::read_to_string(dir.path().join(FILE)).unwrap();
        assert_eq!(text.lines().count(), 3, "{text}");
        assert!(!text.contains("pw-"), "no password, nor a MAC of one");
        // A torn last line (a crash while appending) is skipped.
        fs::write(dir.path().join(FILE), format!("{text}carl,10.0")).unwrap();
        let again = KnownPairs::open(dir.path());
        assert!(again.contains(&bob) && again.contains(&("ana".to_string(), B)));
        assert!(!again.contains(&("bob".to_string(), B)));
        assert_eq!(again.recall(&bob, "pw-bob"), Recall::Unlearned, "the MAC is not stored");
        again.remember(bob.clone(), "pw-bob");
        assert_eq!(again.recall(&bob, "pw-bob"), Recall::Right, "learned at the next login");
        let rewritten = fs::read_to_string(dir.path().join(FILE)).unwrap();
        assert_eq!(rewritten.lines().count(), 3, "rewritten at start: {rewritten}");
    }

    #[test]
    fn expired_and_surplus_pairs_are_dropped_at_load() {
        let dir = tempfile::tempdir().unwrap();
        let now = now_ms();
        let old = now - KNOWN_FOR.as_millis() as u64 - 1;
        let text = format!("{HEADER}\nbob,10.0.0.1,{old}\nana,10.0.0.1,{now}\nana,10.0.0.1,{}\n", now - 5);
        fs::write(dir.path().join(FILE), text).unwrap();
        let pairs = load(&dir.path().join(FILE), now);
        assert_eq!(pairs.len(), 1);
        assert_eq!(pairs[&("ana".to_string(), A)].at_ms, now, "the newest line of a pair");
    }
}
