//! Tracewell instrumentation for Rust services.
//!
//! - [`init`] / [`Builder`]: one call configures the OpenTelemetry tracer provider (OTLP export, resource,
//!   sampler), the logger provider (OTLP log export), the propagators and a `tracing` subscriber whose log
//!   lines carry `trace_id` and `span_id` and whose events are exported as log records,
//!   honouring the standard `OTEL_*` environment variables.
//! - [`propagation`]: W3C Trace Context (Level 2), B3, Jaeger and AWS X-Ray propagators and HTTP header
//!   carriers.
//! - [`http`]: a tower layer for servers (one SERVER span per request) and client-side propagation
//!   with CLIENT spans for tower/hyper clients and `reqwest`.
//! - [`grpc`] (feature `grpc`): tower layers for tonic servers and channels (SERVER and CLIENT spans
//!   following the RPC conventions, status from headers or trailers, streaming included).
//! - [`db`]: database CLIENT spans for any driver (operation and table read from the statement, literals
//!   sanitised out of `db.query.text`), with a tokio-postgres integration (feature `postgres`).
//! - [`messaging`]: carriers and PRODUCER/CONSUMER spans for message brokers, with NATS JetStream and
//!   Kafka (feature `kafka`) integrations that retry and dead-letter messages without losing their trace.
//! - [`sampler`]: samplers by name (`OTEL_TRACES_SAMPLER`) including a rate-limiting one.
//! - [`logs`]: log correlation for `tracing` subscribers (text and JSON), and `tracing` events exported as
//!   OpenTelemetry log records carrying the ids of the span they were emitted in.

pub mod db;
#[cfg(feature = "grpc")]
pub mod grpc;
pub mod http;
mod http_export;
mod init;
mod instrumentation;
pub mod logs;
pub mod messaging;
pub mod propagation;
pub mod resource;
pub mod sampler;

pub use init::{init, Builder, Guard, InitError, LogFormat, Protocol, Telemetry};
pub use instrumentation::Instrumentation;
