//! Trace by id, without a time range: heads, then only the blocks whose trace index holds the id. A block whose
//! index is not built yet is read through its bloom filters and page index, and its index is built in the
//! background for the next lookup. A querier also asks the cluster's block-builders (`peers.rs`).

use std::sync::Arc;

use tracewell_model::{Span, TenantId, TraceId};
use tracewell_store::{block, BlockMeta};

use crate::error::Result;
use crate::QueryService;

/// The spans of one trace (earliest first), and blocks (or, on a querier, block-builders) that could not be read:
/// the answer may be incomplete.
#[derive(Debug, Clone, Default)]
pub struct TraceResult {
    pub spans: Vec<Span>,
    pub unreadable_blocks: Vec<String>,
}

impl QueryService {
    pub async fn trace(&self, tenant: &TenantId, id: TraceId) -> Result<TraceResult> {
        let work = crate::query_work("trace by id", tenant);
        work.set("tracewell.trace_id", id.to_hex());
        let result = self.bounded(self.trace_unbounded(tenant, id)).await;
        work.finish(&result, |w, found| {
            w.set("tracewell.spans", found.spans.len() as i64);
            w.set(
                "tracewell.unreadable_blocks",
                found.unreadable_blocks.len() as i64,
            );
        });
        result
    }

    async fn trace_unbounded(&self, tenant: &TenantId, id: TraceId) -> Result<TraceResult> {
        let mut spans: Vec<Span> = self
            .store
            .heads(tenant)
            .iter()
            .flat_map(|h| h.trace(&id))
            .collect();
        let mut unreadable_blocks = Vec::new();
        // Blocks with an index are read at the trace's rows only; the others through bloom filters and page index.
        let blocks: Vec<(Arc<BlockMeta>, Option<std::ops::Range<usize>>)> = self
            .store
            .blocks(tenant)
            .into_iter()
            .filter(|b| b.may_contain(&id))
            .filter_map(|b| match self.indexes.cached(&b.id) {
                Some(index) => index.rows(&id).map(|rows| (b, Some(rows))),
                None => {
                    self.build_index_later(&b);
                    Some((b, None))
                }
            })
            .collect();
        let reads = blocks.iter().map(|(meta, rows)| {
            let objects = self.store.objects();
            async move {
                let (path, size) = (meta.data_path(), Some(meta.size_bytes));
                let found = match rows {
                    Some(rows) => block::read_rows(objects, &path, size, rows.clone()).await,
                    None => block::read_trace(objects, &path, size, id).await,
                };
                (meta, found)
            }
        });
        for (meta, found) in futures::future::join_all(reads).await {
            match found {
                Ok(found) => spans.extend(found),
                // Compacted or expired meanwhile: its spans live in the replacing block or are gone.
                Err(_) if !self.store.blocks(tenant).iter().any(|b| b.id == meta.id) => {}
                Err(error) => {
                    self.store.record_block_read_error();
                    tracing::warn!(tenant = %tenant, block = %meta.id, %error, "block unreadable");
                    unreadable_blocks.push(meta.id.clone());
                }
            }
        }
        if !self.peers.is_empty() {
            let (held, unreachable) = self.peers.trace(tenant, id).await;
            spans.extend(held);
            unreadable_blocks.extend(unreachable);
        }
        let mut spans = tracewell_store::dedupe_spans(spans);
        spans.sort_by_key(|s| (s.start_unix_nano, s.span_id, s.kind as u8));
        Ok(TraceResult {
            spans,
            unreadable_blocks,
        })
    }

    fn build_index_later(&self, meta: &Arc<BlockMeta>) {
        let (service, meta) = (self.clone(), Arc::clone(meta));
        tokio::spawn(async move {
            if let Err(error) = service.indexes.get(&service.store, &meta).await {
                tracing::warn!(block = %meta.id, %error, "building the trace index failed");
            }
        });
    }

    /// Builds the trace index of every block that lacks one and forgets indexes of deleted blocks. Run it after
    /// start-up and periodically, so lookups and searches find indexes ready.
    pub async fn warm_indexes(&self) {
        let mut live = std::collections::HashSet::new();
        for tenant in self.store.tenants() {
            for meta in self.store.blocks(&tenant) {
                live.insert(meta.id.clone());
                if self.indexes.cached(&meta.id).is_none() {
                    if let Err(error) = self.indexes.get(&self.store, &meta).await {
                        tracing::warn!(block = %meta.id, %error, "building the trace index failed");
                    }
                }
            }
        }
        self.indexes.retain(|id| live.contains(id));
    }
}
