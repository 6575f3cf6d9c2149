//! Compaction: merge small blocks whose data starts in the same time window into one larger block, dropping
//! spans that retrying clients sent twice (same trace id and span id).
//!
//! The merged block names the blocks it replaces in `compacted_from`; it is made durable before they are
//! deleted, and start-up finishes deletions a crash interrupted, so every span stays readable exactly once.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use tracewell_model::{Span, SpanId, TraceId};

use crate::block;
use crate::catalog::{self, BlockMeta};
use crate::error::Result;
use crate::flush::now_unix_nano;
use crate::metrics::Labels;
use crate::store::Store;
use crate::tenant::Tenant;

/// A window gets compacted once it has this many small blocks, or 2 once the window is over.
const MIN_BLOCKS_OPEN_WINDOW: usize = 4;

impl Store {
    /// Compacts every window of the tenant that qualifies; returns the number of merges.
    pub(crate) async fn compact_tenant(&self, tenant: &Arc<Tenant>) -> Result<usize> {
        let _maintenance = tenant.maintenance_lock.lock().await;
        let groups = self.compaction_groups(tenant);
        let mut merges = 0;
        for group in groups {
            let started = Instant::now();
            let outcome = self.merge_blocks(tenant, &group).await;
            let labels: Labels = vec![(
                "outcome",
                if outcome.is_ok() { "ok" } else { "error" }.into(),
            )];
            self.0.metrics.compactions.get_or_create(&labels).inc();
            self.0
                .metrics
                .compaction_seconds
                .observe(started.elapsed().as_secs_f64());
            outcome?;
            merges += 1;
        }
        Ok(merges)
    }

    fn compaction_groups(&self, tenant: &Tenant) -> Vec<Vec<Arc<BlockMeta>>> {
        let config = &self.0.config;
        let window = config.compaction_window.as_nanos().max(1) as u64;
        let now = now_unix_nano();
        let mut windows: BTreeMap<u64, Vec<Arc<BlockMeta>>> = BTreeMap::new();
        for meta in tenant.catalog.lock().blocks() {
            if meta.size_bytes < config.compaction_target_bytes {
                windows
                    .entry(meta.stats.min_start_unix_nano / window)
                    .or_default()
                    .push(Arc::clone(meta));
            }
        }
        windows
            .into_iter()
            .filter(|(w, blocks)| {
                let window_over = (w + 2).saturating_mul(window) <= now;
                blocks.len() >= MIN_BLOCKS_OPEN_WINDOW || (window_over && blocks.len() >= 2)
            })
            .map(|(_, blocks)| blocks)
            .collect()
    }

    async fn merge_blocks(&self, tenant: &Arc<Tenant>, inputs: &[Arc<BlockMeta>]) -> Result<()> {
        let mut spans = Vec::new();
        for meta in inputs {
            spans.extend(
                block::read_all_sized(
                    Arc::clone(&self.0.objects),
                    &meta.data_path(),
                    Some(meta.size_bytes),
                )
                .await?,
            );
        }
        let before = spans.len();
        let spans = dedupe(spans);
        let dropped = (before - spans.len()) as u64;
        let level = inputs.iter().map(|m| m.compaction_level).max().unwrap_or(0) + 1;
        let ids: Vec<String> = inputs.iter().map(|m| m.id.clone()).collect();
        let opts = self.0.config.block.clone();
        let encode = move || block::write_block(spans, &opts);
        let merged = self.write_block(tenant, encode, level, ids.clone()).await?;
        tracing::info!(
            tenant = %tenant.id, block = %merged.id, inputs = ids.len(), spans = merged.stats.span_count,
            duplicates_dropped = dropped, level, "compacted blocks"
        );
        self.0.metrics.compaction_duplicates_dropped.inc_by(dropped);
        {
            let mut catalog = tenant.catalog.lock();
            catalog.add(merged);
            catalog.remove(&ids);
        }
        self.persist_catalog(tenant).await;
        for meta in inputs {
            catalog::delete_block(&self.0.objects, meta).await;
        }
        Ok(())
    }
}

/// Keeps the first occurrence of each span. A span is identified by trace id, span id, kind and start time:
/// a retrying client re-sends identical spans, while the client and server halves of a shared Zipkin span
/// carry the same span id with different kinds and times, and both must stay.
pub fn dedupe(spans: Vec<Span>) -> Vec<Span> {
    let mut seen: HashSet<(TraceId, SpanId, u8, u64)> = HashSet::with_capacity(spans.len());
    spans
        .into_iter()
        .filter(|s| seen.insert((s.trace_id, s.span_id, s.kind as u8, s.start_unix_nano)))
        .collect()
}
