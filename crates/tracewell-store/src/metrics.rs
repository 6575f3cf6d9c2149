//! Prometheus metrics of the store: head size, WAL fsyncs, blocks, flushes, compaction, retention, the rollup
//! series cap and tail sampling.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// Label set with one or two labels.
pub type Labels = Vec<(&'static str, String)>;

pub fn tenant_label(tenant: &str) -> Labels {
    vec![("tenant", tenant.to_owned())]
}

/// The store's metrics; cheap to clone (all handles are `Arc`s inside).
#[derive(Clone)]
pub struct StoreMetrics {
    pub head_bytes: Family<Labels, Gauge>,
    pub head_spans: Family<Labels, Gauge>,
    pub head_bytes_total: Gauge,
    pub inflight_bytes: Gauge,
    pub wal_fsync_seconds: Histogram,
    pub wal_group_records: Histogram,
    pub wal_disk_bytes: Family<Labels, Gauge>,
    pub blocks: Family<Labels, Gauge>,
    pub block_bytes: Family<Labels, Gauge>,
    pub flush_seconds: Histogram,
    pub flushes: Family<Labels, Counter>,
    pub compaction_seconds: Histogram,
    pub compactions: Family<Labels, Counter>,
    pub compaction_duplicates_dropped: Counter,
    pub retention_deleted_blocks: Family<Labels, Counter>,
    pub spans_over_trace_limit: Counter,
    pub block_read_errors: Counter,
    pub wal_replayed_spans: Counter,
    pub wal_truncations: Counter,
    pub rollup_folded_spans: Family<Labels, Counter>,
    pub rollup_series: Family<Labels, Gauge>,
    pub tail_sampled_traces: Family<Labels, Counter>,
    pub accepted_log_records: Counter,
    pub retention_deleted_log_blocks: Counter,
    pub tail_sampling_dropped_spans: Family<Labels, Counter>,
}

impl StoreMetrics {
    pub fn new(registry: &mut Registry) -> Self {
        let seconds = || Histogram::new(exponential_buckets(0.0001, 2.0, 20));
        let m = Self {
            head_bytes: Family::default(),
            head_spans: Family::default(),
            head_bytes_total: Gauge::default(),
            inflight_bytes: Gauge::default(),
            wal_fsync_seconds: seconds(),
            wal_group_records: Histogram::new(exponential_buckets(1.0, 2.0, 14)),
            wal_disk_bytes: Family::default(),
            blocks: Family::default(),
            block_bytes: Family::default(),
            flush_seconds: seconds(),
            flushes: Family::default(),
            compaction_seconds: seconds(),
            compactions: Family::default(),
            compaction_duplicates_dropped: Counter::default(),
            retention_deleted_blocks: Family::default(),
            spans_over_trace_limit: Counter::default(),
            block_read_errors: Counter::default(),
            wal_replayed_spans: Counter::default(),
            wal_truncations: Counter::default(),
            rollup_folded_spans: Family::default(),
            rollup_series: Family::default(),
            tail_sampled_traces: Family::default(),
            accepted_log_records: Counter::default(),
            retention_deleted_log_blocks: Counter::default(),
            tail_sampling_dropped_spans: Family::default(),
        };
        let r = registry;
        r.register(
            "tracewell_head_bytes",
            "Approximate bytes held by a tenant's head block",
            m.head_bytes.clone(),
        );
        r.register(
            "tracewell_head_spans",
            "Spans held by a tenant's head block",
            m.head_spans.clone(),
        );
        r.register(
            "tracewell_head_bytes_all",
            "Bytes held by all head blocks (the memory budget applies to this)",
            m.head_bytes_total.clone(),
        );
        r.register(
            "tracewell_inflight_bytes",
            "Estimated bytes of export requests received and not yet in a head block (counted in the memory budget)",
            m.inflight_bytes.clone(),
        );
        r.register(
            "tracewell_wal_fsync_duration_seconds",
            "Latency of one WAL write+fsync group",
            m.wal_fsync_seconds.clone(),
        );
        r.register(
            "tracewell_wal_group_records",
            "Records made durable by one fsync (group commit)",
            m.wal_group_records.clone(),
        );
        r.register(
            "tracewell_wal_disk_bytes",
            "Bytes in a tenant's WAL segments",
            m.wal_disk_bytes.clone(),
        );
        r.register("tracewell_blocks", "Blocks per tenant", m.blocks.clone());
        r.register(
            "tracewell_block_bytes",
            "Bytes of Parquet blocks per tenant",
            m.block_bytes.clone(),
        );
        r.register(
            "tracewell_flush_duration_seconds",
            "Duration of a head-block flush",
            m.flush_seconds.clone(),
        );
        r.register(
            "tracewell_flushes",
            "Head-block flushes by outcome",
            m.flushes.clone(),
        );
        r.register(
            "tracewell_compaction_duration_seconds",
            "Duration of one compaction",
            m.compaction_seconds.clone(),
        );
        r.register(
            "tracewell_compactions",
            "Compactions by outcome",
            m.compactions.clone(),
        );
        r.register(
            "tracewell_compaction_duplicate_spans_dropped",
            "Duplicate spans dropped by compaction",
            m.compaction_duplicates_dropped.clone(),
        );
        r.register(
            "tracewell_retention_deleted_blocks",
            "Blocks deleted by retention, by reason",
            m.retention_deleted_blocks.clone(),
        );
        r.register(
            "tracewell_spans_over_trace_limit",
            "Spans rejected because their trace reached the per-trace limit",
            m.spans_over_trace_limit.clone(),
        );
        r.register(
            "tracewell_block_read_errors",
            "Block reads that failed (corrupt or missing files)",
            m.block_read_errors.clone(),
        );
        r.register(
            "tracewell_wal_replayed_spans",
            "Spans recovered from the WAL at start",
            m.wal_replayed_spans.clone(),
        );
        r.register(
            "tracewell_wal_truncations",
            "Torn or corrupt WAL tails cut at start",
            m.wal_truncations.clone(),
        );
        r.register(
            "tracewell_rollup_folded_spans",
            "Spans counted in an `other` RED series because their tenant's rollup window held max_rollup_series series",
            m.rollup_folded_spans.clone(),
        );
        r.register(
            "tracewell_rollup_series",
            "Distinct RED series in a tenant's active rollup window (capped by max_rollup_series, plus `other` series)",
            m.rollup_series.clone(),
        );
        r.register(
            "tracewell_tail_sampled_traces",
            "Traces decided by tail sampling at flush, by tenant, policy (none: no policy kept it; earlier_decision: \
             a late part of a decided trace) and decision (keep, drop)",
            m.tail_sampled_traces.clone(),
        );
        r.register(
            "tracewell_stored_log_records",
            "Log records made durable (WAL) and added to a head",
            m.accepted_log_records.clone(),
        );
        r.register(
            "tracewell_retention_deleted_log_blocks",
            "Logs blocks deleted by the log retention",
            m.retention_deleted_log_blocks.clone(),
        );
        r.register(
            "tracewell_tail_sampling_dropped_spans",
            "Spans left out of blocks by tail sampling, by tenant",
            m.tail_sampling_dropped_spans.clone(),
        );
        m
    }
}
