//! Log records beside spans: appended through the same WAL and head as spans (so "acknowledged = durable" and
//! replay hold for them unchanged), flushed into their own logs blocks (`block.rs`), searched over heads and
//! blocks (`search`), and deleted by a retention of their own.

pub mod block;

use std::sync::atomic::Ordering;
use std::time::Duration;

use futures::TryStreamExt;
use object_store::ObjectStoreExt;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use tracewell_model::{LogRecord, Origins, TenantId, TraceId};

pub use block::LogBlock;

use crate::catalog::Catalog;
use crate::error::{Result, StoreError};
use crate::flush::now_unix_nano;
use crate::store::Store;

/// Which log records a search wants. Empty fields match everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogQuery {
    pub trace_id: Option<TraceId>,
    /// `service.name` of the record's resource.
    pub service: Option<String>,
    /// Records of at least this severity number (0: any).
    pub min_severity: i32,
    /// A case-insensitive substring of the body text.
    pub text: Option<String>,
    /// Attributes (of the record or its resource) that must have these values, compared as text.
    pub attributes: Vec<(String, String)>,
    /// Time range in unix nanoseconds, inclusive; 0 and `u64::MAX` for no bound.
    pub start_unix_nano: u64,
    pub end_unix_nano: u64,
    /// Most records returned (the newest).
    pub limit: usize,
}

/// What a log search found: records newest first, and whether more matched than `limit`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogResult {
    pub records: Vec<LogRecord>,
    pub truncated: bool,
}

impl LogQuery {
    /// Whether a record matches every condition. `lower_text` is `text` in lowercase.
    fn matches(&self, r: &LogRecord, lower_text: Option<&str>) -> bool {
        let time = r.time();
        time >= self.start_unix_nano
            && time <= self.end_unix_nano
            && r.severity_number >= self.min_severity
            && self.trace_id.is_none_or(|t| r.trace_id == Some(t))
            && self
                .service
                .as_deref()
                .is_none_or(|s| s == r.service_name())
            && lower_text.is_none_or(|t| r.body_text().to_lowercase().contains(t))
            && self.attributes.iter().all(|(key, value)| {
                r.attributes
                    .iter()
                    .chain(&r.resource.attributes)
                    .any(|a| &a.key == key && a.value.to_text() == *value)
            })
    }
}

impl Store {
    /// Makes a sanitized logs request durable and visible: appends it to the tenant's WAL, waits for the fsync,
    /// then inserts its records into the head. Returns the number of records inserted.
    pub async fn append_logs(
        &self,
        tenant_id: &TenantId,
        req: ExportLogsServiceRequest,
        encoded: Option<&[u8]>,
    ) -> Result<usize> {
        if !self.is_ready() {
            return Err(StoreError::NotReady);
        }
        self.check_budget(tenant_id)?;
        if let Some(log) = self.request_log() {
            let count = req
                .resource_logs
                .iter()
                .flat_map(|r| &r.scope_logs)
                .map(|s| s.log_records.len())
                .sum();
            log.append_logs(tenant_id, req)
                .await
                .map_err(StoreError::LogUnavailable)?;
            self.0.metrics.accepted_log_records.inc_by(count as u64);
            return Ok(count);
        }
        let record = match encoded {
            Some(bytes) => crate::wal_record::logs_from_encoded(bytes),
            None => crate::wal_record::encode_logs(&req),
        };
        self.append_logs_record(tenant_id, req, record).await
    }

    /// Appends `record` (which holds `req`) to the tenant's WAL, then inserts `req`'s log records into the head.
    pub(crate) async fn append_logs_record(
        &self,
        tenant_id: &TenantId,
        req: ExportLogsServiceRequest,
        record: Vec<u8>,
    ) -> Result<usize> {
        let tenant = self.open_tenant(tenant_id, Catalog::default())?;
        let records =
            tracewell_model::logs::into_log_records_sharing(req, &mut tenant.origins.lock());
        let count = records.len();
        let guard = tenant.register();
        tenant.wal.append(record).await?;
        let bytes = guard.head().insert_logs(records);
        drop(guard);
        self.0.head_bytes.fetch_add(bytes, Ordering::Relaxed);
        self.publish_head_metrics(&tenant);
        self.0.metrics.accepted_log_records.inc_by(count as u64);
        if tenant.active().bytes() >= self.0.config.head_max_bytes {
            self.0.flush_wanted.notify_one();
        }
        Ok(count)
    }

    /// The tenant's logs blocks, as listed in object storage.
    pub async fn log_blocks(&self, tenant: &TenantId) -> Result<Vec<LogBlock>> {
        let listed: Vec<_> = self
            .0
            .objects
            .list(Some(&LogBlock::prefix(tenant)))
            .try_collect()
            .await?;
        Ok(listed
            .into_iter()
            .filter_map(|o| LogBlock::from_listing(o.location, o.size))
            .collect())
    }

    /// Log records matching `query`, newest first: from the heads, then from the blocks whose time range
    /// overlaps the query's, newest block first, until `limit` records are certain.
    pub async fn search_logs(&self, tenant: &TenantId, query: &LogQuery) -> Result<LogResult> {
        let lower = query.text.as_ref().map(|t| t.to_lowercase());
        let lower = lower.as_deref();
        let mut found = Vec::new();
        // Heads first, then the listing: a head whose records went into a block while we read is skipped by
        // `visit_logs` and its block is in the listing.
        for head in self.heads(tenant) {
            head.visit_logs(|r| {
                if query.matches(r, lower) {
                    found.push(r.clone());
                }
            });
        }
        let mut blocks: Vec<LogBlock> = self
            .log_blocks(tenant)
            .await?
            .into_iter()
            .filter(|b| b.overlaps(query.start_unix_nano, query.end_unix_nano))
            .collect();
        blocks.sort_by_key(|b| std::cmp::Reverse(b.max_time));
        let mut origins = Origins::default();
        for block in blocks {
            if found.len() >= query.limit {
                // Enough records: an older block can only add records older than the newest `limit`.
                found.sort_by_key(|r: &LogRecord| std::cmp::Reverse(r.time()));
                if found[query.limit - 1].time() > block.max_time {
                    break;
                }
            }
            let records = block::read(
                std::sync::Arc::clone(&self.0.objects),
                &block,
                query.trace_id,
                &mut origins,
                |r| query.matches(r, lower),
            )
            .await
            .map_err(|e| StoreError::CorruptBlock {
                block: block.path.to_string(),
                reason: e.to_string(),
            })?;
            found.extend(records);
        }
        found.sort_by_key(|r| std::cmp::Reverse(r.time()));
        let truncated = found.len() > query.limit;
        found.truncate(query.limit);
        Ok(LogResult {
            records: found,
            truncated,
        })
    }

    /// Deletes a tenant's logs blocks whose newest record is older than `retention`; returns how many.
    pub(crate) async fn apply_log_retention(
        &self,
        tenant: &TenantId,
        retention: Duration,
    ) -> usize {
        let cutoff = now_unix_nano().saturating_sub(retention.as_nanos() as u64);
        let blocks = match self.log_blocks(tenant).await {
            Ok(blocks) => blocks,
            Err(error) => {
                tracing::warn!(%tenant, %error, "cannot list logs blocks for retention");
                return 0;
            }
        };
        let mut deleted = 0;
        for block in blocks.into_iter().filter(|b| b.max_time < cutoff) {
            match self.0.objects.delete(&block.path).await {
                Ok(()) => {
                    deleted += 1;
                    tracing::info!(%tenant, path = %block.path, "log retention deleted block");
                }
                Err(error) => {
                    tracing::warn!(%tenant, path = %block.path, %error, "could not delete logs block")
                }
            }
        }
        self.0
            .metrics
            .retention_deleted_log_blocks
            .inc_by(deleted as u64);
        deleted
    }

    /// The records of one trace in time order (for a trace view).
    pub async fn trace_logs(
        &self,
        tenant: &TenantId,
        trace_id: TraceId,
        limit: usize,
    ) -> Result<LogResult> {
        let mut result = self
            .search_logs(
                tenant,
                &LogQuery {
                    trace_id: Some(trace_id),
                    end_unix_nano: u64::MAX,
                    limit,
                    ..Default::default()
                },
            )
            .await?;
        result.records.reverse();
        Ok(result)
    }
}
