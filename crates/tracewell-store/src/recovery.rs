//! Start-up recovery: load every tenant's block catalog, replay every tenant's WAL (spans and log records)
//! into its head block, then mark the store ready.

use std::sync::Arc;

use tracewell_model::{otlp, TenantId};
use tracewell_wal::Replay;

use crate::catalog::{self, Catalog};
use crate::error::Result;
use crate::store::Store;
use crate::tenant::Tenant;
use crate::wal_record::WalRequest;

/// What recovery found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RecoveryReport {
    pub tenants: usize,
    pub blocks: usize,
    pub replayed_spans: usize,
    pub truncated_segments: usize,
}

impl Store {
    /// Loads catalogs and replays WALs. Writes are refused until this returns.
    pub async fn recover(&self) -> Result<RecoveryReport> {
        let mut report = RecoveryReport::default();
        for tenant in catalog::list_tenants(&self.0.objects).await? {
            let catalog = catalog::load(&self.0.objects, &tenant).await?;
            report.blocks += catalog.len();
            let opened = self.open_tenant(&tenant, catalog)?;
            opened.rollup_files.load(&self.0.objects, &tenant).await?;
        }
        for entry in std::fs::read_dir(self.0.config.wal_dir())? {
            let entry = entry?;
            let name = entry.file_name();
            match TenantId::new(&name.to_string_lossy()) {
                Ok(tenant) if entry.file_type()?.is_dir() => {
                    self.open_tenant(&tenant, Catalog::default())?;
                }
                _ => {
                    tracing::warn!(path = %entry.path().display(), "ignoring unexpected entry in wal directory")
                }
            }
        }
        for tenant in self.all_tenants() {
            report.tenants += 1;
            report.replayed_spans += tenant.heads().iter().map(|h| h.span_count()).sum::<usize>();
        }
        report.truncated_segments = self.0.metrics.wal_truncations.get() as usize;
        self.set_ready();
        Ok(report)
    }
}

/// Replays WAL records into the tenant's active head.
pub(crate) fn replay_into(store: &Store, tenant: &Arc<Tenant>, replay: Replay) {
    let metrics = &store.0.metrics;
    for cut in &replay.truncated {
        metrics.wal_truncations.inc();
        tracing::warn!(tenant = %tenant.id, segment = cut.segment, offset = cut.offset, reason = %cut.reason, "cut torn or corrupt wal tail");
    }
    let head = tenant.active();
    let mut spans_total = 0;
    for record in replay.records {
        if let Some((partition, offset)) = crate::wal_record::position(&record.payload) {
            store.note_log_position(partition, offset);
        }
        match crate::wal_record::decode(&record.payload) {
            Ok(WalRequest::Traces(req)) => {
                let spans = otlp::into_spans_sharing(req, &mut tenant.origins.lock());
                spans_total += spans.len();
                store.insert(tenant, &head, spans);
            }
            Ok(WalRequest::Logs(req)) => {
                let records = tracewell_model::logs::into_log_records_sharing(
                    req,
                    &mut tenant.origins.lock(),
                );
                let bytes = head.insert_logs(records);
                store
                    .0
                    .head_bytes
                    .fetch_add(bytes, std::sync::atomic::Ordering::Relaxed);
            }
            Err(reason) => {
                tracing::warn!(tenant = %tenant.id, segment = record.segment, %reason, "skipping undecodable wal record")
            }
        }
    }
    metrics.wal_replayed_spans.inc_by(spans_total as u64);
    if head.is_empty() {
        // Nothing to flush, so no flush would ever drop these segments.
        let sealed: Vec<_> = tenant.wal.sealed_segments();
        if let Some(last) = sealed.last() {
            if let Err(error) = tenant.wal.remove_through(*last) {
                tracing::warn!(tenant = %tenant.id, %error, "could not remove replayed wal segments");
            }
        }
    }
    if spans_total > 0 {
        tracing::info!(tenant = %tenant.id, spans = spans_total, "replayed wal into head block");
    }
}
