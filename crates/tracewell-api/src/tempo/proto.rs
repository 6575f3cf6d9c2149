//! The tempopb protobuf messages Tracewell sends on the Tempo port, hand-written for prost (no protoc):
//! `tempopb.Trace` (the `/api/traces/{id}` body, wire-identical to OTLP `TracesData`),
//! `tempopb.TraceByIDResponse` (the `/api/v2/traces/{id}` body), and the requests and answers of the gRPC
//! streaming querier. Field numbers follow Tempo's `tempo.proto`.
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

// The streaming querier's messages (`service StreamingQuerier` in Tempo's `tempo.proto`). Attribute lists are
// `tempopb.common.v1.KeyValue`, wire-identical to OTLP's.

use opentelemetry_proto::tonic::common::v1::KeyValue;

/// `message SearchRequest { map<string,string> Tags = 1; uint32 MinDurationMs = 2; uint32 MaxDurationMs = 3;
/// uint32 Limit = 4; uint32 start = 5; uint32 end = 6; string Query = 8; uint32 SpansPerSpanSet = 9; }`
#[derive(Clone, PartialEq, prost::Message)]
pub struct SearchRequest {
    #[prost(btree_map = "string, string", tag = "1")]
    pub tags: std::collections::BTreeMap<String, String>,
    #[prost(uint32, tag = "2")]
    pub min_duration_ms: u32,
    #[prost(uint32, tag = "3")]
    pub max_duration_ms: u32,
    #[prost(uint32, tag = "4")]
    pub limit: u32,
    #[prost(uint32, tag = "5")]
    pub start: u32,
    #[prost(uint32, tag = "6")]
    pub end: u32,
    #[prost(string, tag = "8")]
    pub query: String,
    #[prost(uint32, tag = "9")]
    pub spans_per_span_set: u32,
}

/// `message SearchResponse { repeated TraceSearchMetadata traces = 1; SearchMetrics metrics = 2; }`
#[derive(Clone, PartialEq, prost::Message)]
pub struct SearchResponse {
    #[prost(message, repeated, tag = "1")]
    pub traces: Vec<TraceSearchMetadata>,
    #[prost(message, optional, tag = "2")]
    pub metrics: Option<SearchMetrics>,
}

/// `message TraceSearchMetadata`: one trace of a search answer.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TraceSearchMetadata {
    #[prost(string, tag = "1")]
    pub trace_id: String,
    #[prost(string, tag = "2")]
    pub root_service_name: String,
    #[prost(string, tag = "3")]
    pub root_trace_name: String,
    #[prost(uint64, tag = "4")]
    pub start_time_unix_nano: u64,
    #[prost(uint32, tag = "5")]
    pub duration_ms: u32,
    #[prost(message, optional, tag = "6")]
    pub span_set: Option<SpanSet>,
    #[prost(message, repeated, tag = "7")]
    pub span_sets: Vec<SpanSet>,
    #[prost(btree_map = "string, message", tag = "8")]
    pub service_stats: std::collections::BTreeMap<String, ServiceStats>,
}

/// `message ServiceStats { uint32 spanCount = 1; uint32 errorCount = 2; }`
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct ServiceStats {
    #[prost(uint32, tag = "1")]
    pub span_count: u32,
    #[prost(uint32, tag = "2")]
    pub error_count: u32,
}

/// `message SpanSet { repeated Span spans = 1; uint32 matched = 2; repeated KeyValue attributes = 3; }`
#[derive(Clone, PartialEq, prost::Message)]
pub struct SpanSet {
    #[prost(message, repeated, tag = "1")]
    pub spans: Vec<Span>,
    #[prost(uint32, tag = "2")]
    pub matched: u32,
    #[prost(message, repeated, tag = "3")]
    pub attributes: Vec<KeyValue>,
}

/// `message Span { string spanID = 1; string name = 2; uint64 startTimeUnixNano = 3; uint64 durationNanos = 4;
/// repeated KeyValue attributes = 5; }`
#[derive(Clone, PartialEq, prost::Message)]
pub struct Span {
    #[prost(string, tag = "1")]
    pub span_id: String,
    #[prost(string, tag = "2")]
    pub name: String,
    #[prost(uint64, tag = "3")]
    pub start_time_unix_nano: u64,
    #[prost(uint64, tag = "4")]
    pub duration_nanos: u64,
    #[prost(message, repeated, tag = "5")]
    pub attributes: Vec<KeyValue>,
}

/// `message SearchMetrics` (the fields Tracewell fills).
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct SearchMetrics {
    #[prost(uint32, tag = "1")]
    pub inspected_traces: u32,
    #[prost(uint64, tag = "2")]
    pub inspected_bytes: u64,
    #[prost(uint32, tag = "3")]
    pub total_blocks: u32,
    #[prost(uint32, tag = "4")]
    pub completed_jobs: u32,
    #[prost(uint32, tag = "5")]
    pub total_jobs: u32,
    #[prost(uint64, tag = "7")]
    pub inspected_spans: u64,
}

/// `message SearchTagsRequest { string scope = 1; string query = 2; uint32 start = 3; uint32 end = 4;
/// uint32 maxTagsPerScope = 5; }`
#[derive(Clone, PartialEq, prost::Message)]
pub struct SearchTagsRequest {
    #[prost(string, tag = "1")]
    pub scope: String,
    #[prost(string, tag = "2")]
    pub query: String,
    #[prost(uint32, tag = "3")]
    pub start: u32,
    #[prost(uint32, tag = "4")]
    pub end: u32,
    #[prost(uint32, tag = "5")]
    pub max_tags_per_scope: u32,
}

/// `message SearchTagsResponse { repeated string tagNames = 1; }`
#[derive(Clone, PartialEq, prost::Message)]
pub struct SearchTagsResponse {
    #[prost(string, repeated, tag = "1")]
    pub tag_names: Vec<String>,
}

/// `message SearchTagsV2Response { repeated SearchTagsV2Scope scopes = 1; }`
#[derive(Clone, PartialEq, prost::Message)]
pub struct SearchTagsV2Response {
    #[prost(message, repeated, tag = "1")]
    pub scopes: Vec<SearchTagsV2Scope>,
}

/// `message SearchTagsV2Scope { string name = 1; repeated string tags = 2; }`
#[derive(Clone, PartialEq, prost::Message)]
pub struct SearchTagsV2Scope {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, repeated, tag = "2")]
    pub tags: Vec<String>,
}

/// `message SearchTagValuesRequest { string tagName = 1; string query = 2; uint32 start = 4; uint32 end = 5;
/// uint32 maxTagValues = 6; }`
#[derive(Clone, PartialEq, prost::Message)]
pub struct SearchTagValuesRequest {
    #[prost(string, tag = "1")]
    pub tag_name: String,
    #[prost(string, tag = "2")]
    pub query: String,
    #[prost(uint32, tag = "4")]
    pub start: u32,
    #[prost(uint32, tag = "5")]
    pub end: u32,
    #[prost(uint32, tag = "6")]
    pub max_tag_values: u32,
}

/// `message SearchTagValuesResponse { repeated string tagValues = 1; }`
#[derive(Clone, PartialEq, prost::Message)]
pub struct SearchTagValuesResponse {
    #[prost(string, repeated, tag = "1")]
    pub tag_values: Vec<String>,
}

/// `message TagValue { string type = 1; string value = 2; }`
#[derive(Clone, PartialEq, prost::Message)]
pub struct TagValue {
    #[prost(string, tag = "1")]
    pub r#type: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

/// `message SearchTagValuesV2Response { repeated TagValue tagValues = 1; }`
#[derive(Clone, PartialEq, prost::Message)]
pub struct SearchTagValuesV2Response {
    #[prost(message, repeated, tag = "1")]
    pub tag_values: Vec<TagValue>,
}

/// `message QueryRangeRequest { string query = 1; uint64 start = 2; uint64 end = 3; uint64 step = 4; }` (unix
/// nanoseconds; the step in nanoseconds).
#[derive(Clone, PartialEq, prost::Message)]
pub struct QueryRangeRequest {
    #[prost(string, tag = "1")]
    pub query: String,
    #[prost(uint64, tag = "2")]
    pub start: u64,
    #[prost(uint64, tag = "3")]
    pub end: u64,
    #[prost(uint64, tag = "4")]
    pub step: u64,
}

/// `message QueryRangeResponse { repeated TimeSeries series = 1; SearchMetrics metrics = 2;
/// PartialStatus status = 3; string message = 4; }`
#[derive(Clone, PartialEq, prost::Message)]
pub struct QueryRangeResponse {
    #[prost(message, repeated, tag = "1")]
    pub series: Vec<TimeSeries>,
    #[prost(message, optional, tag = "2")]
    pub metrics: Option<SearchMetrics>,
    #[prost(enumeration = "PartialStatus", tag = "3")]
    pub status: i32,
    #[prost(string, tag = "4")]
    pub message: String,
}

/// `message TimeSeries { repeated KeyValue labels = 1; repeated Sample samples = 2; }`
#[derive(Clone, PartialEq, prost::Message)]
pub struct TimeSeries {
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<KeyValue>,
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
}

/// `message Sample { double value = 1; int64 timestamp_ms = 2; }`
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct Sample {
    #[prost(double, tag = "1")]
    pub value: f64,
    #[prost(int64, tag = "2")]
    pub timestamp_ms: i64,
}

/// `message QueryInstantRequest { string query = 1; uint64 start = 2; uint64 end = 3; }`
#[derive(Clone, PartialEq, prost::Message)]
pub struct QueryInstantRequest {
    #[prost(string, tag = "1")]
    pub query: String,
    #[prost(uint64, tag = "2")]
    pub start: u64,
    #[prost(uint64, tag = "3")]
    pub end: u64,
}

/// `message QueryInstantResponse { repeated InstantSeries series = 1; SearchMetrics metrics = 2; }`
#[derive(Clone, PartialEq, prost::Message)]
pub struct QueryInstantResponse {
    #[prost(message, repeated, tag = "1")]
    pub series: Vec<InstantSeries>,
    #[prost(message, optional, tag = "2")]
    pub metrics: Option<SearchMetrics>,
}

/// `message InstantSeries { repeated KeyValue labels = 1; double value = 2; }`
#[derive(Clone, PartialEq, prost::Message)]
pub struct InstantSeries {
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<KeyValue>,
    #[prost(double, tag = "2")]
    pub value: f64,
}
