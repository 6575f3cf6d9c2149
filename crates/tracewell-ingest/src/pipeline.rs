//! The pipeline every receiver calls: count, sanitize (reject invalid spans, apply limits), redact, store
//! durably, and report what was accepted.

use std::sync::Arc;

use bytes::Bytes;
use opentelemetry::trace::{FutureExt, SpanKind};
use opentelemetry::KeyValue;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prometheus_client::registry::Registry;
use tracewell_model::logs::{log_count, sanitize_logs};
use tracewell_model::otlp::{now_unix_nano, sanitize, span_count};
use tracewell_model::self_trace::Work;
use tracewell_model::TenantId;
use tracewell_store::Store;

use crate::config::IngestConfig;
use crate::error::IngestError;
use crate::metrics::IngestMetrics;
use crate::rate::RateLimiter;
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

/// What happened to an accepted request's spans (or log records).
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

    /// The OTLP response to a logs request (the counts are log records).
    pub fn to_logs_response(&self) -> ExportLogsServiceResponse {
        let partial_success = (self.rejected > 0).then(|| ExportLogsPartialSuccess {
            rejected_log_records: self.rejected as i64,
            error_message: self.message.clone(),
        });
        ExportLogsServiceResponse { partial_success }
    }
}

struct Inner {
    /// Bounds requests in flight (bodies being read, decoded, sanitized and waiting for the WAL).
    inflight: Arc<tokio::sync::Semaphore>,
    store: Store,
    config: IngestConfig,
    metrics: IngestMetrics,
    /// Per-tenant token buckets for the `ingest_rate_spans` overrides.
    rate: RateLimiter,
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

/// Memory one request takes while it is processed, per byte of its protobuf encoding: the body, the decoded
/// request (prost structs) and the spans it becomes before the head owns them.
const IN_FLIGHT_BYTES_PER_ENCODED_BYTE: usize = 4;

impl Ingester {
    pub fn new(store: Store, config: IngestConfig, registry: &mut Registry) -> Self {
        let metrics = IngestMetrics::new(registry);
        let inflight = Arc::new(tokio::sync::Semaphore::new(config.max_inflight_requests));
        Self(Arc::new(Inner {
            inflight,
            store,
            config,
            metrics,
            rate: RateLimiter::default(),
        }))
    }

    pub fn config(&self) -> &IngestConfig {
        &self.0.config
    }

    /// Largest request body for the tenant named by a `X-Scope-OrgID` value: its `max_request_bytes` override,
    /// else the server's limit.
    pub fn max_request_bytes(&self, header: Option<&[u8]>) -> usize {
        let default = self.0.config.max_request_bytes;
        match self.tenant(header) {
            Ok(tenant) => self
                .0
                .store
                .config()
                .overrides
                .tenant(tenant.as_str())
                .max_request_bytes
                .unwrap_or(default),
            Err(_) => default,
        }
    }

    /// Refuses a request of `spans` spans when the tenant's `ingest_rate_spans` override is exhausted.
    fn check_rate(&self, tenant: &TenantId, spans: u64) -> Result<(), IngestError> {
        let overrides = self.0.store.config().overrides.tenant(tenant.as_str());
        let Some(rate) = overrides.ingest_rate_spans else {
            return Ok(());
        };
        let burst = overrides.ingest_burst_spans.unwrap_or(rate);
        let now = std::time::Instant::now();
        if self
            .0
            .rate
            .try_take(tenant.as_str(), rate, burst, spans, now)
        {
            Ok(())
        } else {
            Err(IngestError::RateLimited {
                tenant: tenant.to_string(),
                rate,
                burst,
                spans,
                retry_after: self.0.config.retry_after,
            })
        }
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
        let work = export_work("export spans", receiver, tenant);
        let result = self
            .export_inner(receiver, tenant, &mut req, encoded)
            .with_context(work.context())
            .await;
        let outcome = match &result {
            Ok(o) if o.rejected > 0 => "partial",
            Ok(_) => "ok",
            Err(e) => e.reason(),
        };
        finish_work(
            &work,
            outcome,
            result.as_ref().map(|o| (o.accepted, o.rejected)),
        );
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
        if let Err(error) = self.check_rate(tenant, received) {
            metrics.rejected(name, "rate_limited", received);
            return Err(error);
        }
        let encoded_len = encoded
            .as_ref()
            .map_or_else(|| prost::Message::encoded_len(&*req), Bytes::len);
        let _in_flight = self
            .0
            .store
            .reserve(
                tenant,
                encoded_len.saturating_mul(IN_FLIGHT_BYTES_PER_ENCODED_BYTE),
            )
            .map_err(|e| IngestError::from_store(e, retry_after))?;
        let report = sanitize(req, &self.0.config.span_limits);
        metrics.truncated_values.inc_by(report.truncated_values);
        metrics.dropped_attributes.inc_by(report.dropped_attributes);
        for (reason, count) in &report.rejected {
            metrics.rejected(name, reason.as_str(), *count);
        }
        let redacted = match self.0.config.redaction.for_tenant(tenant.as_str()) {
            Some(rules) if report.accepted > 0 => rules.apply(req),
            _ => Default::default(),
        };
        metrics.redacted(&redacted);
        let mut outcome = ExportOutcome {
            accepted: report.accepted,
            rejected: report.rejected_total(),
            message: report.message(),
        };
        if report.accepted > 0 {
            let request = std::mem::take(req);
            let unchanged = report.is_unchanged() && redacted.is_empty();
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
                let limit = self
                    .0
                    .store
                    .config()
                    .max_spans_per_trace_for(tenant.as_str());
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

impl Ingester {
    /// Validates, limits, redacts and durably stores a logs request, as [`Ingester::export_encoded`] does for
    /// spans: the same capacity checks, rate limit (counted in records), size reservation and redaction rules.
    pub async fn export_logs(
        &self,
        receiver: Receiver,
        tenant: &TenantId,
        mut req: ExportLogsServiceRequest,
        encoded: Option<Bytes>,
    ) -> Result<ExportOutcome, IngestError> {
        let name = receiver.as_str();
        let metrics = &self.0.metrics;
        let retry_after = self.0.config.retry_after;
        let received = log_count(&req) as u64;
        metrics.logs_received(name, received);
        let work = export_work("export logs", receiver, tenant);
        let result: Result<ExportOutcome, IngestError> = async {
            self.check_capacity()?;
            self.check_rate(tenant, received)?;
            let encoded_len = encoded
                .as_ref()
                .map_or_else(|| prost::Message::encoded_len(&req), Bytes::len);
            let _in_flight = self
                .0
                .store
                .reserve(
                    tenant,
                    encoded_len.saturating_mul(IN_FLIGHT_BYTES_PER_ENCODED_BYTE),
                )
                .map_err(|e| IngestError::from_store(e, retry_after))?;
            let report = sanitize_logs(&mut req, &self.0.config.span_limits, now_unix_nano());
            metrics
                .truncated_values
                .inc_by(report.limits.truncated_values);
            metrics
                .dropped_attributes
                .inc_by(report.limits.dropped_attributes);
            let redacted = match self.0.config.redaction.for_tenant(tenant.as_str()) {
                Some(rules) if report.accepted > 0 => rules.apply_logs(&mut req),
                _ => Default::default(),
            };
            metrics.redacted(&redacted);
            if report.accepted > 0 {
                let encoded = encoded.filter(|_| report.is_unchanged() && redacted.is_empty());
                self.0
                    .store
                    .append_logs(tenant, req, encoded.as_deref())
                    .await
                    .map_err(|e| IngestError::from_store(e, retry_after))?;
            }
            Ok(ExportOutcome {
                accepted: report.accepted,
                rejected: report.rejected,
                message: report.message(),
            })
        }
        .await;
        let outcome = match &result {
            Ok(o) if o.rejected > 0 => "partial",
            Ok(_) => "ok",
            Err(e) => e.reason(),
        };
        finish_work(
            &work,
            outcome,
            result.as_ref().map(|o| (o.accepted, o.rejected)),
        );
        match &result {
            Ok(outcome) => {
                metrics.logs_accepted(name, outcome.accepted);
                metrics.logs_rejected(name, outcome.rejected);
                metrics.request(
                    name,
                    if outcome.rejected > 0 {
                        "partial"
                    } else {
                        "ok"
                    },
                );
            }
            Err(error) => {
                metrics.logs_rejected(name, received);
                metrics.request(name, error.reason());
            }
        }
        result
    }
}

/// The self-tracing span of one export request.
fn export_work(name: &'static str, receiver: Receiver, tenant: &TenantId) -> Work {
    Work::start(
        name,
        SpanKind::Server,
        vec![
            KeyValue::new("tracewell.receiver", receiver.as_str()),
            KeyValue::new("tracewell.tenant", tenant.to_string()),
        ],
    )
}

/// Records an export's outcome on its span.
fn finish_work(work: &Work, outcome: &str, counts: Result<(u64, u64), &IngestError>) {
    work.set("tracewell.outcome", outcome.to_owned());
    match counts {
        Ok((accepted, rejected)) => {
            work.set("tracewell.accepted", accepted as i64);
            work.set("tracewell.rejected", rejected as i64);
        }
        Err(error) => work.fail(error),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
    use tracewell_store::StoreConfig;

    use super::*;

    fn request(spans: usize) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: (0..spans)
                        .map(|i| Span {
                            trace_id: vec![1; 16],
                            span_id: (i as u64 + 1).to_be_bytes().to_vec(),
                            name: format!("op {i}"),
                            start_time_unix_nano: 1_000,
                            end_time_unix_nano: 2_000,
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    #[tokio::test]
    async fn spans_per_trace_and_rate_follow_the_tenant_overrides() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = StoreConfig::new(dir.path());
        let overrides = tracewell_store::Overrides::parse(
            "[tenants.small]\nmax_spans_per_trace = 2\ningest_rate_spans = 1\ningest_burst_spans = 3\n",
            std::path::Path::new("overrides.toml"),
        )
        .unwrap();
        config.overrides = tracewell_store::OverridesHandle::new(overrides);
        let mut registry = Registry::default();
        let store = Store::open(config, &mut registry).unwrap();
        store.recover().await.unwrap();
        let ingester = Ingester::new(store.clone(), IngestConfig::default(), &mut registry);
        let small = TenantId::new("small").unwrap();

        let outcome = ingester
            .export(Receiver::OtlpHttp, &small, request(3))
            .await
            .unwrap();
        assert_eq!((outcome.accepted, outcome.rejected), (2, 1));
        assert!(
            outcome.message.contains("limit of 2 spans"),
            "{}",
            outcome.message
        );
        let refused = ingester
            .export(Receiver::OtlpHttp, &small, request(3))
            .await
            .unwrap_err();
        assert!(
            matches!(refused, IngestError::RateLimited { .. }),
            "{refused}"
        );
        assert_eq!(refused.http_status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(refused.grpc_code(), tonic::Code::ResourceExhausted);

        let other = TenantId::new("other").unwrap();
        for _ in 0..3 {
            let outcome = ingester
                .export(Receiver::OtlpHttp, &other, request(3))
                .await
                .unwrap();
            assert_eq!(outcome.rejected, 0, "server defaults for other tenants");
        }
    }

    #[tokio::test]
    async fn requests_in_flight_fill_the_budget_and_refuse_more_until_they_end() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = StoreConfig::new(dir.path());
        config.memory_budget_bytes = 64 * 1024;
        let mut registry = Registry::default();
        let store = Store::open(config, &mut registry).unwrap();
        store.recover().await.unwrap();
        let ingester = Ingester::new(store.clone(), IngestConfig::default(), &mut registry);
        let tenant = TenantId::default_tenant();

        // Another request's body is being decoded: it holds the whole budget.
        let other = store.reserve(&tenant, 64 * 1024).unwrap();
        let refused = ingester
            .export(Receiver::OtlpGrpc, &tenant, request(3))
            .await;
        assert!(
            matches!(refused, Err(IngestError::Overloaded { .. })),
            "{refused:?}"
        );
        assert_eq!(store.head_spans(&tenant), 0);

        drop(other);
        let accepted = ingester
            .export(Receiver::OtlpGrpc, &tenant, request(3))
            .await
            .expect("accepted once the other request ended");
        assert_eq!(accepted.accepted, 3);
        assert_eq!(
            store.inflight_bytes(),
            0,
            "the request's own reservation ended with it"
        );
    }
}
