//! Receiver limits.

use std::time::Duration;

use tracewell_model::otlp::SpanLimits;

use crate::redact::RedactionHandle;

/// Limits every receiver applies.
#[derive(Debug, Clone)]
pub struct IngestConfig {
    /// Largest request body, compressed and again after decompression.
    pub max_request_bytes: usize,
    /// Attribute count and value-size limits per span.
    pub span_limits: SpanLimits,
    /// What clients are told to wait before retrying when the server is overloaded.
    pub retry_after: Duration,
    /// Tenants allowed to write; empty means any valid tenant id.
    pub allowed_tenants: Vec<String>,
    /// Export requests processed at once across all receivers; more are refused with a retryable error.
    pub max_inflight_requests: usize,
    /// Redaction rules applied to every request before it is written (none by default).
    pub redaction: RedactionHandle,
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            max_request_bytes: 16 * 1024 * 1024,
            span_limits: SpanLimits::default(),
            retry_after: Duration::from_secs(1),
            allowed_tenants: Vec::new(),
            max_inflight_requests: 512,
            redaction: RedactionHandle::default(),
        }
    }
}
