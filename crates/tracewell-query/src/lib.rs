//! # tracewell-query
//!
//! One query service behind every read API (native, Jaeger, Tempo, CLI): handlers parse parameters into the
//! request types here, call [`QueryService`], and shape its answers.
//!
//! - **Trace by id** (`trace.rs`): heads, then only the blocks whose trace index holds the id (`index.rs`: per
//!   block, the sorted trace ids with a summary of each trace, built once per block and cached).
//! - **Search** (`search.rs`, conditions in `request.rs`, evaluation in `matcher.rs`): span conditions evaluated
//!   on the heads and on column scans of the blocks, newest first, stopping once older blocks cannot change the
//!   answer; results are [`TraceSummary`]s, most recent first.
//! - **TraceQL** (`traceql/`): queries compiled by `tracewell-traceql`; their span conditions become a search,
//!   the candidate traces are evaluated whole.
//! - **Catalog** (`catalog.rs`): services, operations with span kind, attribute names and values.
//! - **RED metrics and dependencies** (`metrics.rs`): from the store's per-minute rollups, never from raw spans.
//! - **Insights** (`insights/`): changes against a baseline from the rollups, their origin named from a sample of
//!   traces (`shape.rs` holds the per-trace analysis: self time, critical path, error origins, N+1, messaging lag).
//! - **Breakdown** (`breakdown.rs`): where the time goes across the traces a search matches, and the attribute
//!   values over-represented in slow or failing ones.

mod admission;
pub mod breakdown;
mod catalog;
mod columns;
mod error;
pub mod heatmap;
mod index;
pub mod insights;
mod matcher;
mod metrics;
mod normalize;
mod peers;
mod request;
mod search;
pub mod shape;
mod sql;
mod summary;
mod trace;
pub mod traceql;

use std::sync::Arc;
use std::time::Duration;

use tracewell_store::Store;

pub use breakdown::{AttributeLift, Breakdown, OperationTime};
pub use catalog::{Operation, TagNames, TagValue, TagValues, ValueKind};
pub use error::{retry_seconds, QueryError, Result};
pub use insights::{
    Finding, FindingKind, InsightsConfig, InsightsRequest, InsightsResult, OperationRef,
};
pub use matcher::SpanFilter;
pub use metrics::{Dependency, KindSelection, RedPoint, RedRequest, RedResult, RedSeries};
pub use request::{
    parse_kind, parse_status, status_name, AttrCondition, CondTarget, DurationScope, MatchOp,
    SearchOrder, SearchRequest,
};
pub use search::{SearchMetrics, SearchResult};
pub use sql::{SqlColumn, SqlResult};
pub use summary::{MatchedSpan, ServiceStats, TraceSummary};
pub use trace::TraceResult;
pub use traceql::{
    is_metrics_query, SpansetResult, SpansetSpan, TraceqlMetricsRequest, TraceqlMetricsResult,
    TraceqlRequest, TraceqlResult, TraceqlTrace,
};
pub use tracewell_traceql as traceql_lang;

/// Limits and defaults of the query service.
#[derive(Debug, Clone)]
pub struct QueryConfig {
    /// Traces returned by a search that gives no limit.
    pub default_limit: usize,
    /// Largest limit a search may ask for; more is refused.
    pub max_limit: usize,
    /// Longest time range a search, catalog or metrics query may cover; more is refused.
    pub max_range: Duration,
    /// A query running longer is stopped and answered with a timeout error.
    pub timeout: Duration,
    /// Memory for cached block trace indexes.
    pub index_cache_bytes: usize,
    /// Spans scanned at most to collect attribute names or values (autocomplete stays cheap).
    pub max_tag_scan_spans: usize,
    /// Memory one SQL query may use; more fails the query with a message saying so.
    pub sql_memory_bytes: usize,
    /// Rows a SQL result returns at most; the result says when it was cut.
    pub sql_max_rows: usize,
    /// Longest SQL text accepted.
    pub sql_max_query_bytes: usize,
    /// Candidate traces a TraceQL search reads and evaluates at most; the answer says when this cut it.
    pub traceql_max_traces: usize,
    /// Windows, thresholds and sample sizes of the insights engine.
    pub insights: InsightsConfig,
    /// Expensive queries (searches, SQL, TraceQL, heatmaps, breakdowns, insights) running at once; one more is
    /// refused with [`QueryError::Busy`] (see `admission.rs`).
    pub max_concurrent: usize,
    /// What refused clients are told to wait before retrying.
    pub retry_after: Duration,
    /// Base URLs of the cluster's block-builders (their native API), asked for unflushed spans by trace lookups
    /// (a querier's `--block-builders`).
    pub block_builders: Vec<String>,
}

/// The default of [`QueryConfig::max_concurrent`]: twice the CPUs, at least 4. Queries alternate between decoding
/// (CPU) and reading blocks (I/O), so twice the cores keeps the CPUs busy; more only makes each query slower while
/// multiplying the memory held (each may hold thousands of decoded traces, a SQL query up to its memory limit). The
/// floor of 4 lets a UI page or a Grafana dashboard run its few queries side by side on a small machine.
pub fn default_max_concurrent_queries() -> usize {
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    (2 * cpus).max(4)
}

impl Default for QueryConfig {
    fn default() -> Self {
        Self {
            default_limit: 20,
            max_limit: 1000,
            max_range: Duration::from_secs(31 * 24 * 3600),
            timeout: Duration::from_secs(30),
            index_cache_bytes: 512 * 1024 * 1024,
            max_tag_scan_spans: 1_000_000,
            sql_memory_bytes: 512 * 1024 * 1024,
            sql_max_rows: 10_000,
            sql_max_query_bytes: 64 * 1024,
            traceql_max_traces: 5_000,
            insights: InsightsConfig::default(),
            max_concurrent: default_max_concurrent_queries(),
            retry_after: Duration::from_secs(1),
            block_builders: Vec::new(),
        }
    }
}

/// A time range in unix nanoseconds, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    pub start_unix_nano: u64,
    pub end_unix_nano: u64,
}

impl TimeRange {
    /// `[now - lookback, now]`.
    pub fn last(lookback: Duration) -> Self {
        let now = now_unix_nano();
        Self {
            start_unix_nano: now.saturating_sub(lookback.as_nanos() as u64),
            end_unix_nano: now,
        }
    }
}

pub(crate) fn now_unix_nano() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// The query service; cheap to clone.
#[derive(Clone)]
pub struct QueryService {
    pub(crate) store: Store,
    pub(crate) config: Arc<QueryConfig>,
    pub(crate) indexes: Arc<index::IndexCache>,
    /// Traces insights read recently.
    pub(crate) samples: Arc<insights::samples::SampleCache>,
    /// Permits of expensive queries.
    pub(crate) admission: Arc<admission::Admission>,
    /// Expensive queries wait for a permit instead of being refused ([`QueryService::queued`]).
    pub(crate) queued: bool,
    /// Block-builders holding spans not flushed yet.
    pub(crate) peers: Arc<peers::Peers>,
}

impl QueryService {
    pub fn new(store: Store, config: QueryConfig) -> Self {
        let indexes = Arc::new(index::IndexCache::new(config.index_cache_bytes));
        let admission = Arc::new(admission::Admission::new(
            config.max_concurrent,
            config.retry_after,
        ));
        let peers = Arc::new(peers::Peers::new(&config.block_builders, config.timeout));
        Self {
            store,
            config: Arc::new(config),
            indexes,
            samples: Arc::default(),
            admission,
            queued: false,
            peers,
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn config(&self) -> &QueryConfig {
        &self.config
    }

    /// Checks a time range against [`QueryConfig::max_range`] and order.
    pub fn check_range(&self, range: &TimeRange) -> Result<()> {
        if range.start_unix_nano > range.end_unix_nano {
            return Err(QueryError::bad("start is after end"));
        }
        let span = Duration::from_nanos(range.end_unix_nano - range.start_unix_nano);
        if span > self.config.max_range {
            return Err(QueryError::bad(format!(
                "time range of {}s exceeds the limit of {}s",
                span.as_secs(),
                self.config.max_range.as_secs()
            )));
        }
        Ok(())
    }

    /// Runs `work` under the query timeout.
    pub(crate) async fn bounded<T>(
        &self,
        work: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        match tokio::time::timeout(self.config.timeout, work).await {
            Ok(result) => result,
            Err(_) => Err(QueryError::Timeout(self.config.timeout)),
        }
    }
}

/// The self-tracing span of one query of `tenant`.
pub(crate) fn query_work(
    name: &'static str,
    tenant: &tracewell_model::TenantId,
) -> tracewell_model::self_trace::Work {
    tracewell_model::self_trace::Work::start(
        name,
        opentelemetry::trace::SpanKind::Internal,
        vec![opentelemetry::KeyValue::new(
            "tracewell.tenant",
            tenant.to_string(),
        )],
    )
}
