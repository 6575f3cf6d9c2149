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
#[allow(dead_code)]
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

/// Trace ids of a TraceQL search answer, and for each its span sets as (span ids, matched, attributes).
type SpanSets = Vec<(Vec<String>, u64, Vec<String>)>;

async fn traceql(
    client: &reqwest::Client,
    server: &common::Server,
    q: &str,
    window: &str,
) -> Vec<(String, SpanSets)> {
    let url = server.tempo_url(&format!("/api/search?q={}&{window}&spss=10", enc(q)));
    let response = client.get(url).send().await.unwrap();
    assert_eq!(response.status(), 200, "{q}");
    let body: Value = response.json().await.unwrap();
    let mut out: Vec<(String, SpanSets)> = body["traces"]
        .as_array()
        .unwrap_or_else(|| panic!("{q}: no traces in {body}"))
        .iter()
        .map(|t| {
            let sets = t["spanSets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|set| {
                    let mut spans: Vec<String> = set["spans"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|s| s["spanID"].as_str().unwrap().to_owned())
                        .collect();
                    spans.sort();
                    let attrs = set["spans"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .flat_map(|s| s["attributes"].as_array().unwrap().clone())
                        .chain(set["attributes"].as_array().cloned().unwrap_or_default())
                        .filter(|a| a["key"] != "service.name")
                        .map(|a| format!("{}={}", a["key"].as_str().unwrap(), a["value"]))
                        .collect();
                    (spans, set["matched"].as_u64().unwrap(), attrs)
                })
                .collect();
            (t["traceID"].as_str().unwrap().to_owned(), sets)
        })
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn tempo_traceql_search_evaluates_filters_structure_and_pipelines() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, base) = server_with_fixture(dir.path(), &[]).await;
    let client = reqwest::Client::new();
    let secs = |offset: i64| ((base / 1_000_000_000) as i64 + offset).to_string();
    let window = format!("start={}&end={}", secs(-60), secs(60));
    let a = || TRACE_A.to_owned();
    let b = || TRACE_B_SHORT.to_owned();
    let span = |id: &str| id.repeat(8);
    let one = |ids: &[&str], attrs: &[&str]| {
        (
            ids.iter().map(|id| span(id)).collect::<Vec<_>>(),
            ids.len() as u64,
            attrs.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
        )
    };
    let cases: Vec<(&str, Vec<(String, SpanSets)>)> = vec![
        (
            r#"{ resource.service.name = "checkout" && status = error }"#,
            vec![(a(), vec![one(&["a3"], &[])])],
        ),
        (
            r#"{ span.http.method = "GET" } >> { status = error }"#,
            vec![(a(), vec![one(&["a3"], &[])])],
        ),
        (
            r#"{ event.exception.message = "declined" }"#,
            vec![(a(), vec![one(&["a3"], &[])])],
        ),
        (
            r#"{ span.ratio > 0.2 && span.retry = true }"#,
            vec![(a(), vec![one(&["a3"], &[])])],
        ),
        (
            r#"{ link:traceID = "00000000000000004bf92f3577b34da6" }"#,
            vec![(a(), vec![one(&["a3"], &[])])],
        ),
        (
            r#"{ trace:rootService = "frontend" && duration > 100ms }"#,
            vec![(a(), vec![one(&["a1"], &[])])],
        ),
        (
            r#"{ } | count() > 2"#,
            vec![(
                a(),
                vec![one(&["a1", "a2", "a3"], &[r#"count()={"intValue":"3"}"#])],
            )],
        ),
        (
            r#"{ name = "process refunds" } | select(span.big.number)"#,
            vec![(
                b(),
                vec![one(
                    &["b1"],
                    &[r#"span.big.number={"intValue":"9007199254740993"}"#],
                )],
            )],
        ),
        (
            r#"{ kind = server } | by(resource.service.name)"#,
            vec![(
                a(),
                vec![
                    one(
                        &["a1"],
                        &[r#"by(resource.service.name)={"stringValue":"frontend"}"#],
                    ),
                    one(
                        &["a3"],
                        &[r#"by(resource.service.name)={"stringValue":"checkout"}"#],
                    ),
                ],
            )],
        ),
        (r#"{ .nothing.like.this = "x" }"#, vec![]),
    ];
    for round in ["heads", "blocks after a restart"] {
        for (q, want) in &cases {
            let mut got = traceql(&client, &server, q, &window).await;
            for (_, sets) in &mut got {
                sets.sort();
            }
            let mut want = want.clone();
            for (_, sets) in &mut want {
                sets.sort();
            }
            assert_eq!(got, want, "{round}: {q}");
        }
        // Tag values narrowed by a query: only the values on the spans it selects.
        for (tag, q, want) in [
            (
                "resource.service.name",
                "{ status = error }",
                json!([{"type": "string", "value": "checkout"}]),
            ),
            (
                "span.http.method",
                "{ }",
                json!([{"type": "string", "value": "GET"}]),
            ),
            (
                "name",
                r#"{ resource.service.name = "frontend" }"#,
                json!([
                    {"type": "string", "value": "GET /checkout"},
                    {"type": "string", "value": "call checkout"},
                ]),
            ),
            (
                "status",
                "{ kind = server }",
                json!([
                    {"type": "keyword", "value": "error"},
                    {"type": "keyword", "value": "ok"},
                ]),
            ),
        ] {
            let url = server.tempo_url(&format!(
                "/api/v2/search/tag/{tag}/values?q={}&{window}",
                enc(q)
            ));
            let body: Value = client.get(url).send().await.unwrap().json().await.unwrap();
            assert_eq!(body["tagValues"], want, "{round}: {tag} under {q}");
        }
        // Tag names narrowed by a query: the attributes of the selected spans and their resources only.
        let url = server.tempo_url(&format!(
            "/api/v2/search/tags?q={}&{window}",
            enc("{ status = error }")
        ));
        let body: Value = client.get(url).send().await.unwrap().json().await.unwrap();
        let scope = |name: &str| {
            body["scopes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["name"] == name)
                .map(|s| s["tags"].clone())
        };
        assert_eq!(
            scope("span"),
            Some(json!(["ratio", "retry"])),
            "{round}: {body}"
        );
        assert_eq!(
            scope("resource"),
            Some(json!(["k8s.pod.name", "service.name"])),
            "{round}: {body}"
        );
        let url = server.tempo_url(&format!(
            "/api/search/tags?q={}&{window}",
            enc(r#"{ resource.service.name = "checkout" && status = error }"#)
        ));
        let body: Value = client.get(url).send().await.unwrap().json().await.unwrap();
        assert_eq!(
            body["tagNames"],
            json!(["k8s.pod.name", "ratio", "retry", "service.name"]),
            "{round}"
        );
        server.terminate();
        server = common::Server::start(dir.path(), &[]).await;
    }
}

/// `({key=value, ...}, [(timestampMs, value)])` of a query_range answer, or `({...}, value)` of an instant one.
async fn metrics_answer(client: &reqwest::Client, url: String) -> Vec<(String, Value)> {
    let response = client.get(&url).send().await.unwrap();
    assert_eq!(response.status(), 200, "{url}");
    let body: Value = response.json().await.unwrap();
    body["series"]
        .as_array()
        .unwrap_or_else(|| panic!("{url}: {body}"))
        .iter()
        .map(|s| {
            let data = if s["samples"].is_array() {
                Value::Array(
                    s["samples"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|p| json!([p["timestampMs"], p["value"]]))
                        .collect(),
                )
            } else {
                s["value"].clone()
            };
            let labels: Vec<String> = s["labels"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| {
                    format!(
                        "{}={}",
                        l["key"].as_str().unwrap(),
                        l["value"]["stringValue"]
                    )
                })
                .collect();
            (format!("{{{}}}", labels.join(", ")), data)
        })
        .collect()
}

#[tokio::test]
async fn tempo_traceql_metrics_answer_series_per_step_and_instant_values() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, base) = server_with_fixture(dir.path(), &[]).await;
    let client = reqwest::Client::new();
    let minute = 60_000_000_000u64;
    // Two one-minute steps; the fixture's spans all start in the second.
    let range = format!("start={}&end={}", base - minute, base + minute);
    let at = (base / 1_000_000).to_string();
    for round in ["heads", "blocks after a restart"] {
        let url = |path: &str, q: &str, extra: &str| {
            server.tempo_url(&format!("{path}?q={}&{range}{extra}", enc(q)))
        };
        let got = metrics_answer(
            &client,
            url(
                "/api/metrics/query_range",
                "{ } | count_over_time() by (resource.service.name)",
                "&step=60s",
            ),
        )
        .await;
        assert_eq!(
            got,
            vec![
                (
                    r#"{resource.service.name="checkout"}"#.to_owned(),
                    json!([[at, 2.0]])
                ),
                (
                    r#"{resource.service.name="frontend"}"#.to_owned(),
                    json!([[at, 2.0]])
                ),
            ],
            "{round}"
        );
        let got = metrics_answer(
            &client,
            url(
                "/api/metrics/query_range",
                "{ status = error } | rate()",
                "&step=60",
            ),
        )
        .await;
        assert_eq!(
            got,
            vec![("{}".to_owned(), json!([[at, 1.0 / 60.0]]))],
            "{round}"
        );
        let got = metrics_answer(
            &client,
            url(
                "/api/metrics/query_range",
                "{ kind = server } | max_over_time(duration)",
                "&step=60s",
            ),
        )
        .await;
        assert_eq!(got, vec![("{}".to_owned(), json!([[at, 0.15]]))], "{round}");
        let got = metrics_answer(
            &client,
            url("/api/metrics/query", "{ } | count_over_time()", ""),
        )
        .await;
        assert_eq!(got, vec![("{}".to_owned(), json!(4.0))], "{round}");
        server.terminate();
        server = common::Server::start(dir.path(), &[]).await;
    }
    for (path, words) in [
        (
            "/api/metrics/query_range?q=%7B%7D%20%7C%20rate()&step=0",
            "step",
        ),
        ("/api/metrics/query_range?step=60s", "q"),
        (
            "/api/metrics/query_range?q=%7B.a%3D1%7D",
            "not a metrics query",
        ),
        (
            "/api/metrics/query?q=%7B%7D%20%7C%20rate(&start=1",
            "TraceQL",
        ),
        (
            "/api/metrics/query?q=%7B%7D%20%7C%20rate()&start=20&end=10",
            "start",
        ),
    ] {
        let response = client.get(server.tempo_url(path)).send().await.unwrap();
        assert_eq!(response.status(), 400, "{path}");
        let text = response.text().await.unwrap();
        assert!(text.contains(words), "{path}: {text}");
    }
}

#[tokio::test]
async fn tempo_traceql_compare_splits_selection_and_baseline_per_attribute() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, base) = server_with_fixture(dir.path(), &[]).await;
    let client = reqwest::Client::new();
    let minute = 60_000_000_000u64;
    // Two one-minute steps; the fixture's spans all start in the second, so the first counts 0.
    let range = format!("start={}&end={}&step=60s", base - minute, base + minute);
    let before = ((base - minute) / 1_000_000).to_string();
    let at = (base / 1_000_000).to_string();
    let spans = |n: f64| json!([[before, 0.0], [at, n]]);
    for round in ["heads", "blocks after a restart"] {
        let url =
            |q: &str| server.tempo_url(&format!("/api/metrics/query_range?q={}&{range}", enc(q)));
        let got = metrics_answer(&client, url("{} | compare({status=error})")).await;
        let find = |labels: &str| {
            got.iter()
                .find(|(l, _)| l == labels)
                .map(|(_, data)| data.clone())
                .unwrap_or_else(|| panic!("{round}: no {labels} in {got:#?}"))
        };
        // POST /pay (checkout) is the only error: the selection; the three other spans are the baseline.
        for (labels, n) in [
            (
                r#"{__meta_type="selection", resource.service.name="checkout"}"#,
                1.0,
            ),
            (r#"{__meta_type="selection", status="error"}"#, 1.0),
            (
                r#"{__meta_type="selection", statusMessage="card declined"}"#,
                1.0,
            ),
            (r#"{__meta_type="selection", name="POST /pay"}"#, 1.0),
            (
                r#"{__meta_type="baseline", resource.service.name="frontend"}"#,
                2.0,
            ),
            (
                r#"{__meta_type="baseline", resource.service.name="checkout"}"#,
                1.0,
            ),
            (r#"{__meta_type="baseline", status="unset"}"#, 2.0),
            (r#"{__meta_type="baseline", status="ok"}"#, 1.0),
            (r#"{__meta_type="baseline", kind="client"}"#, 1.0),
            (r#"{__meta_type="baseline", span.http.method="GET"}"#, 1.0),
            (
                r#"{__meta_type="baseline_total", resource.service.name=null}"#,
                3.0,
            ),
            (
                r#"{__meta_type="baseline_total", span.http.method=null}"#,
                1.0,
            ),
            (
                r#"{__meta_type="selection_total", resource.service.name=null}"#,
                1.0,
            ),
            (r#"{__meta_type="selection_total", status=null}"#, 1.0),
        ] {
            assert_eq!(find(labels), spans(n), "{round}: {labels}");
        }
        for (labels, _) in &got {
            assert!(labels.starts_with("{__meta_type="), "{round}: {labels}");
            for skipped in [
                "trace:id",
                "span:id",
                "span:parentID",
                "duration",
                "traceDuration",
            ] {
                assert!(
                    !labels.contains(&format!(" {skipped}=")),
                    "{round}: {labels}"
                );
            }
        }
        assert!(
            !got.iter().any(|(l, _)| l
                .starts_with(r#"{__meta_type="selection", resource.service.name="frontend""#)),
            "{round}: {got:#?}"
        );

        // topN 1: one value per attribute and group, and an error series without samples for attributes with more.
        let got = metrics_answer(&client, url("{} | compare({status=error}, 1)")).await;
        let names: Vec<&String> = got
            .iter()
            .map(|(l, _)| l)
            .filter(|l| l.starts_with(r#"{__meta_type="baseline", resource.service.name="#))
            .collect();
        assert_eq!(
            names,
            [r#"{__meta_type="baseline", resource.service.name="frontend"}"#],
            "{round}"
        );
        assert!(
            got.contains(&(
                r#"{__meta_error="__too_many_values__", name=null}"#.to_owned(),
                json!([])
            )),
            "{round}: {got:#?}"
        );

        // A selection window (Unix nanoseconds, start exclusive) after POST /pay started leaves it in the baseline.
        let got = metrics_answer(
            &client,
            url(&format!(
                "{{}} | compare({{status=error}}, 10, {}, {})",
                base + 30 * compat::MS,
                base + 60 * compat::MS
            )),
        )
        .await;
        assert!(
            !got.iter().any(|(l, _)| l.contains("\"selection")),
            "{round}: {got:#?}"
        );
        assert_eq!(
            got.iter()
                .find(|(l, _)| l == r#"{__meta_type="baseline", status="error"}"#)
                .map(|(_, d)| d.clone()),
            Some(spans(1.0)),
            "{round}"
        );

        // The instant query answers the same counts, one value each.
        let got = metrics_answer(
            &client,
            server.tempo_url(&format!(
                "/api/metrics/query?q={}&{range}",
                enc("{} | compare({status=error})")
            )),
        )
        .await;
        assert!(
            got.contains(&(
                r#"{__meta_type="baseline_total", name=null}"#.to_owned(),
                json!(3.0)
            )),
            "{round}: {got:#?}"
        );
        server.terminate();
        server = common::Server::start(dir.path(), &[]).await;
    }
    // Bad compare() arguments are 400s naming the problem.
    let response = client
        .get(server.tempo_url(&format!(
            "/api/metrics/query_range?q={}&{range}",
            enc("{} | compare({status=error}, 0)")
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("topN"));
}

/// Calls one method of Tempo's gRPC streaming querier on the Tempo port and collects its stream.
async fn streaming<Req, Resp>(
    server: &common::Server,
    method: &'static str,
    request: Req,
    tenant: Option<&str>,
) -> Result<Vec<Resp>, tonic::Status>
where
    Req: Message + Send + Sync + 'static,
    Resp: Message + Default + Send + Sync + 'static,
{
    let mut request = tonic::Request::new(request);
    if let Some(t) = tenant {
        request
            .metadata_mut()
            .insert("x-scope-orgid", t.parse().unwrap());
    }
    common::tempo_stream(server, method, request).await
}

#[tokio::test]
async fn tempo_grpc_streaming_querier_answers_search_tags_and_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let (server, base) =
        server_with_fixture(dir.path(), &["--allowed-tenants", "single-tenant"]).await;
    let (start, end) = (
        (base / 1_000_000_000 - 60) as u32,
        (base / 1_000_000_000 + 60) as u32,
    );

    let answers: Vec<proto::SearchResponse> = streaming(
        &server,
        "/tempopb.StreamingQuerier/Search",
        proto::SearchRequest {
            query: r#"{ span.http.method = "GET" } >> { status = error }"#.into(),
            start,
            end,
            limit: 20,
            spans_per_span_set: 3,
            ..Default::default()
        },
        None,
    )
    .await
    .expect("search");
    assert_eq!(answers.len(), 1, "one complete answer");
    let traces = &answers[0].traces;
    assert_eq!(traces.len(), 1);
    assert_eq!(traces[0].trace_id, TRACE_A);
    assert_eq!(traces[0].root_service_name, "frontend");
    assert_eq!(traces[0].root_trace_name, "GET /checkout");
    assert_eq!(traces[0].duration_ms, 150);
    assert_eq!(traces[0].service_stats["checkout"].error_count, 1);
    let set = &traces[0].span_sets[0];
    assert_eq!(
        (set.matched, set.spans[0].span_id.as_str()),
        (1, "a3a3a3a3a3a3a3a3")
    );

    // The tags form of search.
    let answers: Vec<proto::SearchResponse> = streaming(
        &server,
        "/tempopb.StreamingQuerier/Search",
        proto::SearchRequest {
            tags: [("service.name".to_owned(), "checkout".to_owned())].into(),
            start,
            end,
            ..Default::default()
        },
        None,
    )
    .await
    .expect("tags search");
    let mut ids: Vec<&str> = answers[0]
        .traces
        .iter()
        .map(|t| t.trace_id.as_str())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, vec![TRACE_B_SHORT, TRACE_A]);

    let tags: Vec<proto::SearchTagsV2Response> = streaming(
        &server,
        "/tempopb.StreamingQuerier/SearchTagsV2",
        proto::SearchTagsRequest {
            start,
            end,
            ..Default::default()
        },
        None,
    )
    .await
    .expect("tags");
    let resource = tags[0]
        .scopes
        .iter()
        .find(|s| s.name == "resource")
        .expect("resource scope");
    assert!(
        resource.tags.contains(&"k8s.pod.name".to_owned()),
        "{resource:?}"
    );

    let v1: Vec<proto::SearchTagsResponse> = streaming(
        &server,
        "/tempopb.StreamingQuerier/SearchTags",
        proto::SearchTagsRequest {
            scope: "span".into(),
            start,
            end,
            ..Default::default()
        },
        None,
    )
    .await
    .expect("tags v1");
    assert!(
        v1[0].tag_names.contains(&"http.method".to_owned()),
        "{v1:?}"
    );
    let v1: Vec<proto::SearchTagValuesResponse> = streaming(
        &server,
        "/tempopb.StreamingQuerier/SearchTagValues",
        proto::SearchTagValuesRequest {
            tag_name: "host.name".into(),
            start,
            end,
            ..Default::default()
        },
        None,
    )
    .await
    .expect("tag values v1");
    assert_eq!(v1[0].tag_values, vec!["web-1".to_owned()]);

    let values: Vec<proto::SearchTagValuesV2Response> = streaming(
        &server,
        "/tempopb.StreamingQuerier/SearchTagValuesV2",
        proto::SearchTagValuesRequest {
            tag_name: "resource.service.name".into(),
            start,
            end,
            ..Default::default()
        },
        None,
    )
    .await
    .expect("tag values");
    let got: Vec<(&str, &str)> = values[0]
        .tag_values
        .iter()
        .map(|v| (v.r#type.as_str(), v.value.as_str()))
        .collect();
    assert_eq!(got, vec![("string", "checkout"), ("string", "frontend")]);

    let minute = 60_000_000_000u64;
    let series: Vec<proto::QueryRangeResponse> = streaming(
        &server,
        "/tempopb.StreamingQuerier/MetricsQueryRange",
        proto::QueryRangeRequest {
            query: "{ } | count_over_time() by (resource.service.name)".into(),
            start: base - minute,
            end: base + minute,
            step: minute,
        },
        None,
    )
    .await
    .expect("query range");
    let got: Vec<(String, Vec<(i64, f64)>)> = series[0]
        .series
        .iter()
        .map(|s| {
            (
                format!(
                    "{:?}",
                    s.labels[0].value.as_ref().and_then(|v| v.value.as_ref())
                ),
                s.samples
                    .iter()
                    .map(|p| (p.timestamp_ms, p.value))
                    .collect(),
            )
        })
        .collect();
    let at = (base / 1_000_000) as i64;
    assert_eq!(
        got,
        vec![
            (
                r#"Some(StringValue("checkout"))"#.to_owned(),
                vec![(at, 2.0)]
            ),
            (
                r#"Some(StringValue("frontend"))"#.to_owned(),
                vec![(at, 2.0)]
            ),
        ]
    );
    let instant: Vec<proto::QueryInstantResponse> = streaming(
        &server,
        "/tempopb.StreamingQuerier/MetricsQueryInstant",
        proto::QueryInstantRequest {
            query: "{ } | count_over_time()".into(),
            start: base - minute,
            end: base + minute,
        },
        None,
    )
    .await
    .expect("instant");
    assert_eq!(instant[0].series[0].value, 4.0);

    // Bad input and other tenants are gRPC errors with the reason.
    let bad = streaming::<_, proto::SearchResponse>(
        &server,
        "/tempopb.StreamingQuerier/Search",
        proto::SearchRequest {
            query: "{ .a = }".into(),
            ..Default::default()
        },
        None,
    )
    .await
    .expect_err("a syntax error");
    assert_eq!(bad.code(), tonic::Code::InvalidArgument);
    assert!(bad.message().contains("column 8"), "{bad:?}");
    let denied = streaming::<_, proto::SearchResponse>(
        &server,
        "/tempopb.StreamingQuerier/Search",
        proto::SearchRequest::default(),
        Some("someone-else"),
    )
    .await
    .expect_err("an unknown tenant");
    assert_eq!(denied.code(), tonic::Code::PermissionDenied);
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
            "/api/search?q=%7Bspan.http.method%3D%7D",
            400,
            "line 1, column 19",
        ),
        ("/api/search?q=%7B%7D%20%7C%20rate()", 400, "metrics"),
        ("/api/search?q=%7B.a%3D1%7D&tags=a%3Db", 400, "q"),
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
