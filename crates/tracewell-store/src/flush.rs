//! Flush: turn sealed head blocks into Parquet blocks in the object store (leaving out the traces tail sampling
//! drops), then drop the WAL segments they cover.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use object_store::{ObjectStoreExt, PutPayload};
use tracewell_model::self_trace::Work;
use tracewell_model::TraceId;

use crate::block::{self, WrittenBlock};
use crate::catalog::{self, BlockMeta};
use crate::error::{Result, StoreError};
use crate::fast_hash::FastHashSet;
use crate::head::Head;
use crate::metrics::Labels;
use crate::store::Store;
use crate::tenant::Tenant;

pub(crate) fn now_unix_nano() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

impl Store {
    /// Flushes every tenant's head, whatever its size or age.
    pub async fn flush_all(&self) -> Result<()> {
        let mut first_error = None;
        for tenant in self.all_tenants() {
            if let Err(error) = self.flush_tenant(&tenant).await {
                tracing::error!(tenant = %tenant.id, %error, "flush failed");
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Flushes heads that reached their size or age limit.
    pub(crate) async fn flush_due(&self) {
        let config = &self.0.config;
        for tenant in self.all_tenants() {
            let head = tenant.active();
            let due = head.bytes() >= config.head_max_bytes
                || head.age().is_some_and(|age| age >= config.head_max_age)
                || !tenant.sealed().is_empty();
            if due {
                if let Err(error) = self.flush_tenant(&tenant).await {
                    tracing::error!(tenant = %tenant.id, %error, "flush failed; spans stay in the wal and head");
                }
            }
        }
    }

    /// Seals the active head and flushes every sealed head of the tenant, oldest first.
    pub(crate) async fn flush_tenant(&self, tenant: &Arc<Tenant>) -> Result<()> {
        let _flushing = tenant.flush_lock.lock().await;
        tenant.seal()?;
        for (sealed_segment, head) in tenant.sealed() {
            head.wait_idle().await;
            let started = Instant::now();
            let work = self.work(tenant, "flush");
            if let Some(work) = &work {
                work.set("tracewell.spans", head.span_count() as i64);
                work.set("tracewell.log_records", head.log_count() as i64);
                work.set("tracewell.head_bytes", head.bytes() as i64);
            }
            let outcome = self.flush_head(tenant, &head).await;
            if let (Some(work), Err(error)) = (&work, &outcome) {
                work.fail(error);
            }
            let labels: Labels = vec![(
                "outcome",
                if outcome.is_ok() { "ok" } else { "error" }.into(),
            )];
            self.0.metrics.flushes.get_or_create(&labels).inc();
            outcome?;
            tenant.finish_flush(&head);
            self.0.head_bytes.fetch_sub(head.bytes(), Ordering::Relaxed);
            // Freeing millions of small allocations takes a while; keep it off the async workers.
            tokio::task::spawn_blocking(move || drop(head));
            tenant.wal.remove_through(sealed_segment)?;
            self.publish_head_metrics(tenant);
            self.publish_catalog_metrics(tenant);
            self.0
                .metrics
                .flush_seconds
                .observe(started.elapsed().as_secs_f64());
        }
        Ok(())
    }

    async fn flush_head(&self, tenant: &Arc<Tenant>, head: &Arc<Head>) -> Result<()> {
        if head.is_empty() {
            return Ok(());
        }
        if !head.block_written.load(Ordering::Acquire) {
            self.write_spans_block(tenant, head).await?;
        }
        if !head.logs_written.load(Ordering::Acquire) {
            self.write_logs_block(tenant, head).await?;
        }
        let rollup = head.rollup.lock().clone();
        self.write_rollup(tenant, &rollup).await
    }

    /// Writes the head's spans (less the traces tail sampling drops) as a block and lists it in the catalog.
    async fn write_spans_block(&self, tenant: &Arc<Tenant>, head: &Arc<Head>) -> Result<()> {
        let started = Instant::now();
        let skip = self.tail_sample(tenant, head);
        if skip.len() == head.trace_count() {
            // No spans, or every trace was sampled out: no block (the rollup counted every span).
            head.block_written.store(true, Ordering::Release);
            return Ok(());
        }
        let opts = self.0.config.block.clone();
        let encoded = Arc::clone(head);
        let format = self.0.config.block_format;
        let meta = self
            .write_block(
                tenant,
                move || encoded.encode_block(format, &opts, &skip),
                0,
                Vec::new(),
            )
            .await?;
        tracing::info!(
            tenant = %tenant.id, block = %meta.id, spans = meta.stats.span_count, traces = meta.stats.trace_count,
            bytes = meta.size_bytes, took_ms = started.elapsed().as_millis() as u64, "flushed head block"
        );
        // Listed before marked: a reader that checks heads, then lists blocks, never misses these spans (for
        // an instant it may see them twice).
        tenant.catalog.lock().add(meta);
        head.block_written.store(true, Ordering::Release);
        self.persist_catalog(tenant).await;
        Ok(())
    }

    /// Writes the head's log records as a logs block (none when it holds no records).
    async fn write_logs_block(&self, tenant: &Arc<Tenant>, head: &Arc<Head>) -> Result<()> {
        if head.log_count() > 0 {
            let encoded = Arc::clone(head);
            let level = self.0.config.block.zstd_level;
            let (data, min_time, max_time) =
                tokio::task::spawn_blocking(move || encoded.encode_logs(level))
                    .await
                    .map_err(|e| StoreError::Internal(format!("logs encoder panicked: {e}")))??;
            let path = crate::logs::LogBlock::path_for(&tenant.id, min_time, max_time);
            let bytes = data.len();
            self.put_durable(&path, data).await?;
            tracing::info!(tenant = %tenant.id, %path, records = head.log_count(), bytes, "flushed logs block");
        }
        // Readers skip heads marked here, then list blocks: they see each record once.
        head.logs_written.store(true, Ordering::Release);
        Ok(())
    }

    /// A self-tracing span of background work on `tenant`; none for the tenant self-tracing writes to, whose
    /// flushes would otherwise trace themselves forever.
    pub(crate) fn work(&self, tenant: &Tenant, name: &'static str) -> Option<Work> {
        let untraced = self.0.config.self_tracing_tenant.as_deref() == Some(tenant.id.as_str());
        (!untraced).then(|| {
            Work::start(
                name,
                opentelemetry::trace::SpanKind::Internal,
                vec![opentelemetry::KeyValue::new(
                    "tracewell.tenant",
                    tenant.id.to_string(),
                )],
            )
        })
    }

    /// The traces of `head` that tail sampling leaves out of its block (none when the tenant is not sampled);
    /// the decisions are counted in the sampling metrics.
    fn tail_sample(&self, tenant: &Tenant, head: &Head) -> FastHashSet<TraceId> {
        let sampler = &self.0.config.tail_sampling;
        let name = tenant.id.as_str();
        if !sampler.samples(name) {
            return FastHashSet::default();
        }
        let window = head.age().unwrap_or_default();
        // The head's rollup counted every span before sampling: the baseline of percentile policies.
        let baseline = crate::sampling::Baseline::from_rollup(&head.rollup.lock());
        let verdict = sampler.decide(name, window, &baseline, |f| {
            head.visit_traces(|id, spans| f(id, spans))
        });
        let metrics = &self.0.metrics;
        for ((policy, kept), traces) in &verdict.counts {
            let labels: Labels = vec![
                ("tenant", name.to_owned()),
                ("policy", policy.clone()),
                ("decision", if *kept { "keep" } else { "drop" }.into()),
            ];
            metrics
                .tail_sampled_traces
                .get_or_create(&labels)
                .inc_by(*traces);
        }
        metrics
            .tail_sampling_dropped_spans
            .get_or_create(&crate::metrics::tenant_label(name))
            .inc_by(verdict.dropped_spans);
        verdict.dropped
    }

    /// Runs `encode` (CPU-bound, on a blocking thread) and makes the block durable: data first, then
    /// `meta.json`.
    pub(crate) async fn write_block<F>(
        &self,
        tenant: &Tenant,
        encode: F,
        compaction_level: u32,
        compacted_from: Vec<String>,
    ) -> Result<BlockMeta>
    where
        F: FnOnce() -> Result<WrittenBlock> + Send + 'static,
    {
        let written = tokio::task::spawn_blocking(encode)
            .await
            .map_err(|e| StoreError::Internal(format!("block encoder panicked: {e}")))??;
        let WrittenBlock {
            format,
            data,
            index,
            stats,
        } = written;
        let meta = BlockMeta {
            id: ulid::Ulid::new().to_string(),
            tenant: tenant.id.as_str().to_owned(),
            format: format.as_str().to_owned(),
            size_bytes: data.len() as u64,
            index_bytes: index.as_ref().map_or(0, |i| i.len() as u64),
            compaction_level,
            compacted_from,
            created_unix_nano: now_unix_nano(),
            stats,
        };
        self.put_durable(&meta.data_path(), data).await?;
        if let (Some(index), Some(path)) =
            (index, block::side_files(format, &meta.data_path()).first())
        {
            self.put_durable(path, index).await?;
        }
        catalog::write_meta(&self.0.objects, &meta).await?;
        self.sync_local(&meta.meta_path()).await?;
        Ok(meta)
    }

    pub(crate) async fn put_durable(
        &self,
        path: &object_store::path::Path,
        data: Bytes,
    ) -> Result<()> {
        self.0.objects.put(path, PutPayload::from(data)).await?;
        self.sync_local(path).await
    }

    /// The local object store does not fsync; do it here so a block is durable before WAL segments go. Other
    /// object stores are durable once `put` returns.
    async fn sync_local(&self, path: &object_store::path::Path) -> Result<()> {
        if !self.0.local_blocks {
            return Ok(());
        }
        let root = self.0.config.blocks_dir();
        let file = root.join(path.as_ref());
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            std::fs::File::open(&file)?.sync_all()?;
            // Every directory from the file up to the blocks root may have been created for this block.
            let mut dir = file.parent();
            while let Some(d) = dir.filter(|d| d.starts_with(&root)) {
                std::fs::File::open(d)?.sync_all()?;
                dir = d.parent();
            }
            Ok(())
        })
        .await
        .map_err(|e| StoreError::Internal(format!("fsync task panicked: {e}")))??;
        Ok(())
    }
}
