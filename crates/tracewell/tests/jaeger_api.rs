//! The Jaeger-compatible API against the real server: every v1, SPM and api_v3 endpoint answers a known
//! fixture exactly as recorded in `tests/golden/jaeger/` (times normalised against the fixture's base time), and
//! bad input gets Jaeger's error shapes with 400, 403 or 404 naming the parameter.

mod common;
mod compat;

use common::traces::{export_ok, grpc_client, now_unix_nano};
use common::Server;
use compat::{answer, golden, server_with_fixture, TRACE_A, TRACE_B_SHORT, UNKNOWN_TRACE};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    any_value::Value as V, AnyValue, InstrumentationScope, KeyValue,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use serde_json::Value;

fn enc(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[tokio::test]
async fn jaeger_endpoints_match_golden_files() {
    let dir = tempfile::tempdir().unwrap();
    let (server, base) = server_with_fixture(dir.path(), &[]).await;
    let client = reqwest::Client::new();
    let us = |offset_ms: i64| ((base / 1_000) as i64 + offset_ms * 1_000).to_string();
    let ms = |offset_ms: i64| ((base / 1_000_000) as i64 + offset_ms).to_string();
    let rfc = |offset_ms: i64| {
        let secs = (base / 1_000_000_000) as i64 + offset_ms / 1000;
        // Whole seconds since the epoch as RFC 3339, via the server-independent formatter of the tests.
        rfc3339(secs)
    };
    let window = format!("start={}&end={}", us(-60_000), us(60_000));
    let cases: Vec<(&str, String)> = vec![
        ("services", "/api/services".into()),
        ("service_operations", "/api/services/frontend/operations".into()),
        ("service_operations_unknown", "/api/services/nobody/operations".into()),
        ("operations", "/api/operations?service=checkout".into()),
        ("operations_server", "/api/operations?service=frontend&spanKind=server".into()),
        ("trace_a", format!("/api/traces/{TRACE_A}")),
        ("trace_b_64bit", format!("/api/traces/{TRACE_B_SHORT}?start={}&end={}", ms(-1000), ms(1000))),
        ("search_error_tag_json", format!("/api/traces?service=checkout&tags={}&{window}&limit=10", enc(r#"{"error":"true"}"#))),
        ("search_tags_logfmt", format!("/api/traces?tags={}&{window}", enc("http.method=GET http.status_code=200"))),
        ("search_min_duration", format!("/api/traces?service=frontend&minDuration=140ms&{window}&lookback=custom")),
        ("search_all", format!("/api/traces?{window}&limit=20")),
        ("search_none", format!("/api/traces?service=checkout&operation=nothing&{window}")),
        ("multi_get", format!("/api/traces?traceID={TRACE_A}&traceID={UNKNOWN_TRACE}")),
        ("dependencies", format!("/api/dependencies?endTs={}&lookback=3600000", ms(300_000))),
        ("metrics_calls", format!("/api/metrics/calls?service=frontend&service=checkout&endTs={}&lookback=600000&step=60000&ratePer=600000", ms(300_000))),
        ("metrics_latencies", format!("/api/metrics/latencies?service=frontend&quantile=0.95&endTs={}&lookback=600000&step=60000", ms(300_000))),
        ("metrics_errors_by_operation", format!("/api/metrics/errors?service=checkout&groupByOperation=true&endTs={}&lookback=600000&step=60000", ms(300_000))),
        ("v3_services", "/api/v3/services".into()),
        ("v3_operations", "/api/v3/operations?service=checkout".into()),
        ("v3_operations_kind", "/api/v3/operations?service=frontend&span_kind=client".into()),
        ("v3_trace", format!("/api/v3/traces/{TRACE_A}?startTime={}&endTime={}", enc(&rfc(-60_000)), enc(&rfc(60_000)))),
        ("v3_find_camel", format!("/api/v3/traces?query.serviceName=checkout&query.startTimeMin={}&query.startTimeMax={}&query.attributes={}", enc(&rfc(-60_000)), enc(&rfc(60_000)), enc(r#"{"big.number":"9007199254740993"}"#))),
        // Grafana sends snake_case with the times unescaped.
        ("v3_find_snake", format!("/api/v3/traces?query.service_name=frontend&query.start_time_min={}&query.start_time_max={}&query.duration_min=100ms", rfc(-60_000), rfc(60_000))),
        ("v3_summaries", format!("/api/v3/trace-summaries?query.startTimeMin={}&query.startTimeMax={}&query.searchDepth=10", enc(&rfc(-60_000)), enc(&rfc(60_000)))),
        ("v3_summaries_empty", format!("/api/v3/trace-summaries?query.serviceName=nobody&query.startTimeMin={}&query.startTimeMax={}", enc(&rfc(-60_000)), enc(&rfc(60_000)))),
    ];
    for (name, path) in cases {
        let response = client.get(server.url(&path)).send().await.unwrap();
        golden(&format!("jaeger/{name}"), &answer(response, base).await);
    }

    // prettyPrint indents by four spaces and changes nothing else.
    let text = client
        .get(server.url(&format!("/api/traces/{TRACE_A}?prettyPrint=true")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("\n    \"data\""), "{text}");
    let plain: Value = client
        .get(server.url(&format!("/api/traces/{TRACE_A}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), plain);
}

fn rfc3339(secs: i64) -> String {
    tracewell_model::format_rfc3339(secs as u64 * 1_000_000_000)
}

/// (path, expected status, a word the message must contain).
type Case = (&'static str, u16, &'static str);

#[tokio::test]
async fn jaeger_bad_input_is_refused_with_jaeger_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _) =
        server_with_fixture(dir.path(), &["--allowed-tenants", "single-tenant"]).await;
    let client = reqwest::Client::new();
    let v1: &[Case] = &[
        ("/api/traces/xyz", 400, "traceID"),
        ("/api/traces/000000000000000000000000000000000", 400, "traceID"),
        ("/api/traces/0123456789abcdef0123456789abcdef", 404, "trace not found"),
        ("/api/traces/5b8efff798038103d269b633813fc60c?start=abc", 400, "start"),
        ("/api/traces/5b8efff798038103d269b633813fc60c?start=1700000000000000&end=1600000000000000", 400, "start"),
        ("/api/traces?start=abc", 400, "start"),
        ("/api/traces?end=-1", 400, "end"),
        ("/api/traces?start=2000000000000000&end=1000000000000000", 400, "start"),
        ("/api/traces?minDuration=abc", 400, "minDuration"),
        ("/api/traces?maxDuration=1x", 400, "maxDuration"),
        ("/api/traces?minDuration=2s&maxDuration=1s", 400, "maxDuration"),
        ("/api/traces?tags=%7B%22a%22", 400, "tags"),
        ("/api/traces?tags=%7B%22a%22%3A%7B%7D%7D", 400, "tags"),
        ("/api/traces?tags=a%3D%22open", 400, "tags"),
        ("/api/traces?tag=novalue", 400, "tag"),
        ("/api/traces?limit=x", 400, "limit"),
        ("/api/traces?limit=-1", 400, "limit"),
        ("/api/traces?traceID=zz", 400, "traceID"),
        ("/api/operations", 400, "service"),
        ("/api/operations?service=frontend&spanKind=sideways", 400, "spanKind"),
        ("/api/dependencies?endTs=yesterday", 400, "endTs"),
        ("/api/dependencies?lookback=-5", 400, "lookback"),
        ("/api/metrics/calls", 400, "service"),
        ("/api/metrics/latencies?service=frontend", 400, "quantile"),
        ("/api/metrics/latencies?service=frontend&quantile=2", 400, "quantile"),
        ("/api/metrics/calls?service=frontend&spanKind=sideways", 400, "spanKind"),
        ("/api/metrics/calls?service=frontend&groupByOperation=maybe", 400, "groupByOperation"),
        ("/api/metrics/errors?service=frontend&endTs=x", 400, "endTs"),
    ];
    for &(path, status, word) in v1 {
        let response = client.get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["data"], Value::Null, "{path}: {body}");
        assert_eq!(body["errors"][0]["code"], status, "{path}: {body}");
        let msg = body["errors"][0]["msg"].as_str().unwrap_or_default();
        assert!(
            msg.contains(word),
            "{path}: {msg:?} does not mention {word}"
        );
        for key in ["total", "limit", "offset"] {
            assert_eq!(body[key], 0, "{path}: {body}");
        }
    }
    let v3: &[Case] = &[
        ("/api/v3/traces/zz", 400, "trace_id"),
        ("/api/v3/traces/0123456789abcdef0123456789abcdef", 404, "No traces found"),
        ("/api/v3/traces/5b8efff798038103d269b633813fc60c?startTime=noon", 400, "startTime"),
        ("/api/v3/traces", 400, "query.startTimeMin"),
        ("/api/v3/traces?query.startTimeMin=2026-01-02T00:00:00Z&query.startTimeMax=2026-01-01T00:00:00Z", 400, "query.startTimeMin"),
        ("/api/v3/traces?query.startTimeMin=2026-01-01T00:00:00Z&query.startTimeMax=2026-01-02T00:00:00Z&query.durationMin=x", 400, "query.durationMin"),
        ("/api/v3/traces?query.startTimeMin=2026-01-01T00:00:00Z&query.startTimeMax=2026-01-02T00:00:00Z&query.attributes=%7B", 400, "query.attributes"),
        ("/api/v3/traces?query.startTimeMin=2026-01-01T00:00:00Z&query.startTimeMax=2026-01-02T00:00:00Z&query.searchDepth=x", 400, "query.searchDepth"),
        ("/api/v3/trace-summaries?query.start_time_min=x&query.start_time_max=y", 400, "query.startTimeMin"),
        ("/api/v3/operations?spanKind=sideways", 400, "spanKind"),
    ];
    for &(path, status, word) in v3 {
        let response = client.get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["httpCode"], status, "{path}: {body}");
        let msg = body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            msg.contains(word),
            "{path}: {msg:?} does not mention {word}"
        );
    }
    // Tenants: not allowed → 403, malformed → 400, on both API versions.
    for path in [
        "/api/services",
        "/api/v3/services",
        "/api/traces?service=frontend",
    ] {
        for (tenant, status) in [("someone-else", 403), ("bad tenant!", 400)] {
            let response = client
                .get(server.url(path))
                .header("X-Scope-OrgID", tenant)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), status, "{path} as {tenant}");
        }
    }
}

fn attr(key: &str, value: V) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

const PRODUCER: i32 = 4;
const CONSUMER: i32 = 5;
const CLIENT: i32 = 3;

/// One span alone in its resource and scope, starting a minute ago.
struct OneSpan {
    trace: u8,
    id: u8,
    parent: Option<u8>,
    service: &'static str,
    kind: i32,
    attributes: Vec<KeyValue>,
    resource: Vec<KeyValue>,
    events: Vec<KeyValue>,
    links: Vec<KeyValue>,
    scope: Vec<KeyValue>,
}

impl OneSpan {
    fn new(trace: u8, id: u8, service: &'static str) -> Self {
        Self {
            trace,
            id,
            parent: None,
            service,
            kind: 2,
            attributes: vec![],
            resource: vec![],
            events: vec![],
            links: vec![],
            scope: vec![],
        }
    }
}

fn trace_hex(trace: u8) -> String {
    format!("c0{}{trace:02x}", "0".repeat(28))
}

fn span_id(trace: u8, id: u8) -> Vec<u8> {
    vec![trace, id, 1, 1, 1, 1, 1, 1]
}

fn export(spans: Vec<OneSpan>) -> ExportTraceServiceRequest {
    let start = now_unix_nano() - 60_000_000_000;
    let resource_spans = spans
        .into_iter()
        .map(|o| {
            let span = Span {
                trace_id: hex::decode(trace_hex(o.trace)).unwrap(),
                span_id: span_id(o.trace, o.id),
                parent_span_id: o.parent.map(|p| span_id(o.trace, p)).unwrap_or_default(),
                name: format!("work {}", o.id),
                kind: o.kind,
                start_time_unix_nano: start + u64::from(o.id) * 1_000_000,
                end_time_unix_nano: start + u64::from(o.id) * 1_000_000 + 5_000_000,
                attributes: o.attributes,
                events: vec![Event {
                    time_unix_nano: start + 2_000_000,
                    name: "log".into(),
                    attributes: o.events,
                    ..Default::default()
                }],
                links: vec![Link {
                    trace_id: hex::decode(trace_hex(99)).unwrap(),
                    span_id: vec![9; 8],
                    attributes: o.links,
                    ..Default::default()
                }],
                ..Default::default()
            };
            let mut resource = vec![attr("service.name", V::StringValue(o.service.into()))];
            resource.extend(o.resource);
            ResourceSpans {
                resource: Some(Resource {
                    attributes: resource,
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    scope: Some(InstrumentationScope {
                        name: "places".into(),
                        attributes: o.scope,
                        ..Default::default()
                    }),
                    spans: vec![span],
                    ..Default::default()
                }],
                ..Default::default()
            }
        })
        .collect();
    ExportTraceServiceRequest { resource_spans }
}

async fn server_with(dir: &std::path::Path, spans: Vec<OneSpan>) -> Server {
    let server = Server::start(dir, &[]).await;
    let mut client = grpc_client(&server).await;
    export_ok(&mut client, export(spans)).await;
    server
}

/// Jaeger's search window around now, in microseconds.
fn window() -> String {
    let now = now_unix_nano() / 1_000;
    format!("start={}&end={}", now - 3_600_000_000, now + 60_000_000)
}

/// The trace ids a v1 search answers.
async fn v1_found(server: &Server, query: &str) -> Vec<String> {
    let path = format!("/api/traces?{query}&{}", window());
    let response = reqwest::get(server.url(&path)).await.unwrap();
    assert_eq!(response.status().as_u16(), 200, "{path}");
    let body: Value = response.json().await.unwrap();
    let mut ids: Vec<String> = body["data"]
        .as_array()
        .unwrap_or_else(|| panic!("{path}: {body}"))
        .iter()
        .map(|t| t["traceID"].as_str().unwrap_or_default().to_owned())
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn jaeger_tags_match_event_link_and_scope_attributes() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with(
        dir.path(),
        vec![
            OneSpan {
                resource: vec![attr("deploy.canary", V::BoolValue(true))],
                events: vec![attr("exception.type", V::StringValue("Timeout".into()))],
                links: vec![attr("link.count", V::IntValue(3))],
                scope: vec![attr("lib.ratio", V::DoubleValue(72.5))],
                ..OneSpan::new(1, 1, "places")
            },
            OneSpan {
                events: vec![attr("exception.type", V::StringValue("Refused".into()))],
                links: vec![attr("link.count", V::IntValue(4))],
                scope: vec![attr("lib.ratio", V::DoubleValue(72.25))],
                ..OneSpan::new(2, 1, "places")
            },
            // The same tags, but on two different spans of one trace.
            OneSpan {
                attributes: vec![attr("order.id", V::IntValue(42))],
                ..OneSpan::new(3, 1, "places")
            },
            OneSpan {
                parent: Some(1),
                events: vec![attr("exception.type", V::StringValue("Timeout".into()))],
                ..OneSpan::new(3, 2, "places")
            },
        ],
    )
    .await;
    let (one, two, three) = (trace_hex(1), trace_hex(2), trace_hex(3));
    let cases: Vec<(&str, Vec<&String>)> = vec![
        (r#"{"exception.type":"Timeout"}"#, vec![&one, &three]),
        (r#"{"exception.type":"Refused"}"#, vec![&two]),
        (r#"{"link.count":3}"#, vec![&one]),
        (r#"{"link.count":"4"}"#, vec![&two]),
        (r#"{"lib.ratio":"72.5"}"#, vec![&one]),
        (r#"{"lib.ratio":72.25}"#, vec![&two]),
        (r#"{"deploy.canary":"true"}"#, vec![&one]),
        (
            r#"{"exception.type":"Timeout","link.count":"3","lib.ratio":"72.5","deploy.canary":"true"}"#,
            vec![&one],
        ),
        (
            r#"{"exception.type":"Timeout","lib.ratio":"72.25"}"#,
            vec![],
        ),
        (r#"{"exception.type":"Timeout","order.id":"42"}"#, vec![]),
    ];
    for (tags, want) in cases {
        let got = v1_found(&server, &format!("service=places&tags={}", enc(tags))).await;
        assert_eq!(got.iter().collect::<Vec<_>>(), want, "tags={tags}");
    }
    // logfmt tags and api_v3 attributes follow the same rule.
    let got = v1_found(
        &server,
        &format!("tags={}", enc("link.count=3 lib.ratio=72.5")),
    )
    .await;
    assert_eq!(got, vec![one.clone()]);
    let now = now_unix_nano();
    let path = format!(
        "/api/v3/traces?query.serviceName=places&query.startTimeMin={}&query.startTimeMax={}&query.attributes={}",
        enc(&tracewell_model::format_rfc3339(now - 3_600_000_000_000)),
        enc(&tracewell_model::format_rfc3339(now + 60_000_000_000)),
        enc(r#"{"exception.type":"Refused"}"#)
    );
    let body: Value = reqwest::get(server.url(&path))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let spans = &body["result"]["resourceSpans"];
    assert_eq!(spans.as_array().map(Vec::len), Some(1), "{body}");
}

#[tokio::test]
async fn jaeger_search_limits_above_the_maximum_are_capped() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with(dir.path(), vec![OneSpan::new(1, 1, "places")]).await;
    // The Jaeger UI offers up to 1500 traces; the default maximum is 1000.
    assert_eq!(v1_found(&server, "limit=1500").await, vec![trace_hex(1)]);
    let now = now_unix_nano();
    let v3 = format!(
        "/api/v3/traces?query.startTimeMin={}&query.startTimeMax={}&query.searchDepth=1500",
        enc(&tracewell_model::format_rfc3339(now - 3_600_000_000_000)),
        enc(&tracewell_model::format_rfc3339(now + 60_000_000_000)),
    );
    let response = reqwest::get(server.url(&v3)).await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    // The native API keeps refusing what it cannot serve.
    let response = reqwest::get(server.url("/api/v1/search?limit=1500"))
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
}

#[tokio::test]
async fn jaeger_dependencies_link_producer_and_consumer_services_through_a_queue() {
    let dir = tempfile::tempdir().unwrap();
    let destination =
        |queue: &str| attr("messaging.destination.name", V::StringValue(queue.into()));
    let server = server_with(
        dir.path(),
        vec![
            OneSpan {
                kind: PRODUCER,
                attributes: vec![destination("orders")],
                ..OneSpan::new(1, 1, "shop")
            },
            OneSpan {
                parent: Some(1),
                kind: CONSUMER,
                attributes: vec![destination("orders")],
                ..OneSpan::new(1, 2, "worker")
            },
            OneSpan {
                parent: Some(2),
                kind: CLIENT,
                attributes: vec![attr("db.system", V::StringValue("postgresql".into()))],
                ..OneSpan::new(1, 3, "worker")
            },
        ],
    )
    .await;
    let end_ms = now_unix_nano() / 1_000_000 + 60_000;
    let body: Value = reqwest::get(server.url(&format!(
        "/api/dependencies?endTs={end_ms}&lookback=3600000"
    )))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(
        body["data"],
        serde_json::json!([{"parent": "shop", "child": "worker", "callCount": 1}]),
        "{body}"
    );
    // The native map keeps its queue and database nodes.
    let native = reqwest::get(server.url("/api/v1/dependencies?lookback=1h"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for node in ["orders", "postgresql"] {
        assert!(native.contains(node), "{node} missing from {native}");
    }
}
