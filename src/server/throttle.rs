//! Token buckets: at most `capacity` events at once, refilled at `per_sec`.
//!
//! Used for failed logins (per user and per address): each failure takes a
//! token, and while a bucket is empty a `LOGIN` is answered
//! `KO:RATE_LIMITED` at once, *without* hashing the password, so guessing
//! is slow and cannot make the server burn its CPU on argon2.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// Above this many buckets, full ones (which hold no information) are
/// dropped, so the table cannot grow without bound.
const PRUNE_ABOVE: usize = 10_000;

pub struct Throttle<K = String> {
    buckets: Mutex<HashMap<K, Bucket>>,
    capacity: f64,
    per_sec: f64,
}

#[derive(Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl<K: Hash + Eq + Clone> Throttle<K> {
    pub fn new(capacity: u32, per_sec: f64) -> Throttle<K> {
        Throttle { buckets: Mutex::new(HashMap::new()), capacity: f64::from(capacity), per_sec }
    }

    fn refill(&self, bucket: &mut Bucket, now: Instant) {
        let elapsed = now.duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_sec).min(self.capacity);
        bucket.updated = now;
    }

    /// `Err(wait)` if `key`'s bucket is empty: how long until it has a token.
    pub fn check<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> Result<(), Duration>
    where
        K: std::borrow::Borrow<Q>,
    {
        let now = Instant::now();
        let mut buckets = self.buckets.lock();
        let Some(bucket) = buckets.get_mut(key) else { return Ok(()) };
        self.refill(bucket, now);
        if bucket.tokens >= 1.0 {
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / self.per_sec))
        }
    }

    /// Takes a token if there is one; `Err(wait)` if the bucket is empty.
    pub fn try_take(&self, key: K) -> Result<(), Duration> {
        let now = Instant::now();
        let mut buckets = self.buckets.lock();
        let bucket = buckets.entry(key).or_insert(Bucket { tokens: self.capacity, updated: now });
        self.refill(bucket, now);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / self.per_sec))
        }
    }

    /// Takes a token from `key`'s bucket (it may go empty).
    pub fn take(&self, key: &str)
    where
        K: From<String>,
    {
        let now = Instant::now();
        let mut buckets = self.buckets.lock();
        if buckets.len() > PRUNE_ABOVE {
            let capacity = self.capacity;
            let per_sec = self.per_sec;
            buckets
                .retain(|_, b| b.tokens + now.duration_since(b.updated).as_secs_f64() * per_sec < capacity);
        }
        let bucket =
            buckets.entry(K::from(key.to_string())).or_insert(Bucket { tokens: self.capacity, updated: now });
        self.refill(bucket, now);
        bucket.tokens = (bucket.tokens - 1.0).max(0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empties_after_capacity_and_refills() {
        let throttle: Throttle = Throttle::new(3, 1000.0);
        for _ in 0..3 {
            assert!(throttle.check("ana").is_ok());
            throttle.take("ana");
        }
        let wait = throttle.check("ana").unwrap_err();
        assert!(wait <= Duration::from_millis(1));
        assert!(throttle.check("bob").is_ok(), "buckets are per key");
        std::thread::sleep(Duration::from_millis(5)); // 5 tokens' worth at 1000/s
        assert!(throttle.check("ana").is_ok());
    }

    #[test]
    fn try_take_spends_only_what_there_is() {
        let throttle: Throttle<usize> = Throttle::new(2, 0.001);
        assert!(throttle.try_take(7).is_ok());
        assert!(throttle.try_take(7).is_ok());
        assert!(throttle.try_take(7).unwrap_err() > Duration::from_secs(100));
        assert!(throttle.try_take(8).is_ok());
    }
}
