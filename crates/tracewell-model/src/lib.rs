//! # tracewell-model
//!
//! The span model every other Tracewell crate speaks, and its conversions from the wire formats we accept.
//!
//! - [`Span`] is one row of our storage: a span with its [`Resource`] and [`Scope`] shared through `Arc`, so the
//!   spans of one export batch do not copy their resource attributes.
//! - [`TraceId`], [`SpanId`] and [`TenantId`] are validated identifiers; parse them from hex or header values.
//! - [`otlp`] sanitizes OTLP export requests (drops invalid spans, applies attribute limits, reports what it did),
//!   converts them into model spans, and converts model spans back into OTLP for read APIs.
//! - [`logs`] is the same for OTLP log records ([`LogRecord`]).
//! - [`zipkin`] converts Zipkin v2 JSON into an OTLP export request, so every receiver feeds one pipeline.
//!
//! - [`self_trace`] opens spans of Tracewell's own work for self-tracing.
//!
//! The crate does no I/O.

mod attr;
mod duration;
mod ids;
pub mod logs;
pub mod otlp;
pub mod self_trace;
mod share;
mod size;
mod span;
mod time;
pub mod zipkin;

pub use attr::{AttrValue, Attribute};
pub use duration::{format_duration, parse_duration};
pub use ids::{IdError, SpanId, TenantError, TenantId, TraceId};
pub use logs::LogRecord;
pub use share::{Origins, Recent};
pub use size::parse_size;
pub use span::{Event, Link, Resource, Scope, Span, SpanKind, Status, StatusCode};
pub use time::{format_rfc3339, parse_rfc3339};

/// Service name used when a resource has no `service.name`.
pub const UNKNOWN_SERVICE: &str = "unknown_service";
