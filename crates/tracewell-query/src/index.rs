//! Per-block trace indexes: the block's trace ids, sorted, each with its summary (start, end, span and error
//! counts, root span, services). Built once per block by a column scan and cached within a memory budget.
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
use tracewell_store::block::{self, schema::col, ScanRequest};
use tracewell_store::{BlockMeta, Store};

use crate::columns::{fixed, u64s, u8s, Dict};
use crate::error::Result;
use crate::summary::{ServiceStats, TraceSummary};

const NONE: u32 = u32::MAX;

/// The trace index of one block.
#[derive(Debug, Default)]
pub(crate) struct TraceIndex {
    ids: Vec<TraceId>,
    /// Block row of each trace's first span (a trace's spans are consecutive rows).
    first_row: Vec<u32>,
    start: Vec<u64>,
    end: Vec<u64>,
    spans: Vec<u32>,
    errors: Vec<u32>,
    root_service: Vec<u32>,
    root_name: Vec<u32>,
    /// `service_offsets[i]..service_offsets[i + 1]` are trace `i`'s entries in `services`.
    service_offsets: Vec<u32>,
    /// `(service string, spans, errors)`.
    services: Vec<(u32, u32, u32)>,
    strings: Vec<String>,
}

impl TraceIndex {
    pub fn position(&self, id: &TraceId) -> Option<usize> {
        self.ids.binary_search(id).ok()
    }

    /// The block rows holding a trace's spans.
    pub fn rows(&self, id: &TraceId) -> Option<std::ops::Range<usize>> {
        let pos = self.position(id)?;
        let first = self.first_row[pos] as usize;
        Some(first..first + self.spans[pos] as usize)
    }

    pub fn approx_bytes(&self) -> usize {
        self.ids.len() * (16 + 4 + 8 + 8 + 4 + 4 + 4 + 4 + 4)
            + self.services.len() * 12
            + self.strings.iter().map(|s| s.len() + 24).sum::<usize>()
    }

    fn string(&self, i: u32) -> Option<String> {
        (i != NONE).then(|| self.strings[i as usize].clone())
    }

    /// The summary of the trace at `pos` as far as this block knows it.
    pub fn summary(&self, pos: usize) -> TraceSummary {
        let mut s = TraceSummary::new(self.ids[pos]);
        s.start_unix_nano = self.start[pos];
        s.duration_nano = self.end[pos].saturating_sub(self.start[pos]);
        s.span_count = self.spans[pos];
        s.error_count = self.errors[pos];
        s.root_service = self.string(self.root_service[pos]);
        s.root_operation = self.string(self.root_name[pos]);
        let range = self.service_offsets[pos] as usize..self.service_offsets[pos + 1] as usize;
        for &(svc, spans, errors) in &self.services[range] {
            s.services.insert(
                self.strings[svc as usize].clone(),
                ServiceStats { spans, errors },
            );
        }
        s
    }

    /// Builds the index by scanning a block's summary columns (rows are sorted by trace id).
    pub async fn build(store: &Store, meta: &BlockMeta) -> Result<Self> {
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
        };
        let mut stream = block::scan(
            store.objects(),
            &meta.data_path(),
            Some(meta.size_bytes),
            request,
        )
        .await?;
        let mut builder = Builder::default();
        while let Some(batch) = stream.try_next().await? {
            builder.add_batch(&batch)?;
        }
        Ok(builder.finish())
    }
}

#[derive(Default)]
struct Builder {
    index: TraceIndex,
    string_ids: HashMap<String, u32>,
    /// Services of the current trace.
    current: Vec<(u32, u32, u32)>,
    /// Rows seen so far.
    row: u32,
}

impl Builder {
    fn intern(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.string_ids.get(s) {
            return id;
        }
        let id = self.index.strings.len() as u32;
        self.index.strings.push(s.to_owned());
        self.string_ids.insert(s.to_owned(), id);
        id
    }

    fn close_trace(&mut self) {
        if self.index.ids.is_empty() {
            return;
        }
        self.current.sort_unstable_by_key(|e| e.0);
        self.index.services.append(&mut self.current);
        self.index
            .service_offsets
            .push(self.index.services.len() as u32);
    }

    fn add_batch(&mut self, batch: &arrow::array::RecordBatch) -> Result<()> {
        let ids = fixed(batch, col::TRACE_ID)?;
        let parents = fixed(batch, col::PARENT_SPAN_ID)?;
        let starts = u64s(batch, col::START)?;
        let durations = u64s(batch, col::DURATION)?;
        let statuses = u8s(batch, col::STATUS_CODE)?;
        let services = Dict::of(batch, col::SERVICE_NAME)?;
        let names = Dict::of(batch, col::NAME)?;
        // Dictionary keys of this batch → interned string ids.
        let service_ids: Vec<u32> = (0..services.values.len())
            .map(|k| self.intern(services.values.value(k)))
            .collect();
        let mut name_ids: Vec<Option<u32>> = vec![None; names.values.len()];
        for row in 0..batch.num_rows() {
            let id = TraceId(ids.value(row).try_into().unwrap_or([0; 16]));
            if self.index.ids.last() != Some(&id) {
                if self.index.service_offsets.is_empty() {
                    self.index.service_offsets.push(0);
                } else {
                    self.close_trace();
                }
                let ix = &mut self.index;
                ix.ids.push(id);
                ix.first_row.push(self.row + row as u32);
                ix.start.push(u64::MAX);
                ix.end.push(0);
                ix.spans.push(0);
                ix.errors.push(0);
                ix.root_service.push(NONE);
                ix.root_name.push(NONE);
            }
            let start = starts.value(row);
            let end = start.saturating_add(durations.value(row));
            let error = statuses.value(row) == StatusCode::Error as u8;
            let service = service_ids[services.key(row)];
            let is_root = parents.is_null(row);
            let root_name = if is_root {
                let k = names.key(row);
                let id = match name_ids[k] {
                    Some(id) => id,
                    None => {
                        let id = self.intern(names.values.value(k));
                        name_ids[k] = Some(id);
                        id
                    }
                };
                Some(id)
            } else {
                None
            };
            let ix = &mut self.index;
            let t = ix.ids.len() - 1;
            ix.start[t] = ix.start[t].min(start);
            ix.end[t] = ix.end[t].max(end);
            ix.spans[t] += 1;
            ix.errors[t] += u32::from(error);
            if let (Some(name), NONE) = (root_name, ix.root_service[t]) {
                ix.root_service[t] = service;
                ix.root_name[t] = name;
            }
            match self.current.iter_mut().find(|e| e.0 == service) {
                Some(e) => {
                    e.1 += 1;
                    e.2 += u32::from(error);
                }
                None => self.current.push((service, 1, u32::from(error))),
            }
        }
        self.row += batch.num_rows() as u32;
        Ok(())
    }

    fn finish(mut self) -> TraceIndex {
        self.close_trace();
        if self.index.service_offsets.is_empty() {
            self.index.service_offsets.push(0);
        }
        self.index
    }
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
            .get_or_try_init(|| async { TraceIndex::build(store, meta).await.map(Arc::new) })
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
