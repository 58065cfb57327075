//! Per-session message rate limit: a token bucket per public id.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

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

#[cfg(test)]
mod tests {
    use std::time::Duration;

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
}
