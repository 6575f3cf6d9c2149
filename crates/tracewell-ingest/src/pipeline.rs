//! The pipeline every receiver calls: count, sanitize (reject invalid spans, apply limits), store durably, and
//! report what was accepted.

use std::sync::Arc;

use bytes::Bytes;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prometheus_client::registry::Registry;
use tracewell_model::otlp::{sanitize, span_count};
use tracewell_model::TenantId;
use tracewell_store::Store;

use crate::config::IngestConfig;
use crate::error::IngestError;
use crate::metrics::IngestMetrics;
use crate::tenant::tenant_from_header;

/// Which receiver a request came through (a metrics label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Receiver {
    OtlpGrpc,
    OtlpHttp,
    Zipkin,
}

impl Receiver {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OtlpGrpc => "otlp_grpc",
            Self::OtlpHttp => "otlp_http",
            Self::Zipkin => "zipkin",
        }
    }
}

/// What happened to an accepted request's spans.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportOutcome {
    pub accepted: u64,
    pub rejected: u64,
    /// Why spans were rejected (empty when none were).
    pub message: String,
}

impl ExportOutcome {
    /// The OTLP response: `partial_success` is set only when something was rejected.
    pub fn to_response(&self) -> ExportTraceServiceResponse {
        let partial_success = (self.rejected > 0).then(|| ExportTracePartialSuccess {
            rejected_spans: self.rejected as i64,
            error_message: self.message.clone(),
        });
        ExportTraceServiceResponse { partial_success }
    }
}

struct Inner {
    /// Bounds requests in flight (bodies being read, decoded, sanitized and waiting for the WAL).
    inflight: Arc<tokio::sync::Semaphore>,
    store: Store,
    config: IngestConfig,
    metrics: IngestMetrics,
}

/// The ingest service shared by all receivers; cheap to clone.
#[derive(Clone)]
pub struct Ingester(Arc<Inner>);

impl std::fmt::Debug for Ingester {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ingester")
            .field("config", &self.0.config)
            .finish()
    }
}

impl Ingester {
    pub fn new(store: Store, config: IngestConfig, registry: &mut Registry) -> Self {
        let metrics = IngestMetrics::new(registry);
        let inflight = Arc::new(tokio::sync::Semaphore::new(config.max_inflight_requests));
        Self(Arc::new(Inner {
            inflight,
            store,
            config,
            metrics,
        }))
    }

    pub fn config(&self) -> &IngestConfig {
        &self.0.config
    }

    /// Resolves the tenant of a request from its `X-Scope-OrgID` value.
    pub fn tenant(&self, header: Option<&[u8]>) -> Result<TenantId, IngestError> {
        tenant_from_header(header, &self.0.config.allowed_tenants)
    }

    /// Admits one request, or refuses it with a retryable error when `max_inflight_requests` are already
    /// being processed or the head blocks are over their memory budget. Called before a body is read or
    /// decoded, so refusing costs little. Hold the permit until the response is ready.
    pub fn admit(&self) -> Result<tokio::sync::OwnedSemaphorePermit, IngestError> {
        self.check_capacity()?;
        Arc::clone(&self.0.inflight)
            .try_acquire_owned()
            .map_err(|_| IngestError::Overloaded {
                retry_after: self.0.config.retry_after,
            })
    }

    /// Refuses with a retryable error while the store cannot take more (not ready, or over its memory budget).
    pub fn check_capacity(&self) -> Result<(), IngestError> {
        let retry_after = self.0.config.retry_after;
        if !self.0.store.is_ready() {
            return Err(IngestError::NotReady { retry_after });
        }
        if self.0.store.over_budget() {
            return Err(IngestError::Overloaded { retry_after });
        }
        Ok(())
    }

    /// Counts a request refused before it reached [`Ingester::export`] (undecodable, too large, bad tenant...).
    pub fn refused(&self, receiver: Receiver, error: &IngestError) {
        self.0.metrics.request(receiver.as_str(), error.reason());
    }

    /// Validates, limits and durably stores a request. `Ok` means every accepted span is fsynced.
    pub async fn export(
        &self,
        receiver: Receiver,
        tenant: &TenantId,
        req: ExportTraceServiceRequest,
    ) -> Result<ExportOutcome, IngestError> {
        self.export_encoded(receiver, tenant, req, None).await
    }

    /// [`Ingester::export`] for a request whose protobuf encoding is at hand: when sanitizing changes nothing,
    /// `encoded` is written to the WAL as it is, saving an encode on the hot path.
    pub async fn export_encoded(
        &self,
        receiver: Receiver,
        tenant: &TenantId,
        mut req: ExportTraceServiceRequest,
        encoded: Option<Bytes>,
    ) -> Result<ExportOutcome, IngestError> {
        let result = self.export_inner(receiver, tenant, &mut req, encoded).await;
        let outcome = match &result {
            Ok(o) if o.rejected > 0 => "partial",
            Ok(_) => "ok",
            Err(e) => e.reason(),
        };
        self.0.metrics.request(receiver.as_str(), outcome);
        result
    }

    async fn export_inner(
        &self,
        receiver: Receiver,
        tenant: &TenantId,
        req: &mut ExportTraceServiceRequest,
        encoded: Option<Bytes>,
    ) -> Result<ExportOutcome, IngestError> {
        let name = receiver.as_str();
        let metrics = &self.0.metrics;
        let retry_after = self.0.config.retry_after;
        let received = span_count(req) as u64;
        metrics.received(name, received);
        self.check_capacity()?;
        let report = sanitize(req, &self.0.config.span_limits);
        metrics.truncated_values.inc_by(report.truncated_values);
        metrics.dropped_attributes.inc_by(report.dropped_attributes);
        for (reason, count) in &report.rejected {
            metrics.rejected(name, reason.as_str(), *count);
        }
        let mut outcome = ExportOutcome {
            accepted: report.accepted,
            rejected: report.rejected_total(),
            message: report.message(),
        };
        if report.accepted > 0 {
            let request = std::mem::take(req);
            let unchanged = report.is_unchanged();
            let encoded = encoded.filter(|_| unchanged);
            let inserted = self
                .0
                .store
                .append(tenant, request, encoded.as_deref())
                .await
                .map_err(|e| IngestError::from_store(e, retry_after))?;
            let over = inserted.over_trace_limit as u64;
            if over > 0 {
                metrics.rejected(name, "trace_span_limit", over);
                outcome.accepted -= over;
                outcome.rejected += over;
                let limit = self.0.store.config().max_spans_per_trace;
                let note =
                    format!("{over} span(s) rejected: trace reached the limit of {limit} spans");
                outcome.message = if outcome.message.is_empty() {
                    note
                } else {
                    format!("{}; {note}", outcome.message)
                };
            }
        }
        metrics.accepted(name, outcome.accepted);
        Ok(outcome)
    }
}
