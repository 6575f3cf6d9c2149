//! Compaction: merge small blocks whose data starts in the same time window into one larger block, dropping
//! spans that retrying clients sent twice (same trace id and span id).
//!
//! A merge streams its inputs (`block::merge`): it holds a chunk of each input and one row group of output, so
//! its memory does not grow with block sizes. Blocks are grouped in start order until the next would pass
//! `compaction_max_spans` (the size of a merged block), and a block holding more than half of it is left alone.
//!
//! The merged block names the blocks it replaces in `compacted_from`; it is made durable before they are
//! deleted, and start-up finishes deletions a crash interrupted, so every span stays readable exactly once.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use tracewell_model::{Span, SpanId, TraceId};

use crate::block::{self, MergeInput, MergeLimits};
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
            let work = self.work(tenant, "compact");
            if let Some(work) = &work {
                work.set("tracewell.input_blocks", group.len() as i64);
                let spans: u64 = group.iter().map(|m| m.stats.span_count).sum();
                work.set("tracewell.input_spans", spans as i64);
            }
            let outcome = self.merge_blocks(tenant, &group).await;
            if let (Some(work), Err(error)) = (&work, &outcome) {
                work.fail(error);
            }
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
        let max_spans = config.compaction_max_spans as u64;
        let mut windows: BTreeMap<u64, Vec<Arc<BlockMeta>>> = BTreeMap::new();
        for meta in tenant.catalog.lock().blocks() {
            if meta.size_bytes < config.compaction_target_bytes
                && meta.stats.span_count.saturating_mul(2) <= max_spans
            {
                windows
                    .entry(meta.stats.min_start_unix_nano / window)
                    .or_default()
                    .push(Arc::clone(meta));
            }
        }
        let mut groups = Vec::new();
        for (w, blocks) in windows {
            let window_over = (w + 2).saturating_mul(window) <= now;
            let wanted = if window_over {
                2
            } else {
                MIN_BLOCKS_OPEN_WINDOW
            };
            for group in bounded_groups(blocks, max_spans) {
                if group.len() >= wanted {
                    groups.push(group);
                }
            }
        }
        groups
    }

    async fn merge_blocks(&self, tenant: &Arc<Tenant>, inputs: &[Arc<BlockMeta>]) -> Result<()> {
        let merge_inputs: Vec<MergeInput> = inputs
            .iter()
            .map(|meta| MergeInput {
                path: meta.data_path(),
                size: Some(meta.size_bytes),
                rows: usize::try_from(meta.stats.span_count).unwrap_or(usize::MAX),
            })
            .collect();
        let dropped = Arc::new(AtomicU64::new(0));
        let encode = {
            let objects = Arc::clone(&self.0.objects);
            let handle = tokio::runtime::Handle::current();
            let format = self.0.config.block_format;
            let opts = self.0.config.block.clone();
            let dropped = Arc::clone(&dropped);
            move || {
                let merged = block::merge_blocks(
                    &handle,
                    &objects,
                    &merge_inputs,
                    format,
                    &opts,
                    MergeLimits::default(),
                )?;
                dropped.store(merged.duplicates_dropped, Ordering::Relaxed);
                Ok(merged.block)
            }
        };
        let level = inputs.iter().map(|m| m.compaction_level).max().unwrap_or(0) + 1;
        let ids: Vec<String> = inputs.iter().map(|m| m.id.clone()).collect();
        let merged = self.write_block(tenant, encode, level, ids.clone()).await?;
        let dropped = dropped.load(Ordering::Relaxed);
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

/// Splits blocks (in catalog order, i.e. by start) into consecutive groups of at most `max_spans` spans.
fn bounded_groups(blocks: Vec<Arc<BlockMeta>>, max_spans: u64) -> Vec<Vec<Arc<BlockMeta>>> {
    let mut groups: Vec<Vec<Arc<BlockMeta>>> = Vec::new();
    let mut spans = 0u64;
    for meta in blocks {
        let n = meta.stats.span_count;
        match groups.last_mut() {
            Some(group) if spans + n <= max_spans => {
                spans += n;
                group.push(meta);
            }
            _ => {
                spans = n;
                groups.push(vec![meta]);
            }
        }
    }
    groups
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

#[cfg(test)]
mod tests {
    use super::*;

    fn block(id: &str, spans: u64) -> Arc<BlockMeta> {
        Arc::new(BlockMeta {
            id: id.into(),
            tenant: "t".into(),
            format: "v1".into(),
            size_bytes: 1,
            index_bytes: 0,
            compaction_level: 0,
            compacted_from: vec![],
            created_unix_nano: 0,
            stats: crate::block::BlockStats {
                span_count: spans,
                ..Default::default()
            },
        })
    }

    #[test]
    fn merges_never_take_more_than_the_span_bound() {
        let blocks = vec![
            block("a", 40),
            block("b", 40),
            block("c", 30),
            block("d", 90),
            block("e", 5),
        ];
        let groups = bounded_groups(blocks, 100);
        let ids: Vec<Vec<&str>> = groups
            .iter()
            .map(|g| g.iter().map(|m| m.id.as_str()).collect())
            .collect();
        assert_eq!(ids, vec![vec!["a", "b"], vec!["c"], vec!["d", "e"]]);
        for g in &groups {
            assert!(g.iter().map(|m| m.stats.span_count).sum::<u64>() <= 100);
        }
    }
}
