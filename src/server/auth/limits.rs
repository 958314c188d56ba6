//! The buckets of `LOGIN`, `PAIR` and `REGISTER` (see `auth/mod.rs`'s module
//! documentation for what each stops): failed attempts per pair, account
//! and address, for passwords and for link codes apart; a known pair's
//! second chances; and the caps of new accounts, with the reserve of
//! fresh addresses.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::protocol::names::fold;
use crate::protocol::{Code, Ko};
use crate::server::known::{KnownPairs, Pair, Recall};
use crate::server::throttle::{Throttle, address_key, whole_secs};

/// Failed attempts of one address at one account: 5, then one every 10 s.
const PAIR_BURST: u32 = 5;
const PAIR_PER_SEC: f64 = 0.1;
/// Failed attempts at one account from all the addresses it is not known
/// at: 20, then one every 15 s (240 an hour, however many addresses guess).
const ACCOUNT_BURST: u32 = 20;
const ACCOUNT_PER_SEC: f64 = 1.0 / 15.0;
/// Failed attempts from one address at any account: a classroom may share
/// one address, so 30, then one a second.
const ADDR_BURST: u32 = 30;
const ADDR_PER_SEC: f64 = 1.0;
/// New accounts from one address: a class of 60 registering at once
/// behind one NAT, then one a minute.
const REGISTER_ADDR_BURST: u32 = 60;
const REGISTER_ADDR_PER_SEC: f64 = 1.0 / 60.0;
/// New accounts from every address together: 600, then one every 6 s.
const REGISTER_ALL_BURST: u32 = 600;
const REGISTER_ALL_PER_SEC: f64 = 1.0 / 6.0;
/// Wrong guesses at a known pair once its own bucket is empty, checked
/// without a hash: 300, then 300 a day (one every 288 s). A day's worth, so
/// that a stranger who spends them all adds 3.5 % to the pair's 8,640 a day.
pub const GRACE_BURST: u32 = 300;
pub const GRACE_PER_SEC: f64 = 300.0 / 86_400.0;

/// Wrong guesses at a known pair whose password was not learned since a
/// restart (`known.csv` keeps the pairs, not their MACs), each checked
/// against the stored hash: 10, then one every 5 minutes (288 argon2
/// hashes a day at most per known pair). Bob's first right password
/// learns the MAC again, and the cheap grace above takes over.
pub const RELEARN_BURST: u32 = 10;
pub const RELEARN_PER_SEC: f64 = 1.0 / 300.0;
/// New accounts from addresses that made none lately (their bucket of
/// new accounts is full), once the overall bucket is empty: 300, then one
/// every 6 s. A flood from many addresses empties the overall bucket, and
/// takes one of these per address at most; a classmate on a fresh
/// address still gets in: a flood cannot close registration to everyone.
const REGISTER_FRESH_BURST: u32 = 300;
const REGISTER_FRESH_PER_SEC: f64 = 1.0 / 6.0;

/// How long an attempt waits in line for the attempts in flight before it
/// (see [`InFlight`]) when the bucket it needs is empty: a class of 60
/// logging in at once from one address, at the default argon2 cost, on a
/// loaded machine with two cores, is through in a few seconds.
const MAX_QUEUE_WAIT: Duration = Duration::from_secs(20);

/// The buckets of failed attempts, per pair, account and address: one
/// set for passwords, one for link codes (`PAIR`), so that wrong codes
/// lock no password out: a code guesser cannot refuse the user's own
/// right password.
struct Failures {
    pairs: Throttle<(String, IpAddr)>,
    accounts: Throttle<String>,
    addrs: Throttle<IpAddr>,
}

impl Failures {
    fn new() -> Failures {
        Failures {
            pairs: Throttle::new(PAIR_BURST, PAIR_PER_SEC),
            accounts: Throttle::new(ACCOUNT_BURST, ACCOUNT_PER_SEC),
            addrs: Throttle::new(ADDR_BURST, ADDR_PER_SEC),
        }
    }
}

/// A bucket of [`Failures`]: which set (`code`: link codes, else
/// passwords), and whose.
#[derive(Clone, PartialEq, Eq, Hash)]
enum Bucket {
    Pair(bool, (String, IpAddr)),
    Account(bool, String),
    Addr(bool, IpAddr),
}

/// The attempts in flight (their hash not done yet), by the buckets they
/// took a token of.
///
/// An attempt takes its tokens before it hashes, so that many at once
/// cannot all hash before the first failure is counted: the tokens in
/// flight bound the hashes in flight. Most of them come back (a right
/// password). So an attempt that finds a bucket empty while others hold
/// its tokens in flight is not refused: it waits in line until one of
/// them is done and tries again. Only a bucket emptied by real failures
/// refuses (a class of 60 logging in at once from one address, whose
/// bucket holds 30, waits instead of being told its logins failed).
#[derive(Default)]
struct InFlight {
    holders: Mutex<HashMap<Bucket, u32>>,
    /// Told when an attempt is done.
    done: Condvar,
}

/// The login and registration limits (see the module documentation).
pub struct AuthLimits {
    /// Attempts hashing now, by bucket; also the lock under which an
    /// attempt takes its tokens, so that none is done unseen between a
    /// refusal and the look at who holds the bucket.
    in_flight: InFlight,
    passwords: Failures,
    codes: Failures,
    registrations: Throttle<IpAddr>,
    all_registrations: Throttle<()>,
    fresh_registrations: Throttle<()>,
    /// (account, address) pairs that logged in, and with which password.
    pub(super) known: KnownPairs,
    /// Wrong passwords of known pairs checked past their own bucket.
    grace: Throttle<Pair>,
    /// Wrong passwords of known pairs not learned since the restart.
    relearn: Throttle<Pair>,
    /// Addresses without per-address limits (`--exempt`).
    exempt: Vec<IpAddr>,
}

/// The tokens one attempt took, to give back if it succeeds. It is in
/// flight until dropped: a failure is dropped with its tokens taken.
pub(super) struct Attempt<'a> {
    limits: &'a AuthLimits,
    /// Whether it was a password's or a link code's.
    code: bool,
    pair: (String, IpAddr),
    account: Option<String>,
    addr: Option<IpAddr>,
}

impl Attempt<'_> {
    /// The buckets it took a token of.
    fn buckets(&self) -> Vec<Bucket> {
        let code = self.code;
        let mut buckets = vec![Bucket::Pair(code, self.pair.clone())];
        buckets.extend(self.account.clone().map(|account| Bucket::Account(code, account)));
        buckets.extend(self.addr.map(|addr| Bucket::Addr(code, addr)));
        buckets
    }
}

impl Drop for Attempt<'_> {
    /// Done: no longer in flight, and whoever waits in line looks again.
    fn drop(&mut self) {
        let in_flight = &self.limits.in_flight;
        let mut holders = in_flight.holders.lock();
        for bucket in self.buckets() {
            if let Some(count) = holders.get_mut(&bucket) {
                *count -= 1;
                if *count == 0 {
                    holders.remove(&bucket);
                }
            }
        }
        in_flight.done.notify_all();
    }
}

/// A known pair's second chance, once its own bucket refused it.
#[derive(PartialEq)]
pub(super) enum Second {
    /// None: check nothing.
    No,
    /// The password that last logged in from there (its grace token given
    /// back): check it against the stored hash.
    Recalled,
    /// The pair's password is not learned since the restart: check it
    /// against the stored hash, its grace and relearn tokens taken.
    Unlearned,
}

/// Which overall bucket a new account took its token from.
pub(super) enum SignupBucket {
    Exempt,
    Overall,
    Fresh,
}

impl AuthLimits {
    /// Limits with no per-address limit for the `exempt` addresses, and
    /// known pairs in memory only (unit tests).
    pub fn new(exempt: &[IpAddr]) -> AuthLimits {
        AuthLimits::with_known(exempt, KnownPairs::default())
    }

    /// The server's limits: known pairs kept in `data_dir` (`known.rs`).
    pub fn open(exempt: &[IpAddr], data_dir: &std::path::Path) -> AuthLimits {
        AuthLimits::with_known(exempt, KnownPairs::open(data_dir))
    }

    fn with_known(exempt: &[IpAddr], known: KnownPairs) -> AuthLimits {
        AuthLimits {
            in_flight: InFlight::default(),
            passwords: Failures::new(),
            codes: Failures::new(),
            registrations: Throttle::new(REGISTER_ADDR_BURST, REGISTER_ADDR_PER_SEC),
            all_registrations: Throttle::new(REGISTER_ALL_BURST, REGISTER_ALL_PER_SEC),
            fresh_registrations: Throttle::new(REGISTER_FRESH_BURST, REGISTER_FRESH_PER_SEC),
            known,
            grace: Throttle::new(GRACE_BURST, GRACE_PER_SEC),
            relearn: Throttle::new(RELEARN_BURST, RELEARN_PER_SEC),
            exempt: exempt.iter().map(|&ip| address_key(ip)).collect(),
        }
    }

    fn is_exempt(&self, addr: IpAddr) -> bool {
        self.exempt.contains(&addr)
    }

    fn failures(&self, code: bool) -> &Failures {
        if code { &self.codes } else { &self.passwords }
    }

    /// Takes the tokens of one attempt at `user` from `addr`, before any
    /// hashing; refused if a bucket that applies is empty of tokens and
    /// of attempts in flight (else it waits in line, see [`InFlight`]).
    pub(super) fn begin(&self, user: &str, addr: IpAddr) -> Result<Attempt<'_>, Ko> {
        self.begin_as(false, user, addr)
    }

    /// [`AuthLimits::begin`] for a password (`code` false) or a link code
    /// (`PAIR`, `code` true), each in its own buckets.
    pub(super) fn begin_as(&self, code: bool, user: &str, addr: IpAddr) -> Result<Attempt<'_>, Ko> {
        let deadline = Instant::now() + MAX_QUEUE_WAIT;
        let mut holders = self.in_flight.holders.lock();
        loop {
            match self.take(code, user, addr) {
                Ok(attempt) => {
                    for bucket in attempt.buckets() {
                        *holders.entry(bucket).or_insert(0) += 1;
                    }
                    return Ok(attempt);
                }
                // Attempts in flight hold the empty bucket's tokens: their
                // outcome decides (most give them back).
                Err((_, empty)) if holders.contains_key(&empty) && Instant::now() < deadline => {
                    self.in_flight.done.wait_until(&mut holders, deadline);
                }
                Err((ko, _)) => return Err(ko),
            }
        }
    }

    /// Takes the tokens of one attempt now, or none and says which bucket
    /// is empty. Knowing a pair means its password logged in from there:
    /// it spares a password the account's and the address's buckets, not
    /// a code.
    fn take(&self, code: bool, user: &str, addr: IpAddr) -> Result<Attempt<'_>, (Ko, Bucket)> {
        let buckets = self.failures(code);
        let pair = (fold(user), addr);
        let known = !code && self.known.contains(&pair);
        let refused = |wait: Duration, empty: Bucket| {
            let secs = whole_secs(wait);
            let what = if code { "link codes" } else { "logins" };
            (Ko::new(Code::RateLimited, format!("too many failed {what}; try again in {secs} s")), empty)
        };
        if let Err(wait) = buckets.pairs.try_take(pair.clone(), 1) {
            return Err(refused(wait, Bucket::Pair(code, pair)));
        }
        let account = (!known).then(|| pair.0.clone());
        if let Some(account) = &account
            && let Err(wait) = buckets.accounts.try_take(account.clone(), 1)
        {
            buckets.pairs.give_back(pair);
            return Err(refused(wait, Bucket::Account(code, account.clone())));
        }
        let addr_taken = (!known && !self.is_exempt(addr)).then_some(addr);
        if addr_taken.is_some()
            && let Err(wait) = buckets.addrs.try_take(addr, 1)
        {
            buckets.pairs.give_back(pair);
            if let Some(account) = account {
                buckets.accounts.give_back(account);
            }
            return Err(refused(wait, Bucket::Addr(code, addr)));
        }
        Ok(Attempt { limits: self, code, pair, account, addr: addr_taken })
    }

    /// The attempt did not count as a failure: its tokens go back, then it
    /// is dropped (no longer in flight).
    pub(super) fn give_back(&self, attempt: Attempt) {
        let buckets = self.failures(attempt.code);
        if let Some(addr) = attempt.addr {
            buckets.addrs.give_back(addr);
        }
        if let Some(account) = attempt.account.clone() {
            buckets.accounts.give_back(account);
        }
        buckets.pairs.give_back(attempt.pair.clone());
    }

    /// The attempt logged in with `password`: its pair is known, and its
    /// tokens go back.
    pub(super) fn succeeded(&self, attempt: Attempt, password: &str) {
        self.known.remember(attempt.pair.clone(), password);
        self.give_back(attempt);
    }

    /// A known pair's second chance, once its own bucket refused it,
    /// within the grace bucket (see the module documentation).
    pub(super) fn second_chance(&self, user: &str, addr: IpAddr, password: &str) -> Second {
        let pair = (fold(user), addr);
        if !self.known.contains(&pair) || self.grace.try_take(pair.clone(), 1).is_err() {
            return Second::No;
        }
        match self.known.recall(&pair, password) {
            Recall::Right => {
                self.grace.give_back(pair);
                Second::Recalled
            }
            Recall::Wrong => Second::No,
            Recall::Unlearned if self.relearn.try_take(pair.clone(), 1).is_ok() => Second::Unlearned,
            Recall::Unlearned => {
                self.grace.give_back(pair); // not checked: not counted twice
                Second::No
            }
        }
    }

    /// A second chance logged in with `password`: its tokens go back and
    /// the pair learns the password again.
    pub(super) fn let_in(&self, user: &str, addr: IpAddr, password: &str, second: Second) {
        let pair = (fold(user), addr);
        if second == Second::Unlearned {
            self.grace.give_back(pair.clone());
            self.relearn.give_back(pair.clone());
        }
        self.known.remember(pair, password);
    }

    /// True if `pair` is known with a password learned (a test's view).
    #[cfg(test)]
    fn grace(&self, user: &str, addr: IpAddr, password: &str) -> bool {
        self.second_chance(user, addr, password) == Second::Recalled
    }

    /// Takes the tokens of a new account from `addr`: its own bucket, and the
    /// overall one; once that is empty, an address that made no account lately
    /// takes one from the reserve of fresh addresses. An address is counted
    /// here by its key (an IPv6 address by its /64, as one host usually has a
    /// whole /64), whatever the caller passed: the addresses of one /64 are one
    /// fresh address, not 2^64 of them.
    pub(super) fn begin_registration(&self, addr: IpAddr) -> Result<SignupBucket, Ko> {
        let addr = address_key(addr);
        if self.is_exempt(addr) {
            return Ok(SignupBucket::Exempt);
        }
        let refused = |wait: Duration, whose: &str| {
            let secs = whole_secs(wait);
            Ko::new(Code::RateLimited, format!("too many new accounts{whose}; try again in {secs} s"))
        };
        let fresh = self.registrations.is_full(&addr);
        self.registrations.try_take(addr, 1).map_err(|wait| refused(wait, " from your address"))?;
        match self.all_registrations.try_take((), 1) {
            Ok(()) => Ok(SignupBucket::Overall),
            Err(_) if fresh && self.fresh_registrations.try_take((), 1).is_ok() => Ok(SignupBucket::Fresh),
            Err(wait) => {
                self.registrations.give_back(addr);
                Err(refused(wait, ""))
            }
        }
    }

    /// How many accounts `addr` may `REGISTER` now (1.2, `INFO`'s
    /// `new_accounts_left`); `None`: no limit (`--exempt`). The overall
    /// cap is everyone's, and not counted here.
    pub fn new_accounts_left(&self, addr: IpAddr) -> Option<u32> {
        let addr = address_key(addr);
        if self.is_exempt(addr) {
            return None;
        }
        // Whole tokens only; a bucket never holds more than its capacity.
        Some(self.registrations.available(&addr).max(0.0).floor() as u32)
    }

    /// No account was created after all.
    pub(super) fn cancel_registration(&self, addr: IpAddr, took: SignupBucket) {
        let addr = address_key(addr);
        match took {
            SignupBucket::Exempt => return,
            SignupBucket::Overall => self.all_registrations.give_back(()),
            SignupBucket::Fresh => self.fresh_registrations.give_back(()),
        }
        self.registrations.give_back(addr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));

    fn fail(limits: &AuthLimits, user: &str, addr: IpAddr) -> Result<(), Ko> {
        limits.begin(user, addr).map(drop) // the tokens stay taken
    }

    #[test]
    fn a_known_pair_is_not_held_back_by_strangers() {
        let limits = AuthLimits::new(&[]);
        limits.succeeded(limits.begin("bob", A).unwrap(), "pw");
        // A stranger guesses bob's password until throttled ...
        let refused = (0..100).find(|_| fail(&limits, "bob", B).is_err()).unwrap();
        assert_eq!(refused, PAIR_BURST as usize);
        // ... and a swarm of addresses until the account bucket is empty.
        for i in 0..ACCOUNT_BURST {
            let _ = fail(&limits, "bob", IpAddr::V4(std::net::Ipv4Addr::new(10, 1, 0, i as u8)));
        }
        let newcomer = IpAddr::V4(std::net::Ipv4Addr::new(10, 2, 0, 1));
        assert_eq!(
            fail(&limits, "bob", newcomer).unwrap_err().code,
            Code::RateLimited,
            "distributed: slowed"
        );
        // Bob, from where he logged in before, is not refused.
        limits.succeeded(limits.begin("BOB", A).expect("bob's own address"), "pw");
    }

    #[test]
    fn a_pair_is_held_back_by_its_own_failures_even_when_known() {
        let limits = AuthLimits::new(&[]);
        limits.succeeded(limits.begin("ana", A).unwrap(), "pw");
        for _ in 0..PAIR_BURST {
            fail(&limits, "ana", A).unwrap();
        }
        assert!(fail(&limits, "ana", A).is_err());
    }

    #[test]
    fn a_known_pair_gets_in_with_its_password_past_a_neighbours_guesses() {
        let limits = AuthLimits::new(&[]);
        limits.succeeded(limits.begin("bob", A).unwrap(), "pw-bob");
        // A stranger at bob's own address empties the pair's bucket ...
        while fail(&limits, "bob", A).is_ok() {}
        // ... bob's right password still logs in, his wrong one does not,
        // and an address bob never logged in from gets no second chance.
        assert!(limits.grace("bob", A, "pw-bob"));
        assert!(!limits.grace("bob", A, "guess"));
        assert!(!limits.grace("bob", B, "pw-bob"));
        assert!(!limits.grace("ana", A, "pw-bob"));
        // The grace is counted: bob gets in until GRACE_BURST wrong guesses
        // in a row have been spent (a right one gives its token back) ...
        for _ in 2..GRACE_BURST {
            assert!(!limits.grace("bob", A, "guess"));
        }
        assert!(limits.grace("bob", A, "pw-bob"), "one token left");
        assert!(!limits.grace("bob", A, "guess"));
        // ... then he waits like the stranger.
        assert!(!limits.grace("bob", A, "pw-bob"), "the grace is spent");
    }

    #[test]
    fn an_address_spraying_accounts_is_throttled_unless_exempt() {
        let limits = AuthLimits::new(&[]);
        let refused = (0..100).find(|i| fail(&limits, &format!("u{i}"), A).is_err()).unwrap();
        assert_eq!(refused, ADDR_BURST as usize);
        let exempt = AuthLimits::new(&[A]);
        assert!((0..100).all(|i| fail(&exempt, &format!("u{i}"), A).is_ok()));
    }

    #[test]
    fn past_the_bucket_an_attempt_waits_for_those_in_flight_and_only_failures_refuse() {
        let limits = AuthLimits::new(&[]);
        // A class's first logins from one address, as many in flight as
        // the address's bucket holds ...
        let mut in_flight: Vec<_> =
            (0..ADDR_BURST).map(|i| limits.begin(&format!("u{i}"), A).unwrap()).collect();
        std::thread::scope(|s| {
            // ... the next one waits in line, and gets in when one of them
            // logs in and gives its token back.
            let late = s.spawn(|| limits.begin("late", A).map(|attempt| limits.succeeded(attempt, "pw")));
            limits.succeeded(in_flight.pop().unwrap(), "pw");
            assert!(late.join().unwrap().is_ok(), "waited in line, not refused");
        });
        // The others fail, and one more: their tokens stay taken, and with
        // none in flight the empty bucket refuses.
        drop(in_flight);
        limits.begin("u98", A).map(drop).unwrap();
        let refused = limits.begin("u99", A).map(drop).unwrap_err();
        assert_eq!(refused.code, Code::RateLimited);
        assert!(limits.in_flight.holders.lock().is_empty(), "nothing left in flight");
    }

    #[test]
    fn registrations_are_limited_per_address_and_overall() {
        let limits = AuthLimits::new(&[]);
        let refused = (0..100).find(|_| limits.begin_registration(A).is_err()).unwrap();
        assert_eq!(refused, REGISTER_ADDR_BURST as usize);
        limits.cancel_registration(A, SignupBucket::Overall);
        assert!(limits.begin_registration(A).is_ok(), "a cancelled one is given back");
        assert!(limits.begin_registration(B).is_ok(), "per address");
        let all = (1..=255u8)
            .flat_map(|a| (1..=255u8).map(move |b| IpAddr::V4(std::net::Ipv4Addr::new(10, 9, a, b))))
            .take(2 * (REGISTER_ALL_BURST + REGISTER_FRESH_BURST) as usize);
        let created = all.filter(|&ip| limits.begin_registration(ip).is_ok()).count();
        assert!(created < (REGISTER_ALL_BURST + REGISTER_FRESH_BURST) as usize, "overall: {created}");
    }

    /// 70 addresses, each registering until refused.
    fn flood(limits: &AuthLimits) {
        for i in 0..70u8 {
            let ip = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 9, i + 1));
            while limits.begin_registration(ip).is_ok() {}
        }
    }

    /// 400 addresses of one IPv6 /64, each registering
    /// until refused, are one address: they take the overall bucket's
    /// tokens that one address may, and one of the fresh reserve at most,
    /// so a classmate on a fresh address still gets in.
    #[test]
    fn the_addresses_of_one_ipv6_64_are_one_fresh_address() {
        let limits = AuthLimits::new(&[]);
        // The overall bucket emptied by a flood from many IPv4 addresses.
        flood(&limits);
        let one_64 = |i: u16| IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 7, 1, 0, 0, i, 1));
        let created = (1..=400).filter(|&i| limits.begin_registration(one_64(i)).is_ok()).count();
        assert!(created <= 1, "one /64 took {created} accounts from the reserve");
        let classmate = IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 9, 9, 0, 0, 0, 1));
        assert!(limits.begin_registration(classmate).is_ok(), "a fresh /64 gets in");
        assert!(limits.begin_registration(IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 8, 9))).is_ok());
    }

    #[test]
    fn a_flood_from_many_addresses_leaves_room_for_a_fresh_one() {
        let limits = AuthLimits::new(&[]);
        flood(&limits);
        let flooder = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 9, 1));
        assert!(limits.begin_registration(flooder).is_err(), "the flood is over its cap");
        let fresh = (1..=5u8).map(|i| IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 8, i)));
        let admitted = fresh.filter(|&ip| limits.begin_registration(ip).is_ok()).count();
        assert_eq!(admitted, 5, "five classmates on fresh addresses");
        // Their second account waits for the overall bucket, as the flood's.
        let again = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 8, 1));
        assert!(limits.begin_registration(again).is_err());
    }

    #[test]
    fn wrong_link_codes_leave_the_passwords_buckets_alone() {
        let limits = AuthLimits::new(&[]);
        // 60 wrong codes from 60 addresses ...
        for i in 0..60u8 {
            let _ = limits.begin_as(true, "ana", IpAddr::V4(std::net::Ipv4Addr::new(10, 3, 0, i + 1)));
        }
        let newcomer = IpAddr::V4(std::net::Ipv4Addr::new(10, 4, 0, 1));
        assert!(limits.begin_as(true, "ana", newcomer).is_err(), "codes are throttled");
        // ... and ana's password from a new address is still checked.
        assert!(limits.begin("ana", newcomer).is_ok());
    }

    #[test]
    fn after_a_restart_a_known_pair_is_let_in_by_its_stored_hash_within_a_bucket() {
        let dir = tempfile::tempdir().unwrap();
        let before = AuthLimits::open(&[], dir.path());
        before.succeeded(before.begin("bob", A).unwrap(), "pw-bob");
        drop(before);
        let limits = AuthLimits::open(&[], dir.path());
        // Known again: a neighbour spraying names at the NAT does not refuse bob.
        for i in 0..ADDR_BURST + 5 {
            let _ = fail(&limits, &format!("u{i}"), A);
        }
        assert!(limits.begin("bob", A).is_ok(), "known: not held by the address's failures");
        // A stranger empties bob's own bucket: past it, each guess is checked
        // against the hash (nothing learned yet), RELEARN_BURST of them.
        while fail(&limits, "bob", A).is_ok() {}
        for _ in 0..RELEARN_BURST {
            assert!(limits.second_chance("bob", A, "guess") == Second::Unlearned);
        }
        assert!(limits.second_chance("bob", A, "pw-bob") == Second::No, "spent");
        // Had bob come first, his login would have learned the password.
        let fresh = AuthLimits::open(&[], dir.path());
        while fail(&fresh, "bob", A).is_ok() {}
        let second = fresh.second_chance("bob", A, "pw-bob");
        assert!(second == Second::Unlearned);
        fresh.let_in("bob", A, "pw-bob", second);
        assert!(fresh.grace("bob", A, "pw-bob"), "recalled cheaply from now on");
        assert!(!fresh.grace("bob", A, "guess"));
    }
}
