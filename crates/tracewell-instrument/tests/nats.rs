//! Messaging end to end against a real NATS JetStream server (started on a free port by the test):
//! HTTP request → publish → consume → fail twice → dead-letter subject → dead-letter processor. The
//! spans of the three services form one trace: each attempt is the child of the publish that carried
//! it, the dead-letter processor continues the original trace and links to the failed attempt.

#[path = "support/nats_server.rs"]
mod nats_server;
mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull, stream};
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use nats_server::NatsServer;
use opentelemetry::Value;
use support::*;
use tracewell_instrument::http::TraceLayer;
use tracewell_instrument::messaging::nats::{Delivery, JetStream};
use tracewell_instrument::messaging::{self, HeaderCarrier, RetryPolicy};

async fn consumer(
    js: &jetstream::Context,
    stream: &str,
    name: &str,
    subject: &str,
) -> jetstream::consumer::PullConsumer {
    js.get_stream(stream)
        .await
        .unwrap()
        .create_consumer(pull::Config {
            durable_name: Some(name.to_string()),
            filter_subject: subject.to_string(),
            ack_wait: Duration::from_secs(5),
            ..Default::default()
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn http_publish_retry_dead_letter_is_one_trace() {
    let nats = NatsServer::start().await;
    let client = async_nats::connect(&nats.url).await.unwrap();
    let js = jetstream::new(client);
    for (name, subjects) in [("ORDERS", "orders.>"), ("DEAD", "dead.>")] {
        js.create_stream(stream::Config {
            name: name.to_string(),
            subjects: vec![subjects.to_string()],
            ..Default::default()
        })
        .await
        .unwrap();
    }

    let (_ta, api_instr, api_exporter) = telemetry("orders-api");
    let (_tw, worker_instr, worker_exporter) = telemetry("fulfilment-worker");
    let (_td, dlq_instr, dlq_exporter) = telemetry("dead-letter-processor");

    // The HTTP service publishes an order event under its SERVER span.
    let api_js = JetStream::new(js.clone(), api_instr.clone());
    let router = Router::new()
        .route(
            "/orders",
            post(move |body: String| {
                let api_js = api_js.clone();
                async move {
                    api_js
                        .publish("orders.created", body.into())
                        .await
                        .map(|ack| format!("queued {}", ack.sequence))
                        .map_err(|e| (StatusCode::SERVICE_UNAVAILABLE, e.to_string()))
                }
            }),
        )
        .layer(TraceLayer::new(api_instr));
    let api = serve(router).await;

    // The worker fails every attempt; after two the message is dead-lettered.
    let attempts = Arc::new(Mutex::new(Vec::new()));
    let worker_js = JetStream::new(js.clone(), worker_instr);
    let worker_consumer = consumer(&js, "ORDERS", "fulfil", "orders.created").await;
    let seen = attempts.clone();
    tokio::spawn(async move {
        worker_js
            .run_consumer(
                worker_consumer,
                RetryPolicy::new(2, "dead.orders").backoff(Duration::from_millis(100)),
                move |d: Delivery| {
                    let seen = seen.clone();
                    async move {
                        seen.lock().unwrap().push((d.attempt, d.payload.clone()));
                        Err::<(), _>("payment declined: card expired")
                    }
                },
            )
            .await
    });

    // The dead-letter processor succeeds.
    let (dead_tx, mut dead_rx) = tokio::sync::mpsc::unbounded_channel();
    let dlq_js = JetStream::new(js.clone(), dlq_instr);
    let dlq_consumer = consumer(&js, "DEAD", "dead-letters", "dead.orders").await;
    tokio::spawn(async move {
        dlq_js
            .run_consumer(
                dlq_consumer,
                RetryPolicy::without_dead_letter(1),
                move |d: Delivery| {
                    let dead_tx = dead_tx.clone();
                    async move {
                        dead_tx.send(d).unwrap();
                        Ok::<(), String>(())
                    }
                },
            )
            .await
    });

    let response = reqwest::Client::new()
        .post(format!("http://{api}/orders"))
        .body("order-1001")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "queued 1");

    let dead = tokio::time::timeout(Duration::from_secs(20), dead_rx.recv())
        .await
        .expect("the message reaches the dead-letter processor")
        .unwrap();
    assert_eq!(&dead.payload[..], b"order-1001");
    assert_eq!(
        dead.headers.get_header(messaging::DEAD_LETTER_REASON),
        Some("payment declined: card expired")
    );
    assert_eq!(
        dead.headers.get_header(messaging::DEAD_LETTER_SOURCE),
        Some("orders.created")
    );
    assert_eq!(
        attempts
            .lock()
            .unwrap()
            .iter()
            .map(|(n, _)| *n)
            .collect::<Vec<_>>(),
        [1, 2],
        "two attempts before dead-lettering"
    );

    let api_spans = wait_for_spans(&api_exporter, 2).await;
    let worker_spans = wait_for_spans(&worker_exporter, 4).await;
    let dlq_spans = wait_for_spans(&dlq_exporter, 1).await;

    let checked = support::dead_letter::assert_dead_letter_trace(
        "nats",
        "fulfil",
        &api_spans,
        &worker_spans,
        &dlq_spans,
    );
    // Broker redeliveries add to the library's attempts.
    assert!(matches!(
        attr(checked.second, "messaging.message.delivery_count"),
        Some(Value::I64(n)) if n >= 2
    ));
}
