//! Per-token rate limiting: a token bucket per token holding up to one minute of
//! requests, refilled continuously. In memory per replica, which is what a limiter
//! protecting this process needs.

use dbplane_domain::ServiceTokenId;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

struct Bucket {
    tokens: f64,
    refilled_at: Instant,
}

/// Token-bucket limiter keyed by service token.
pub struct RateLimiter {
    capacity: f64,
    per_second: f64,
    buckets: Mutex<HashMap<ServiceTokenId, Bucket>>,
}

impl RateLimiter {
    pub fn new(requests_per_minute: u32) -> Self {
        Self {
            capacity: f64::from(requests_per_minute),
            per_second: f64::from(requests_per_minute) / 60.0,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from the token's bucket; `Err(seconds)` says when to retry.
    pub fn check(&self, token: &ServiceTokenId) -> Result<(), u64> {
        self.check_at(token, Instant::now())
    }

    fn check_at(&self, token: &ServiceTokenId, now: Instant) -> Result<(), u64> {
        let mut buckets = self
            .buckets
            .lock()
            .expect("rate limiter lock is never poisoned: no panics while held");
        let bucket = buckets.entry(token.clone()).or_insert(Bucket {
            tokens: self.capacity,
            refilled_at: now,
        });
        let elapsed = now
            .saturating_duration_since(bucket.refilled_at)
            .as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.capacity);
        bucket.refilled_at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / self.per_second;
            Err(wait.ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn allows_a_minute_of_requests_then_refills() {
        let limiter = RateLimiter::new(60);
        let token = ServiceTokenId::generate();
        let start = Instant::now();
        for _ in 0..60 {
            assert!(limiter.check_at(&token, start).is_ok());
        }
        assert_eq!(limiter.check_at(&token, start), Err(1));
        assert!(
            limiter
                .check_at(&token, start + Duration::from_millis(1100))
                .is_ok()
        );
        // Another token has its own bucket.
        assert!(limiter.check_at(&ServiceTokenId::generate(), start).is_ok());
    }
}
