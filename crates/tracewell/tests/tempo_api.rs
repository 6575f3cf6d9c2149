//! The Tempo-compatible API against the real server: trace by id (JSON and protobuf), search and tag endpoints
//! answer a known fixture exactly as recorded in `tests/golden/tempo/`, protobuf answers carry the same content
//! as the JSON ones, and bad input gets plain-text 400, 403 or 404 answers naming the parameter.

mod common;
mod compat;

// The server's own tempopb messages and Tempo JSON writer, included from the API crate as they are.
#[allow(dead_code)]
#[path = "../../tracewell-api/src/tempo/base64.rs"]
mod base64;
#[allow(dead_code)]
#[path = "../../tracewell-api/src/tempo/otlp_json.rs"]
mod otlp_json;
#[path = "../../tracewell-api/src/tempo/proto.rs"]
mod proto;

use compat::{answer, golden, server_with_fixture, TRACE_A, TRACE_B_SHORT, UNKNOWN_TRACE};
use prost::Message;
use serde_json::{json, Value};

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
async fn tempo_endpoints_match_golden_files() {
    let dir = tempfile::tempdir().unwrap();
    let (server, base) = server_with_fixture(dir.path(), &[]).await;
    let client = reqwest::Client::new();
    let secs = |offset: i64| ((base / 1_000_000_000) as i64 + offset).to_string();
    let window = format!("start={}&end={}", secs(-60), secs(60));
    let cases: Vec<(&str, String)> = vec![
        ("trace_v1", format!("/api/traces/{TRACE_A}")),
        (
            "trace_v1_short_id",
            format!("/api/traces/{TRACE_B_SHORT}?{window}"),
        ),
        ("trace_v1_unknown", format!("/api/traces/{UNKNOWN_TRACE}")),
        ("trace_v2", format!("/api/v2/traces/{TRACE_A}")),
        (
            "trace_v2_unknown",
            format!("/api/v2/traces/{UNKNOWN_TRACE}"),
        ),
        (
            "search_all",
            format!("/api/search?q={}&{window}&limit=5", enc("{ }")),
        ),
        (
            "search_service_tag",
            format!("/api/search?tags={}&{window}", enc("service.name=checkout")),
        ),
        (
            "search_quoted_tags",
            format!(
                "/api/search?tags={}&spss=1",
                enc(r#"name="POST /pay" retry="true""#)
            ),
        ),
        (
            "search_error_tag",
            format!("/api/search?tags={}", enc("error=true")),
        ),
        (
            "search_trace_duration",
            format!("/api/search?minDuration=140ms&{window}"),
        ),
        (
            "search_trace_duration_max",
            format!("/api/search?maxDuration=10ms&{window}"),
        ),
        (
            "search_none",
            format!("/api/search?tags={}&{window}", enc("service.name=nobody")),
        ),
        ("tags_v1", format!("/api/search/tags?{window}")),
        (
            "tags_v1_resource",
            format!("/api/search/tags?scope=resource&{window}"),
        ),
        ("tags_v2", format!("/api/v2/search/tags?{window}")),
        (
            "tags_v2_span",
            format!("/api/v2/search/tags?scope=span&{window}"),
        ),
        (
            "tag_values_v1",
            format!("/api/search/tag/service.name/values?{window}"),
        ),
        (
            "tag_values_v2_resource",
            format!(
                "/api/v2/search/tag/resource.service.name/values?{window}&q={}",
                enc("{}")
            ),
        ),
        (
            "tag_values_v2_int",
            format!("/api/v2/search/tag/span.http.status_code/values?{window}"),
        ),
        (
            "tag_values_v2_status",
            "/api/v2/search/tag/status/values".into(),
        ),
    ];
    for (name, path) in cases {
        let response = client.get(server.tempo_url(&path)).send().await.unwrap();
        golden(&format!("tempo/{name}"), &answer(response, base).await);
    }
    let echo = client
        .get(server.tempo_url("/api/echo"))
        .send()
        .await
        .unwrap();
    assert_eq!(echo.status(), 200);
}

async fn get(client: &reqwest::Client, url: String, protobuf: bool) -> reqwest::Response {
    let mut request = client.get(url);
    if protobuf {
        request = request.header("Accept", "application/protobuf");
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn tempo_protobuf_answers_equal_json_answers() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _) = server_with_fixture(dir.path(), &[]).await;
    let client = reqwest::Client::new();
    for id in [TRACE_A, TRACE_B_SHORT] {
        // v1: tempopb.Trace, whose content is the JSON's `batches`.
        let json_body: Value = get(
            &client,
            server.tempo_url(&format!("/api/traces/{id}")),
            false,
        )
        .await
        .json()
        .await
        .unwrap();
        let response = get(
            &client,
            server.tempo_url(&format!("/api/traces/{id}")),
            true,
        )
        .await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "application/protobuf");
        let trace = proto::Trace::decode(response.bytes().await.unwrap()).unwrap();
        assert!(!trace.resource_spans.is_empty());
        assert_eq!(
            json!({ "batches": otlp_json::resource_spans(&trace.resource_spans) }),
            json_body
        );

        // v2: tempopb.TraceByIDResponse, whose trace is the JSON's `trace.resourceSpans`.
        let json_body: Value = get(
            &client,
            server.tempo_url(&format!("/api/v2/traces/{id}")),
            false,
        )
        .await
        .json()
        .await
        .unwrap();
        let response = get(
            &client,
            server.tempo_url(&format!("/api/v2/traces/{id}")),
            true,
        )
        .await;
        assert_eq!(response.status(), 200);
        let decoded = proto::TraceByIdResponse::decode(response.bytes().await.unwrap()).unwrap();
        assert_eq!(decoded.status, proto::PartialStatus::Complete as i32);
        let spans = decoded.trace.map(|t| t.resource_spans).unwrap_or_default();
        assert_eq!(
            spans, trace.resource_spans,
            "v1 and v2 carry the same trace"
        );
        assert_eq!(
            json!({
                "trace": { "resourceSpans": otlp_json::resource_spans(&spans) },
                "metrics": {},
            }),
            json_body
        );
    }
    // Unknown: v1 is an empty 404 in protobuf too; v2 is an empty trace.
    let response = get(
        &client,
        server.tempo_url(&format!("/api/traces/{UNKNOWN_TRACE}")),
        true,
    )
    .await;
    assert_eq!(response.status(), 404);
    assert!(response.bytes().await.unwrap().is_empty());
    let response = get(
        &client,
        server.tempo_url(&format!("/api/v2/traces/{UNKNOWN_TRACE}")),
        true,
    )
    .await;
    assert_eq!(response.status(), 200);
    let decoded = proto::TraceByIdResponse::decode(response.bytes().await.unwrap()).unwrap();
    assert!(decoded.trace.unwrap_or_default().resource_spans.is_empty());
}

#[tokio::test]
async fn tempo_bad_input_is_refused_with_plain_text() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _) =
        server_with_fixture(dir.path(), &["--allowed-tenants", "single-tenant"]).await;
    let client = reqwest::Client::new();
    let cases: &[(&str, u16, &str)] = &[
        ("/api/traces/xyz", 400, "trace id"),
        (
            "/api/traces/000000000000000000000000000000000",
            400,
            "trace id",
        ),
        ("/api/v2/traces/00", 400, "trace id"),
        (
            "/api/traces/5b8efff798038103d269b633813fc60c?start=x",
            400,
            "start",
        ),
        (
            "/api/v2/traces/5b8efff798038103d269b633813fc60c?start=200&end=100",
            400,
            "start",
        ),
        (
            "/api/search?q=%7Bspan.http.method%3D%22GET%22%7D",
            400,
            "TraceQL is not supported yet; use tags=",
        ),
        ("/api/search?q=%7B%7D&tags=a%3Db", 400, "q"),
        ("/api/search?tags=a%3D%22open", 400, "tags"),
        ("/api/search?tags=a%3D1%20a%3D2", 400, "tags"),
        ("/api/search?start=200&end=100", 400, "start"),
        ("/api/search?start=x", 400, "start"),
        ("/api/search?minDuration=x", 400, "minDuration"),
        (
            "/api/search?minDuration=2s&maxDuration=1s",
            400,
            "maxDuration",
        ),
        ("/api/search?limit=0", 400, "limit"),
        ("/api/search?limit=1000000", 400, "limit"),
        ("/api/search?spss=-1", 400, "spss"),
        ("/api/search/tags?scope=bogus", 400, "scope"),
        ("/api/v2/search/tags?start=200&end=100", 400, "start"),
        ("/api/search/tag/service.name/values?end=x", 400, "end"),
        (
            "/api/v2/search/tag/service.name/values?limit=999999",
            400,
            "limit",
        ),
    ];
    for &(path, status, words) in cases {
        let response = client.get(server.tempo_url(path)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{path}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain"),
            "{path}"
        );
        let text = response.text().await.unwrap();
        assert!(
            text.contains(words),
            "{path}: {text:?} does not mention {words}"
        );
    }
    for path in [
        "/api/search",
        "/api/traces/5b8efff798038103d269b633813fc60c",
        "/api/v2/search/tags",
    ] {
        for (tenant, status) in [("someone-else", 403), ("bad tenant!", 400)] {
            let response = client
                .get(server.tempo_url(path))
                .header("X-Scope-OrgID", tenant)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), status, "{path} as {tenant}");
        }
    }
}
