//! The demo's public HTTP surface against a running demo (no traffic generator): the gateway's API,
//! and the fault control endpoint switching faults on and off, with bad input refused.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tracewell_demo::{Demo, DemoConfig};

async fn start() -> Demo {
    let any = SocketAddr::from(([127, 0, 0, 1], 0));
    Demo::start(DemoConfig {
        // Nothing listens here: spans are dropped by the exporter, the services work regardless.
        otlp_endpoint: "http://127.0.0.1:9".into(),
        gateway_addr: any,
        control_addr: any,
        rate: 0.0,
        faults: Default::default(),
        ..DemoConfig::default()
    })
    .await
    .expect("demo starts")
}

/// Polls the gateway until order `id` has `status`; fails after `within`.
async fn wait_for_status(
    http: &reqwest::Client,
    gw: &str,
    id: i64,
    status: &str,
    within: Duration,
) {
    let deadline = Instant::now() + within;
    loop {
        let r: Value = http
            .get(format!("{gw}/api/orders/{id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if r["status"] == status {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "order never became {status}: {r}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn gateway_api_answers_and_refuses_bad_input() {
    let demo = start().await;
    let http = reqwest::Client::new();
    let gw = format!("http://{}", demo.gateway);

    let r = http
        .get(format!("{gw}/api/products?category=vinyl"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let products: Vec<Value> = r.json().await.unwrap();
    assert_eq!(products.len(), 10);
    assert!(products.iter().all(|p| p["category"] == "vinyl"));

    let r = http
        .get(format!("{gw}/api/products?category=spoons"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("spoons"));

    let r = http
        .get(format!("{gw}/api/products/3"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = http
        .get(format!("{gw}/api/products/9999"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    let r = http
        .post(format!("{gw}/api/checkout"))
        .json(&json!({"customer": "ada", "items": [{"productId": 3, "quantity": 2}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let order: Value = r.json().await.unwrap();
    let id = order["orderId"].as_i64().unwrap();
    assert!(order["totalCents"].as_i64().unwrap() > 0);

    // The worker charges it asynchronously.
    wait_for_status(&http, &gw, id, "paid", Duration::from_secs(10)).await;

    for (body, status) in [
        (json!({"customer": "ada", "items": []}), 400),
        (
            json!({"customer": "ada", "items": [{"productId": 9999, "quantity": 1}]}),
            422,
        ),
        (
            json!({"customer": "ada", "items": [{"productId": 1, "quantity": 0}]}),
            400,
        ),
        (json!({"items": "nope"}), 400),
    ] {
        let r = http
            .post(format!("{gw}/api/checkout"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status, "{body}");
    }
    demo.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn faults_switch_on_and_off_through_the_control_endpoint() {
    let demo = start().await;
    let http = reqwest::Client::new();
    let gw = format!("http://{}", demo.gateway);
    let control = format!("http://{}/faults", demo.control);

    let r = http
        .put(&control)
        .json(&json!({
            "latency": [{"service": "catalog", "route": "/products/{id}", "ms": 250}],
            "errorBursts": [{"service": "catalog", "route": "/products", "rate": 1.0}],
            "poisonRate": 1.0
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let current: Value = http
        .get(&control)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(current["latency"][0]["ms"], 250);
    assert_eq!(current["poisonRate"], 1.0);

    let started = Instant::now();
    let r = http
        .get(format!("{gw}/api/products/4"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "latency injected"
    );
    let r = http
        .get(format!("{gw}/api/products?category=vinyl"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 500, "error burst on the catalogue's listing");

    // A poison order is accepted, fails every attempt, and is dead-lettered.
    let r = http
        .post(format!("{gw}/api/checkout"))
        .json(&json!({"customer": "bob", "items": [{"productId": 1, "quantity": 1}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["orderId"]
        .as_i64()
        .unwrap();
    wait_for_status(&http, &gw, id, "failed", Duration::from_secs(15)).await;
    assert_eq!(
        demo.orders
            .dead_lettered
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );

    for bad in [
        json!({"poisonRate": 3}),
        json!({"errorBursts": [{"service": "x", "rate": -1}]}),
        json!({"latency": [{"service": "x"}]}),
        json!({"unknownFault": true}),
    ] {
        let r = http.put(&control).json(&bad).send().await.unwrap();
        assert_eq!(r.status(), 400, "{bad}");
        let body: Value = r.json().await.unwrap();
        assert!(!body["error"].as_str().unwrap().is_empty());
    }
    let r = http.put(&control).body("not json").send().await.unwrap();
    assert_eq!(r.status(), 400);

    // PATCH changes only the fields it names; PUT replaces everything.
    let r = http
        .patch(&control)
        .json(&json!({"slowConsumerMs": 120}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let patched: Value = r.json().await.unwrap();
    assert_eq!(patched["slowConsumerMs"], 120);
    assert_eq!(
        patched["poisonRate"], 1.0,
        "a patch keeps what it does not name"
    );
    assert_eq!(patched["latency"][0]["ms"], 250);
    for bad in [json!({"poisonRate": 2}), json!([1]), json!({"typo": 1})] {
        let r = http.patch(&control).json(&bad).send().await.unwrap();
        assert_eq!(r.status(), 400, "{bad}");
    }
    let current: Value = http
        .get(&control)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        current["poisonRate"], 1.0,
        "a refused patch changes nothing"
    );

    let r = http.post(format!("{control}/reset")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = http
        .get(format!("{gw}/api/products?category=vinyl"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "faults cleared");
    demo.shutdown(Duration::from_secs(1)).await;
}
