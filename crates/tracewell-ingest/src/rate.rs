//! Per-tenant ingest rate limits: a token bucket per tenant holding up to `burst` spans and refilling at `rate`
//! spans per second. The rate and burst come from the tenant overrides on every request, so an edit applies to
//! the next request; a bucket whose limits changed keeps its tokens (capped at the new burst).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

#[derive(Default)]
pub(crate) struct RateLimiter {
    buckets: Mutex<HashMap<String, Bucket>>,
}

struct Bucket {
    tokens: f64,
    last: Instant,
}

impl RateLimiter {
    /// Takes `spans` tokens from `tenant`'s bucket; `false` (and nothing taken) when it holds fewer.
    pub(crate) fn try_take(
        &self,
        tenant: &str,
        rate: u64,
        burst: u64,
        spans: u64,
        now: Instant,
    ) -> bool {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let bucket = buckets.entry(tenant.to_owned()).or_insert(Bucket {
            tokens: burst as f64,
            last: now,
        });
        let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate as f64).min(burst as f64);
        bucket.last = now;
        if bucket.tokens >= spans as f64 {
            bucket.tokens -= spans as f64;
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
    fn bucket_allows_a_burst_then_refills_at_the_rate() {
        let limiter = RateLimiter::default();
        let t0 = Instant::now();
        assert!(limiter.try_take("a", 10, 20, 20, t0));
        assert!(!limiter.try_take("a", 10, 20, 1, t0));
        assert!(
            limiter.try_take("b", 10, 20, 5, t0),
            "buckets are per tenant"
        );
        let t1 = t0 + Duration::from_millis(500);
        assert!(limiter.try_take("a", 10, 20, 5, t1));
        assert!(!limiter.try_take("a", 10, 20, 1, t1));
        let t2 = t1 + Duration::from_secs(60);
        assert!(
            !limiter.try_take("a", 10, 20, 21, t2),
            "never more than the burst"
        );
        assert!(limiter.try_take("a", 10, 20, 20, t2));
    }
}
