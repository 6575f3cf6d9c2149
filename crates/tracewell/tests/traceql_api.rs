//! TraceQL on the native API (`GET`/`POST /api/v1/traceql`: search and metrics) and `tracewell query traceql`,
//! against a running server holding the compatibility fixture: answers, limits, and clear 400s for bad input.

mod common;
mod compat;

use std::process::Command;

use compat::{server_with_fixture, TRACE_A, TRACE_B};
use serde_json::{json, Value};

fn ids(answer: &Value) -> Vec<String> {
    answer["traces"]
        .as_array()
        .unwrap_or_else(|| panic!("no traces in {answer}"))
        .iter()
        .map(|t| t["traceId"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn native_traceql_answers_get_post_and_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _) = server_with_fixture(dir.path(), &[]).await;
    let client = reqwest::Client::new();
    let post = |body: Value| {
        client
            .post(server.url("/api/v1/traceql"))
            .json(&body)
            .send()
    };

    // POST: a structural query; the span set holds the error span below the GET.
    let response = post(json!({
        "query": "{ span.http.method = \"GET\" } >> { status = error }",
        "lookback": "1h",
    }))
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(ids(&answer), vec![TRACE_A.to_owned()]);
    let set = &answer["traces"][0]["spanSets"][0];
    assert_eq!(set["matched"], 1);
    assert_eq!(set["spans"][0]["spanId"], "a3a3a3a3a3a3a3a3");
    assert_eq!(set["spans"][0]["service"], "checkout");
    assert_eq!(set["spans"][0]["status"], "error");
    assert!(answer["cut"].is_null(), "{answer}");
    assert_eq!(answer["limitHit"], false);
    assert_eq!(answer["inspectedTraces"], 2, "both traces were candidates");

    // GET, newest first, with a limit.
    let url = server.url("/api/v1/traceql?q=%7B%7D&lookback=1h&limit=1");
    let answer: Value = client.get(url).send().await.unwrap().json().await.unwrap();
    assert_eq!(ids(&answer), vec![TRACE_B.to_owned()]);
    assert_eq!(answer["limitHit"], true, "trace A matches too");

    // select() values come back typed.
    let answer: Value = post(json!({
        "query": "{ name = \"process refunds\" } | select(span.big.number, duration)",
        "lookback": "1h",
    }))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let attrs = &answer["traces"][0]["spanSets"][0]["spans"][0]["attributes"];
    assert_eq!(
        attrs,
        &json!([
            {"key": "span.big.number", "value": 9_007_199_254_740_993_i64},
            {"key": "span:duration", "value": 5_000_000},
        ])
    );

    // A metrics query answers series: every fixture span counted once, by service.
    let answer: Value = post(json!({
        "query": "{ } | count_over_time() by (resource.service.name)",
        "lookback": "1h",
        "step": "10m",
    }))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(answer["stepNano"], 600_000_000_000_u64, "{answer}");
    let totals: Vec<(String, f64)> = answer["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let total = s["points"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p[1].as_f64().unwrap())
                .sum();
            (s["labels"][0]["value"].as_str().unwrap().to_owned(), total)
        })
        .collect();
    assert_eq!(
        totals,
        vec![("checkout".to_owned(), 2.0), ("frontend".to_owned(), 2.0)]
    );

    // Bad input: a 400 naming what is wrong.
    for (body, words) in [
        (json!({"query": "{ .a = }"}), "column 8"),
        (json!({"query": "{ .a =~ \"(\" }"}), "regular expression"),
        (json!({"query": "{} | rate()", "step": "0s"}), "step"),
        (json!({"lookback": "1h"}), "TraceQL query is required"),
        (json!({"query": "{}", "limit": 0}), "limit"),
        (json!({"query": "{}", "limit": [1]}), "limit"),
        (json!("not an object"), "JSON object"),
    ] {
        let response = post(body.clone()).await.unwrap();
        assert_eq!(response.status(), 400, "{body}");
        let text = response.text().await.unwrap();
        assert!(text.contains(words), "{body}: {text}");
    }

    // The CLI prints the traces and their span sets.
    let out = Command::new(env!("CARGO_BIN_EXE_tracewell"))
        .args(["query", "--server", &server.url(""), "traceql"])
        .arg("{ kind = server } | by(resource.service.name)")
        .output()
        .expect("run tracewell query traceql");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("TRACE ID"), "{stdout}");
    assert!(
        stdout.contains("a1a1a1a1a1a1a1a1 frontend: GET /checkout")
            && stdout.contains("a3a3a3a3a3a3a3a3 checkout: POST /pay")
            && stdout.contains("by(resource.service.name)=\"checkout\""),
        "{stdout}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_tracewell"))
        .args(["query", "--server", &server.url(""), "traceql", "{ name = "])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("TraceQL"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
