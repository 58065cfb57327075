//! Rate limits: a token bucket per key (a session's public id, a client address) for chats
//! and room creation; and a cap on failed attempts (wrong room passwords) per key within a
//! window.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Buckets kept before idle (full) ones are dropped, so the map cannot grow without bound.
const PRUNE_ABOVE: usize = 1024;

pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl RateLimiter {
    /// `per_second` tokens a second, at most `burst` (at least one) saved up.
    pub fn new(per_second: f64, burst: u32) -> Self {
        RateLimiter {
            per_second,
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `key`; false when it is going too fast.
    pub fn allow(&self, key: &str) -> bool {
        self.allow_at(key, Instant::now())
    }

    fn allow_at(&self, key: &str, now: Instant) -> bool {
        let (burst, per_second) = (self.burst, self.per_second);
        let refill = |bucket: &Bucket| {
            let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
            (bucket.tokens + elapsed * per_second).min(burst)
        };
        // A bucket is only ever updated under this lock, so it cannot be poisoned halfway.
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() > PRUNE_ABOVE {
            buckets.retain(|_, bucket| refill(bucket) < burst);
        }
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: burst,
            updated: now,
        });
        bucket.tokens = refill(bucket);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// At most `limit` failures per key within `window`; past that, the key must wait until its
/// oldest failure leaves the window. An attempt counts against the limit from the moment it
/// begins (while it is still being checked), so simultaneous attempts cannot race past it.
pub struct AttemptLimit {
    limit: usize,
    window: Duration,
    keys: Mutex<HashMap<String, Attempts>>,
}

#[derive(Default)]
struct Attempts {
    failures: VecDeque<Instant>,
    /// Attempts begun and not yet known to have failed or succeeded.
    pending: usize,
}

/// An attempt in progress; dropping it without [`Attempt::failed`] (a success, an error, a
/// request that went away) frees its place.
pub struct Attempt<'a> {
    limit: &'a AttemptLimit,
    key: String,
}

impl AttemptLimit {
    pub fn new(limit: usize, window: Duration) -> Self {
        AttemptLimit {
            limit,
            window,
            keys: Mutex::new(HashMap::new()),
        }
    }

    /// Starts an attempt for `key`, unless its failures and the attempts in flight already
    /// reach the limit.
    pub fn begin(&self, key: &str) -> Option<Attempt<'_>> {
        self.begin_at(key, Instant::now())
    }

    fn begin_at(&self, key: &str, now: Instant) -> Option<Attempt<'_>> {
        // Counts are only ever changed under this lock, so it cannot be poisoned halfway.
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        if keys.len() > PRUNE_ABOVE {
            keys.retain(|_, attempts| {
                self.forget_old(&mut attempts.failures, now);
                attempts.pending > 0 || !attempts.failures.is_empty()
            });
        }
        let attempts = keys.entry(key.to_owned()).or_default();
        self.forget_old(&mut attempts.failures, now);
        if attempts.failures.len() + attempts.pending >= self.limit {
            return None;
        }
        attempts.pending += 1;
        Some(Attempt {
            limit: self,
            key: key.to_owned(),
        })
    }

    fn forget_old(&self, times: &mut VecDeque<Instant>, now: Instant) {
        while times
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= self.window)
        {
            times.pop_front();
        }
    }

    fn with_key(&self, key: &str, update: impl FnOnce(&mut Attempts)) {
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(attempts) = keys.get_mut(key) {
            update(attempts);
        }
    }
}

impl Attempt<'_> {
    /// The attempt failed: it keeps its place until it leaves the window.
    pub fn failed(self) {
        self.failed_at(Instant::now());
    }

    fn failed_at(self, now: Instant) {
        self.limit
            .with_key(&self.key, |attempts| attempts.failures.push_back(now));
        // Dropping `self` ends the pending attempt.
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        self.limit.with_key(&self.key, |attempts| {
            attempts.pending = attempts.pending.saturating_sub(1);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_then_refills_at_the_rate() {
        let limiter = RateLimiter::new(5.0, 10);
        let start = Instant::now();
        for _ in 0..10 {
            assert!(limiter.allow_at("a", start));
        }
        assert!(!limiter.allow_at("a", start));
        // Someone else has their own bucket.
        assert!(limiter.allow_at("b", start));
        // 5 per second: one token every 200 ms.
        assert!(limiter.allow_at("a", start + Duration::from_millis(200)));
        assert!(!limiter.allow_at("a", start + Duration::from_millis(250)));
    }

    #[test]
    fn failures_are_capped_within_the_window() {
        let limit = AttemptLimit::new(3, Duration::from_secs(60));
        let start = Instant::now();
        for i in 0..3 {
            let attempt = limit.begin_at("a", start).expect("under the limit");
            attempt.failed_at(start + Duration::from_secs(i));
        }
        assert!(limit
            .begin_at("a", start + Duration::from_secs(10))
            .is_none());
        assert!(limit
            .begin_at("b", start + Duration::from_secs(10))
            .is_some());
        // The first failure leaves the window a minute after it happened.
        assert!(limit
            .begin_at("a", start + Duration::from_millis(59_999))
            .is_none());
        assert!(limit
            .begin_at("a", start + Duration::from_secs(60))
            .is_some());
    }

    #[test]
    fn attempts_in_flight_count_until_they_end() {
        let limit = AttemptLimit::new(3, Duration::from_secs(60));
        let now = Instant::now();
        let first = limit.begin_at("a", now).expect("first");
        let second = limit.begin_at("a", now).expect("second");
        let third = limit.begin_at("a", now).expect("third");
        // Three still being checked: a fourth may not even start.
        assert!(limit.begin_at("a", now).is_none());
        // One succeeds: its place is free again; one fails: it keeps its place.
        drop(first);
        second.failed_at(now);
        let fourth = limit.begin_at("a", now).expect("a place was freed");
        assert!(limit.begin_at("a", now).is_none());
        drop(third);
        drop(fourth);
        let failures = limit.keys.lock().unwrap_or_else(|e| e.into_inner());
        assert_eq!(failures["a"].pending, 0);
        assert_eq!(failures["a"].failures.len(), 1);
    }

    #[test]
    fn keys_with_no_recent_failure_are_dropped_once_there_are_many() {
        let limit = AttemptLimit::new(3, Duration::from_secs(60));
        let start = Instant::now();
        for key in 0..=PRUNE_ABOVE {
            if let Some(attempt) = limit.begin_at(&key.to_string(), start) {
                attempt.failed_at(start);
            }
        }
        let held = limit.begin_at("held", start).expect("under the limit");
        let late = start + Duration::from_secs(60);
        limit
            .begin_at("late", late)
            .expect("under the limit")
            .failed_at(late);
        let keys = limit.keys.lock().unwrap_or_else(|e| e.into_inner());
        let mut kept: Vec<&String> = keys.keys().collect();
        kept.sort();
        // "held" has no failure but an attempt in flight: kept.
        assert_eq!(kept, ["held", "late"]);
        drop(keys);
        drop(held);
    }
}
