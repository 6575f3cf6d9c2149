//! The tempopb protobuf messages Tracewell sends on the Tempo port, hand-written for prost (no protoc):
//! `tempopb.Trace` (the `/api/traces/{id}` body, wire-identical to OTLP `TracesData`) and
//! `tempopb.TraceByIDResponse` (the `/api/v2/traces/{id}` body). Field numbers follow Tempo's `tempo.proto`.
//!
//! This file depends only on `prost` and `opentelemetry_proto`, so the integration tests include it as is to
//! decode responses with the very same types.

use opentelemetry_proto::tonic::trace::v1::ResourceSpans;

/// `message Trace { repeated ResourceSpans resourceSpans = 1; }`
#[derive(Clone, PartialEq, prost::Message)]
pub struct Trace {
    #[prost(message, repeated, tag = "1")]
    pub resource_spans: Vec<ResourceSpans>,
}

/// `message TraceByIDMetrics { uint64 inspectedBytes = 1; }`
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct TraceByIdMetrics {
    #[prost(uint64, tag = "1")]
    pub inspected_bytes: u64,
}

/// `enum PartialStatus { COMPLETE = 0; PARTIAL = 1; }`
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum PartialStatus {
    Complete = 0,
    Partial = 1,
}

/// `message TraceByIDResponse { Trace trace = 1; TraceByIDMetrics metrics = 2; PartialStatus status = 3;
/// string message = 4; }`
#[derive(Clone, PartialEq, prost::Message)]
pub struct TraceByIdResponse {
    #[prost(message, optional, tag = "1")]
    pub trace: Option<Trace>,
    #[prost(message, optional, tag = "2")]
    pub metrics: Option<TraceByIdMetrics>,
    #[prost(enumeration = "PartialStatus", tag = "3")]
    pub status: i32,
    #[prost(string, tag = "4")]
    pub message: String,
}
