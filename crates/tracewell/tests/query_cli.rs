//! `tracewell query` against a running server: tables for people, JSON for scripts, clear failures.

mod common;
#[path = "../../tracewell-query/tests/common/mod.rs"]
mod dataset;

use std::process::Command;

use common::Server;
use prost::Message;

fn query(server: &Server, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tracewell"))
        .arg("query")
        .args(["--server", &server.url("")])
        .args(args)
        .output()
        .expect("run tracewell query");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn trace_search_and_sql_print_tables_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]).await;
    let base = dataset::base_time();
    let spans = dataset::dataset();
    let request = dataset::request_of(&spans.iter().collect::<Vec<_>>(), base);
    let r = reqwest::Client::new()
        .post(server.otlp_http_url())
        .header("content-type", "application/x-protobuf")
        .body(request.encode_to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let t1 = dataset::trace_id(1).to_hex();

    let (ok, out, err) = query(
        &server,
        &["search", "--service", "users", "--lookback", "1h"],
    );
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("TRACE ID"), "{out}");
    assert_eq!(lines.len(), 3, "{out}");
    assert!(
        lines[2].starts_with(&t1) && lines[2].contains("gateway: GET /users"),
        "{out}"
    );

    let (ok, out, _) = query(
        &server,
        &["--json", "search", "--tag", "customer.tier=gold"],
    );
    assert!(ok);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["traces"].as_array().unwrap().len(), 2);

    let (ok, out, err) = query(&server, &["trace", &t1]);
    assert!(ok, "{err}");
    assert!(
        out.contains("GET /users") && out.contains("    SELECT users"),
        "tree indents children: {out}"
    );
    assert!(out.contains("(3 spans"), "{out}");

    let (ok, out, err) = query(
        &server,
        &[
            "sql",
            "SELECT service_name, count(*) AS n FROM spans GROUP BY 1 ORDER BY 1",
        ],
    );
    assert!(ok, "{err}");
    assert!(
        out.starts_with("service_name  n\ngateway       4\n"),
        "{out}"
    );
    assert!(out.contains("(4 rows)"));

    let (ok, _, err) = query(&server, &["search", "--min-duration", "soon"]);
    assert!(!ok);
    assert!(err.contains("400") && err.contains("minDuration"), "{err}");
    let (ok, _, err) = query(&server, &["trace", "0123456789abcdef0123456789abcdef"]);
    assert!(!ok);
    assert!(err.contains("404"), "{err}");
}

#[test]
fn an_unreachable_server_is_named() {
    let out = Command::new(env!("CARGO_BIN_EXE_tracewell"))
        .args([
            "query",
            "--server",
            "http://127.0.0.1:9",
            "--timeout",
            "2s",
            "services",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot reach http://127.0.0.1:9"), "{err}");
}
