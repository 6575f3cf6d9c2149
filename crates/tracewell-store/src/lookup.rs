//! Trace by id: the tenant's heads, then the blocks whose trace-id range can hold the trace, merged and deduplicated.

use std::sync::Arc;

use tracewell_model::{Span, TenantId, TraceId};

use crate::block;
use crate::compaction::dedupe;
use crate::error::Result;
use crate::store::Store;

/// Spans of one trace, and blocks that could not be read (so callers can say the answer may be incomplete).
#[derive(Debug, Default)]
pub struct TraceLookup {
    pub spans: Vec<Span>,
    pub unreadable_blocks: Vec<String>,
}

impl Store {
    /// Finds every span of a trace, ordered by start time. An unknown tenant or trace gives no spans.
    pub async fn find_trace(&self, tenant: &TenantId, trace_id: TraceId) -> Result<TraceLookup> {
        let Some(tenant) = self.tenant_if_exists(tenant) else {
            return Ok(TraceLookup::default());
        };
        let mut spans: Vec<Span> = tenant
            .heads()
            .iter()
            .flat_map(|h| h.trace(&trace_id))
            .collect();
        let candidates: Vec<_> = tenant
            .catalog
            .lock()
            .blocks()
            .iter()
            .filter(|b| b.may_contain(&trace_id))
            .cloned()
            .collect();
        let reads = candidates.iter().map(|meta| {
            let objects = Arc::clone(&self.0.objects);
            async move {
                (
                    meta,
                    block::read_trace_sized(
                        objects,
                        &meta.data_path(),
                        Some(meta.size_bytes),
                        trace_id,
                    )
                    .await,
                )
            }
        });
        let mut unreadable_blocks = Vec::new();
        for (meta, result) in futures::future::join_all(reads).await {
            match result {
                Ok(found) => spans.extend(found),
                Err(_) if !self.blocks(&tenant.id).iter().any(|b| b.id == meta.id) => {} // deleted meanwhile
                Err(error) => {
                    self.0.metrics.block_read_errors.inc();
                    tracing::warn!(tenant = %tenant.id, block = %meta.id, %error, "block unreadable");
                    unreadable_blocks.push(meta.id.clone());
                }
            }
        }
        let mut spans = dedupe(spans);
        spans.sort_by_key(|s| (s.start_unix_nano, s.span_id, s.kind as u8));
        Ok(TraceLookup {
            spans,
            unreadable_blocks,
        })
    }
}
