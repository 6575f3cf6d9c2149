//! The rules file (`--alert-rules`, TOML): threshold rules on RED figures, finding rules on insights, and the
//! webhook notifiers. Everything is validated when the file is read; errors name the rule and the key.
//!
//! ```toml
//! [[rules]]
//! name = "payments errors"
//! service = "payments"          # required for threshold rules
//! operation = "POST /charges"   # optional: every entry operation of the service when absent
//! metric = "error_rate"         # error_rate | p50 | p90 | p99 (milliseconds) | rate (per second) | rate_drop
//! above = 0.05                  # or below = ...
//! window = "2m"                 # figures over the last 2 minutes
//! for = "1m"                    # the condition must hold this long before firing
//! min_requests = 10             # fewer requests in the window never fire
//! labels = { severity = "page" }
//!
//! [[rules]]
//! name = "new regression"
//! finding = "any"               # or a finding kind: latency, errors, n_plus_one, ...
//! min_score = 50
//!
//! [[notifiers]]
//! name = "oncall"
//! url = "http://alertmanager:9093/api/v2/alerts"
//! format = "alertmanager"       # or "json"
//! ```

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use tracewell_model::{parse_duration, TenantId};
use tracewell_query::FindingKind;

#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

/// A RED figure a threshold rule watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    ErrorRate,
    P50,
    P90,
    P99,
    Rate,
    /// `1 - rate / baseline rate` (the share of traffic lost against the 30 minutes before the window).
    RateDrop,
}

impl Metric {
    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "error_rate" => Self::ErrorRate,
            "p50" => Self::P50,
            "p90" => Self::P90,
            "p99" => Self::P99,
            "rate" => Self::Rate,
            "rate_drop" => Self::RateDrop,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ErrorRate => "error_rate",
            Self::P50 => "p50",
            Self::P90 => "p90",
            Self::P99 => "p99",
            Self::Rate => "rate",
            Self::RateDrop => "rate_drop",
        }
    }
}

/// What a rule checks.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Threshold {
        service: String,
        operation: Option<String>,
        metric: Metric,
        /// `true`: fire above `value`; `false`: below.
        above: bool,
        value: f64,
        window: Duration,
        min_requests: u64,
    },
    Finding {
        /// `None`: any kind.
        kind: Option<FindingKind>,
        service: Option<String>,
        min_score: f64,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub name: String,
    pub tenant: TenantId,
    pub condition: Condition,
    /// How long the condition must hold before the rule fires.
    pub for_duration: Duration,
    /// How long a firing rule's condition must stay false before it resolves (suppresses flapping).
    pub keep_firing_for: Duration,
    pub labels: BTreeMap<String, String>,
}

impl Rule {
    /// A one-line description of the condition.
    pub fn describe(&self) -> String {
        let hold = if self.for_duration.is_zero() {
            String::new()
        } else {
            format!(" for {}", fmt_duration(self.for_duration))
        };
        match &self.condition {
            Condition::Threshold {
                service,
                operation,
                metric,
                above,
                value,
                window,
                ..
            } => format!(
                "{} of {}{} over {} {} {value}{hold}",
                metric.as_str(),
                service,
                operation
                    .as_deref()
                    .map(|o| format!(" {o}"))
                    .unwrap_or_default(),
                fmt_duration(*window),
                if *above { ">" } else { "<" },
            ),
            Condition::Finding {
                kind,
                service,
                min_score,
            } => format!(
                "a {} finding{} with score ≥ {min_score}{hold}",
                kind.map(|k| k.as_str()).unwrap_or("any"),
                service
                    .as_deref()
                    .map(|s| format!(" involving {s}"))
                    .unwrap_or_default(),
            ),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self.condition {
            Condition::Threshold { .. } => "threshold",
            Condition::Finding { .. } => "finding",
        }
    }
}

/// Body shape of a notifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `{"status", "rule", "labels", "value", "summary", "exemplars", "finding", ...}`.
    Json,
    /// A list of alerts as Alertmanager's `POST /api/v2/alerts` takes them.
    Alertmanager,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Alertmanager => "alertmanager",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NotifierConfig {
    pub name: String,
    pub url: String,
    pub format: Format,
    pub headers: BTreeMap<String, String>,
    pub timeout: Duration,
    /// Notifications waiting at most; more are dropped (and counted).
    pub max_queue: usize,
    /// Delivery attempts per notification, with doubling backoff between them.
    pub max_attempts: u32,
    pub initial_backoff: Duration,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct RulesFile {
    pub rules: Vec<Rule>,
    pub notifiers: Vec<NotifierConfig>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    rules: Vec<RawRule>,
    #[serde(default)]
    notifiers: Vec<RawNotifier>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: String,
    tenant: Option<String>,
    service: Option<String>,
    operation: Option<String>,
    metric: Option<String>,
    above: Option<f64>,
    below: Option<f64>,
    window: Option<String>,
    min_requests: Option<u64>,
    finding: Option<String>,
    min_score: Option<f64>,
    #[serde(rename = "for")]
    for_duration: Option<String>,
    keep_firing_for: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNotifier {
    name: String,
    url: String,
    format: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    timeout: Option<String>,
    max_queue: Option<usize>,
    max_attempts: Option<u32>,
    initial_backoff: Option<String>,
}

fn duration(text: Option<&str>, default: Duration, what: &str) -> Result<Duration, String> {
    match text {
        None => Ok(default),
        Some(t) => parse_duration(t).map_err(|e| format!("{what}: {e}")),
    }
}

pub(crate) fn fmt_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s > 0 && s.is_multiple_of(3600) {
        format!("{}h", s / 3600)
    } else if s > 0 && s.is_multiple_of(60) {
        format!("{}m", s / 60)
    } else {
        format!("{}s", d.as_secs_f64())
    }
}

impl RulesFile {
    pub fn load(path: &Path) -> Result<Self, RulesError> {
        let text = std::fs::read_to_string(path).map_err(|source| RulesError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text).map_err(|message| RulesError::Invalid {
            path: path.display().to_string(),
            message,
        })
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let raw: RawFile = toml::from_str(text).map_err(|e| e.message().to_owned())?;
        let mut names = std::collections::HashSet::new();
        let mut rules = Vec::new();
        for r in raw.rules {
            if r.name.trim().is_empty() {
                return Err("a rule has an empty name".into());
            }
            if !names.insert(r.name.clone()) {
                return Err(format!("rule {:?} is defined twice", r.name));
            }
            rules.push(rule(r.name.clone(), r).map_err(|(name, e)| format!("rule {name:?}: {e}"))?);
        }
        let mut notifiers = Vec::new();
        for n in raw.notifiers {
            let name = n.name.clone();
            notifiers.push(notifier(n).map_err(|e| format!("notifier {name:?}: {e}"))?);
        }
        Ok(Self { rules, notifiers })
    }
}

fn rule(name: String, r: RawRule) -> Result<Rule, (String, String)> {
    let fail = |m: String| (name.clone(), m);
    let tenant = match &r.tenant {
        Some(t) => TenantId::new(t).map_err(|e| fail(format!("tenant: {e}")))?,
        None => TenantId::default_tenant(),
    };
    let for_duration = duration(r.for_duration.as_deref(), Duration::ZERO, "for").map_err(&fail)?;
    let keep_firing_for = duration(
        r.keep_firing_for.as_deref(),
        Duration::from_secs(60),
        "keep_firing_for",
    )
    .map_err(&fail)?;
    let condition = match (&r.metric, &r.finding) {
        (Some(_), Some(_)) => {
            return Err(fail(
                "has both metric and finding; a rule is one or the other".into(),
            ))
        }
        (None, None) => return Err(fail("needs a metric (threshold rule) or a finding".into())),
        (Some(metric), None) => {
            let metric = Metric::parse(metric).ok_or_else(|| {
                fail(format!(
                    "metric {metric:?} is not one of error_rate, p50, p90, p99, rate, rate_drop"
                ))
            })?;
            let service = r
                .service
                .clone()
                .filter(|s| !s.is_empty())
                .ok_or_else(|| fail("a threshold rule needs a service".into()))?;
            let (above, value) = match (r.above, r.below) {
                (Some(v), None) => (true, v),
                (None, Some(v)) => (false, v),
                _ => return Err(fail("needs exactly one of above and below".into())),
            };
            if !value.is_finite() {
                return Err(fail("the threshold must be a finite number".into()));
            }
            let window =
                duration(r.window.as_deref(), Duration::from_secs(120), "window").map_err(&fail)?;
            if window < Duration::from_secs(60) {
                return Err(fail(
                    "window must be at least 1m (rollups are per minute)".into(),
                ));
            }
            if r.min_score.is_some() {
                return Err(fail("min_score belongs to finding rules".into()));
            }
            Condition::Threshold {
                service,
                operation: r.operation.clone().filter(|o| !o.is_empty()),
                metric,
                above,
                value,
                window,
                min_requests: r.min_requests.unwrap_or(10),
            }
        }
        (None, Some(kind)) => {
            let kind = match kind.as_str() {
                "any" => None,
                other => Some(FindingKind::parse(other).ok_or_else(|| {
                    fail(format!(
                        "finding {other:?} is not \"any\" or a finding kind"
                    ))
                })?),
            };
            if r.above.is_some() || r.below.is_some() || r.window.is_some() {
                return Err(fail(
                    "above, below and window belong to threshold rules".into(),
                ));
            }
            let min_score = r.min_score.unwrap_or(50.0);
            if !(0.0..=100.0).contains(&min_score) {
                return Err(fail("min_score must be between 0 and 100".into()));
            }
            Condition::Finding {
                kind,
                service: r.service.clone().filter(|s| !s.is_empty()),
                min_score,
            }
        }
    };
    Ok(Rule {
        name,
        tenant,
        condition,
        for_duration,
        keep_firing_for,
        labels: r.labels,
    })
}

fn notifier(n: RawNotifier) -> Result<NotifierConfig, String> {
    let url = reqwest::Url::parse(&n.url).map_err(|e| format!("url {:?}: {e}", n.url))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("url {:?} is not http(s)", n.url));
    }
    let format = match n.format.as_deref().unwrap_or("json") {
        "json" => Format::Json,
        "alertmanager" => Format::Alertmanager,
        other => return Err(format!("format {other:?} is not json or alertmanager")),
    };
    let max_queue = n.max_queue.unwrap_or(1000);
    let max_attempts = n.max_attempts.unwrap_or(5);
    if max_queue == 0 || max_attempts == 0 {
        return Err("max_queue and max_attempts must be greater than 0".into());
    }
    Ok(NotifierConfig {
        name: n.name,
        url: n.url,
        format,
        headers: n.headers,
        timeout: duration(n.timeout.as_deref(), Duration::from_secs(5), "timeout")?,
        max_queue,
        max_attempts,
        initial_backoff: duration(
            n.initial_backoff.as_deref(),
            Duration::from_millis(500),
            "initial_backoff",
        )?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_file_parses() {
        let file = RulesFile::parse(
            r#"
            [[rules]]
            name = "payments errors"
            service = "payments"
            metric = "error_rate"
            above = 0.05
            for = "1m"
            labels = { severity = "page" }

            [[rules]]
            name = "regressions"
            finding = "latency"
            min_score = 60

            [[notifiers]]
            name = "am"
            url = "http://127.0.0.1:9093/api/v2/alerts"
            format = "alertmanager"
            "#,
        )
        .unwrap();
        assert_eq!(file.rules.len(), 2);
        assert_eq!(
            file.rules[0].describe(),
            "error_rate of payments over 2m > 0.05 for 1m"
        );
        assert_eq!(
            file.rules[1].describe(),
            "a latency finding with score ≥ 60"
        );
        assert_eq!(file.notifiers[0].format, Format::Alertmanager);
        assert_eq!(file.rules[0].labels["severity"], "page");
    }

    #[test]
    fn mistakes_are_named() {
        for (text, needle) in [
            ("[[rules]]\nname = \"a\"\nservice = \"s\"\nmetric = \"p95\"\nabove = 1", "p95"),
            ("[[rules]]\nname = \"a\"\nmetric = \"p99\"\nabove = 1", "needs a service"),
            ("[[rules]]\nname = \"a\"\nservice = \"s\"\nmetric = \"p99\"", "exactly one of above"),
            ("[[rules]]\nname = \"a\"\nfinding = \"slow\"", "\"slow\""),
            ("[[rules]]\nname = \"a\"", "needs a metric"),
            ("[[rules]]\nname = \"a\"\nfinding = \"any\"\nfor = \"soon\"", "for"),
            ("[[rules]]\nname = \"a\"\nfinding = \"any\"\ntypo = 1", "typo"),
            ("[[notifiers]]\nname = \"n\"\nurl = \"ftp://x\"", "http"),
            ("[[rules]]\nname = \"a\"\nfinding = \"any\"\n[[rules]]\nname = \"a\"\nfinding = \"any\"", "twice"),
        ] {
            let error = RulesFile::parse(text).unwrap_err();
            assert!(error.contains(needle), "{text}: {error}");
        }
    }
}
