//! Blocks: immutable files of spans, one block per flush or compaction, stored behind `object_store`.
//!
//! The on-disk format is versioned by module ([`v1`], [`v2`]). New blocks are written in
//! [`BlockFormat::CURRENT`]; a reader picks the module from the version segment of the block's path
//! (`<tenant>/<version>/<ulid>/data.parquet`), so every version stays readable.
//!
//! Readers see one logical set of span columns whatever the version ([`schema::block_schema`], the v1 columns):
//! - [`write`] sorts spans by trace id and start time and encodes them, returning the files and the [`BlockStats`]
//!   recorded in the block's `meta.json`;
//! - [`merge_blocks`] merges blocks trace by trace with bounded memory (compaction);
//! - [`read_all`] decodes a whole block; [`read_trace`] and [`read_rows`] decode one trace;
//! - [`scan`] streams chosen logical columns with a row filter, for search, tags and SQL;
//! - [`trace_index`] and [`row_groups_holding`] answer from indexes persisted with the block (v2), or say that the
//!   block has none (v1: readers build the trace index with a scan).

mod format;
mod merge;
#[cfg(test)]
mod merge_tests;
mod sizes;
mod stats;
mod trace_index;
pub mod v1;
pub mod v2;

use std::ops::Range;
use std::sync::Arc;

use arrow::array::RecordBatch;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::ObjectStore;
use tracewell_model::{Span, TraceId};

pub use format::{BlockFormat, WrittenBlock};
pub use merge::{merge_blocks, BlockTraces, MergeInput, MergeLimits, Merged};
pub use sizes::column_sizes;
pub use stats::StatsBuilder;
pub use trace_index::{IndexedSpan, TraceIndex, TraceIndexBuilder, NO_STRING};
pub use v1::schema;
pub(crate) use v1::BlockReader;
pub use v1::{
    log_col, logs_schema, logs_to_batch, scan_type, spans_to_batch, BlockStats, RowPredicate,
    ScanRequest, WriteOptions, MAX_RECORDED_KEYS,
};

use crate::error::{Result, StoreError};

/// Encodes spans (any order) as a block of `format`. CPU-bound: async callers run it in `spawn_blocking`.
pub fn write(format: BlockFormat, spans: Vec<&Span>, opts: &WriteOptions) -> Result<WrittenBlock> {
    match format {
        BlockFormat::V1 => {
            let (data, stats) = v1::write_block_refs(spans, opts)?;
            Ok(WrittenBlock {
                format,
                data,
                index: None,
                stats,
            })
        }
        BlockFormat::V2 => v2::write_block_refs(spans, opts),
    }
}

/// The format of the block at `path` (`<tenant>/<version>/<ulid>/data.parquet`).
pub fn format_of(path: &Path) -> Result<BlockFormat> {
    let mut parts = path.parts();
    let version = parts.nth(1);
    version
        .and_then(|v| BlockFormat::parse(v.as_ref()))
        .ok_or_else(|| StoreError::CorruptBlock {
            block: path.to_string(),
            reason: "the path names no known block format".into(),
        })
}

/// Reads every span of a block, in block order. `size` (from `meta.json`) saves a request.
pub async fn read_all(
    store: Arc<dyn ObjectStore>,
    path: &Path,
    size: Option<u64>,
) -> Result<Vec<Span>> {
    match format_of(path)? {
        BlockFormat::V1 => v1::read_all_sized(store, path, size).await,
        BlockFormat::V2 => v2::read_all(store, path, size).await,
    }
}

/// Reads the spans of one trace (empty when the block does not hold it).
pub async fn read_trace(
    store: Arc<dyn ObjectStore>,
    path: &Path,
    size: Option<u64>,
    trace_id: TraceId,
) -> Result<Vec<Span>> {
    match format_of(path)? {
        BlockFormat::V1 => v1::read_trace_sized(store, path, size, trace_id).await,
        BlockFormat::V2 => v2::read_trace(store, path, size, trace_id).await,
    }
}

/// Reads the spans in rows `rows` of a block (one trace's rows, from its trace index).
pub async fn read_rows(
    store: Arc<dyn ObjectStore>,
    path: &Path,
    size: Option<u64>,
    rows: Range<usize>,
) -> Result<Vec<Span>> {
    match format_of(path)? {
        BlockFormat::V1 => v1::read_rows(store, path, size, rows).await,
        BlockFormat::V2 => v2::read_rows(store, path, size, rows).await,
    }
}

/// Streams logical columns of a block; batches carry the requested columns in the requested order.
pub async fn scan(
    store: Arc<dyn ObjectStore>,
    path: &Path,
    size: Option<u64>,
    request: ScanRequest<'_>,
) -> Result<BoxStream<'static, Result<RecordBatch>>> {
    match format_of(path)? {
        BlockFormat::V1 => v1::scan(store, path, size, request).await,
        BlockFormat::V2 => v2::scan(store, path, size, request).await,
    }
}

/// The trace index persisted with the block, or `None` for formats without one (v1).
pub async fn trace_index(
    store: &Arc<dyn ObjectStore>,
    path: &Path,
) -> Result<Option<Arc<TraceIndex>>> {
    match format_of(path)? {
        BlockFormat::V1 => Ok(None),
        BlockFormat::V2 => v2::trace_index(store, path).await.map(Some),
    }
}

/// A condition a value filter can rule out: the span (or its resource) has attribute `key` with one of `texts`
/// (values as text: integers in decimal, booleans as `true`/`false`). An empty key means the span name.
#[derive(Debug, Clone)]
pub struct ValueCondition {
    pub key: String,
    pub texts: Vec<String>,
}

/// Row groups of the block that may hold a span meeting every condition, by the value filters persisted with the
/// block; `None` for formats without filters (v1), where every row group may.
pub async fn row_groups_holding(
    store: &Arc<dyn ObjectStore>,
    path: &Path,
    conditions: &[ValueCondition],
) -> Result<Option<Vec<usize>>> {
    match format_of(path)? {
        BlockFormat::V1 => Ok(None),
        BlockFormat::V2 => v2::row_groups_holding(store, path, conditions)
            .await
            .map(Some),
    }
}

/// The paths of a block's files other than `data.parquet` (deleted with the block).
pub fn side_files(format: BlockFormat, data_path: &Path) -> Vec<Path> {
    match format {
        BlockFormat::V1 => Vec::new(),
        BlockFormat::V2 => vec![v2::index_path(data_path)],
    }
}
