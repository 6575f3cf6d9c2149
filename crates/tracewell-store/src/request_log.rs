//! The store's side of the distributed write path. A distributor's store forwards each acknowledged request to a
//! replicated log ([`RequestLog`], e.g. a Kafka topic) instead of its WAL and heads; a block-builder's store
//! appends the records it consumes from that log with their position ([`Store::append_from_log`]), so that after a
//! restart its WAL replay says where in each partition to resume ([`Store::log_positions`]). A querier's store
//! holds no heads and refreshes its block catalogs from the shared bucket ([`Store::refresh_catalogs`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::future::BoxFuture;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use tracewell_model::TenantId;

use crate::catalog::{self};
use crate::error::{Result, StoreError};
use crate::store::Store;
use crate::wal_record::{self, WalRequest};

/// The highest offset appended per log partition.
pub type LogPositions = BTreeMap<i32, i64>;

/// A durable, replicated log that takes a distributor's requests. Each `append` returns once the log holds the
/// request durably (for Kafka: acknowledged by all in-sync replicas); an error means nothing may be acknowledged.
/// Requests are given by value, so an implementation can move spans into its records instead of copying them.
pub trait RequestLog: Send + Sync + 'static {
    fn append_traces<'a>(
        &'a self,
        tenant: &'a TenantId,
        request: ExportTraceServiceRequest,
    ) -> BoxFuture<'a, Result<(), String>>;

    fn append_logs<'a>(
        &'a self,
        tenant: &'a TenantId,
        request: ExportLogsServiceRequest,
    ) -> BoxFuture<'a, Result<(), String>>;
}

/// A traces request as a request-log record (the form [`Store::append_from_log`] takes).
pub fn traces_record(request: &ExportTraceServiceRequest) -> Vec<u8> {
    wal_record::encode(request)
}

/// A logs request as a request-log record.
pub fn logs_record(request: &ExportLogsServiceRequest) -> Vec<u8> {
    wal_record::encode_logs(request)
}

/// What one consumed log record held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    Spans(usize),
    LogRecords(usize),
}

impl Store {
    /// Sends every request this store acknowledges to `log` instead of the WAL and heads (the distributor role).
    /// Set once, before the store takes writes; later calls are ignored and return false.
    pub fn forward_to(&self, log: Arc<dyn RequestLog>) -> bool {
        self.0.request_log.set(log).is_ok()
    }

    pub(crate) fn request_log(&self) -> Option<&Arc<dyn RequestLog>> {
        self.0.request_log.get()
    }

    /// Appends a record consumed from the request log (a WAL record: kind byte and OTLP protobuf) at `partition`
    /// and `offset`: into the tenant's WAL with its position, then into the head. Records at or below the
    /// partition's last appended offset are skipped (`Ok(None)`), so a replayed range is never stored twice.
    pub async fn append_from_log(
        &self,
        tenant_id: &TenantId,
        record: &[u8],
        partition: i32,
        offset: i64,
    ) -> Result<Option<Appended>> {
        if !self.is_ready() {
            return Err(StoreError::NotReady);
        }
        if self
            .0
            .log_positions
            .lock()
            .get(&partition)
            .is_some_and(|last| offset <= *last)
        {
            return Ok(None);
        }
        self.check_budget(tenant_id)?;
        let request = wal_record::decode(record).map_err(|reason| StoreError::BadLogRecord {
            partition,
            offset,
            reason,
        })?;
        let positioned = wal_record::positioned(partition, offset, record);
        let appended = match request {
            WalRequest::Traces(req) => Appended::Spans(
                self.append_traces_record(tenant_id, req, positioned)
                    .await?
                    .spans,
            ),
            WalRequest::Logs(req) => {
                Appended::LogRecords(self.append_logs_record(tenant_id, req, positioned).await?)
            }
        };
        self.note_log_position(partition, offset);
        Ok(Some(appended))
    }

    pub(crate) fn note_log_position(&self, partition: i32, offset: i64) {
        let mut positions = self.0.log_positions.lock();
        let last = positions.entry(partition).or_insert(offset);
        *last = (*last).max(offset);
    }

    /// The highest offset appended per partition, from this run's appends and the WAL replay.
    pub fn log_positions(&self) -> LogPositions {
        self.0.log_positions.lock().clone()
    }

    /// Raises the known positions to `positions` (e.g. read from a file the block-builder keeps), so records at or
    /// below them are skipped.
    pub fn merge_log_positions(&self, positions: &LogPositions) {
        for (partition, offset) in positions {
            self.note_log_position(*partition, *offset);
        }
    }

    /// Reloads every tenant's block catalog from the object store (blocks other processes wrote or deleted).
    /// Returns the number of blocks now known.
    pub async fn refresh_catalogs(&self) -> Result<usize> {
        let mut blocks = 0;
        for tenant_id in catalog::list_tenants(&self.0.objects).await? {
            let loaded = catalog::load_read_only(&self.0.objects, &tenant_id).await?;
            blocks += loaded.len();
            match self.tenant_if_exists(&tenant_id) {
                Some(tenant) => {
                    *tenant.catalog.lock() = loaded;
                    self.publish_catalog_metrics(&tenant);
                }
                None => {
                    let tenant = self.open_tenant(&tenant_id, loaded)?;
                    self.publish_catalog_metrics(&tenant);
                }
            }
        }
        Ok(blocks)
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
    use prometheus_client::registry::Registry;

    use super::*;
    use crate::StoreConfig;

    fn request(trace: u8) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: vec![Span {
                        trace_id: vec![trace; 16],
                        span_id: vec![trace; 8],
                        name: "consumed".into(),
                        start_time_unix_nano: 1_700_000_000_000_000_000,
                        end_time_unix_nano: 1_700_000_000_100_000_000,
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    async fn open(dir: &std::path::Path) -> Store {
        let store = Store::open(StoreConfig::new(dir), &mut Registry::default()).unwrap();
        store.recover().await.unwrap();
        store
    }

    #[tokio::test]
    async fn consumed_records_are_stored_once_and_their_positions_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let tenant = TenantId::new("acme").unwrap();
        {
            let store = open(dir.path()).await;
            let first = traces_record(&request(1));
            assert_eq!(
                store.append_from_log(&tenant, &first, 0, 5).await.unwrap(),
                Some(Appended::Spans(1))
            );
            assert_eq!(
                store.append_from_log(&tenant, &first, 0, 5).await.unwrap(),
                None,
                "an offset already appended is skipped"
            );
            let second = traces_record(&request(2));
            store.append_from_log(&tenant, &second, 0, 6).await.unwrap();
            store
                .append_from_log(&tenant, &second, 3, 40)
                .await
                .unwrap();
            assert!(matches!(
                store.append_from_log(&tenant, &[7, 1], 1, 0).await,
                Err(StoreError::BadLogRecord {
                    partition: 1,
                    offset: 0,
                    ..
                })
            ));
            assert_eq!(store.log_positions(), LogPositions::from([(0, 6), (3, 40)]));
            assert_eq!(store.head_spans(&tenant), 3);
        }
        // The WAL replay restores the spans and the positions.
        let store = open(dir.path()).await;
        assert_eq!(store.log_positions(), LogPositions::from([(0, 6), (3, 40)]));
        assert_eq!(store.head_spans(&tenant), 3);
        let again = traces_record(&request(2));
        assert_eq!(
            store.append_from_log(&tenant, &again, 0, 6).await.unwrap(),
            None
        );
    }
}
