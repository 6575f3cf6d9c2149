//! The Jaeger-compatible API against the real server: every v1, SPM and api_v3 endpoint answers a known
//! fixture exactly as recorded in `tests/golden/jaeger/` (times normalised against the fixture's base time), and
//! bad input gets Jaeger's error shapes with 400, 403 or 404 naming the parameter.

mod common;
mod compat;

use compat::{answer, golden, server_with_fixture, TRACE_A, TRACE_B_SHORT, UNKNOWN_TRACE};
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
        ("/api/traces?limit=1000000", 400, "limit"),
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
        ("/api/v3/traces?query.startTimeMin=2026-01-01T00:00:00Z&query.startTimeMax=2026-01-02T00:00:00Z&query.searchDepth=1000000", 400, "limit"),
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
