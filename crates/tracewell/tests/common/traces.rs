//! Shared helpers of the durability tests: building export requests of known traces, sending them, and checking
//! that each trace reads back with exactly its spans.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};

use super::Server;

pub const TENANT: &str = "single-tenant";

/// A trace as sent: its id and the ids of its spans, lowercase hex.
#[derive(Debug, Clone)]
pub struct SentTrace {
    pub trace_id: String,
    pub span_ids: BTreeSet<String>,
}

/// What one span of a generated trace looks like, given its index in the trace.
pub struct SpanShape {
    pub name: String,
    pub kind: i32,
    pub duration_nanos: u64,
    pub attributes: Vec<KeyValue>,
}

pub fn now_unix_nano() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

pub fn kv_str(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
        ..Default::default()
    }
}

pub fn kv_int(key: &str, value: i64) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::IntValue(value)),
        }),
        ..Default::default()
    }
}

pub fn random_id<const N: usize>() -> [u8; N] {
    let mut id: [u8; N] = rand::random();
    id[0] |= 1; // never all zeros
    id
}

/// One export request of `traces` traces with `spans_per_trace` spans each (unique random ids; span `i` starts
/// `i` ms after `start_unix_nano` and is a child of span 0), from one resource, and what it holds.
pub fn export_request_of(
    traces: usize,
    spans_per_trace: usize,
    start_unix_nano: u64,
    resource_attributes: Vec<KeyValue>,
    shape: impl Fn(usize) -> SpanShape,
) -> (ExportTraceServiceRequest, Vec<SentTrace>) {
    let mut spans = Vec::new();
    let mut sent = Vec::new();
    for _ in 0..traces {
        let trace_id: [u8; 16] = random_id();
        let root: [u8; 8] = random_id();
        let mut span_ids = BTreeSet::new();
        for i in 0..spans_per_trace {
            let span_id: [u8; 8] = if i == 0 { root } else { random_id() };
            let start = start_unix_nano + i as u64 * 1_000_000;
            let SpanShape {
                name,
                kind,
                duration_nanos,
                attributes,
            } = shape(i);
            spans.push(Span {
                trace_id: trace_id.to_vec(),
                span_id: span_id.to_vec(),
                parent_span_id: if i == 0 { Vec::new() } else { root.to_vec() },
                name,
                kind,
                start_time_unix_nano: start,
                end_time_unix_nano: start + duration_nanos,
                attributes,
                ..Default::default()
            });
            span_ids.insert(hex::encode(span_id));
        }
        sent.push(SentTrace {
            trace_id: hex::encode(trace_id),
            span_ids,
        });
    }
    let request = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: resource_attributes,
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "tracewell-tests".into(),
                    ..Default::default()
                }),
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    (request, sent)
}

pub async fn grpc_client(server: &Server) -> TraceServiceClient<tonic::transport::Channel> {
    TraceServiceClient::connect(server.otlp_grpc_url())
        .await
        .expect("connect to otlp grpc")
}

/// Sends one request that must be acknowledged without rejections.
pub async fn export_ok(
    client: &mut TraceServiceClient<tonic::transport::Channel>,
    request: ExportTraceServiceRequest,
) {
    let response = client
        .export(request)
        .await
        .expect("export acknowledged")
        .into_inner();
    assert_eq!(response.partial_success, None, "nothing may be rejected");
}

pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// `GET /api/v1/traces/{id}`: status and JSON body.
pub async fn get_trace(
    client: &reqwest::Client,
    server: &Server,
    trace_id: &str,
) -> (u16, serde_json::Value) {
    let response = client
        .get(server.url(&format!("/api/v1/traces/{trace_id}")))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET trace {trace_id}: {e}"));
    let status = response.status().as_u16();
    (
        status,
        response.json().await.unwrap_or(serde_json::Value::Null),
    )
}

/// Every `spanId` of an OTLP/JSON trace, in response order (duplicates kept).
pub fn span_ids_of(body: &serde_json::Value) -> Vec<String> {
    let list = |v: &serde_json::Value, key: &str| v[key].as_array().cloned().unwrap_or_default();
    let mut ids = Vec::new();
    for rs in list(body, "resourceSpans") {
        for ss in list(&rs, "scopeSpans") {
            for span in list(&ss, "spans") {
                ids.push(
                    span["spanId"]
                        .as_str()
                        .unwrap_or("<missing spanId>")
                        .to_owned(),
                );
            }
        }
    }
    ids
}

/// Checks that a trace reads back with exactly its spans, each once; the error says what differs.
pub async fn check_trace(
    client: &reqwest::Client,
    server: &Server,
    trace: &SentTrace,
) -> Result<(), String> {
    let (status, body) = get_trace(client, server, &trace.trace_id).await;
    if status != 200 {
        return Err(format!("trace {}: status {status}: {body}", trace.trace_id));
    }
    let ids = span_ids_of(&body);
    let distinct: BTreeSet<String> = ids.iter().cloned().collect();
    if distinct.len() != ids.len() {
        return Err(format!(
            "trace {}: duplicate spans: {ids:?}",
            trace.trace_id
        ));
    }
    if distinct != trace.span_ids {
        let missing: Vec<_> = trace.span_ids.difference(&distinct).collect();
        let extra: Vec<_> = distinct.difference(&trace.span_ids).collect();
        return Err(format!(
            "trace {}: missing spans {missing:?}, unexpected spans {extra:?}",
            trace.trace_id
        ));
    }
    Ok(())
}

/// Checks every trace (a few at a time) and fails with the first problems found.
pub async fn assert_traces_read_back(server: &Server, traces: &[SentTrace]) {
    let client = http_client();
    let failures: Vec<String> = futures::stream::iter(traces)
        .map(|trace| check_trace(&client, server, trace))
        .buffer_unordered(8)
        .filter_map(|result| async move { result.err() })
        .collect()
        .await;
    assert!(
        failures.is_empty(),
        "{} of {} traces did not read back exactly; first ones:\n{}\nlogs:\n{}",
        failures.len(),
        traces.len(),
        failures
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n"),
        server.logs()
    );
}

pub fn files_with_name(dir: &Path, name: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.map(Result::unwrap) {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_with_name(&path, name));
        } else if path.file_name().is_some_and(|n| n == name) {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The default tenant's block directory (new blocks are format v2).
pub fn blocks_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("blocks").join(TENANT).join("v2")
}

/// The default tenant's WAL segment files, in id order.
pub fn wal_segment_files(data_dir: &Path) -> Vec<PathBuf> {
    let dir = data_dir.join("wal").join(TENANT);
    let mut segments: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "wal"))
        .collect();
    segments.sort();
    segments
}
