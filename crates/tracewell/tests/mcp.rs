//! The MCP endpoint with the reference Python client (`tests/mcp/client.py`, package `mcp` from PyPI, which
//! `scripts/test` installs into a virtual environment named by `TEST_PYTHON`): every tool is listed and called against a shop with a regression, and the
//! transport's error paths answer as the protocol says.

mod common;

use std::path::Path;

use common::shop;
use common::traces::now_unix_nano;
use common::Server;
use serde_json::{json, Value};

async fn shop_with_slow_pay(server: &Server, http: &reqwest::Client) -> Vec<String> {
    let checkouts = shop::regression(now_unix_nano(), |_, _| {}, |c, i| c.pay_ms = 300 + i % 5);
    shop::send(http, &server.otlp_http_url(), &checkouts).await
}

fn run_client(url: &str, calls: &Value) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mcp/client.py");
    // scripts/test sets TEST_PYTHON to a virtual environment holding the client.
    let python = std::env::var("TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let output = std::process::Command::new(python)
        .arg(script)
        .arg(url)
        .arg(calls.to_string())
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "the MCP client failed (scripts/test installs it; or `pip install mcp` and set TEST_PYTHON):\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[tokio::test]
async fn the_python_client_calls_every_tool() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]).await;
    let http = reqwest::Client::new();
    let ids = shop_with_slow_pay(&server, &http).await;
    let trace = ids.last().unwrap();
    let calls = json!([
        ["get_insights", {}],
        ["list_services", {}],
        ["search_traces", {"service": "pay", "minDuration": "200ms", "lookback": "5m", "limit": 5}],
        ["get_trace", {"traceId": trace, "limit": 4}],
        ["get_trace", {"traceId": trace, "offset": 4}],
        ["get_breakdown", {"service": "web", "lookback": "2m"}],
        ["get_service_red", {"service": "api"}],
        ["get_dependencies", {}],
        ["get_trace", {"traceId": "zz"}],
        ["get_service_red", {}],
        ["search_traces", {"lookback": "soon"}],
    ]);
    let report = run_client(&server.url("/mcp"), &calls);
    assert_eq!(report["server"], "tracewell");
    let tools: Vec<&str> = report["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    for tool in [
        "get_insights",
        "list_services",
        "search_traces",
        "get_trace",
        "get_breakdown",
        "get_service_red",
        "get_dependencies",
    ] {
        assert!(tools.contains(&tool), "{tool} in {tools:?}");
    }
    let results = report["calls"].as_array().unwrap();
    let text = |i: usize| results[i]["text"].as_str().unwrap();
    for (i, r) in results.iter().enumerate().take(8) {
        assert_eq!(r["isError"], false, "call {i}: {}", r["text"]);
    }
    assert!(
        text(0).contains("pay POST /charges is slower by itself"),
        "{}",
        text(0)
    );
    assert!(text(1).contains("POST /charges (server)"), "{}", text(1));
    let (_, search_json) = text(2).split_once('\n').unwrap();
    let found: Value = serde_json::from_str(search_json).unwrap();
    assert!(!found["traces"].as_array().unwrap().is_empty());
    assert!(text(3).contains("Spans 0–4 of 9"), "{}", text(3));
    assert!(text(3).contains("call again with offset 4"), "{}", text(3));
    let (_, page) = text(3).split_once('\n').unwrap();
    let page: Value = serde_json::from_str(page).unwrap();
    assert_eq!(page["spans"].as_array().unwrap().len(), 4);
    assert_eq!(page["spans"][0]["depth"], 0);
    assert_eq!(page["spans"][0]["service"], "web");
    assert!(
        page["criticalPath"][0]
            .as_str()
            .unwrap()
            .starts_with("pay POST /charges"),
        "{page}"
    );
    assert!(
        text(5).contains("Most self time: pay POST /charges"),
        "{}",
        text(5)
    );
    assert!(text(6).contains("POST /orders"), "{}", text(6));
    assert!(text(7).contains("\"to\":\"pay\""), "{}", text(7));
    assert_eq!(results[8]["isError"], true);
    assert!(text(8).contains("traceId"));
    assert_eq!(results[9]["isError"], true);
    assert!(text(9).contains("service is required"));
    assert_eq!(results[10]["isError"], true);
    assert!(text(10).contains("lookback"));
}

#[tokio::test]
async fn transport_errors_follow_the_protocol() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]).await;
    let http = reqwest::Client::new();
    let url = server.url("/mcp");
    let post = |body: Value, session: Option<&str>| {
        let mut r = http
            .post(&url)
            .header("accept", "application/json, text/event-stream")
            .json(&body);
        if let Some(s) = session {
            r = r.header("mcp-session-id", s);
        }
        r.send()
    };
    // Without a session: refused.
    let r = post(
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 400);
    let r = post(
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
        Some("nope"),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 404);

    let r = post(
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-03-26", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}}),
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let session = r.headers()["mcp-session-id"].to_str().unwrap().to_owned();
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["result"]["protocolVersion"], "2025-03-26");

    let r = post(
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        Some(&session),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 202);
    let body: Value = post(
        json!({"jsonrpc": "2.0", "id": 2, "method": "resources/list"}),
        Some(&session),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(body["error"]["code"], -32601);
    let body: Value = post(
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "drop_tables", "arguments": {}}}),
        Some(&session),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(body["error"]["code"], -32602);
    let batch: Value = post(
        json!([{"jsonrpc": "2.0", "id": 4, "method": "ping"}, {"jsonrpc": "2.0", "id": 5, "method": "tools/list"}]),
        Some(&session),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(batch.as_array().unwrap().len(), 2);
    assert_eq!(batch[1]["result"]["tools"].as_array().unwrap().len(), 7);

    let r = http.post(&url).body("{not json").send().await.unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], -32700);
    assert_eq!(http.get(&url).send().await.unwrap().status(), 405);

    let r = http
        .delete(&url)
        .header("mcp-session-id", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = post(
        json!({"jsonrpc": "2.0", "id": 6, "method": "ping"}),
        Some(&session),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 404, "an ended session is gone");
}
