//! `tracewell demo` end to end: the demo shop runs for a few seconds against a real server (with the
//! in-process broker and SQLite, with a real PostgreSQL, with a real NATS JetStream server and with a
//! real Kafka-compatible broker), then every trace is read back: each has
//! exactly one root and no span whose parent is missing, across HTTP and broker hops; the six services,
//! the database and the dead-letter path are all there, and the services' log lines arrive as log records
//! on the spans they were emitted in.

mod common;
#[path = "../../tracewell-instrument/tests/support/kafka_server.rs"]
mod kafka_server;
#[path = "../../tracewell-instrument/tests/support/nats_server.rs"]
mod nats_server;

use std::collections::BTreeSet;
use std::process::Command;

use common::Server;
use serde_json::Value;

const SERVICES: [&str; 6] = [
    "gateway",
    "catalog",
    "orders",
    "payments",
    "fulfilment-worker",
    "dead-letter-processor",
];

/// Runs the demo for a few seconds with poison messages, sending to `server`.
fn run_demo(server: &Server, extra: &[&str]) {
    let output = Command::new(env!("CARGO_BIN_EXE_tracewell"))
        .args([
            "demo",
            "--otlp",
            &server.otlp_grpc.to_string(),
            "--duration",
            "5s",
            "--rate",
            "15",
            "--mix",
            "browse=3,view=3,checkout=4",
            "--poison-rate",
            "0.3",
            "--max-attempts",
            "2",
            "--retry-backoff",
            "50ms",
            "--n-plus-one",
            "--gateway-addr",
            "127.0.0.1:0",
            "--control-addr",
            "127.0.0.1:0",
        ])
        .args(extra)
        .env("TRACEWELL_LOG", "info")
        .output()
        .expect("run tracewell demo");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "demo failed: {stderr}");
    assert!(stderr.contains("demo stopped"), "{stderr}");
}

async fn get(client: &reqwest::Client, server: &Server, path: &str) -> Value {
    let r = client.get(server.url(path)).send().await.unwrap();
    assert_eq!(r.status(), 200, "{path}");
    r.json().await.unwrap()
}

/// Reads every trace back and checks that each is whole; returns what was seen.
async fn check_traces(server: &Server) {
    let client = reqwest::Client::new();
    let search = get(&client, server, "/api/v1/search?limit=1000&lookback=1h").await;
    let traces = search["traces"].as_array().unwrap();
    assert!(
        traces.len() >= 30,
        "expected dozens of traces, got {}",
        traces.len()
    );

    let mut services = BTreeSet::new();
    let mut span_names = BTreeSet::new();
    let mut dead_letter_traces = Vec::new();
    for summary in traces {
        let id = summary["traceId"].as_str().unwrap();
        let trace = get(
            &client,
            server,
            &format!("/api/v1/traces/{id}?format=compact"),
        )
        .await;
        let strings: Vec<&str> = trace["strings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        let spans = &trace["spans"];
        let parents = spans["parent"].as_array().unwrap();
        let roots = parents.iter().filter(|p| p.as_i64() == Some(-1)).count();
        let missing: Vec<&Value> = spans["parentSpanId"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p.as_str() != Some(""))
            .collect();
        let names: Vec<&str> = spans["name"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| strings[i.as_u64().unwrap() as usize])
            .collect();
        assert!(
            missing.is_empty(),
            "trace {id} has spans whose parent is missing ({missing:?}): {names:?}"
        );
        assert_eq!(roots, 1, "trace {id} must have one root: {names:?}");
        let root = parents.iter().position(|p| p.as_i64() == Some(-1)).unwrap();
        let root_service = strings[spans["service"][root].as_u64().unwrap() as usize];
        assert_eq!(
            root_service, "gateway",
            "every trace starts at the edge: {id}"
        );
        for i in spans["service"].as_array().unwrap() {
            services.insert(strings[i.as_u64().unwrap() as usize].to_string());
        }
        if names.contains(&"process demo.dead.orders") {
            dead_letter_traces.push(id.to_string());
        }
        span_names.extend(names.iter().map(|n| n.to_string()));
    }
    for service in SERVICES {
        assert!(
            services.contains(service),
            "no span of {service}: {services:?}"
        );
    }
    for name in [
        "POST /api/checkout",
        "POST /orders",
        "GET /products/{id}",
        "SELECT demo_products",
        "INSERT demo_orders",
        "publish demo.orders.created",
        "process demo.orders.created",
        "POST /charges",
        "publish demo.dead.orders",
        "process demo.dead.orders",
    ] {
        assert!(
            span_names.contains(name),
            "no span named {name}: {span_names:?}"
        );
    }

    // The dead-letter processor's span continues the order's trace and links to the failed attempt.
    let id = dead_letter_traces.first().expect("a dead-lettered order");
    let trace = get(&client, server, &format!("/api/v1/traces/{id}")).await;
    let mut spans = Vec::new();
    for rs in trace["resourceSpans"].as_array().unwrap() {
        for ss in rs["scopeSpans"].as_array().unwrap() {
            spans.extend(ss["spans"].as_array().unwrap().iter().cloned());
        }
    }
    let dead = spans
        .iter()
        .find(|s| s["name"] == "process demo.dead.orders")
        .unwrap();
    let link = &dead["links"][0];
    assert_eq!(link["traceId"], id.as_str());
    let failed = spans
        .iter()
        .find(|s| s["spanId"] == link["spanId"])
        .expect("the linked failed attempt is in the trace");
    assert_eq!(failed["name"], "process demo.orders.created");
    assert_eq!(failed["status"]["code"], 2);
    let first_publish = spans
        .iter()
        .find(|s| {
            s["name"] == "publish demo.orders.created" && s["kind"] == 4 && {
                let parent = &s["parentSpanId"];
                spans
                    .iter()
                    .any(|p| &p["spanId"] == parent && p["name"] == "POST /orders")
            }
        })
        .expect("the order service's publish");
    assert_eq!(
        dead["parentSpanId"], first_publish["spanId"],
        "the dead-letter processor continues from the original publish"
    );
    check_logs(&client, server, id, &spans).await;

    // The dependency graph from rollups shows the shop's call edges.
    let deps = get(&client, server, "/api/v1/dependencies?lookback=1h").await;
    let edges: BTreeSet<(String, String)> = deps["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["parent"].as_str().unwrap().to_string(),
                e["child"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for (parent, child) in [
        ("gateway", "catalog"),
        ("gateway", "orders"),
        ("orders", "catalog"),
        ("fulfilment-worker", "payments"),
    ] {
        assert!(
            edges.contains(&(parent.to_string(), child.to_string())),
            "edge {parent} -> {child} missing: {edges:?}"
        );
    }
}

/// The services' log lines of the dead-lettered order's trace (`spans`): every line carries the trace's id
/// and the id of one of its spans; the order service's "order received" is on its `POST /orders` span, the
/// last failed attempt's ERROR on that attempt's span (the one the dead letter links to), the dead-letter
/// processor's warning on its span.
async fn check_logs(client: &reqwest::Client, server: &Server, id: &str, spans: &[Value]) {
    let answer = get(client, server, &format!("/api/v1/traces/{id}/logs")).await;
    assert_eq!(answer["truncated"], false, "{answer}");
    let lines = answer["logs"].as_array().unwrap();
    let span_ids: BTreeSet<&str> = spans.iter().filter_map(|s| s["spanId"].as_str()).collect();
    for line in lines {
        assert_eq!(line["traceId"], id, "{line}");
        let span = line["spanId"].as_str().unwrap_or_default();
        assert!(
            span_ids.contains(span),
            "a line on a span of the trace: {line}"
        );
    }
    let line = |body: &str| {
        lines
            .iter()
            .find(|l| l["body"] == body)
            .unwrap_or_else(|| panic!("no line {body:?} in trace {id}: {answer}"))
    };
    let span_named = |name: &str, line: &Value| {
        let span = spans
            .iter()
            .find(|s| s["spanId"] == line["spanId"])
            .unwrap();
        assert_eq!(span["name"], name, "{line}");
        span.clone()
    };

    let received = line("order received");
    assert_eq!(received["service"], "orders");
    assert_eq!(received["severityText"], "INFO");
    span_named("POST /orders", received);
    for field in ["order_id", "customer", "total_cents"] {
        assert!(
            !received["attributes"][field].is_null(),
            "{field}: {received}"
        );
    }

    let last_attempt = line("order failed its last attempt: dead-lettering it");
    assert_eq!(last_attempt["service"], "fulfilment-worker");
    assert_eq!(last_attempt["severityText"], "ERROR");
    assert_eq!(last_attempt["severityNumber"], 17);
    let failed = span_named("process demo.orders.created", last_attempt);
    let dead = spans
        .iter()
        .find(|s| s["name"] == "process demo.dead.orders")
        .unwrap();
    assert_eq!(
        dead["links"][0]["spanId"], failed["spanId"],
        "the ERROR is on the attempt that dead-lettered the order"
    );
    let retried = line("order processing failed: it will be retried");
    assert_eq!(retried["severityText"], "WARN");
    span_named("process demo.orders.created", retried);
    assert_ne!(retried["spanId"], last_attempt["spanId"]);

    let dead_lettered = line("order dead-lettered");
    assert_eq!(dead_lettered["service"], "dead-letter-processor");
    assert_eq!(dead_lettered["severityText"], "WARN");
    assert_eq!(dead_lettered["spanId"], dead["spanId"]);

    // The catalogue's N+1 warning (the demo runs with --n-plus-one) is found by a log search too.
    let found = get(
        client,
        server,
        "/api/v1/logs?service=catalog&minSeverity=warn&q=N%2B1&lookback=1h&limit=5",
    )
    .await;
    let n_plus_one = &found["logs"][0];
    assert_eq!(n_plus_one["service"], "catalog", "{found}");
    assert_eq!(n_plus_one["traceId"].as_str().map(str::len), Some(32));
}

#[tokio::test]
async fn demo_traces_are_whole_with_the_in_process_broker() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]).await;
    run_demo(&server, &[]);
    check_traces(&server).await;
}

#[tokio::test]
async fn demo_traces_are_whole_with_postgresql() {
    let postgres = common::postgres::Postgres::start().await;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]).await;
    run_demo(&server, &["--postgres", &postgres.url]);
    check_traces(&server).await;
    // The database spans name PostgreSQL and the server.
    let client = reqwest::Client::new();
    let found = get(
        &client,
        &server,
        "/api/v1/search?tag=db.system.name%3Dpostgresql&lookback=1h&limit=1",
    )
    .await;
    assert_eq!(found["traces"].as_array().unwrap().len(), 1, "{found}");
}

#[tokio::test]
async fn demo_traces_are_whole_over_nats_jetstream() {
    let nats = nats_server::NatsServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]).await;
    run_demo(&server, &["--nats", &nats.url]);
    check_traces(&server).await;
}

#[tokio::test]
async fn demo_traces_are_whole_over_kafka() {
    let kafka = kafka_server::KafkaServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]).await;
    run_demo(&server, &["--kafka", &kafka.brokers]);
    check_traces(&server).await;
    // The broker hops are Kafka's, with the partition and offset of each record.
    let client = reqwest::Client::new();
    let found = get(
        &client,
        &server,
        "/api/v1/search?tag=messaging.system%3Dkafka&tag=messaging.destination.name%3Ddemo.dead.orders&lookback=1h&limit=1",
    )
    .await;
    assert_eq!(found["traces"].as_array().unwrap().len(), 1, "{found}");
}
