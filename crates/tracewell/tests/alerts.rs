//! Alerting against a running server and a real webhook receiver: a threshold rule and a finding rule fire on a
//! regression, notifications arrive as generic JSON (after a failed first delivery is retried) and in
//! Alertmanager's shape with exemplar trace links, and `/api/v1/alerts` and `/metrics` show the states.

mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use common::shop;
use common::traces::now_unix_nano;
use common::Server;
use serde_json::Value;
use tokio::sync::Mutex;

#[derive(Default)]
struct Received {
    /// (path, body)
    bodies: Vec<(String, Value)>,
    refused_once: bool,
}

type Shared = Arc<Mutex<Received>>;

async fn receive(
    State(shared): State<Shared>,
    Path(path): Path<String>,
    Json(body): Json<Value>,
) -> StatusCode {
    let mut r = shared.lock().await;
    if path == "json" && !r.refused_once {
        r.refused_once = true;
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    r.bodies.push((path, body));
    StatusCode::OK
}

async fn start_receiver() -> (String, Shared) {
    let shared = Shared::default();
    let app = Router::new()
        .route("/hook/{path}", post(receive))
        .with_state(Arc::clone(&shared));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hook"), shared)
}

#[tokio::test]
async fn rules_fire_and_webhooks_receive_findings_with_exemplars() {
    let (hook, received) = start_receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.toml");
    std::fs::write(
        &rules,
        format!(
            r#"
            [[rules]]
            name = "api errors"
            service = "api"
            metric = "error_rate"
            above = 0.2
            window = "2m"
            labels = {{ severity = "page" }}

            [[rules]]
            name = "regressions"
            finding = "latency"
            min_score = 50

            [[rules]]
            name = "quiet"
            service = "web"
            metric = "p99"
            above = 100000

            [[notifiers]]
            name = "generic"
            url = "{hook}/json"
            initial_backoff = "50ms"

            [[notifiers]]
            name = "alertmanager"
            url = "{hook}/am"
            format = "alertmanager"
            "#
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let server = Server::start(
        &data,
        &[
            "--alert-rules",
            rules.to_str().unwrap(),
            "--alert-interval",
            "1s",
            "--public-url",
            "https://tracing.example.com/",
        ],
    )
    .await;
    let http = reqwest::Client::new();

    // Half an hour of normal checkouts, then a window where pay is 300 ms slower and half the orders fail.
    let checkouts = shop::regression(
        now_unix_nano(),
        |_, _| {},
        |c, i| {
            c.pay_ms = 300 + i % 5;
            c.db_fails = i % 2 == 0;
        },
    );
    shop::send(&http, &server.otlp_http_url(), &checkouts).await;

    // Both firing rules reach both receivers (four notifications).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if received.lock().await.bodies.len() >= 4 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{}", server.logs());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let r = received.lock().await;
    assert!(
        r.refused_once,
        "the first generic delivery was refused and retried"
    );
    let generic: Vec<&Value> = r
        .bodies
        .iter()
        .filter(|(p, _)| p == "json")
        .map(|(_, b)| b)
        .collect();
    let am: Vec<&Value> = r
        .bodies
        .iter()
        .filter(|(p, _)| p == "am")
        .map(|(_, b)| b)
        .collect();
    assert_eq!((generic.len(), am.len()), (2, 2), "{:?}", r.bodies);

    let errors = generic.iter().find(|b| b["rule"] == "api errors").unwrap();
    assert_eq!(errors["status"], "firing");
    assert_eq!(errors["labels"]["severity"], "page");
    assert!(errors["value"].as_f64().unwrap() > 0.2, "{errors}");
    assert!(
        errors["summary"]
            .as_str()
            .unwrap()
            .contains("error_rate of api"),
        "{errors}"
    );
    let link = errors["exemplars"][0]["url"].as_str().unwrap();
    assert!(
        link.starts_with("https://tracing.example.com/trace/"),
        "{link}"
    );
    let trace = errors["exemplars"][0]["traceId"].as_str().unwrap();
    let (status, _) = server.get_trace(trace).await;
    assert_eq!(status, 200, "exemplars are real traces");

    let regression = generic.iter().find(|b| b["rule"] == "regressions").unwrap();
    assert_eq!(regression["finding"]["kind"], "latency");
    assert_eq!(regression["finding"]["service"], "pay");
    assert!(regression["summary"]
        .as_str()
        .unwrap()
        .contains("pay POST /charges"));

    let am_regression = am
        .iter()
        .flat_map(|b| b.as_array().unwrap())
        .find(|a| a["labels"]["alertname"] == "regressions")
        .unwrap();
    assert_eq!(am_regression["labels"]["service"], "pay");
    assert_eq!(am_regression["labels"]["finding"], "latency");
    assert!(am_regression["annotations"]["exemplar_traces"]
        .as_str()
        .unwrap()
        .contains("https://tracing.example.com/trace/"));
    assert!(am_regression["startsAt"].as_str().unwrap().ends_with('Z'));
    assert!(am_regression.get("endsAt").is_none());
    drop(r);

    let (status, body) = {
        let r = http.get(server.url("/api/v1/alerts")).send().await.unwrap();
        (r.status(), r.json::<Value>().await.unwrap())
    };
    assert_eq!(status, 200);
    assert_eq!(body["evaluationIntervalMs"], 1000);
    let state = |name: &str| {
        body["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .unwrap()["state"]
            .clone()
    };
    assert_eq!(state("api errors"), "firing");
    assert_eq!(state("regressions"), "firing");
    assert_eq!(state("quiet"), "inactive");
    assert!(body["history"]
        .as_array()
        .unwrap()
        .iter()
        .any(|h| h["rule"] == "regressions" && h["to"] == "firing"));
    let generic = body["notifiers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["name"] == "generic")
        .unwrap();
    assert_eq!(generic["sent"], 2);
    assert_eq!(generic["failed"], 0);

    let metrics = server.metrics().await;
    assert!(
        metrics.contains(r#"tracewell_alert_state{rule="api errors",state="firing"} 1"#),
        "{metrics}"
    );
    assert!(metrics.contains(r#"tracewell_alert_state{rule="quiet",state="inactive"} 1"#));
    assert!(metrics
        .contains(r#"tracewell_alert_notifications_total{notifier="generic",result="retried"} 1"#));
    assert!(metrics.contains(
        r#"tracewell_alert_notifications_total{notifier="alertmanager",result="sent"} 2"#
    ));
}

#[tokio::test]
async fn a_bad_rules_file_stops_start_up_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.toml");
    std::fs::write(
        &rules,
        "[[rules]]\nname = \"x\"\nservice = \"a\"\nmetric = \"p95\"\nabove = 1\n",
    )
    .unwrap();
    let stderr = common::serve_fails(
        &dir.path().join("data"),
        &["--alert-rules".as_ref(), rules.as_os_str()],
    );
    assert!(
        stderr.contains("rule \"x\"") && stderr.contains("p95"),
        "{stderr}"
    );
}
