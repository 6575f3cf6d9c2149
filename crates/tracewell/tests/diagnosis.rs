//! Diagnosis against a running server: insights name the origin of regressions (not their victims), breakdown
//! finds where time goes and which values mark failing traces, and the live tail streams what is acknowledged.

mod common;

use std::time::Duration;

use common::shop::{self, Checkout};
use common::traces::now_unix_nano;
use common::Server;
use serde_json::Value;

const MINUTE: u64 = 60_000_000_000;
const SECOND: u64 = 1_000_000_000;

/// Half an hour of normal checkouts (one dead letter a minute), then a recent window where `pay` got 300 ms
/// slower, 40% of `INSERT orders` fail, the api makes 8 item queries per order and the worker lags 2 s.
async fn send_regression(server: &Server, http: &reqwest::Client) {
    let checkouts = shop::regression(
        now_unix_nano(),
        |c, i| c.dead_letter = i == 0,
        |c, i| {
            c.pay_ms = 300 + i % 7;
            c.db_fails = i % 5 < 2;
            c.eu = c.db_fails;
            c.n_plus_one = 8;
            c.queue_lag_ms = 2000;
            c.dead_letter = i % 20 == 0;
        },
    );
    // The regression began half a minute before the window: the baseline's last traces are slow too.
    let onset = shop::window_start(now_unix_nano()) - 40 * SECOND;
    let early: Vec<Checkout> = (0..12u64)
        .map(|i| {
            let mut c = Checkout::normal(onset + i * 3 * SECOND);
            c.pay_ms = 300;
            c
        })
        .collect();
    shop::send(http, &server.otlp_http_url(), &checkouts).await;
    shop::send(http, &server.otlp_http_url(), &early).await;
}

fn find<'a>(findings: &'a [Value], kind: &str, service: &str) -> Option<&'a Value> {
    findings
        .iter()
        .find(|f| f["kind"] == kind && f["service"] == service)
}

async fn get_json(http: &reqwest::Client, url: &str) -> (u16, Value) {
    let r = http.get(url).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

#[tokio::test]
async fn insights_name_origins_and_breakdown_finds_the_failing_region() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]).await;
    let http = reqwest::Client::new();
    send_regression(&server, &http).await;

    let (status, body) = get_json(&http, &server.url("/api/v1/insights")).await;
    assert_eq!(status, 200, "{body}");
    let findings = body["findings"].as_array().unwrap();
    let kinds: Vec<String> = findings
        .iter()
        .map(|f| {
            format!(
                "{} {} {} {}",
                f["kind"], f["service"], f["operation"], f["score"]
            )
        })
        .collect();

    let latency = find(findings, "latency", "pay").unwrap_or_else(|| panic!("{kinds:#?}"));
    assert_eq!(latency["operation"], "POST /charges");
    let affected: Vec<&str> = latency["affected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["service"].as_str().unwrap())
        .collect();
    assert!(
        affected.contains(&"web") && affected.contains(&"api"),
        "{latency}"
    );
    assert!(latency["current"]["p90Ms"].as_f64().unwrap() > 250.0);
    assert!(latency["baseline"]["p90Ms"].as_f64().unwrap() < 20.0);
    assert!(!latency["exemplars"]["traces"]
        .as_array()
        .unwrap()
        .is_empty());
    assert!(latency["exemplars"]["baseline"].is_string(), "{latency}");
    assert!(latency["summary"]
        .as_str()
        .unwrap()
        .contains("pay POST /charges"));
    // Added time is measured against traces from before the onset, not the slow ones just before the window.
    assert!(
        latency["current"]["selfTimeMs"].as_f64().unwrap() > 250.0,
        "{latency}"
    );
    assert!(
        latency["baseline"]["selfTimeMs"].as_f64().unwrap() < 20.0,
        "{latency}"
    );
    assert!(
        latency["details"]["addedMsPerRequest"].as_f64().unwrap() > 250.0,
        "{latency}"
    );
    let since: u64 = latency["since"].as_str().unwrap().parse().unwrap();
    let ws = shop::window_start(now_unix_nano());
    assert!(
        since + 2 * MINUTE >= ws,
        "onset {since} long before the window {ws}"
    );

    let errors = find(findings, "errors", "api").unwrap_or_else(|| panic!("{kinds:#?}"));
    assert_eq!(
        errors["operation"], "INSERT orders",
        "the deepest failing span, not POST /orders"
    );
    assert_eq!(errors["details"]["message"], "deadlock detected");

    let n1 = find(findings, "n_plus_one", "api").unwrap_or_else(|| panic!("{kinds:#?}"));
    assert_eq!(
        n1["details"]["statement"],
        "SELECT * FROM items WHERE id = ?"
    );
    assert_eq!(n1["details"]["count"], 8);
    assert_eq!(n1["operation"], "POST /orders");

    let backlog = find(findings, "queue_backlog", "worker").unwrap_or_else(|| panic!("{kinds:#?}"));
    assert!(
        backlog["current"]["lagMs"].as_f64().unwrap() > 1000.0,
        "{backlog}"
    );

    // Victims are not findings of their own; steady dead-lettering ranks below every regression.
    for f in findings {
        if f["kind"] == "latency" || f["kind"] == "errors" {
            assert_ne!(f["service"], "web", "{kinds:#?}");
        }
    }
    if let Some(dead) = find(findings, "dead_letters", "worker") {
        assert!(dead["score"].as_f64().unwrap() < latency["score"].as_f64().unwrap());
    }
    let scores: Vec<f64> = findings
        .iter()
        .map(|f| f["score"].as_f64().unwrap())
        .collect();
    assert!(
        scores.windows(2).all(|w| w[0] >= w[1]),
        "ordered by score: {scores:?}"
    );
    assert!(matches!(
        findings[0]["kind"].as_str().unwrap(),
        "latency" | "errors" | "n_plus_one" | "queue_backlog"
    ));

    // A service filter keeps findings that involve it, as culprit or victim.
    let (_, filtered) = get_json(&http, &server.url("/api/v1/insights?service=web&limit=50")).await;
    let filtered = filtered["findings"].as_array().unwrap();
    assert!(!filtered.is_empty());
    assert!(filtered.iter().all(|f| f["service"] == "web"
        || f["affected"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["service"] == "web")));

    for (query, needle) in [
        ("lookback=30s", "lookback"),
        ("limit=0", "limit"),
        ("lookback=10m&baseline=5m", "baseline"),
        ("lookback=banana", "lookback"),
    ] {
        let (status, body) =
            get_json(&http, &server.url(&format!("/api/v1/insights?{query}"))).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(
            body["error"].as_str().unwrap().contains(needle),
            "{query}: {body}"
        );
    }

    // Breakdown over the recent checkouts: pay's own time dominates, eu-west marks the failing traces.
    let (status, b) = get_json(
        &http,
        &server
            .url("/api/v1/breakdown?service=web&operation=GET%20/checkout&lookback=2m&limit=100"),
    )
    .await;
    assert_eq!(status, 200, "{b}");
    assert!(b["traces"].as_u64().unwrap() >= 30, "{b}");
    assert_eq!(b["operations"][0]["service"], "pay", "{}", b["operations"]);
    assert!(b["operations"][0]["criticalPathShare"].as_f64().unwrap() > 0.5);
    let eu = b["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["group"] == "error" && a["key"] == "app.region" && a["value"] == "eu-west")
        .unwrap_or_else(|| panic!("{}", b["attributes"]));
    assert_eq!(eu["inGroup"], 1.0);
    assert_eq!(eu["inRest"], 0.0);
    let (status, body) = get_json(&http, &server.url("/api/v1/breakdown?limit=5000")).await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn a_quiet_shop_has_no_regression() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]).await;
    let http = reqwest::Client::new();
    let now = now_unix_nano();
    let start = now - 32 * MINUTE;
    let checkouts: Vec<Checkout> = (0..32 * 20u64)
        .map(|i| {
            let mut c = Checkout::normal(start + i * 3 * SECOND);
            c.pay_ms = 6 + (i * 7919) % 9;
            c.dead_letter = i % 20 == 0;
            c
        })
        .filter(|c| c.start_unix_nano < now - SECOND)
        .collect();
    shop::send(&http, &server.otlp_http_url(), &checkouts).await;
    let (status, body) = get_json(&http, &server.url("/api/v1/insights")).await;
    assert_eq!(status, 200);
    for f in body["findings"].as_array().unwrap() {
        assert!(f["score"].as_f64().unwrap() < 50.0, "{f}");
    }
    assert!(
        body["analyzed"]["operations"].as_u64().unwrap() >= 8,
        "{body}"
    );
}

/// Reads server-sent events from `response` until `done` says enough or `timeout` passes.
async fn read_events(
    response: &mut reqwest::Response,
    timeout: Duration,
    mut done: impl FnMut(&[(String, Value)]) -> bool,
) -> Vec<(String, Value)> {
    let mut events = Vec::new();
    let mut buffer = String::new();
    let deadline = tokio::time::Instant::now() + timeout;
    while !done(&events) {
        let chunk = match tokio::time::timeout_at(deadline, response.chunk()).await {
            Ok(Ok(Some(chunk))) => chunk,
            _ => break,
        };
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let mut name = String::new();
            let mut data = String::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    name = v.trim().to_owned();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.trim());
                }
            }
            if !name.is_empty() {
                events.push((name, serde_json::from_str(&data).unwrap()));
            }
        }
    }
    events
}

#[tokio::test]
async fn live_tail_streams_filtered_spans_caps_clients_and_reports_drops() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        &["--tail-max-clients", "2", "--tail-buffer-spans", "20"],
    )
    .await;
    let http = reqwest::Client::new();
    let mut tail = http
        .get(server.url("/api/v1/tail?service=api&tag=http.route=/orders"))
        .send()
        .await
        .unwrap();
    assert_eq!(tail.status(), 200);
    assert_eq!(tail.headers()["content-type"], "text/event-stream");
    // A second tail reads nothing for a while; a third is refused.
    let mut slow = http
        .get(server.url("/api/v1/tail?service=web"))
        .send()
        .await
        .unwrap();
    assert_eq!(slow.status(), 200);
    let refused = http.get(server.url("/api/v1/tail")).send().await.unwrap();
    assert_eq!(refused.status(), 429);
    let body: Value = refused.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("limit 2"));
    let (status, body) = get_json(&http, &server.url("/api/v1/tail?tag=broken")).await;
    assert_eq!(status, 400, "{body}");

    let now = now_unix_nano();
    let checkouts: Vec<Checkout> = (0..3)
        .map(|i| Checkout::normal(now - (10 - i) * SECOND))
        .collect();
    let ids = shop::send(&http, &server.otlp_http_url(), &checkouts).await;
    let events = read_events(&mut tail, Duration::from_secs(10), |e| e.len() >= 3).await;
    assert_eq!(events.len(), 3, "{events:?}");
    for (name, span) in &events {
        assert_eq!(name, "span");
        assert_eq!(span["service"], "api");
        assert_eq!(span["name"], "POST /orders");
        assert_eq!(span["attributes"]["http.route"], "/orders");
        assert!(ids.contains(&span["traceId"].as_str().unwrap().to_owned()));
    }

    // The slow tail: far more web spans than its buffer and the sockets hold, then read it all.
    let total = 15_000u64;
    let many: Vec<Checkout> = (0..total)
        .map(|i| Checkout::normal(now - SECOND - i * 1000))
        .collect();
    shop::send(&http, &server.otlp_http_url(), &many).await;
    // One more span after reading makes room, so the server reports what was dropped.
    let mut received = 0u64;
    let mut dropped = 0u64;
    let mut sent_extra = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while received + dropped < (total + 4) * 2 && tokio::time::Instant::now() < deadline {
        let events = read_events(&mut slow, Duration::from_secs(2), |e| e.len() >= 1000).await;
        if events.is_empty() && !sent_extra {
            shop::send(
                &http,
                &server.otlp_http_url(),
                &[Checkout::normal(now - SECOND)],
            )
            .await;
            sent_extra = true;
        }
        for (name, data) in events {
            match name.as_str() {
                "span" => received += 1,
                "dropped" => dropped += data["spans"].as_u64().unwrap(),
                other => panic!("unexpected event {other}"),
            }
        }
    }
    // Each checkout has two web spans (the three sent first included); every one was either delivered or
    // counted as dropped.
    assert!(dropped > 0, "received {received}");
    assert_eq!(
        received + dropped,
        (total + 4) * 2,
        "received {received}, dropped {dropped}"
    );
}

#[tokio::test]
async fn slowest_traces_of_a_whole_range_and_their_heatmap() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--head-max-bytes", "64KiB"]).await;
    let http = reqwest::Client::new();
    let now = now_unix_nano();
    // 60 checkouts over ten minutes, sent in six requests so they land in several blocks; three are slow, the
    // slowest the oldest.
    let mut slow_ids = Vec::new();
    for part in 0..6u64 {
        let checkouts: Vec<Checkout> = (0..10u64)
            .map(|i| {
                let n = part * 10 + i;
                let mut c = Checkout::normal(now - 10 * MINUTE + n * 10 * SECOND);
                c.pay_ms = match n {
                    0 => 1500,
                    30 => 1200,
                    59 => 900,
                    _ => 10 + n % 5,
                };
                c
            })
            .collect();
        let ids = shop::send(&http, &server.otlp_http_url(), &checkouts).await;
        for (i, id) in ids.into_iter().enumerate() {
            if [0, 30, 59].contains(&(part * 10 + i as u64)) {
                slow_ids.push(id);
            }
        }
    }
    let query = "service=web&operation=GET%20/checkout&lookback=15m";
    let (status, body) = get_json(
        &http,
        &server.url(&format!("/api/v1/search?{query}&order=duration&limit=3")),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let got: Vec<&str> = body["traces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["traceId"].as_str().unwrap())
        .collect();
    assert_eq!(
        got,
        slow_ids.iter().map(String::as_str).collect::<Vec<_>>(),
        "longest first"
    );
    let (_, recent) = get_json(
        &http,
        &server.url(&format!("/api/v1/search?{query}&limit=3")),
    )
    .await;
    assert_eq!(
        recent["traces"][0]["traceId"],
        slow_ids[2].as_str(),
        "newest first by default"
    );
    let (status, body) = get_json(&http, &server.url("/api/v1/search?order=slowest")).await;
    assert_eq!(status, 400, "{body}");

    let (status, heat) = get_json(
        &http,
        &server.url(&format!("/api/v1/heatmap?{query}&buckets=15")),
    )
    .await;
    assert_eq!(status, 200, "{heat}");
    assert_eq!(heat["total"], 60);
    let bounds: Vec<u64> = heat["durationBoundsNano"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_u64().unwrap())
        .collect();
    let counts = heat["counts"].as_array().unwrap();
    assert_eq!(counts.len(), 15);
    let slow_cells: u64 = counts
        .iter()
        .flat_map(|row| row.as_array().unwrap().iter().enumerate())
        .filter(|(d, _)| bounds[*d] > 800_000_000)
        .map(|(_, c)| c.as_u64().unwrap())
        .sum();
    assert_eq!(slow_cells, 3, "the three slow checkouts stand out");
    let (status, body) = get_json(&http, &server.url("/api/v1/heatmap?buckets=100000")).await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn a_surge_of_dead_letters_is_a_finding_and_a_steady_share_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]).await;
    let http = reqwest::Client::new();
    let checkouts = shop::regression(
        now_unix_nano(),
        |c, i| c.dead_letter = i == 0,
        |c, i| c.dead_letter = i % 3 == 0,
    );
    shop::send(&http, &server.otlp_http_url(), &checkouts).await;
    let (_, body) = get_json(&http, &server.url("/api/v1/insights")).await;
    let findings = body["findings"].as_array().unwrap();
    let dead = find(findings, "dead_letters", "worker").unwrap_or_else(|| panic!("{body}"));
    assert!(dead["score"].as_f64().unwrap() >= 50.0, "{dead}");
    assert_eq!(dead["details"]["destination"], "orders.dlq");
    assert_eq!(dead["baseline"]["shareOfConsumed"], 0.05);
    assert!(
        dead["current"]["shareOfConsumed"].as_f64().unwrap() > 0.3,
        "{dead}"
    );
    assert_eq!(findings[0]["kind"], "dead_letters", "{body}");
}
