//! Server limits against the real binary: the concurrency limit of expensive queries (429 with Retry-After on
//! every query surface, RESOURCE_EXHAUSTED on the Tempo gRPC querier, cheap reads unaffected), the ingest
//! timestamp bounds (spans too far in the future or past refused per span through partial success and Zipkin's
//! headers, counted by reason), and the RED rollup series cap (series past it counted in `other`).

mod common;

// The server's own tempopb messages, included from the API crate as they are.
#[allow(dead_code)]
#[path = "../../tracewell-api/src/tempo/base64.rs"]
mod base64;
#[allow(dead_code)]
#[path = "../../tracewell-api/src/tempo/otlp_json.rs"]
mod otlp_json;
#[path = "../../tracewell-api/src/tempo/proto.rs"]
#[allow(dead_code)]
mod proto;

use std::time::{Duration, Instant};

use common::traces::{
    export_ok, export_request_of, grpc_client, http_client, kv_str, now_unix_nano, span_ids_of,
    SpanShape,
};
use common::Server;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use serde_json::Value;

const SECOND: u64 = 1_000_000_000;
const RUNNING: &str = "tracewell_queries_running";
const REFUSED: &str = "tracewell_queries_refused_total";

/// Polls a metric until it has `want`, failing after 30 s.
async fn wait_for_metric(server: &Server, series: &str, want: f64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let value = server.metric(series).await;
        if value == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{series} stayed {value}, wanted {want}; logs:\n{}",
            server.logs()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

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

/// An expensive request on one of the query surfaces.
struct Expensive {
    name: &'static str,
    request: reqwest::RequestBuilder,
}

/// One request of every HTTP surface the concurrency limit covers.
fn expensive_requests(server: &Server, client: &reqwest::Client) -> Vec<Expensive> {
    let now_secs = now_unix_nano() / SECOND;
    let rfc = |nanos: u64| tracewell_model::format_rfc3339(nanos);
    let (from, to) = (now_unix_nano() - 3600 * SECOND, now_unix_nano());
    let get = |name, url: String| Expensive {
        name,
        request: client.get(url),
    };
    vec![
        get("native search", server.url("/api/v1/search?service=api")),
        Expensive {
            name: "sql",
            request: client
                .post(server.url("/api/v1/sql"))
                .header("content-type", "text/plain")
                .body("SELECT count(*) FROM spans"),
        },
        get(
            "traceql search",
            server.url(&format!("/api/v1/traceql?q={}", enc("{ status = error }"))),
        ),
        get(
            "traceql metrics",
            server.url(&format!("/api/v1/traceql?q={}", enc("{ } | rate()"))),
        ),
        get("heatmap", server.url("/api/v1/heatmap?service=api")),
        get("breakdown", server.url("/api/v1/breakdown?service=api")),
        get("insights", server.url("/api/v1/insights")),
        get("jaeger search", server.url("/api/traces?service=api")),
        get(
            "jaeger v3 search",
            server.url(&format!(
                "/api/v3/traces?query.service_name=api&query.start_time_min={}&query.start_time_max={}",
                enc(&rfc(from)),
                enc(&rfc(to))
            )),
        ),
        get(
            "tempo traceql search",
            server.tempo_url(&format!("/api/search?q={}", enc("{ }"))),
        ),
        get(
            "tempo tags search",
            server.tempo_url("/api/search?tags=service.name%3Dapi"),
        ),
        get(
            "tempo metrics",
            server.tempo_url(&format!(
                "/api/metrics/query_range?q={}&start={}&end={now_secs}",
                enc("{ } | count_over_time()"),
                now_secs - 600
            )),
        ),
        get(
            "tempo tag values narrowed by a query",
            server.tempo_url(&format!(
                "/api/v2/search/tag/resource.service.name/values?q={}",
                enc("{ status = error }")
            )),
        ),
    ]
}

async fn tempo_grpc_search(server: &Server) -> Result<Vec<proto::SearchResponse>, tonic::Status> {
    let now = (now_unix_nano() / SECOND) as u32;
    let request = tonic::Request::new(proto::SearchRequest {
        query: "{ }".into(),
        start: now - 600,
        end: now,
        limit: 20,
        ..Default::default()
    });
    common::tempo_stream(server, "/tempopb.StreamingQuerier/Search", request).await
}

/// Starts a SQL query that counts 10^11 generated rows (hours of work) and holds its permit until the returned
/// task is aborted, which closes its connection.
fn hold_a_query(server: &Server) -> tokio::task::JoinHandle<()> {
    let url = server.url("/api/v1/sql");
    tokio::spawn(async move {
        let response = reqwest::Client::new()
            .post(url)
            .header("content-type", "text/plain")
            .body("SELECT count(*) FROM range(100000000000)")
            .send()
            .await;
        panic!("the held query answered: {response:?}");
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expensive_queries_past_the_limit_get_429_on_every_surface_while_cheap_reads_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        &[
            "--max-concurrent-queries",
            "1",
            "--query-timeout",
            "10m",
            "--retry-after",
            "3s",
        ],
    )
    .await;
    let client = http_client();
    let mut grpc = grpc_client(&server).await;
    let (request, sent) = export_request_of(
        2,
        3,
        now_unix_nano() - 5 * SECOND,
        vec![kv_str("service.name", "api")],
        |i| SpanShape {
            name: format!("op {i}"),
            kind: 2,
            duration_nanos: 1_000_000,
            attributes: Vec::new(),
        },
    );
    export_ok(&mut grpc, request).await;

    let held = hold_a_query(&server);
    wait_for_metric(&server, RUNNING, 1.0).await;

    let requests = expensive_requests(&server, &client);
    let surfaces = requests.len();
    for Expensive { name, request } in requests {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let retry_after = response.headers().get("retry-after").cloned();
        let body = response.text().await.unwrap();
        assert_eq!(status, 429, "{name}: {body}");
        assert_eq!(
            retry_after.as_ref().map(|v| v.to_str().unwrap()),
            Some("3"),
            "{name}"
        );
        assert!(
            body.contains("too many queries at once: the limit is 1 running")
                && body.contains("max_concurrent_queries"),
            "{name}: {body}"
        );
    }
    // The native API answers in its JSON error shape.
    let native: Value = client
        .get(server.url("/api/v1/search?service=api"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(native["status"], 429, "{native}");
    assert!(
        native["error"].as_str().unwrap().contains("retry in 3s"),
        "{native}"
    );
    let status = tempo_grpc_search(&server).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
    assert!(
        status.message().contains("max_concurrent_queries"),
        "{status:?}"
    );
    assert_eq!(server.metric(REFUSED).await, (surfaces + 2) as f64);

    // Cheap reads need no permit.
    let trace = &sent[0].trace_id;
    for path in [
        format!("/api/v1/traces/{trace}"),
        "/api/v1/services".to_owned(),
        "/api/v1/metrics?service=api".to_owned(),
        "/healthz".to_owned(),
        "/metrics".to_owned(),
        "/".to_owned(),
    ] {
        let response = client.get(server.url(&path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
    let response = client
        .get(server.tempo_url(&format!("/api/traces/{trace}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(server.metric(RUNNING).await, 1.0);

    // The held query's client goes away: its permit is free again and every surface answers.
    held.abort();
    let _ = held.await;
    wait_for_metric(&server, RUNNING, 0.0).await;
    for Expensive { name, request } in expensive_requests(&server, &client) {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        assert_eq!(status, 200, "{name}: {}", response.text().await.unwrap());
    }
    let answers = tempo_grpc_search(&server).await.expect("gRPC search");
    assert_eq!(answers.len(), 1);
    assert_eq!(server.metric(REFUSED).await, (surfaces + 2) as f64);
}

fn span(trace: u8, id: u8, name: &str, start: u64, end: u64) -> Span {
    Span {
        trace_id: vec![trace; 16],
        span_id: vec![trace, id, 0, 0, 0, 0, 0, 1],
        name: name.into(),
        kind: 2,
        start_time_unix_nano: start,
        end_time_unix_nano: end,
        ..Default::default()
    }
}

fn request_of(service: &str, spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv_str("service.name", service)],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_beyond_the_timestamp_bounds_are_refused_per_span_and_not_stored() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        &["--max-span-future", "10m", "--max-span-age", "1h"],
    )
    .await;
    let client = http_client();
    let now = now_unix_nano();
    let hour = 3600 * SECOND;
    // One trace: a valid span, one a day ahead (a wrong clock), one that started two hours ago.
    let spans = |trace| {
        vec![
            span(trace, 1, "valid", now - SECOND, now),
            span(
                trace,
                2,
                "future",
                now + 24 * hour,
                now + 24 * hour + SECOND,
            ),
            span(trace, 3, "past", now - 2 * hour, now - 2 * hour + SECOND),
        ]
    };
    let valid = |trace: u8| vec![hex::encode([trace, 1, 0, 0, 0, 0, 0, 1])];

    let mut grpc = grpc_client(&server).await;
    let response = grpc
        .export(request_of("clocks", spans(0x11)))
        .await
        .expect("export acknowledged")
        .into_inner();
    let partial = response.partial_success.expect("partial success");
    assert_eq!(partial.rejected_spans, 2);
    let message = &partial.error_message;
    assert!(
        message
            .starts_with("2 span(s) rejected (in_future: 1, too_old: 1); first: span \"future\""),
        "{message}"
    );
    assert!(
        message.contains("in the future, beyond the limit of 10m (max_span_future)"),
        "{message}"
    );
    // A day ahead of the test's clock, which the server read a moment later.
    assert!(
        message.contains(": starts 23h59m in the future") || message.contains(": starts 1d in"),
        "{message}"
    );

    // OTLP/HTTP with JSON.
    let body = serde_json::json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "clocks"}}]},
        "scopeSpans": [{"spans": spans(0x22).iter().map(|s| serde_json::json!({
            "traceId": hex::encode(&s.trace_id), "spanId": hex::encode(&s.span_id), "name": s.name,
            "kind": 2, "startTimeUnixNano": s.start_time_unix_nano.to_string(),
            "endTimeUnixNano": s.end_time_unix_nano.to_string(),
        })).collect::<Vec<_>>()}],
    }]});
    let response = client
        .post(server.otlp_http_url())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    let partial = &answer["partialSuccess"];
    let rejected = partial["rejectedSpans"]
        .as_i64()
        .or_else(|| partial["rejectedSpans"].as_str()?.parse().ok());
    assert_eq!(rejected, Some(2), "{answer}");
    assert!(
        partial["errorMessage"]
            .as_str()
            .unwrap()
            .contains("too_old: 1"),
        "{answer}"
    );

    // Zipkin: microseconds, rejections in headers.
    let zipkin: Vec<Value> = spans(0x33)
        .iter()
        .map(|s| {
            serde_json::json!({
                "traceId": hex::encode(&s.trace_id), "id": hex::encode(&s.span_id), "name": s.name,
                "timestamp": s.start_time_unix_nano / 1000, "duration": 1_000_000,
                "localEndpoint": {"serviceName": "clocks"},
            })
        })
        .collect();
    let response = client
        .post(server.zipkin_url())
        .json(&zipkin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    assert_eq!(response.headers()["x-tracewell-rejected-spans"], "2");
    let reason = response.headers()["x-tracewell-rejected-reason"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(reason.contains("in_future: 1, too_old: 1"), "{reason}");

    // Only the valid span of each trace was stored.
    for trace in [0x11, 0x22, 0x33] {
        let (status, body) = server.get_trace(&hex::encode([trace; 16])).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(span_ids_of(&body), valid(trace), "{body}");
    }
    for (receiver, reason) in [
        ("otlp_grpc", "in_future"),
        ("otlp_grpc", "too_old"),
        ("otlp_http", "in_future"),
        ("otlp_http", "too_old"),
        ("zipkin", "in_future"),
        ("zipkin", "too_old"),
    ] {
        let series =
            format!(r#"tracewell_rejected_spans_total{{receiver="{receiver}",reason="{reason}"}}"#);
        assert_eq!(server.metric(&series).await, 1.0, "{series}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollup_series_past_the_cap_are_counted_in_other() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--max-rollup-series", "3"]).await;
    let now = now_unix_nano() - 10 * SECOND;
    let ops = ["GET /a", "GET /b", "GET /c", "GET /d", "GET /e"];
    let spans = ops
        .iter()
        .enumerate()
        .map(|(i, op)| span(0x44, i as u8 + 1, op, now, now + SECOND))
        .collect();
    let mut grpc = grpc_client(&server).await;
    export_ok(&mut grpc, request_of("api", spans)).await;
    // A service first seen past the cap is counted in the `other` service.
    export_ok(
        &mut grpc,
        request_of("pod-7f9c", vec![span(0x55, 1, "work", now, now + SECOND)]),
    )
    .await;

    let red: Value = http_client()
        .get(server.url("/api/v1/metrics?groupByOperation=true&lookback=1h"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut series: Vec<(String, String, u64)> = red["series"]
        .as_array()
        .unwrap_or_else(|| panic!("{red}"))
        .iter()
        .map(|s| {
            (
                s["service"].as_str().unwrap().to_owned(),
                s["operation"].as_str().unwrap_or("").to_owned(),
                s["total"]["count"].as_u64().unwrap(),
            )
        })
        .collect();
    series.sort();
    let expected: Vec<(String, String, u64)> = [
        ("api", "GET /a", 1),
        ("api", "GET /b", 1),
        ("api", "GET /c", 1),
        ("api", "other", 2),
        ("other", "other", 1),
    ]
    .into_iter()
    .map(|(s, o, n)| (s.to_owned(), o.to_owned(), n))
    .collect();
    assert_eq!(series, expected, "{red}");
    assert_eq!(
        server
            .metric(r#"tracewell_rollup_folded_spans_total{tenant="single-tenant"}"#)
            .await,
        3.0
    );
    // The raw spans keep their own names.
    let (_, body) = server.get_trace(&hex::encode([0x44u8; 16])).await;
    assert_eq!(span_ids_of(&body).len(), 5);
}
