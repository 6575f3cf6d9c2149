//! # tracewell-ingest
//!
//! The receivers that accept spans, and the one pipeline they all feed:
//!
//! - [`receivers::otlp_grpc`]: OTLP `TraceService/Export` over gRPC (gzip accepted).
//! - [`receivers::otlp_http`]: OTLP `POST /v1/traces`, protobuf or JSON, gzip `Content-Encoding`.
//! - [`receivers::zipkin`]: Zipkin v2 JSON `POST /api/v2/spans`.
//!
//! Each receiver only decodes its wire format into an OTLP export request and calls [`Ingester::export`], which
//! validates and limits spans (invalid ones are rejected individually, reported as OTLP partial success),
//! redacts attributes by the tenant's rules ([`redact`]),
//! applies backpressure, and hands the request to the store, which acknowledges once it is fsynced in the WAL.
//! Errors are one enum, [`IngestError`], mapped once to gRPC and HTTP statuses (`error.rs`).

mod config;
mod decode;
mod error;
mod metrics;
mod pipeline;
mod rate;
pub mod receivers;
pub mod redact;
mod tenant;

pub use config::IngestConfig;
pub use error::IngestError;
pub use metrics::IngestMetrics;
pub use pipeline::{ExportOutcome, Ingester, Receiver};
pub use tenant::{tenant_from_header, TENANT_HEADER};
