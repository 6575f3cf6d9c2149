//! The tail-sampling policies file (`--tail-sampling FILE`): parsing, validation and evaluating one tenant's
//! policies on a whole trace.
//!
//! ```toml
//! [all]                          # tenants without a table of their own
//! [[all.policies]]
//! name = "errors"
//! errors = true                  # keep traces with a span whose status is ERROR
//! [[all.policies]]
//! name = "slow-checkout"
//! slower_than = "2s"             # keep traces with a span this slow...
//! service = "checkout"           # ...of this service (optional)...
//! operation = "POST /orders"     # ...and operation (optional)
//! [[all.policies]]
//! name = "slowest-percent"
//! slower_than_percentile = 99    # keep traces with a span slower than its operation's p99 in the same head
//! service = "checkout"           # (service and operation narrow it, as for slower_than)
//! [[all.policies]]
//! name = "gold-customers"
//! attribute = "customer.tier"    # keep traces with a span or resource attribute
//! values = ["gold", "platinum"]  # ...equal to one of these (any value when absent)
//! [[all.policies]]
//! name = "per-service"
//! traces_per_second = 2          # keep up to this many traces per second per root service
//! [[all.policies]]
//! name = "one-percent"
//! probability = 0.01             # keep this share of the rest, by trace id (deterministic)
//!
//! [tenants.shop]                 # replaces [all] for tenant "shop"
//! decision_cache = 100000        # decisions remembered for late spans (default 100000)
//! [[tenants.shop.policies]]
//! name = "everything"
//! probability = 1.0
//! ```
//!
//! A trace is kept when any policy keeps it, and the first such policy is the one counted; a tenant without
//! policies keeps everything. Each policy has exactly one condition.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use tracewell_model::{parse_duration, AttrValue, Attribute, Span, StatusCode, TraceId};

use crate::rollup::{Histogram, Rollup};

/// Why a tail-sampling file was refused.
#[derive(Debug, thiserror::Error)]
pub enum SamplingError {
    #[error("cannot read tail-sampling policies {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("tail-sampling policies {path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawFile {
    all: Option<RawTenant>,
    #[serde(default)]
    tenants: BTreeMap<String, RawTenant>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTenant {
    #[serde(default)]
    policies: Vec<RawPolicy>,
    decision_cache: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    name: String,
    errors: Option<bool>,
    slower_than: Option<String>,
    slower_than_percentile: Option<f64>,
    service: Option<String>,
    operation: Option<String>,
    attribute: Option<String>,
    values: Option<Vec<String>>,
    traces_per_second: Option<f64>,
    probability: Option<f64>,
}

/// What a policy keeps.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// Traces with a span whose status is ERROR.
    Errors,
    /// Traces with a span at least this slow, of the service and operation when given.
    SlowerThan {
        threshold: Duration,
        service: Option<String>,
        operation: Option<String>,
    },
    /// Traces with a span at least as slow as the `percentile` (0–100, exclusive) of its own service and operation's
    /// durations in the same head (all spans before sampling, from the head's rollup, whose log buckets place
    /// the threshold within 2% of a true duration), of the service and operation when given. An operation with too few spans for the percentile to mean anything
    /// ([`Baseline::MIN_SAMPLES_FACTOR`]) keeps nothing by this policy.
    SlowerThanPercentile {
        percentile: f64,
        service: Option<String>,
        operation: Option<String>,
    },
    /// Traces with a span or resource attribute of this key, equal to one of `values` when any are given.
    Attribute { key: String, values: Vec<String> },
    /// Up to this many traces per second of each root service.
    TracesPerSecond(f64),
    /// This share of traces, chosen by trace id.
    Probability(f64),
}

/// A named condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub name: String,
    pub condition: Condition,
}

/// One tenant's policies.
#[derive(Debug, Clone, PartialEq)]
pub struct TenantPolicies {
    pub policies: Vec<Policy>,
    /// Decisions remembered so late spans of a decided trace follow its decision.
    pub decision_cache: usize,
}

/// Default of `decision_cache`.
pub const DEFAULT_DECISION_CACHE: usize = 100_000;

/// The parsed file. The default samples nothing (every trace is kept).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SamplingPolicies {
    all: Option<TenantPolicies>,
    tenants: BTreeMap<String, TenantPolicies>,
}

fn policy(raw: RawPolicy) -> Result<Policy, String> {
    let RawPolicy {
        name,
        errors,
        slower_than,
        slower_than_percentile,
        service,
        operation,
        attribute,
        values,
        traces_per_second,
        probability,
    } = raw;
    let given = [
        errors.is_some(),
        slower_than.is_some(),
        slower_than_percentile.is_some(),
        attribute.is_some(),
        traces_per_second.is_some(),
        probability.is_some(),
    ]
    .into_iter()
    .filter(|g| *g)
    .count();
    if given != 1 {
        return Err(format!(
            "policy {name:?}: needs exactly one of errors, slower_than, slower_than_percentile, attribute, \
             traces_per_second, probability (found {given})"
        ));
    }
    if (service.is_some() || operation.is_some())
        && slower_than.is_none()
        && slower_than_percentile.is_none()
    {
        return Err(format!(
            "policy {name:?}: service and operation go with slower_than or slower_than_percentile"
        ));
    }
    if values.is_some() && attribute.is_none() {
        return Err(format!("policy {name:?}: values go with attribute"));
    }
    let condition = if let Some(errors) = errors {
        if !errors {
            return Err(format!(
                "policy {name:?}: errors = false keeps nothing; remove the policy"
            ));
        }
        Condition::Errors
    } else if let Some(text) = slower_than {
        Condition::SlowerThan {
            threshold: parse_duration(&text)
                .map_err(|e| format!("policy {name:?}: slower_than: {e}"))?,
            service,
            operation,
        }
    } else if let Some(percentile) = slower_than_percentile {
        if !(percentile > 0.0 && percentile < 100.0) {
            return Err(format!(
                "policy {name:?}: slower_than_percentile must be between 0 and 100 (exclusive), got {percentile}"
            ));
        }
        Condition::SlowerThanPercentile {
            percentile,
            service,
            operation,
        }
    } else if let Some(key) = attribute {
        Condition::Attribute {
            key,
            values: values.unwrap_or_default(),
        }
    } else if let Some(rate) = traces_per_second {
        if !(rate.is_finite() && rate > 0.0) {
            return Err(format!(
                "policy {name:?}: traces_per_second must be above 0, got {rate}"
            ));
        }
        Condition::TracesPerSecond(rate)
    } else {
        let p = probability.unwrap_or_default();
        if !(0.0..=1.0).contains(&p) {
            return Err(format!(
                "policy {name:?}: probability must be between 0 and 1, got {p}"
            ));
        }
        Condition::Probability(p)
    };
    Ok(Policy { name, condition })
}

fn tenant(raw: RawTenant) -> Result<TenantPolicies, String> {
    let policies = raw
        .policies
        .into_iter()
        .map(policy)
        .collect::<Result<Vec<_>, _>>()?;
    let decision_cache = raw.decision_cache.unwrap_or(DEFAULT_DECISION_CACHE);
    if decision_cache == 0 {
        return Err("decision_cache must be at least 1".into());
    }
    Ok(TenantPolicies {
        policies,
        decision_cache,
    })
}

impl SamplingPolicies {
    pub fn parse(text: &str, path: &Path) -> Result<Self, SamplingError> {
        let invalid = |message: String| SamplingError::Invalid {
            path: path.to_owned(),
            message,
        };
        let raw: RawFile = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let all = raw
            .all
            .map(tenant)
            .transpose()
            .map_err(|e| invalid(format!("[all] {e}")))?;
        let mut tenants = BTreeMap::new();
        for (name, t) in raw.tenants {
            let parsed = tenant(t).map_err(|e| invalid(format!("[tenants.{name}] {e}")))?;
            tenants.insert(name, parsed);
        }
        Ok(Self { all, tenants })
    }

    pub fn load(path: &Path) -> Result<Self, SamplingError> {
        let text = std::fs::read_to_string(path).map_err(|source| SamplingError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// The policies of `tenant`, if its traces are sampled.
    pub fn for_tenant(&self, tenant: &str) -> Option<&TenantPolicies> {
        self.tenants
            .get(tenant)
            .or(self.all.as_ref())
            .filter(|t| !t.policies.is_empty())
    }

    pub fn is_empty(&self) -> bool {
        self.all.as_ref().is_none_or(|t| t.policies.is_empty())
            && self.tenants.values().all(|t| t.policies.is_empty())
    }
}

fn value_is(value: &AttrValue, wanted: &str) -> bool {
    match value {
        AttrValue::Str(s) => s == wanted,
        AttrValue::Int(i) => wanted.parse() == Ok(*i),
        AttrValue::Bool(b) => wanted.parse() == Ok(*b),
        AttrValue::Double(d) => wanted.parse() == Ok(*d),
        AttrValue::Array(items) => items.iter().any(|v| value_is(v, wanted)),
        _ => false,
    }
}

fn has_attribute(attributes: &[Attribute], key: &str, values: &[String]) -> bool {
    attributes
        .iter()
        .filter(|a| a.key == key)
        .any(|a| values.is_empty() || values.iter().any(|v| value_is(&a.value, v)))
}

/// A number in [0, 1) from a trace id, the same for every span and every process: its last 8 bytes (random in
/// W3C trace ids).
pub fn trace_fraction(id: &TraceId) -> f64 {
    let tail = u64::from_be_bytes(id.0[8..16].try_into().expect("8 bytes"));
    (tail >> 11) as f64 / (1u64 << 53) as f64
}

/// The service of a trace's root span (or of its earliest span when the root is not here).
pub fn root_service(spans: &[Span]) -> &str {
    spans
        .iter()
        .find(|s| s.parent_span_id.is_none())
        .or_else(|| spans.iter().min_by_key(|s| s.start_unix_nano))
        .map_or("", |s| s.service_name())
}

/// Span durations per service and operation in the window being decided (a head's rollup), for percentile
/// thresholds.
#[derive(Debug, Default)]
pub struct Baseline {
    durations: HashMap<(String, String), Histogram>,
}

impl Baseline {
    /// An operation needs at least this many spans per unit of `1 - percentile/100` for a threshold: 10 for the
    /// median, 100 for p90, 1000 for p99.
    pub const MIN_SAMPLES_FACTOR: f64 = 10.0;

    /// The durations of every (service, operation) in `rollup`, whatever the minute, kind or status.
    pub fn from_rollup(rollup: &Rollup) -> Self {
        let mut durations: HashMap<(String, String), Histogram> = HashMap::new();
        for (key, stats) in rollup.red() {
            durations
                .entry((key.service.clone(), key.operation.clone()))
                .or_default()
                .merge(&stats.histogram);
        }
        Baseline { durations }
    }

    /// Counts one span's duration (for tests and callers without a rollup).
    pub fn record(&mut self, service: &str, operation: &str, duration_nano: u64) {
        self.durations
            .entry((service.to_owned(), operation.to_owned()))
            .or_default()
            .record(duration_nano);
    }

    /// The `percentile` of `service`'s `operation`, in nanoseconds, when it has spans enough.
    pub fn threshold(&self, service: &str, operation: &str, percentile: f64) -> Option<u64> {
        let histogram = self
            .durations
            .get(&(service.to_owned(), operation.to_owned()))?;
        let needed = Self::MIN_SAMPLES_FACTOR / (1.0 - percentile / 100.0);
        if (histogram.count() as f64) < needed {
            return None;
        }
        histogram.quantile(percentile / 100.0).map(|q| q as u64)
    }
}

impl Condition {
    /// Whether the condition holds for a whole trace; `TracesPerSecond` holds for every trace (its budget is
    /// applied by the caller). `baseline` holds the durations percentile conditions compare with.
    pub fn holds(&self, id: &TraceId, spans: &[Span], baseline: &Baseline) -> bool {
        match self {
            Self::Errors => spans.iter().any(|s| s.status.code == StatusCode::Error),
            Self::SlowerThan {
                threshold,
                service,
                operation,
            } => spans.iter().any(|s| {
                s.duration_nano() >= threshold.as_nanos() as u64
                    && service.as_deref().is_none_or(|x| x == s.service_name())
                    && operation.as_deref().is_none_or(|x| x == s.name)
            }),
            Self::SlowerThanPercentile {
                percentile,
                service,
                operation,
            } => spans.iter().any(|s| {
                service.as_deref().is_none_or(|x| x == s.service_name())
                    && operation.as_deref().is_none_or(|x| x == s.name)
                    && baseline
                        .threshold(s.service_name(), &s.name, *percentile)
                        .is_some_and(|t| s.duration_nano() >= t)
            }),
            Self::Attribute { key, values } => spans.iter().any(|s| {
                has_attribute(&s.attributes, key, values)
                    || has_attribute(&s.resource.attributes, key, values)
            }),
            Self::TracesPerSecond(_) => true,
            Self::Probability(p) => trace_fraction(id) < *p,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<SamplingPolicies, String> {
        SamplingPolicies::parse(text, Path::new("s.toml")).map_err(|e| e.to_string())
    }

    #[test]
    fn tenants_replace_the_policies_of_all() {
        let p = parse(
            "[all]\n[[all.policies]]\nname = 'e'\nerrors = true\n\
             [tenants.shop]\ndecision_cache = 10\n[[tenants.shop.policies]]\nname = 'half'\nprobability = 0.5\n",
        )
        .unwrap();
        let shop = p.for_tenant("shop").unwrap();
        assert_eq!(shop.policies[0].condition, Condition::Probability(0.5));
        assert_eq!(shop.decision_cache, 10);
        assert_eq!(
            p.for_tenant("other").unwrap().policies[0].condition,
            Condition::Errors
        );
        assert!(parse("").unwrap().for_tenant("shop").is_none());
    }

    #[test]
    fn errors_name_the_tenant_and_policy() {
        let err =
            parse("[[all.policies]]\nname = 'x'\nerrors = true\nprobability = 0.1\n").unwrap_err();
        assert!(
            err.contains("[all] policy \"x\": needs exactly one of"),
            "{err}"
        );
        let err = parse("[[tenants.t.policies]]\nname = 'p'\nprobability = 2.0\n").unwrap_err();
        assert!(
            err.contains("[tenants.t] policy \"p\": probability must be between 0 and 1, got 2"),
            "{err}"
        );
        let err = parse("[[all.policies]]\nname = 's'\nslower_than = 'soon'\n").unwrap_err();
        assert!(err.contains("policy \"s\": slower_than"), "{err}");
        let err =
            parse("[[all.policies]]\nname = 's'\nerrors = true\nservice = 'a'\n").unwrap_err();
        assert!(
            err.contains("service and operation go with slower_than"),
            "{err}"
        );
        let err =
            parse("[[all.policies]]\nname = 'p'\nslower_than_percentile = 100\n").unwrap_err();
        assert!(
            err.contains("slower_than_percentile must be between 0 and 100 (exclusive), got 100"),
            "{err}"
        );
        let err = parse("[[all.policies]]\nname = 'r'\ntraces_per_second = 0\n").unwrap_err();
        assert!(err.contains("traces_per_second must be above 0"), "{err}");
        let err = parse("[[all.policies]]\nnom = 'r'\n").unwrap_err();
        assert!(err.contains("unknown field `nom`"), "{err}");
    }

    #[test]
    fn trace_fraction_spreads_evenly() {
        let below = (0..10_000u32)
            .filter(|i| {
                let mut id = [0u8; 16];
                id[8..12].copy_from_slice(&i.wrapping_mul(2_654_435_761).to_be_bytes());
                id[12..16].copy_from_slice(&i.to_le_bytes());
                trace_fraction(&TraceId(id)) < 0.25
            })
            .count();
        assert!((2_200..2_800).contains(&below), "{below}");
    }
}
