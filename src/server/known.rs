//! Known (account, address) pairs: where each account has logged in
//! before, and with which password, so that a neighbour's failures cannot
//! lock a user out (see `auth.rs`, attack 6 of issue 25).
//!
//! A lab shares one address (a NAT). A stranger there who guesses bob's
//! password empties the bucket of the pair (bob, lab address), the very
//! bucket bob's own logins take from: before this file, 14 of bob's 15
//! correct logins were refused. Nothing on the wire tells bob from the
//! stranger (device tokens, issue 27, will), except the password. So a
//! known pair remembers a keyed BLAKE2b MAC of the password that last
//! logged in from there, and a login refused by the buckets may still be
//! compared with it: a cheap check (a microsecond, no argon2), within a
//! grace bucket of its own (`auth::GRACE_*`), so that the stranger's extra
//! guesses stay few and counted.
//!
//! Like `store::password::LoginCache`, the key is random per process and
//! never stored: the MACs are useless outside this process's memory, and a
//! restart forgets them (and which pairs are known).

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use blake2::Blake2bMac512;
use blake2::digest::{KeyInit, Mac};
use parking_lot::Mutex;

/// An account (its name folded) at an address (its `address_key`).
pub type Pair = (String, IpAddr);

/// How long a successful login makes its pair known, and how many pairs
/// are remembered (about 200 bytes each: 20 MB at most).
const KNOWN_FOR: Duration = Duration::from_secs(30 * 24 * 3600);
const KNOWN_MAX: usize = 100_000;

/// The pairs that logged in, when they last did, and the MAC of the
/// password they did it with.
pub struct KnownPairs {
    key: [u8; 64],
    pairs: Mutex<HashMap<Pair, (Instant, [u8; 64])>>,
}

impl Default for KnownPairs {
    fn default() -> KnownPairs {
        let mut key = [0u8; 64];
        getrandom::fill(&mut key).expect("the OS random generator is available");
        KnownPairs { key, pairs: Mutex::new(HashMap::new()) }
    }
}

impl KnownPairs {
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
        self.pairs.lock().get(pair).is_some_and(|(at, _)| at.elapsed() < KNOWN_FOR)
    }

    /// True if `password` is the one that last logged in from this pair.
    pub fn recall(&self, pair: &Pair, password: &str) -> bool {
        let Some((at, tag)) = self.pairs.lock().get(pair).copied() else { return false };
        at.elapsed() < KNOWN_FOR && self.mac(pair, password).verify_slice(&tag).is_ok()
    }

    /// `pair` just logged in with `password`.
    pub fn remember(&self, pair: Pair, password: &str) {
        let tag: [u8; 64] = self.mac(&pair, password).finalize().into_bytes().into();
        let mut pairs = self.pairs.lock();
        if pairs.len() >= KNOWN_MAX && !pairs.contains_key(&pair) {
            pairs.retain(|_, (at, _)| at.elapsed() < KNOWN_FOR);
            if pairs.len() >= KNOWN_MAX {
                return; // full of recent pairs: this one stays unknown
            }
        }
        pairs.insert(pair, (Instant::now(), tag));
    }

    /// The account `user` (folded) has a new password (protocol 1.2,
    /// `PASSWD`): no pair of it may be let in with the old one by the
    /// grace check, so every pair of it is forgotten (it is known again at
    /// its next login).
    pub fn forget(&self, user: &str) {
        self.pairs.lock().retain(|(name, _), _| name != user);
    }
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
        assert!(!known.contains(&bob) && !known.recall(&bob, "pw"));
        known.remember(bob.clone(), "pw");
        assert!(known.contains(&bob) && known.recall(&bob, "pw"));
        assert!(!known.recall(&bob, "pw2"));
        assert!(!known.recall(&("bob".to_string(), B), "pw"), "per address");
        assert!(!known.recall(&("bo".to_string(), A), "bpw"), "the name and the password are apart");
        known.remember(bob.clone(), "new");
        assert!(!known.recall(&bob, "pw") && known.recall(&bob, "new"));
        known.remember(("ana".to_string(), A), "pw");
        known.forget("bob");
        assert!(!known.contains(&bob) && !known.recall(&bob, "new"), "a new password: forgotten");
        assert!(known.contains(&("ana".to_string(), A)), "only that account's pairs");
    }
}
