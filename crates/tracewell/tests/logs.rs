//! OTLP logs against the real binary: records arrive over OTLP/HTTP (protobuf and gzipped JSON) and OTLP/gRPC,
//! bad records are refused one by one with partial success, a trace's records and a log search read them from
//! the head, after a crash (SIGKILL) from the replayed WAL, and after a flush from a logs block; bad query
//! parameters get 400 naming the parameter; metrics exports still answer 404/UNIMPLEMENTED.

mod common;

use std::io::Write;

use common::traces::{http_client, now_unix_nano};
use common::Server;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;
use serde_json::Value;

const TRACE: [u8; 16] = [0x4b; 16];
const TENANT: &str = "shop";

fn text(value: &str) -> Option<AnyValue> {
    Some(AnyValue {
        value: Some(any_value::Value::StringValue(value.into())),
    })
}

fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: text(value),
        ..Default::default()
    }
}

fn record(time: u64, severity: i32, body: &str, trace: Option<[u8; 16]>) -> LogRecord {
    LogRecord {
        time_unix_nano: time,
        severity_number: severity,
        severity_text: tracewell_model::logs::severity_name(severity).into(),
        body: text(body),
        attributes: vec![kv("order.id", "o-17")],
        trace_id: trace.map(|t| t.to_vec()).unwrap_or_default(),
        span_id: trace.map(|_| vec![0x0a; 8]).unwrap_or_default(),
        ..Default::default()
    }
}

fn request(service: &str, records: Vec<LogRecord>) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: vec![kv("service.name", service)],
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs {
                log_records: records,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

async fn get(server: &Server, path: &str) -> (u16, Value) {
    let response = http_client()
        .get(server.url(path))
        .header("X-Scope-OrgID", TENANT)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn bodies(answer: &Value) -> Vec<String> {
    answer["logs"]
        .as_array()
        .unwrap_or_else(|| panic!("{answer}"))
        .iter()
        .map(|l| l["body"].as_str().unwrap().to_owned())
        .collect()
}

/// Everything the tests send: checkout's three records of one trace over protobuf, a gzipped JSON record of
/// the same trace, a gRPC record without a trace. Returns the checkout records' base time.
async fn send_all(server: &Server) -> u64 {
    let t0 = now_unix_nano() - 60_000_000_000;
    let mut bad = record(t0, 9, "short trace id", None);
    bad.trace_id = vec![1, 2, 3, 4, 5];
    let checkout = request(
        "checkout",
        vec![
            record(t0, 9, "order received", Some(TRACE)),
            record(t0 + 1_000_000, 13, "stock low for sku 42", Some(TRACE)),
            bad,
            record(t0 + 2_000_000, 17, "Payment DECLINED by bank", Some(TRACE)),
        ],
    );
    let response = http_client()
        .post(server.otlp_http_path("/v1/logs"))
        .header("content-type", "application/x-protobuf")
        .header("X-Scope-OrgID", TENANT)
        .body(checkout.encode_to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let answer = ExportLogsServiceResponse::decode(response.bytes().await.unwrap()).unwrap();
    let partial = answer.partial_success.expect("one record refused");
    assert_eq!(partial.rejected_log_records, 1);
    assert!(
        partial
            .error_message
            .contains("trace id of 5 bytes (expected 16 or none)"),
        "{}",
        partial.error_message
    );

    // OTLP/JSON (hex ids), gzipped.
    let json = serde_json::json!({"resourceLogs": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "payments"}}]},
        "scopeLogs": [{"logRecords": [{
            "timeUnixNano": (t0 + 3_000_000).to_string(),
            "severityNumber": 17,
            "severityText": "ERROR",
            "body": {"stringValue": "card declined"},
            "traceId": hex::encode(TRACE),
            "spanId": "0b0b0b0b0b0b0b0b"
        }]}]
    }]});
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(json.to_string().as_bytes()).unwrap();
    let response = http_client()
        .post(server.otlp_http_path("/v1/logs"))
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .header("X-Scope-OrgID", TENANT)
        .body(gz.finish().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer, serde_json::json!({}), "no partial success");

    // OTLP/gRPC.
    let mut client = LogsServiceClient::connect(server.otlp_grpc_url())
        .await
        .unwrap();
    let mut grpc = tonic::Request::new(request(
        "inventory",
        vec![record(t0 + 4_000_000, 5, "cache warmed", None)],
    ));
    grpc.metadata_mut()
        .insert("x-scope-orgid", TENANT.parse().unwrap());
    let answer = client.export(grpc).await.unwrap().into_inner();
    assert_eq!(answer.partial_success, None);
    t0
}

/// What every phase must read back, wherever the records are.
async fn check_reads(server: &Server, phase: &str) {
    let trace = hex::encode(TRACE);
    let (status, answer) = get(server, &format!("/api/v1/traces/{trace}/logs")).await;
    assert_eq!(status, 200, "{phase}: {answer}");
    assert_eq!(
        bodies(&answer),
        [
            "order received",
            "stock low for sku 42",
            "Payment DECLINED by bank",
            "card declined"
        ],
        "{phase}: a trace's records, oldest first"
    );
    let first = &answer["logs"][0];
    assert_eq!(first["service"], "checkout", "{phase}");
    assert_eq!(first["severityText"], "INFO");
    assert_eq!(first["spanId"], "0a0a0a0a0a0a0a0a");
    assert_eq!(first["attributes"]["order.id"], "o-17");
    assert_eq!(first["resource"]["service.name"], "checkout");

    let (_, warn) = get(server, "/api/v1/logs?lookback=2h&minSeverity=warn").await;
    assert_eq!(
        bodies(&warn),
        [
            "card declined",
            "Payment DECLINED by bank",
            "stock low for sku 42"
        ],
        "{phase}: WARN and above, newest first"
    );
    let (_, text) = get(
        server,
        "/api/v1/logs?lookback=2h&q=declined&service=checkout",
    )
    .await;
    assert_eq!(bodies(&text), ["Payment DECLINED by bank"], "{phase}");
    let (_, limited) = get(server, "/api/v1/logs?lookback=2h&limit=2").await;
    assert_eq!(
        bodies(&limited),
        ["cache warmed", "card declined"],
        "{phase}"
    );
    assert_eq!(limited["truncated"], true);
    let (_, by_attr) = get(
        server,
        "/api/v1/logs?lookback=2h&attr=order.id%3Do-17&minSeverity=13",
    )
    .await;
    assert_eq!(
        by_attr["logs"].as_array().unwrap().len(),
        2,
        "{phase}: {by_attr}"
    );
    let (_, by_trace) = get(
        server,
        &format!("/api/v1/logs?lookback=2h&traceId={trace}&service=payments"),
    )
    .await;
    assert_eq!(bodies(&by_trace), ["card declined"], "{phase}");

    // The SQL `logs` table.
    let sql = |query: &'static str| async move {
        let response = http_client()
            .post(server.url("/api/v1/sql"))
            .header("X-Scope-OrgID", TENANT)
            .json(&serde_json::json!({ "query": query }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{query}");
        response.json::<Value>().await.unwrap()["rows"].clone()
    };
    assert_eq!(
        sql("SELECT service_name, count(*) FROM logs GROUP BY service_name ORDER BY service_name")
            .await,
        serde_json::json!([["checkout", 3], ["inventory", 1], ["payments", 1]]),
        "{phase}"
    );
    assert_eq!(
        sql("SELECT body, trace_id FROM logs WHERE severity_number >= 17 AND service_name = 'checkout'").await,
        serde_json::json!([["Payment DECLINED by bank", hex::encode(TRACE)]]),
        "{phase}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_are_stored_beside_spans_and_survive_a_crash_and_a_flush() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = Server::start(&data, &[]).await;
    send_all(&server).await;
    check_reads(&server, "head").await;
    assert_eq!(
        server
            .metric(r#"tracewell_accepted_log_records_total{receiver="otlp_http"}"#)
            .await,
        4.0
    );
    assert_eq!(
        server
            .metric(r#"tracewell_rejected_log_records_total{receiver="otlp_http"}"#)
            .await,
        1.0
    );
    assert_eq!(
        server
            .metric(r#"tracewell_accepted_log_records_total{receiver="otlp_grpc"}"#)
            .await,
        1.0
    );

    // A crash before any flush: the records come back from the WAL.
    server.kill();
    let server = Server::start(&data, &["--head-max-age", "1s"]).await;
    check_reads(&server, "replayed").await;

    // The head flushes into a logs block, and reads find them there.
    let logs_dir = data.join("blocks").join(TENANT).join("logs");
    let dir_ref = &logs_dir;
    server
        .eventually("a logs block written", || async move {
            std::fs::read_dir(dir_ref).is_ok_and(|d| d.count() > 0)
        })
        .await;
    let srv = &server;
    server
        .eventually("the flushed head dropped", || async move {
            srv.metric(r#"tracewell_head_bytes{tenant="shop"}"#).await == 0.0
        })
        .await;
    check_reads(&server, "block").await;
}

#[tokio::test]
async fn bad_log_queries_are_refused_naming_the_parameter() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &[]).await;
    for (path, expected) in [
        ("/api/v1/logs?minSeverity=loud", "unknown severity \"loud\""),
        ("/api/v1/logs?minSeverity=30", "must be 0 to 24, got 30"),
        ("/api/v1/logs?limit=0", "must be between 1 and 5000, got 0"),
        ("/api/v1/logs?attr=nokey", "\"nokey\" is not key=value"),
        ("/api/v1/logs?traceId=xyz", "traceId"),
        ("/api/v1/traces/abc/logs", "trace id"),
    ] {
        let (status, body) = get(&server, path).await;
        assert_eq!(status, 400, "{path}: {body}");
        let message = body["error"].as_str().unwrap_or_default();
        assert!(message.contains(expected), "{path}: {body}");
    }
    // An unknown trace has no records (not an error: logs may come without spans and vice versa).
    let (status, body) = get(&server, &format!("/api/v1/traces/{}/logs", "ab".repeat(16))).await;
    assert_eq!(status, 200);
    assert_eq!(body["logs"], serde_json::json!([]));

    // Metrics exports are not accepted, cleanly.
    let response = http_client()
        .post(server.otlp_http_path("/v1/metrics"))
        .header("content-type", "application/x-protobuf")
        .body(Vec::new())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_logs_blocks_are_deleted_by_the_log_retention() {
    let dir = tempfile::tempdir().unwrap();
    let flags = [
        "--log-retention",
        "1h",
        "--head-max-age",
        "1s",
        "--maintenance-interval",
        "1s",
    ];
    let server = Server::start(&dir.path().join("data"), &flags).await;
    let three_hours_ago = now_unix_nano() - 3 * 3600 * 1_000_000_000;
    let old = request(
        "batch",
        vec![record(three_hours_ago, 9, "nightly run", None)],
    );
    let response = http_client()
        .post(server.otlp_http_path("/v1/logs"))
        .header("content-type", "application/x-protobuf")
        .header("X-Scope-OrgID", TENANT)
        .body(old.encode_to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (_, found) = get(&server, "/api/v1/logs?lookback=4h").await;
    assert_eq!(bodies(&found), ["nightly run"]);
    let srv = &server;
    server
        .eventually("the old logs block deleted", || async move {
            srv.metric("tracewell_retention_deleted_log_blocks_total")
                .await
                == 1.0
        })
        .await;
    let (_, gone) = get(&server, "/api/v1/logs?lookback=4h").await;
    assert_eq!(bodies(&gone), Vec::<String>::new());
}
