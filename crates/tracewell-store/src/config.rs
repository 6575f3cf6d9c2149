//! Store configuration: sizes, ages and limits of the head block, WAL, blocks, compaction and retention, and
//! the tail-sampling policies.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::block::{BlockFormat, WriteOptions};
use crate::overrides::OverridesHandle;
use crate::sampling::TailSampler;

/// Everything the store needs to know; validated by the binary before the store is built.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// Root of everything on local disk: `wal/<tenant>/` and (by default) `blocks/`.
    pub data_dir: PathBuf,
    /// A tenant's head block is flushed to a Parquet block when it holds this many bytes...
    pub head_max_bytes: usize,
    /// ...or when its oldest data is this old.
    pub head_max_age: Duration,
    /// Memory budget for all head blocks together (including heads being flushed). Writes beyond it are refused
    /// with a retryable error until flushes catch up.
    pub memory_budget_bytes: usize,
    /// Tenants this server holds (each has a WAL and a head block); writes for further new tenants are refused.
    pub max_tenants: usize,
    /// Spans accepted per trace in a head block; further spans of that trace are rejected.
    pub max_spans_per_trace: usize,
    /// WAL segment size before rotation.
    pub wal_segment_max_bytes: u64,
    /// Largest WAL record (one accepted export request).
    pub wal_max_record_bytes: u32,
    /// Parquet writer settings.
    pub block: WriteOptions,
    /// Format of new blocks (flushes and compactions); every format stays readable.
    pub block_format: BlockFormat,
    /// Raw spans are deleted once older than this.
    pub retention: Duration,
    /// Logs blocks are deleted once their newest record is older than this.
    pub log_retention: Duration,
    /// Per tenant, the oldest blocks are deleted while blocks take more than this many bytes (0 = no size limit).
    pub retention_max_bytes: u64,
    /// Rollups (RED statistics, dependency edges) are deleted once older than this; usually longer than
    /// `retention`, so aggregates outlive raw spans.
    pub rollup_retention: Duration,
    /// Memory for parsed rollup files kept between queries.
    pub rollup_cache_bytes: usize,
    /// Distinct RED series `(service, operation, kind, status)` one head block's rollup holds (the head is the
    /// tenant's rollup window: it is written as one rollup file); spans of further series are counted in an
    /// `other` operation (see `rollup/cap.rs`).
    pub max_rollup_series: usize,
    /// Compaction merges blocks whose data starts in the same window of this length.
    pub compaction_window: Duration,
    /// Blocks of at least this size are left alone by compaction.
    pub compaction_target_bytes: u64,
    /// Spans one merge decodes at most (a merge holds its inputs in memory, roughly 1–2 KiB per span).
    pub compaction_max_spans: usize,
    /// How often compaction and retention run.
    pub maintenance_interval: Duration,
    /// How often head blocks are checked for size and age.
    pub flush_check_interval: Duration,
    /// Per-tenant overrides of `retention` and `max_spans_per_trace` (see `overrides.rs`).
    pub overrides: OverridesHandle,
    /// Tail-sampling policies applied when heads are flushed (none by default: every trace is kept).
    pub tail_sampling: Arc<TailSampler>,
    /// The tenant self-tracing writes the server's own spans to; its background work is not traced.
    pub self_tracing_tenant: Option<String>,
    /// Whether this store compacts and applies retention (in a cluster only the compactor does).
    pub maintenance: bool,
}

impl StoreConfig {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            head_max_bytes: 64 * 1024 * 1024,
            head_max_age: Duration::from_secs(120),
            memory_budget_bytes: 512 * 1024 * 1024,
            max_tenants: 1000,
            max_spans_per_trace: 50_000,
            wal_segment_max_bytes: 64 * 1024 * 1024,
            wal_max_record_bytes: 64 * 1024 * 1024,
            block: WriteOptions::default(),
            block_format: BlockFormat::CURRENT,
            retention: Duration::from_secs(7 * 24 * 3600),
            log_retention: Duration::from_secs(7 * 24 * 3600),
            retention_max_bytes: 0,
            rollup_retention: Duration::from_secs(90 * 24 * 3600),
            rollup_cache_bytes: 256 * 1024 * 1024,
            max_rollup_series: 10_000,
            compaction_window: Duration::from_secs(3600),
            compaction_target_bytes: 256 * 1024 * 1024,
            compaction_max_spans: 500_000,
            maintenance_interval: Duration::from_secs(60),
            flush_check_interval: Duration::from_secs(1),
            overrides: OverridesHandle::default(),
            tail_sampling: Arc::default(),
            self_tracing_tenant: None,
            maintenance: true,
        }
    }

    pub fn wal_dir(&self) -> PathBuf {
        self.data_dir.join("wal")
    }

    pub fn blocks_dir(&self) -> PathBuf {
        self.data_dir.join("blocks")
    }
}

impl StoreConfig {
    /// `retention` for `tenant`, after its overrides.
    pub fn retention_for(&self, tenant: &str) -> Duration {
        self.overrides
            .tenant(tenant)
            .retention
            .unwrap_or(self.retention)
    }

    /// `max_spans_per_trace` for `tenant`, after its overrides.
    pub fn max_spans_per_trace_for(&self, tenant: &str) -> usize {
        self.overrides
            .tenant(tenant)
            .max_spans_per_trace
            .unwrap_or(self.max_spans_per_trace)
    }
}
