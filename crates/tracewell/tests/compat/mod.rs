//! Shared by the Jaeger and Tempo API tests: two known traces with fixed ids at fixed offsets from a base time
//! near now (RED rollups and the service catalog only cover recent data), normalisation of those times, and
//! golden files under `tests/golden/` (rewritten instead of compared when `TRACEWELL_BLESS=1`).
#![allow(dead_code)]

use std::path::PathBuf;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    any_value::Value as V, AnyValue, ArrayValue, InstrumentationScope, KeyValue,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link, SpanKind};
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use serde_json::Value;

use crate::common::traces::{export_ok, grpc_client, now_unix_nano};
use crate::common::Server;

pub const MS: u64 = 1_000_000;
const MINUTE: u64 = 60_000_000_000;
const DAY: u64 = 24 * 60 * MINUTE;

/// A 128-bit trace across two services: frontend GET /checkout → call checkout → checkout POST /pay (error).
pub const TRACE_A: &str = "5b8efff798038103d269b633813fc60c";
/// A 64-bit trace with one checkout span.
pub const TRACE_B: &str = "00000000000000004bf92f3577b34da6";
pub const TRACE_B_SHORT: &str = "4bf92f3577b34da6";
/// Never sent.
pub const UNKNOWN_TRACE: &str = "0123456789abcdef0123456789abcdef";

/// The base time of the fixture: a whole minute, ten minutes ago.
pub fn base_time() -> u64 {
    now_unix_nano() / MINUTE * MINUTE - 10 * MINUTE
}

fn kv(key: &str, value: V) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn s(text: &str) -> V {
    V::StringValue(text.into())
}

fn bytes(hex_text: &str) -> Vec<u8> {
    hex::decode(hex_text).expect("hex")
}

fn resource(attrs: Vec<KeyValue>, spans: Vec<Span>) -> ResourceSpans {
    ResourceSpans {
        resource: Some(Resource {
            attributes: attrs,
            ..Default::default()
        }),
        scope_spans: vec![ScopeSpans {
            scope: Some(InstrumentationScope {
                name: "tracewell-golden".into(),
                version: "1.2.3".into(),
                ..Default::default()
            }),
            spans,
            ..Default::default()
        }],
        ..Default::default()
    }
}

/// The fixture: frontend and checkout exporting separately, as services do.
pub fn requests(base: u64) -> Vec<ExportTraceServiceRequest> {
    let a = bytes(TRACE_A);
    let b = bytes(TRACE_B);
    let frontend = resource(
        vec![
            kv("service.name", s("frontend")),
            kv("host.name", s("web-1")),
            kv("deployment.environment", s("prod")),
        ],
        vec![
            Span {
                trace_id: a.clone(),
                span_id: bytes("a1a1a1a1a1a1a1a1"),
                flags: 1,
                name: "GET /checkout".into(),
                kind: SpanKind::Server as i32,
                start_time_unix_nano: base,
                end_time_unix_nano: base + 150 * MS,
                attributes: vec![
                    kv("http.method", s("GET")),
                    kv("http.status_code", V::IntValue(200)),
                ],
                events: vec![Event {
                    time_unix_nano: base + 10 * MS,
                    name: "cache miss".into(),
                    attributes: vec![kv("cache.key", s("cart:42"))],
                    ..Default::default()
                }],
                status: Some(Status {
                    code: StatusCode::Ok as i32,
                    ..Default::default()
                }),
                ..Default::default()
            },
            Span {
                trace_id: a.clone(),
                span_id: bytes("a2a2a2a2a2a2a2a2"),
                parent_span_id: bytes("a1a1a1a1a1a1a1a1"),
                name: "call checkout".into(),
                kind: SpanKind::Client as i32,
                start_time_unix_nano: base + 20 * MS,
                end_time_unix_nano: base + 120 * MS,
                attributes: vec![kv("peer.service", s("checkout"))],
                ..Default::default()
            },
        ],
    );
    let checkout = resource(
        vec![
            kv("service.name", s("checkout")),
            kv("k8s.pod.name", s("checkout-0")),
        ],
        vec![
            Span {
                trace_id: a,
                span_id: bytes("a3a3a3a3a3a3a3a3"),
                parent_span_id: bytes("a2a2a2a2a2a2a2a2"),
                name: "POST /pay".into(),
                kind: SpanKind::Server as i32,
                start_time_unix_nano: base + 30 * MS,
                end_time_unix_nano: base + 110 * MS,
                attributes: vec![
                    kv("retry", V::BoolValue(true)),
                    kv("ratio", V::DoubleValue(0.25)),
                ],
                events: vec![Event {
                    time_unix_nano: base + 100 * MS,
                    name: "exception".into(),
                    attributes: vec![kv("exception.message", s("declined"))],
                    ..Default::default()
                }],
                links: vec![Link {
                    trace_id: b.clone(),
                    span_id: bytes("b1b1b1b1b1b1b1b1"),
                    ..Default::default()
                }],
                status: Some(Status {
                    code: StatusCode::Error as i32,
                    message: "card declined".into(),
                }),
                ..Default::default()
            },
            Span {
                trace_id: b,
                span_id: bytes("b1b1b1b1b1b1b1b1"),
                trace_state: "vendor=x".into(),
                name: "process refunds".into(),
                kind: SpanKind::Internal as i32,
                start_time_unix_nano: base + 200 * MS,
                end_time_unix_nano: base + 205 * MS,
                attributes: vec![
                    kv("big.number", V::IntValue(9_007_199_254_740_993)),
                    kv("payload", V::BytesValue(vec![0, 0, 48, 57])),
                    kv(
                        "labels",
                        V::ArrayValue(ArrayValue {
                            values: vec![
                                AnyValue {
                                    value: Some(s("a")),
                                },
                                AnyValue {
                                    value: Some(s("b")),
                                },
                            ],
                        }),
                    ),
                ],
                ..Default::default()
            },
        ],
    );
    vec![
        ExportTraceServiceRequest {
            resource_spans: vec![frontend],
        },
        ExportTraceServiceRequest {
            resource_spans: vec![checkout],
        },
    ]
}

/// Starts a server and sends the fixture; returns it with the base time.
pub async fn server_with_fixture(dir: &std::path::Path, extra_args: &[&str]) -> (Server, u64) {
    let server = Server::start(dir, extra_args).await;
    let base = base_time();
    let mut client = grpc_client(&server).await;
    for request in requests(base) {
        export_ok(&mut client, request).await;
    }
    (server, base)
}

/// Replaces times near `base` (numbers in µs, ms or s; decimal strings in ns; RFC 3339 strings) with
/// `"<T±offset unit>"`, so golden files do not depend on when the test ran.
pub fn normalise(value: &mut Value, base: u64) {
    match value {
        Value::Object(map) => map.values_mut().for_each(|v| normalise(v, base)),
        Value::Array(items) => items.iter_mut().for_each(|v| normalise(v, base)),
        Value::Number(n) => {
            if let Some(n) = n.as_u64() {
                for (unit, name) in [(1_000, "us"), (MS, "ms"), (1_000_000_000, "s")] {
                    if let Some(text) = offset(n, unit, base, name) {
                        *value = Value::String(text);
                        return;
                    }
                }
            }
        }
        Value::String(text) => {
            if let Ok(n) = text.parse::<u64>() {
                if let Some(out) = offset(n, 1, base, "ns") {
                    *text = out;
                }
            } else if let Some(minutes) = (-1440i64..=1440).find(|m| {
                *text == tracewell_model::format_rfc3339((base as i64 + m * MINUTE as i64) as u64)
            }) {
                *text = format!("<T{minutes:+}min rfc3339>");
            }
        }
        _ => {}
    }
}

fn offset(n: u64, unit: u64, base: u64, name: &str) -> Option<String> {
    let nanos = n.checked_mul(unit)?;
    if nanos.abs_diff(base) > DAY {
        return None;
    }
    let delta = n as i128 - (base / unit) as i128;
    Some(format!("<T{delta:+}{name}>"))
}

/// One HTTP answer as recorded in a golden file.
pub async fn answer(response: reqwest::Response, base: u64) -> Value {
    let status = response.status().as_u16();
    let text = response.text().await.expect("response body");
    let mut body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    normalise(&mut body, base);
    serde_json::json!({ "status": status, "body": body })
}

/// Compares `actual` with `tests/golden/<name>.json`, or writes it there when `TRACEWELL_BLESS=1`.
pub fn golden(name: &str, actual: &Value) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{name}.json"));
    let pretty = serde_json::to_string_pretty(actual).expect("json") + "\n";
    if std::env::var("TRACEWELL_BLESS").is_ok_and(|v| v == "1") {
        std::fs::write(&path, pretty).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "reading {}: {e}; run with TRACEWELL_BLESS=1 to create it",
            path.display()
        )
    });
    let expected: Value = serde_json::from_str(&expected).expect("golden file is JSON");
    assert!(
        expected == *actual,
        "{name}: response differs from {} (TRACEWELL_BLESS=1 rewrites it)\nexpected:\n{}\nactual:\n{pretty}",
        path.display(),
        serde_json::to_string_pretty(&expected).unwrap_or_default()
    );
}
