//! Samplers: the rate-limiting sampler the OpenTelemetry SDK lacks, and the `OTEL_TRACES_SAMPLER` /
//! `OTEL_TRACES_SAMPLER_ARG` names mapped to samplers with errors that say what was wrong.

use std::sync::Arc;
use std::time::Instant;

use opentelemetry::trace::{Link, SpanKind, TraceContextExt, TraceId};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{Sampler, ShouldSample};
use opentelemetry_sdk::trace::{SamplingDecision, SamplingResult};
use std::sync::Mutex;

/// Samples at most `traces_per_second` new traces per second (a token bucket holding one second of
/// budget, so short bursts up to that many traces pass at once). Use it as the root sampler of a
/// parent-based sampler so that downstream services follow the edge's decision:
/// `Sampler::ParentBased(Box::new(RateLimitingSampler::new(10.0)))`.
#[derive(Clone, Debug)]
pub struct RateLimitingSampler {
    traces_per_second: f64,
    bucket: Arc<Mutex<Bucket>>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    refilled_at: Instant,
}

impl RateLimitingSampler {
    /// A sampler admitting `traces_per_second` traces per second; zero or less samples nothing.
    pub fn new(traces_per_second: f64) -> Self {
        let traces_per_second = if traces_per_second.is_finite() {
            traces_per_second.max(0.0)
        } else {
            0.0
        };
        RateLimitingSampler {
            traces_per_second,
            bucket: Arc::new(Mutex::new(Bucket {
                tokens: if traces_per_second > 0.0 {
                    traces_per_second.max(1.0)
                } else {
                    0.0
                },
                refilled_at: Instant::now(),
            })),
        }
    }

    /// The configured rate.
    pub fn traces_per_second(&self) -> f64 {
        self.traces_per_second
    }

    fn take(&self, now: Instant) -> bool {
        if self.traces_per_second <= 0.0 {
            return false;
        }
        let mut bucket = self.bucket.lock().unwrap_or_else(|e| e.into_inner());
        let elapsed = now
            .saturating_duration_since(bucket.refilled_at)
            .as_secs_f64();
        bucket.refilled_at = now;
        let capacity = self.traces_per_second.max(1.0);
        bucket.tokens = (bucket.tokens + elapsed * self.traces_per_second).min(capacity);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

impl ShouldSample for RateLimitingSampler {
    fn should_sample(
        &self,
        parent_context: Option<&Context>,
        _trace_id: TraceId,
        _name: &str,
        _span_kind: &SpanKind,
        _attributes: &[KeyValue],
        _links: &[Link],
    ) -> SamplingResult {
        let decision = if self.take(Instant::now()) {
            SamplingDecision::RecordAndSample
        } else {
            SamplingDecision::Drop
        };
        SamplingResult {
            decision,
            attributes: Vec::new(),
            trace_state: parent_context
                .map(|cx| cx.span().span_context().trace_state().clone())
                .unwrap_or_default(),
        }
    }
}

/// What is wrong with a sampler name or argument.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SamplerError {
    #[error("unknown sampler {0:?}: expected always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio, ratelimiting or parentbased_ratelimiting")]
    Unknown(String),
    #[error("sampler {sampler} needs a ratio between 0 and 1 as its argument, got {arg:?}")]
    BadRatio { sampler: String, arg: String },
    #[error("sampler {sampler} needs a number of traces per second (0 or more) as its argument, got {arg:?}")]
    BadRate { sampler: String, arg: String },
}

/// The sampler called `name` (the `OTEL_TRACES_SAMPLER` names, plus `ratelimiting` and
/// `parentbased_ratelimiting` whose argument is traces per second). A missing ratio means 1.0 and a
/// missing rate means 10 traces per second, as the OpenTelemetry specification and Jaeger do.
pub fn sampler_from_name(
    name: &str,
    arg: Option<&str>,
) -> Result<Box<dyn ShouldSample>, SamplerError> {
    let arg = arg.map(str::trim).filter(|a| !a.is_empty());
    let ratio = || -> Result<f64, SamplerError> {
        match arg {
            None => Ok(1.0),
            Some(a) => a
                .parse::<f64>()
                .ok()
                .filter(|r| (0.0..=1.0).contains(r))
                .ok_or_else(|| SamplerError::BadRatio {
                    sampler: name.to_string(),
                    arg: a.to_string(),
                }),
        }
    };
    let rate = || -> Result<RateLimitingSampler, SamplerError> {
        match arg {
            None => Ok(RateLimitingSampler::new(10.0)),
            Some(a) => a
                .parse::<f64>()
                .ok()
                .filter(|r| r.is_finite() && *r >= 0.0)
                .map(RateLimitingSampler::new)
                .ok_or_else(|| SamplerError::BadRate {
                    sampler: name.to_string(),
                    arg: a.to_string(),
                }),
        }
    };
    Ok(match name.trim() {
        "always_on" => Box::new(Sampler::AlwaysOn),
        "always_off" => Box::new(Sampler::AlwaysOff),
        "traceidratio" => Box::new(Sampler::TraceIdRatioBased(ratio()?)),
        "parentbased_always_on" => Box::new(Sampler::ParentBased(Box::new(Sampler::AlwaysOn))),
        "parentbased_always_off" => Box::new(Sampler::ParentBased(Box::new(Sampler::AlwaysOff))),
        "parentbased_traceidratio" => Box::new(Sampler::ParentBased(Box::new(
            Sampler::TraceIdRatioBased(ratio()?),
        ))),
        "ratelimiting" => Box::new(rate()?),
        "parentbased_ratelimiting" => Box::new(Sampler::ParentBased(Box::new(rate()?))),
        other => return Err(SamplerError::Unknown(other.to_string())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn sampled(s: &dyn ShouldSample) -> bool {
        let r = s.should_sample(None, TraceId::from(7u128), "x", &SpanKind::Server, &[], &[]);
        r.decision == SamplingDecision::RecordAndSample
    }

    #[test]
    fn rate_limiter_admits_the_budget_then_refills_with_time() {
        let s = RateLimitingSampler::new(5.0);
        let start = Instant::now();
        let admitted = (0..20).filter(|_| s.take(start)).count();
        assert_eq!(admitted, 5, "one second of budget at once");
        assert!(
            !s.take(start + Duration::from_millis(100)),
            "0.5 tokens is not a trace"
        );
        assert!(
            s.take(start + Duration::from_millis(250)),
            "1.25 tokens after 250 ms"
        );
        assert!(!s.take(start + Duration::from_millis(260)));
        // A long pause never stores more than one second of budget.
        let later = start + Duration::from_secs(60);
        assert_eq!((0..20).filter(|_| s.take(later)).count(), 5);
    }

    #[test]
    fn fractional_and_zero_rates() {
        let s = RateLimitingSampler::new(0.5);
        let start = Instant::now();
        assert!(s.take(start));
        assert!(!s.take(start + Duration::from_secs(1)));
        assert!(s.take(start + Duration::from_secs(2)));
        let never = RateLimitingSampler::new(0.0);
        assert!(!sampled(&never));
        assert!(!sampled(&RateLimitingSampler::new(f64::NAN)));
    }

    #[test]
    fn names_map_to_samplers_and_bad_arguments_are_named() {
        assert!(sampled(&*sampler_from_name("always_on", None).unwrap()));
        assert!(!sampled(&*sampler_from_name("always_off", None).unwrap()));
        assert!(sampled(
            &*sampler_from_name("traceidratio", Some("1")).unwrap()
        ));
        assert!(!sampled(
            &*sampler_from_name("parentbased_traceidratio", Some("0")).unwrap()
        ));
        assert!(sampled(
            &*sampler_from_name("parentbased_ratelimiting", Some("3")).unwrap()
        ));
        assert!(!sampled(
            &*sampler_from_name("ratelimiting", Some("0")).unwrap()
        ));
        assert_eq!(
            sampler_from_name("traceidratio", Some("1.5")).err(),
            Some(SamplerError::BadRatio {
                sampler: "traceidratio".into(),
                arg: "1.5".into()
            })
        );
        assert_eq!(
            sampler_from_name("ratelimiting", Some("-1")).err(),
            Some(SamplerError::BadRate {
                sampler: "ratelimiting".into(),
                arg: "-1".into()
            })
        );
        assert_eq!(
            sampler_from_name("xray", None).err(),
            Some(SamplerError::Unknown("xray".into()))
        );
    }
}
