//! Per-session message rate limit: a token bucket per public id. And a cap on failures
//! (wrong room passwords) per key within a window.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::ChatRate;

/// Buckets kept before idle (full) ones are dropped, so the map cannot grow without bound.
const PRUNE_ABOVE: usize = 1024;

pub struct RateLimiter {
    rate: ChatRate,
    buckets: Mutex<HashMap<String, Bucket>>,
}

struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl RateLimiter {
    pub fn new(rate: ChatRate) -> Self {
        RateLimiter {
            rate,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `person`; false when they are sending too fast.
    pub fn allow(&self, person: &str) -> bool {
        self.allow_at(person, Instant::now())
    }

    fn allow_at(&self, person: &str, now: Instant) -> bool {
        let burst = f64::from(self.rate.burst.max(1));
        let per_second = f64::from(self.rate.per_second);
        let refill = |bucket: &Bucket| {
            let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
            (bucket.tokens + elapsed * per_second).min(burst)
        };
        // A bucket is only ever updated under this lock, so it cannot be poisoned halfway.
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() > PRUNE_ABOVE {
            buckets.retain(|_, bucket| refill(bucket) < burst);
        }
        let bucket = buckets.entry(person.to_owned()).or_insert(Bucket {
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
/// oldest failure leaves the window.
pub struct FailureLimit {
    limit: usize,
    window: Duration,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl FailureLimit {
    pub fn new(limit: usize, window: Duration) -> Self {
        FailureLimit {
            limit,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `key` may try again now.
    pub fn allows(&self, key: &str) -> bool {
        self.allows_at(key, Instant::now())
    }

    /// Counts a failure of `key`.
    pub fn failed(&self, key: &str) {
        self.failed_at(key, Instant::now());
    }

    fn allows_at(&self, key: &str, now: Instant) -> bool {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        match failures.get_mut(key) {
            Some(times) => {
                self.forget_old(times, now);
                times.len() < self.limit
            }
            None => true,
        }
    }

    fn failed_at(&self, key: &str, now: Instant) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() > PRUNE_ABOVE {
            failures.retain(|_, times| {
                self.forget_old(times, now);
                !times.is_empty()
            });
        }
        let times = failures.entry(key.to_owned()).or_default();
        self.forget_old(times, now);
        times.push_back(now);
    }

    fn forget_old(&self, times: &mut VecDeque<Instant>, now: Instant) {
        while times
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= self.window)
        {
            times.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_then_refills_at_the_rate() {
        let limiter = RateLimiter::new(ChatRate::per_second(5));
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
        let limit = FailureLimit::new(3, Duration::from_secs(60));
        let start = Instant::now();
        for i in 0..3 {
            assert!(limit.allows_at("a", start), "failure {i} is still allowed");
            limit.failed_at("a", start + Duration::from_secs(i));
        }
        assert!(!limit.allows_at("a", start + Duration::from_secs(10)));
        assert!(limit.allows_at("b", start + Duration::from_secs(10)));
        // The first failure leaves the window a minute after it happened.
        assert!(!limit.allows_at("a", start + Duration::from_millis(59_999)));
        assert!(limit.allows_at("a", start + Duration::from_secs(60)));
    }

    #[test]
    fn keys_with_no_recent_failure_are_dropped_once_there_are_many() {
        let limit = FailureLimit::new(3, Duration::from_secs(60));
        let start = Instant::now();
        for key in 0..=PRUNE_ABOVE {
            limit.failed_at(&key.to_string(), start);
        }
        limit.failed_at("late", start + Duration::from_secs(60));
        let failures = limit.failures.lock().unwrap_or_else(|e| e.into_inner());
        assert_eq!(failures.keys().collect::<Vec<_>>(), ["late"]);
    }
}
