//! Insights: what changed, where it started, and since when.
//!
//! 1. **Series** (`series.rs`): per-minute statistics of every (service, operation, span kind) from the rollups,
//!    split into a baseline window and the recent window after it.
//! 2. **Detection** (`detect.rs`): entry operations (SERVER and CONSUMER spans) whose latency, error rate or
//!    throughput left their baseline, scored by size and confidence, with an onset estimate. These are
//!    *symptoms*; a slow database makes every caller a symptom.
//! 3. **Attribution** (`attribute.rs`): a sample of recent and baseline traces of each symptom names its origin:
//!    the operation whose time on the critical path grew most (latency) or the deepest failing span whose children
//!    did not fail (errors).
//! 4. **Patterns** (`patterns.rs`): N+1 calls (calls per request rising, confirmed in traces), messaging lag
//!    (queue backlog), dead letters, and error messages absent from the baseline.
//! 5. **Consolidation** (`consolidate.rs`): one finding per origin, victims listed as `affected`, findings that
//!    explain others absorbing them, ordered by score.
//!
//! Findings are plain data shared by the API, alerts, the UI and the MCP endpoint.

mod attribute;
mod consolidate;
mod detect;
mod patterns;
pub(crate) mod samples;
mod series;

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Serialize, Serializer};
use tracewell_model::{TenantId, TraceId};

use crate::error::{QueryError, Result};
use crate::QueryService;

/// Tuning of the insights engine; the defaults suit services with at least a few requests per minute.
#[derive(Debug, Clone)]
pub struct InsightsConfig {
    /// Recent window compared against the baseline, unless a request says otherwise.
    pub window: Duration,
    /// Baseline window before the recent one.
    pub baseline: Duration,
    /// Requests an operation needs in the recent window before a change is reported.
    pub min_window_samples: u64,
    /// Requests an operation needs in the baseline.
    pub min_baseline_samples: u64,
    /// Smallest latency increase (p90) reported.
    pub min_latency_increase: Duration,
    /// Smallest error-rate increase reported (0.05 = five percentage points).
    pub min_error_rate_increase: f64,
    /// Traces read per symptom and side (recent, baseline) for attribution.
    pub sample_traces: usize,
    /// Symptoms of each kind attributed at most (the highest scored).
    pub max_symptoms: usize,
    /// Sequential calls of one statement under one parent that make an N+1 pattern.
    pub n_plus_one_min_calls: usize,
}

impl Default for InsightsConfig {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(120),
            baseline: Duration::from_secs(30 * 60),
            min_window_samples: 10,
            min_baseline_samples: 30,
            min_latency_increase: Duration::from_millis(10),
            min_error_rate_increase: 0.05,
            sample_traces: 12,
            max_symptoms: 6,
            n_plus_one_min_calls: 5,
        }
    }
}

/// One insights query.
#[derive(Debug, Clone, PartialEq)]
pub struct InsightsRequest {
    /// End of the recent window (unix nanoseconds).
    pub end_unix_nano: u64,
    pub window: Duration,
    pub baseline: Duration,
    /// Only findings involving this service (as culprit or affected).
    pub service: Option<String>,
    pub limit: usize,
}

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    Latency,
    Errors,
    NewError,
    NPlusOne,
    QueueBacklog,
    DeadLetters,
    ThroughputDrop,
}

impl FindingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Latency => "latency",
            Self::Errors => "errors",
            Self::NewError => "new_error",
            Self::NPlusOne => "n_plus_one",
            Self::QueueBacklog => "queue_backlog",
            Self::DeadLetters => "dead_letters",
            Self::ThroughputDrop => "throughput_drop",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::Latency,
            Self::Errors,
            Self::NewError,
            Self::NPlusOne,
            Self::QueueBacklog,
            Self::DeadLetters,
            Self::ThroughputDrop,
        ]
        .into_iter()
        .find(|k| k.as_str() == text)
    }
}

/// An operation a finding names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct OperationRef {
    pub service: String,
    pub operation: String,
}

/// Traces that show a finding.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Exemplars {
    /// Most telling first.
    #[serde(serialize_with = "hex_ids")]
    pub traces: Vec<TraceId>,
    /// A trace of the same operation from the baseline, for comparison.
    #[serde(serialize_with = "hex_id")]
    pub baseline: Option<TraceId>,
}

/// One point of a finding's figure over time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SeriesPoint {
    #[serde(serialize_with = "nanos")]
    pub time: u64,
    pub value: f64,
}

/// A finding: a change, its origin, and the evidence.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub kind: FindingKind,
    /// The culprit: where the change originates.
    pub service: String,
    pub operation: String,
    pub span_kind: &'static str,
    /// 0 to 100.
    pub score: f64,
    /// Onset estimate, unix nanoseconds.
    #[serde(serialize_with = "nanos")]
    pub since: u64,
    pub summary: String,
    /// The figure `series` charts; a key of `baseline` and `current`.
    pub metric: &'static str,
    pub baseline: BTreeMap<&'static str, f64>,
    pub current: BTreeMap<&'static str, f64>,
    pub series: Vec<SeriesPoint>,
    pub exemplars: Exemplars,
    /// Operations whose change this finding explains.
    pub affected: Vec<OperationRef>,
    pub details: serde_json::Map<String, serde_json::Value>,
}

impl Finding {
    /// A finding of `kind` at `key`, charting `metric`, with nothing measured yet.
    pub(crate) fn at(kind: FindingKind, key: &series::OpKey, metric: &'static str) -> Self {
        Self {
            kind,
            service: key.service.clone(),
            operation: key.operation.clone(),
            span_kind: key.span_kind().as_str(),
            score: 0.0,
            since: 0,
            summary: String::new(),
            metric,
            baseline: BTreeMap::new(),
            current: BTreeMap::new(),
            series: Vec::new(),
            exemplars: Exemplars::default(),
            affected: Vec::new(),
            details: serde_json::Map::new(),
        }
    }

    /// Whether the finding names `service` as culprit or among the affected.
    pub fn involves(&self, service: &str) -> bool {
        self.service == service || self.affected.iter().any(|a| a.service == service)
    }
}

/// The answer to an insights query.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InsightsResult {
    #[serde(serialize_with = "nanos")]
    pub window_start: u64,
    #[serde(serialize_with = "nanos")]
    pub window_end: u64,
    #[serde(serialize_with = "nanos")]
    pub baseline_start: u64,
    pub analyzed: Analyzed,
    pub findings: Vec<Finding>,
}

/// How much the engine looked at.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Analyzed {
    pub operations: usize,
    pub traces: usize,
}

fn nanos<S: Serializer>(v: &u64, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_str(v)
}

fn hex_ids<S: Serializer>(ids: &[TraceId], s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_seq(ids.iter().map(|id| id.to_hex()))
}

fn hex_id<S: Serializer>(id: &Option<TraceId>, s: S) -> std::result::Result<S::Ok, S::Error> {
    match id {
        Some(id) => s.collect_str(&id.to_hex()),
        None => s.serialize_none(),
    }
}

/// Most findings a query may ask for.
pub const MAX_FINDINGS: usize = 200;

impl QueryService {
    /// A request for the last `window` before now with the configured defaults.
    pub fn insights_request(&self) -> InsightsRequest {
        let config = &self.config.insights;
        InsightsRequest {
            end_unix_nano: crate::now_unix_nano(),
            window: config.window,
            baseline: config.baseline,
            service: None,
            limit: 20,
        }
    }

    /// Findings, most important first.
    pub async fn insights(
        &self,
        tenant: &TenantId,
        req: &InsightsRequest,
    ) -> Result<InsightsResult> {
        if req.limit == 0 || req.limit > MAX_FINDINGS {
            return Err(QueryError::bad(format!(
                "limit must be between 1 and {MAX_FINDINGS}"
            )));
        }
        if req.window < Duration::from_secs(60) {
            return Err(QueryError::bad(
                "lookback must be at least 1m (rollups are per minute)",
            ));
        }
        if req.baseline < req.window {
            return Err(QueryError::bad(
                "baseline must be at least as long as lookback",
            ));
        }
        let windows = series::Windows::new(req);
        let range = crate::TimeRange {
            start_unix_nano: windows.baseline_start(),
            end_unix_nano: req.end_unix_nano,
        };
        self.check_range(&range)?;
        self.limited(self.insights_unbounded(tenant, req, windows))
            .await
    }

    async fn insights_unbounded(
        &self,
        tenant: &TenantId,
        req: &InsightsRequest,
        windows: series::Windows,
    ) -> Result<InsightsResult> {
        let config = self.config.insights.clone();
        let rollup = self
            .store
            .rollups(tenant, windows.baseline_start(), req.end_unix_nano)
            .await?;
        let all = series::collect(&rollup, &windows);
        let symptoms = detect::symptoms(&all, &windows, &config);
        let mut ctx = attribute::Context::new(self, tenant, &windows, &config, &all);
        let mut candidates = attribute::attribute(&mut ctx, &symptoms).await;
        candidates.extend(patterns::find(&mut ctx).await);
        let analyzed = Analyzed {
            operations: all.len(),
            traces: ctx.traces_read(),
        };
        let mut findings = consolidate::consolidate(candidates);
        if let Some(service) = &req.service {
            findings.retain(|f| f.involves(service));
        }
        findings.truncate(req.limit);
        Ok(InsightsResult {
            window_start: windows.window_start(),
            window_end: req.end_unix_nano,
            baseline_start: windows.baseline_start(),
            analyzed,
            findings,
        })
    }
}
