//! Per-block trace indexes (`tracewell_store::block::TraceIndex`): the block's trace ids, sorted, each with its
//! rows and summary. Loaded from the block (v2 persists it) or built by a column scan (v1), and cached within a
//! memory budget.
//!
//! A trace lookup checks each block's index with a binary search instead of reading the block's bloom filters,
//! and a search takes its result summaries from the indexes instead of reading the traces.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arrow::array::Array;
use futures::TryStreamExt;
use parking_lot::Mutex;
use tokio::sync::OnceCell;
use tracewell_model::{StatusCode, TraceId};
use tracewell_store::block::{
    self, schema::col, IndexedSpan, ScanRequest, TraceIndex, TraceIndexBuilder,
};
use tracewell_store::{BlockMeta, Store};

use crate::columns::{fixed, u64s, u8s, Dict};
use crate::error::Result;
use crate::summary::{ServiceStats, TraceSummary};

/// The summary of the trace at `pos` of a block's index, as far as that block knows it.
pub(crate) fn summary(index: &TraceIndex, pos: usize) -> TraceSummary {
    let mut s = TraceSummary::new(index.ids[pos]);
    s.start_unix_nano = index.start[pos];
    s.duration_nano = index.end[pos].saturating_sub(index.start[pos]);
    s.span_count = index.spans[pos];
    s.error_count = index.errors[pos];
    s.root_service = index.string(index.root_service[pos]).map(str::to_owned);
    s.root_operation = index.string(index.root_name[pos]).map(str::to_owned);
    for &(svc, spans, errors) in index.services_of(pos) {
        if let Some(name) = index.string(svc) {
            s.services
                .insert(name.to_owned(), ServiceStats { spans, errors });
        }
    }
    s
}

/// The trace index of a block: persisted with it (v2), or built by scanning its summary columns (v1; rows are
/// sorted by trace id).
async fn load(store: &Store, meta: &BlockMeta) -> Result<Arc<TraceIndex>> {
    let objects = store.objects();
    let path = meta.data_path();
    if let Some(index) = block::trace_index(&objects, &path).await? {
        return Ok(index);
    }
    let request = ScanRequest {
        columns: &[
            col::TRACE_ID,
            col::PARENT_SPAN_ID,
            col::START,
            col::DURATION,
            col::STATUS_CODE,
            col::SERVICE_NAME,
            col::NAME,
        ],
        start_range: None,
        batch_rows: 8192,
        filter: None,
        row_groups: None,
    };
    let mut stream = block::scan(objects, &path, Some(meta.size_bytes), request).await?;
    let mut builder = TraceIndexBuilder::default();
    while let Some(batch) = stream.try_next().await? {
        add_batch(&mut builder, &batch)?;
    }
    Ok(Arc::new(builder.finish()))
}

fn add_batch(builder: &mut TraceIndexBuilder, batch: &arrow::array::RecordBatch) -> Result<()> {
    let ids = fixed(batch, col::TRACE_ID)?;
    let parents = fixed(batch, col::PARENT_SPAN_ID)?;
    let starts = u64s(batch, col::START)?;
    let durations = u64s(batch, col::DURATION)?;
    let statuses = u8s(batch, col::STATUS_CODE)?;
    let services = Dict::of(batch, col::SERVICE_NAME)?;
    let names = Dict::of(batch, col::NAME)?;
    for row in 0..batch.num_rows() {
        let start = starts.value(row);
        builder.push(IndexedSpan {
            trace_id: TraceId(ids.value(row).try_into().unwrap_or([0; 16])),
            start,
            end: start.saturating_add(durations.value(row)),
            error: statuses.value(row) == StatusCode::Error as u8,
            service: services.values.value(services.key(row)),
            root_name: parents
                .is_null(row)
                .then(|| names.values.value(names.key(row))),
        });
    }
    Ok(())
}

struct Entry {
    cell: Arc<OnceCell<Arc<TraceIndex>>>,
    last_used: AtomicU64,
}

/// Trace indexes of blocks by block id, within a memory budget (least recently used go first).
pub(crate) struct IndexCache {
    entries: Mutex<HashMap<String, Entry>>,
    budget: usize,
    clock: AtomicU64,
}

impl IndexCache {
    pub fn new(budget: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            budget,
            clock: AtomicU64::new(0),
        }
    }

    /// The index of a block, built (once, whoever asks concurrently) if not cached.
    pub async fn get(&self, store: &Store, meta: &BlockMeta) -> Result<Arc<TraceIndex>> {
        let cell = {
            let mut entries = self.entries.lock();
            let tick = self.clock.fetch_add(1, Ordering::Relaxed);
            let entry = entries.entry(meta.id.clone()).or_insert_with(|| Entry {
                cell: Arc::new(OnceCell::new()),
                last_used: AtomicU64::new(tick),
            });
            entry.last_used.store(tick, Ordering::Relaxed);
            Arc::clone(&entry.cell)
        };
        let built = cell
            .get_or_try_init(|| async { load(store, meta).await })
            .await?;
        let built = Arc::clone(built);
        self.evict(&meta.id);
        Ok(built)
    }

    /// The index of a block only if it is already built.
    pub fn cached(&self, block_id: &str) -> Option<Arc<TraceIndex>> {
        self.entries
            .lock()
            .get(block_id)
            .and_then(|e| e.cell.get().cloned())
    }

    /// Drops least recently used indexes while over budget, never the one just used.
    fn evict(&self, keep: &str) {
        let mut entries = self.entries.lock();
        let size = |e: &Entry| e.cell.get().map_or(0, |i| i.approx_bytes());
        let mut total: usize = entries.values().map(size).sum();
        while total > self.budget {
            let victim = entries
                .iter()
                .filter(|(id, e)| id.as_str() != keep && e.cell.get().is_some())
                .min_by_key(|(_, e)| e.last_used.load(Ordering::Relaxed))
                .map(|(id, e)| (id.clone(), size(e)));
            let Some((id, bytes)) = victim else { break };
            entries.remove(&id);
            total -= bytes;
        }
    }

    /// Forgets indexes of blocks no longer in any catalog.
    pub fn retain(&self, live: impl Fn(&str) -> bool) {
        self.entries.lock().retain(|id, _| live(id));
    }
}
