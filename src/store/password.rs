//! Password hashing: argon2id with a random salt, stored as a PHC string
//! (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`), which carries its own
//! parameters, so changing `--kdf-cost` never breaks existing accounts.
//!
//! The hashing runs on a small pool of threads, one per core, not on the
//! connection threads. argon2 is slow and large on purpose (19 MiB per
//! hash by default): a crowd of logins on 20,000 connection threads would
//! otherwise hash hundreds at once, needing gigabytes and leaving every
//! thread's stack deep in resident memory. Through the pool, at most one
//! hash per core runs, and the rest queue.
//!
//! Two queues, not one: **logins go first.** New hashes (`REGISTER`, and
//! the decoy hash of a `REGISTER` for a name that is taken) wait in a queue
//! of their own, which a pool thread serves only when no login is waiting.
//! A flood of registrations therefore delays a login by at most the hash
//! each pool thread is already running (tens of milliseconds), never by
//! the length of the flood (measured in RELIABILITY.md: with one queue,
//! 400 registrations at once delay a login from 62 ms to 7.9 s).

use std::collections::HashMap;
use std::thread;
use std::time::{Duration, Instant};

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use blake2::Blake2bMac512;
use blake2::digest::{KeyInit, Mac};
use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;

use super::UserId;
use crate::protocol::{Code, Ko};

/// The fewest characters a new account's password may have, on both
/// sides: the server refuses a shorter one over the network (`REGISTER`,
/// and `LOGIN` with `--auto-register`, in `server/auth/mod.rs`) with
/// `KO:BAD_REQUEST` (protocol 1.2), and `wachat` asks again before it
/// sends one (`wachat users add`, the teacher's tool on the server's own
/// machine, is not held to it). Six, not more: guessing is throttled
/// per account and per address (`server/auth/mod.rs`) and only argon2 hashes
/// are stored, so what matters online is that a password is not one
/// letter or a name's initials; and six keeps the protocol's own
/// examples (`REGISTER:ana::secret`) and every v1 client's valid.
pub const MIN_CHARS: usize = 6;

/// Whether `password` may be a new account's: at least [`MIN_CHARS`]
/// characters. Checked before anything else, so that the answer says
/// nothing about whether the name is taken.
pub fn check_new(password: &str) -> Result<(), Ko> {
    if password.chars().count() < MIN_CHARS {
        return Err(Ko::new(Code::BadRequest, format!("a password has at least {MIN_CHARS} characters")));
    }
    Ok(())
}

/// Memory cost in KiB by default: argon2's own default and OWASP's first
/// recommendation for argon2id (19 MiB, 2 passes).
pub const DEFAULT_KDF_COST: u32 = 19 * 1024;

/// Stack of a hashing thread: argon2 works on the heap.
const POOL_STACK: usize = 256 * 1024;

/// Hashes and checks passwords on the pool; cheap to clone.
#[derive(Clone)]
pub struct Hasher {
    /// Checks of existing passwords (`LOGIN`): served first.
    logins: Sender<HashJob>,
    /// New hashes (`REGISTER`): served when no login waits.
    registrations: Sender<HashJob>,
}

/// Work for the pool, with where to send the answer.
enum HashJob {
    Hash(String, Sender<Result<String, String>>),
    Verify(Option<String>, String, Sender<bool>),
}

/// What each pool thread holds.
#[derive(Clone)]
struct Kdf {
    argon2: Argon2<'static>,
    /// A hash of a random password, checked when a login names an unknown
    /// user, so that the answer takes as long as for a wrong password and
    /// does not reveal which accounts exist.
    dummy: String,
}

impl Hasher {
    /// `kdf_cost` is argon2's memory cost in KiB (at least 8).
    pub fn new(kdf_cost: u32) -> Result<Hasher, String> {
        let kdf = Kdf::new(kdf_cost)?;
        let (logins, login_queue) = crossbeam_channel::unbounded();
        let (registrations, registration_queue) = crossbeam_channel::unbounded();
        let threads = thread::available_parallelism().map_or(2, |n| n.get());
        for i in 0..threads {
            let kdf = kdf.clone();
            let queues = (login_queue.clone(), registration_queue.clone());
            thread::Builder::new()
                .name(format!("hasher-{i}"))
                .stack_size(POOL_STACK)
                .spawn(move || work(&kdf, &queues.0, &queues.1))
                .map_err(|e| format!("password hashing: cannot start a thread: {e}"))?;
        }
        Ok(Hasher { logins, registrations })
    }

    /// A new salted hash of `password` (in the registrations' queue).
    pub fn hash(&self, password: &str) -> Result<String, String> {
        let (tell, told) = crossbeam_channel::bounded(1);
        let _ = self.registrations.send(HashJob::Hash(password.to_string(), tell));
        told.recv().unwrap_or_else(|_| Err("password hashing: the pool stopped".into()))
    }

    /// True if `password` matches `hash` (in the logins' queue). `None`
    /// (unknown user) checks the dummy hash and returns false, taking the
    /// same time.
    pub fn verify(&self, hash: Option<&str>, password: &str) -> bool {
        let (tell, told) = crossbeam_channel::bounded(1);
        let _ = self.logins.send(HashJob::Verify(hash.map(str::to_string), password.to_string(), tell));
        told.recv().unwrap_or(false)
    }
}

/// A pool thread: takes jobs, a waiting login before any registration,
/// until every `Hasher` is dropped.
fn work(kdf: &Kdf, logins: &Receiver<HashJob>, registrations: &Receiver<HashJob>) {
    loop {
        let job = match logins.try_recv() {
            Ok(job) => job,
            // None waiting: take whichever comes first, logins winning a tie.
            Err(_) => match crossbeam_channel::select_biased! {
                recv(logins) -> job => job,
                recv(registrations) -> job => job,
            } {
                Ok(job) => job,
                Err(_) => return, // both queues closed: the server stopped
            },
        };
        match job {
            HashJob::Hash(password, tell) => drop(tell.send(kdf.hash(&password))),
            HashJob::Verify(hash, password, tell) => drop(tell.send(kdf.verify(hash.as_deref(), &password))),
        }
    }
}

impl Kdf {
    fn new(kdf_cost: u32) -> Result<Kdf, String> {
        let params = Params::new(kdf_cost, Params::DEFAULT_T_COST, 1, None)
            .map_err(|e| format!("bad --kdf-cost {kdf_cost}: {e}"))?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let dummy = argon2
            .hash_password(b"no account has this password")
            .map_err(|e| format!("password hashing: {e}"))?
            .to_string();
        Ok(Kdf { argon2, dummy })
    }

    fn hash(&self, password: &str) -> Result<String, String> {
        self.argon2
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| format!("password hashing: {e}"))
    }

    fn verify(&self, hash: Option<&str>, password: &str) -> bool {
        // A hash that does not parse (a disabled account: `!$argon2id…`)
        // also costs one real verification, so it cannot be told apart by
        // how fast the answer comes.
        let parsed = hash.and_then(|h| PasswordHash::new(h).ok());
        let known = parsed.is_some();
        let parsed = parsed.unwrap_or_else(|| PasswordHash::new(&self.dummy).expect("our own hash parses"));
        let ok = self.argon2.verify_password(password.as_bytes(), &parsed).is_ok();
        ok && known
    }
}

/// How long a verified password is remembered (see [`LoginCache`]).
const REMEMBER: Duration = Duration::from_secs(10 * 60);

/// Recent successful logins, so that a user's second connection (the
/// other port) and quick reconnections do not cost a full argon2 check.
///
/// It keeps, per account, a keyed BLAKE2b MAC of the password that last
/// logged in, for ten minutes, over the account's stored hash too: once
/// the password changes (`PASSWD`, protocol 1.2), the old one no longer
/// matches, on this node and on every other of a cluster, with nothing
/// to forget. A wrong password never matches it and still
/// takes the full argon2 path (and the failed-login throttle). The key is
/// random per process and never stored, so the cache is useless outside
/// this process's memory, and gone at every restart.
pub struct LoginCache {
    key: [u8; 64],
    recent: Mutex<HashMap<UserId, (Instant, [u8; 64])>>,
}

impl Default for LoginCache {
    fn default() -> LoginCache {
        let mut key = [0u8; 64];
        getrandom::fill(&mut key).expect("the OS random generator is available");
        LoginCache { key, recent: Mutex::new(HashMap::new()) }
    }
}

impl LoginCache {
    fn mac(&self, user: UserId, hash: &str, password: &str) -> Blake2bMac512 {
        let mut mac = Blake2bMac512::new_from_slice(&self.key).expect("a 64-byte key fits");
        mac.update(&user.to_le_bytes());
        // Its length first: no (hash, password) pair reads as another.
        mac.update(&(hash.len() as u64).to_le_bytes());
        mac.update(hash.as_bytes());
        mac.update(password.as_bytes());
        mac
    }

    /// True if `password` is the one `user`, whose stored hash is
    /// `hash`, logged in with lately.
    pub fn recall(&self, user: UserId, hash: &str, password: &str) -> bool {
        let Some((at, tag)) = self.recent.lock().get(&user).copied() else { return false };
        at.elapsed() < REMEMBER && self.mac(user, hash, password).verify_slice(&tag).is_ok()
    }

    /// `user`, whose stored hash is `hash`, just logged in with `password`.
    pub fn remember(&self, user: UserId, hash: &str, password: &str) {
        let tag: [u8; 64] = self.mac(user, hash, password).finalize().into_bytes().into();
        let mut recent = self.recent.lock();
        if recent.len() >= 4096 && recent.len().is_power_of_two() {
            recent.retain(|_, (at, _)| at.elapsed() < REMEMBER);
        }
        recent.insert(user, (Instant::now(), tag));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_salted_and_verify() {
        let hasher = Hasher::new(8).unwrap();
        let a = hasher.hash("secret").unwrap();
        let b = hasher.hash("secret").unwrap();
        assert_ne!(a, b, "two hashes of one password differ (salt)");
        assert!(a.starts_with("$argon2id$"));
        assert!(!a.contains("secret"));
        assert!(hasher.verify(Some(&a), "secret"));
        assert!(!hasher.verify(Some(&a), "Secret"));
        assert!(!hasher.verify(None, "no account has this password"));
        // A hash made with other parameters still verifies.
        assert!(Hasher::new(16).unwrap().verify(Some(&a), "secret"));
    }

    #[test]
    fn a_waiting_login_goes_before_waiting_registrations() {
        // One pool thread, and a flood of registrations queued before a
        // login. Each registration's answer waits until someone takes it
        // (a channel of no capacity), and nobody does before the login is
        // answered: a thread that served a registration first would wait
        // there, and the login would never be answered.
        let kdf = Kdf::new(8).unwrap();
        let stored = kdf.hash("pw").unwrap();
        let (logins, login_queue) = crossbeam_channel::unbounded();
        let (registrations, registration_queue) = crossbeam_channel::unbounded();
        let mut registered = Vec::new();
        for _ in 0..4 {
            let (tell, told) = crossbeam_channel::bounded(0);
            registrations.send(HashJob::Hash("flood".into(), tell)).unwrap();
            registered.push(told);
        }
        let (tell, told) = crossbeam_channel::bounded(1);
        logins.send(HashJob::Verify(Some(stored), "pw".into(), tell)).unwrap();
        let pool = thread::spawn(move || work(&kdf, &login_queue, &registration_queue));
        let answer = told.recv_timeout(Duration::from_secs(10));
        assert_eq!(answer, Ok(true), "the login was not served before the registrations");
        for told in registered {
            assert!(told.recv_timeout(Duration::from_secs(10)).unwrap().is_ok());
        }
        drop((logins, registrations));
        pool.join().unwrap();
    }

    #[test]
    fn the_cache_recalls_the_right_password_only() {
        let cache = LoginCache::default();
        assert!(!cache.recall(1, "h", "pw"));
        cache.remember(1, "h", "pw");
        assert!(cache.recall(1, "h", "pw"));
        assert!(!cache.recall(1, "h", "pw2"));
        assert!(!cache.recall(2, "h", "pw"), "per account");
        assert!(!cache.recall(1, "h2", "pw"), "a changed password (hash) forgets it");
        cache.remember(1, "h", "new");
        assert!(!cache.recall(1, "h", "pw"), "the last login's password only");
    }
}
