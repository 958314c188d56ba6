//! Token buckets: at most `capacity` tokens at once, refilled at `per_sec`.
//!
//! Every limit on what a client may make the server do is one of these:
//! requests per user (`--rate`) and per address (`--address-rate`), failed logins per account and address,
//! registrations per address and overall (see `auth/mod.rs`). A request takes
//! its tokens *before* the work is done, and an empty bucket answers
//! `KO:RATE_LIMITED` at once, without doing it: so a throttled `LOGIN`
//! hashes nothing, and many connections from one address cannot all start
//! an argon2 hash before the first failure is counted. Work that turns out
//! not to count (a login that succeeds) gives its token back; a login that
//! finds its bucket empty while such work holds the tokens waits for it
//! (`auth::limits`), as only failures may refuse.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// Above this many buckets, full ones (which hold no information) are
/// dropped, so the table cannot grow without bound however many keys
/// (addresses, names) a client makes up.
const PRUNE_ABOVE: usize = 10_000;

pub struct Throttle<K> {
    buckets: Mutex<Buckets<K>>,
    capacity: f64,
    per_sec: f64,
}

struct Buckets<K> {
    map: HashMap<K, Bucket>,
    /// Prune when the table grows past this: twice what was left by the
    /// last pruning (at least [`PRUNE_ABOVE`]), so that a table of buckets
    /// still in use is not scanned again at every request.
    prune_at: usize,
}

#[derive(Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl<K: Hash + Eq> Throttle<K> {
    /// A bucket per key holding up to `capacity` tokens, refilled at
    /// `per_sec` tokens a second.
    pub fn new(capacity: u32, per_sec: f64) -> Throttle<K> {
        let buckets = Buckets { map: HashMap::new(), prune_at: PRUNE_ABOVE };
        Throttle { buckets: Mutex::new(buckets), capacity: f64::from(capacity.max(1)), per_sec }
    }

    /// The bucket of `key`, refilled up to now (a new key starts full).
    fn bucket<'a>(&self, buckets: &'a mut Buckets<K>, key: K, now: Instant) -> &'a mut Bucket {
        if buckets.map.len() > buckets.prune_at {
            let (capacity, per_sec) = (self.capacity, self.per_sec);
            let full =
                |b: &Bucket| b.tokens + now.duration_since(b.updated).as_secs_f64() * per_sec >= capacity;
            buckets.map.retain(|_, b| !full(b));
            buckets.prune_at = (2 * buckets.map.len()).max(PRUNE_ABOVE);
        }
        let bucket = buckets.map.entry(key).or_insert(Bucket { tokens: self.capacity, updated: now });
        // A caller reads the clock before it takes the lock: one that
        // waited for it may bring an instant older than the bucket's,
        // whose time has been refilled already.
        if now > bucket.updated {
            let elapsed = now.duration_since(bucket.updated).as_secs_f64();
            bucket.tokens = (bucket.tokens + elapsed * self.per_sec).min(self.capacity);
            bucket.updated = now;
        }
        bucket
    }

    /// Takes `cost` tokens if there are that many; `Err(wait)` (how long
    /// until there will be) if not, taking nothing. A cost above the
    /// capacity is charged as the capacity (it would never fit otherwise).
    pub fn try_take(&self, key: K, cost: u32) -> Result<(), Duration> {
        self.try_take_at(key, cost, Instant::now())
    }

    /// [`Throttle::try_take`] at the instant `now` (tests give their own
    /// instants: a bucket's arithmetic must not depend on how fast a
    /// shared machine runs them).
    pub fn try_take_at(&self, key: K, cost: u32, now: Instant) -> Result<(), Duration> {
        let cost = f64::from(cost).min(self.capacity);
        let mut buckets = self.buckets.lock();
        let bucket = self.bucket(&mut buckets, key, now);
        if bucket.tokens >= cost {
            bucket.tokens -= cost;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((cost - bucket.tokens) / self.per_sec))
        }
    }

    /// Takes `cost` for work already done: the bucket may go below empty,
    /// down to minus its capacity, and what comes next waits for it.
    pub fn charge(&self, key: K, cost: u32) {
        self.charge_at(key, cost, Instant::now());
    }

    /// [`Throttle::charge`] at the instant `now`.
    pub fn charge_at(&self, key: K, cost: u32, now: Instant) {
        let mut buckets = self.buckets.lock();
        let bucket = self.bucket(&mut buckets, key, now);
        bucket.tokens = (bucket.tokens - f64::from(cost)).max(-self.capacity);
    }

    /// Gives back a token taken by [`Throttle::try_take`] for work that
    /// did not count against the limit after all.
    pub fn give_back(&self, key: K) {
        self.give_back_n(key, 1);
    }

    /// True if `key`'s bucket is full: it took nothing lately, or has
    /// refilled since (a registration's "fresh address", `auth/mod.rs`).
    pub fn is_full(&self, key: &K) -> bool {
        self.available(key) >= self.capacity
    }

    /// The tokens `key` holds now (a key never seen holds all of them).
    pub fn available(&self, key: &K) -> f64 {
        let buckets = self.buckets.lock();
        buckets.map.get(key).map_or(self.capacity, |b| {
            (b.tokens + b.updated.elapsed().as_secs_f64() * self.per_sec).min(self.capacity)
        })
    }

    /// Gives back the `cost` tokens of a [`Throttle::try_take`].
    pub fn give_back_n(&self, key: K, cost: u32) {
        let mut buckets = self.buckets.lock();
        let bucket = self.bucket(&mut buckets, key, Instant::now());
        bucket.tokens = (bucket.tokens + f64::from(cost)).min(self.capacity);
    }
}

/// The key of an address for per-address limits. An IPv6 client usually
/// holds a whole /64 (and can pick any address in it), so IPv6 addresses
/// count by their /64; an IPv4 address in an IPv6 form (mapped, 6to4…:
/// [`super::address::meaning`]) counts as the IPv4 address it stands for.
pub fn address_key(ip: IpAddr) -> IpAddr {
    match super::address::meaning(ip) {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
    }
}

/// The wait of a refusal in whole seconds, rounded up, for a `KO` reason.
pub fn whole_secs(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Threads read the clock before they wait for the lock: one that
    /// waited brings an older instant than the bucket's. Its take refills
    /// nothing, and the time between is not refilled again after it, so
    /// connections of one address flooding at once get no more than the
    /// bucket holds.
    #[test]
    fn a_take_with_an_older_instant_refills_no_time_twice() {
        let throttle = Throttle::new(10, 10.0);
        let t0 = Instant::now();
        let at = |secs: f64| t0 + Duration::from_secs_f64(secs);
        for _ in 0..10 {
            throttle.try_take_at(1, 1, at(0.0)).unwrap();
        }
        throttle.try_take_at(1, 5, at(0.5)).unwrap(); // 5 refilled, 5 taken
        assert!(throttle.try_take_at(1, 1, at(0.25)).is_err(), "empty");
        assert!(throttle.try_take_at(1, 1, at(0.5)).is_err(), "0.25 to 0.5 s refilled a second time");
        throttle.try_take_at(1, 1, at(0.6)).unwrap();
    }

    #[test]
    fn empties_after_capacity_and_refills() {
        let throttle: Throttle<&str> = Throttle::new(3, 1000.0);
        let start = Instant::now();
        for _ in 0..3 {
            assert!(throttle.try_take_at("ana", 1, start).is_ok());
        }
        let wait = throttle.try_take_at("ana", 1, start).unwrap_err();
        assert!(wait.abs_diff(Duration::from_millis(1)) < Duration::from_micros(1), "{wait:?}");
        assert!(throttle.try_take_at("bob", 1, start).is_ok(), "buckets are per key");
        // Half a token later, still none; a token later, one (and only one).
        let half = start + Duration::from_micros(500);
        let wait = throttle.try_take_at("ana", 1, half).unwrap_err();
        assert!(wait.abs_diff(Duration::from_micros(500)) < Duration::from_micros(1), "{wait:?}");
        let later = start + Duration::from_millis(1);
        assert!(throttle.try_take_at("ana", 1, later).is_ok());
        assert!(throttle.try_take_at("ana", 1, later).is_err());
        // Never more than the capacity, however long it waited.
        let much_later = start + Duration::from_secs(60);
        for _ in 0..3 {
            assert!(throttle.try_take_at("ana", 1, much_later).is_ok());
        }
        assert!(throttle.try_take_at("ana", 1, much_later).is_err());
    }

    #[test]
    fn a_charge_after_the_fact_is_waited_for() {
        let t = Throttle::new(10, 10.0);
        let now = Instant::now();
        t.charge_at("ana", 25, now); // 10 there, 15 owed, but never more than the capacity
        assert!(t.try_take_at("ana", 1, now).is_err());
        assert!(t.try_take_at("ana", 1, now + Duration::from_millis(1000)).is_err());
        assert!(t.try_take_at("ana", 1, now + Duration::from_millis(1200)).is_ok());
    }

    #[test]
    fn try_take_spends_only_what_there_is() {
        let throttle: Throttle<usize> = Throttle::new(2, 0.001);
        assert!(throttle.try_take(7, 1).is_ok());
        assert!(throttle.try_take(7, 1).is_ok());
        assert!(throttle.try_take(7, 1).unwrap_err() > Duration::from_secs(100));
        assert!(throttle.try_take(8, 1).is_ok());
    }

    #[test]
    fn costs_above_one_and_above_the_capacity() {
        let throttle: Throttle<u8> = Throttle::new(10, 0.001);
        assert!(throttle.try_take(1, 4).is_ok());
        assert!(throttle.try_take(1, 7).is_err(), "6 left: 7 do not fit, and none are taken");
        assert!(throttle.try_take(1, 6).is_ok());
        assert!(throttle.try_take(2, 50).is_ok(), "a cost above the capacity costs the capacity");
        assert!(throttle.try_take(2, 1).is_err());
    }

    #[test]
    fn a_token_given_back_can_be_taken_again() {
        let throttle: Throttle<u8> = Throttle::new(1, 0.001);
        assert!(throttle.try_take(1, 1).is_ok());
        assert!(throttle.try_take(1, 1).is_err());
        throttle.give_back(1);
        assert!(throttle.try_take(1, 1).is_ok());
        throttle.give_back(2);
        throttle.give_back(2);
        assert!(throttle.try_take(2, 1).is_ok());
        assert!(throttle.try_take(2, 1).is_err(), "never more than the capacity");
    }

    #[test]
    fn a_bucket_is_full_until_it_takes_and_again_once_refilled() {
        let throttle: Throttle<u8> = Throttle::new(2, 1e12);
        assert!(throttle.is_full(&1), "never used");
        throttle.try_take(1, 1).unwrap();
        assert!(throttle.is_full(&1), "refilled within a nanosecond");
        let slow: Throttle<u8> = Throttle::new(2, 0.001);
        slow.try_take(1, 1).unwrap();
        assert!(!slow.is_full(&1) && slow.is_full(&2));
    }

    #[test]
    fn ipv6_addresses_count_by_their_64() {
        let key = |s: &str| address_key(s.parse().unwrap()).to_string();
        assert_eq!(key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::");
        assert_eq!(key("2001:db8:1:2:bbbb::7"), "2001:db8:1:2::");
        assert_eq!(key("::ffff:10.0.0.1"), "10.0.0.1");
        assert_eq!(key("10.0.0.1"), "10.0.0.1");
        // 6to4 gives an IPv4 address a /48 (65,536 /64s): one address still.
        assert_eq!(key("2002:5db8:d70e:1::1"), "93.184.215.14");
        assert_eq!(key("2002:5db8:d70e:ffff::1"), "93.184.215.14");
        assert_eq!(key("::1"), "::");
    }

    #[test]
    fn full_buckets_are_pruned() {
        // Refilled within a nanosecond: every bucket but the newest is full.
        let throttle: Throttle<usize> = Throttle::new(1, 1e12);
        for key in 0..3 * PRUNE_ABOVE {
            throttle.try_take(key, 1).unwrap();
        }
        assert!(throttle.buckets.lock().map.len() <= PRUNE_ABOVE + 1);
        // Buckets still in use are kept (they hold the limit).
        let slow: Throttle<usize> = Throttle::new(1, 0.001);
        for key in 0..3 * PRUNE_ABOVE {
            slow.try_take(key, 1).unwrap();
        }
        assert_eq!(slow.buckets.lock().map.len(), 3 * PRUNE_ABOVE);
        assert!(slow.try_take(0, 1).is_err());
    }
}
