//! Messaging end to end against a real Kafka-compatible broker (`tansu`, started on a free port by the
//! test): HTTP request → produce → consume → fail twice → dead-letter topic → dead-letter processor.
//! The spans of the three services form one trace: each attempt is the child of the produce that
//! carried it, the dead-letter processor continues the original trace and links to the failed attempt,
//! and the spans carry the Kafka conventions (partition, offset, key, consumer group).
#![cfg(feature = "kafka")]

#[path = "support/kafka_server.rs"]
mod kafka_server;
mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use kafka_server::KafkaServer;
use opentelemetry::Value;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::FutureProducer;
use support::*;
use tracewell_instrument::http::TraceLayer;
use tracewell_instrument::messaging::kafka::{Delivery, Kafka};
use tracewell_instrument::messaging::{self, HeaderCarrier, RetryPolicy};

fn producer(brokers: &str) -> FutureProducer {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("enable.idempotence", "true")
        .create()
        .unwrap()
}

fn consumer(brokers: &str, group: &str, topic: &str) -> StreamConsumer {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        // The group's first rebalance waits up to this long for members; keep it short for a test.
        .set("session.timeout.ms", "6000")
        .set("max.poll.interval.ms", "6000")
        .create()
        .unwrap();
    consumer.subscribe(&[topic]).unwrap();
    consumer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_produce_retry_dead_letter_is_one_trace() {
    let kafka = KafkaServer::start().await;
    kafka
        .create_topics(&["orders.created", "dead.orders"], 3)
        .await;
    let brokers = kafka.brokers.clone();

    let (_ta, api_instr, api_exporter) = telemetry("orders-api");
    let (_tw, worker_instr, worker_exporter) = telemetry("fulfilment-worker");
    let (_td, dlq_instr, dlq_exporter) = telemetry("dead-letter-processor");

    // The HTTP service publishes an order event under its SERVER span.
    let api_kafka = Kafka::new(producer(&brokers), api_instr.clone());
    let router = Router::new()
        .route(
            "/orders",
            post(move |body: String| {
                let api_kafka = api_kafka.clone();
                async move {
                    api_kafka
                        .publish("orders.created", Some(b"customer-7"), body.into())
                        .await
                        .map(|stored| format!("queued {}", stored.offset))
                        .map_err(|e| (StatusCode::SERVICE_UNAVAILABLE, e.to_string()))
                }
            }),
        )
        .layer(TraceLayer::new(api_instr));
    let api = serve(router).await;

    // The worker fails every attempt; after two the message is dead-lettered.
    let attempts = Arc::new(Mutex::new(Vec::new()));
    let worker_kafka = Kafka::new(producer(&brokers), worker_instr);
    let worker_consumer = consumer(&brokers, "fulfil", "orders.created");
    let seen = attempts.clone();
    let worker = tokio::spawn(async move {
        worker_kafka
            .run_consumer(
                worker_consumer,
                "fulfil",
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
    let dlq_kafka = Kafka::new(producer(&brokers), dlq_instr);
    let dlq_consumer = consumer(&brokers, "dead-letters", "dead.orders");
    let dlq = tokio::spawn(async move {
        dlq_kafka
            .run_consumer(
                dlq_consumer,
                "dead-letters",
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
    assert_eq!(response.text().await.unwrap(), "queued 0");

    let dead = tokio::time::timeout(Duration::from_secs(60), dead_rx.recv())
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
        "kafka",
        "fulfil",
        &api_spans,
        &worker_spans,
        &dlq_spans,
    );
    let (publish, first, second) = (checked.publish, checked.first, checked.second);
    // Kafka's own attributes: key, partition and offset, kept across the retry (same key, same partition).
    assert_eq!(
        attr_str(publish, "messaging.kafka.message.key").as_deref(),
        Some("customer-7")
    );
    assert_eq!(attr(publish, "messaging.kafka.offset"), Some(Value::I64(0)));
    let partition = attr_str(publish, "messaging.destination.partition.id").expect("partition");
    assert_eq!(
        attr(second, "messaging.message.delivery_count"),
        Some(Value::I64(2))
    );
    assert_eq!(
        attr_str(first, "messaging.destination.partition.id").as_ref(),
        Some(&partition),
        "attempt 1 reads the partition the record went to"
    );
    assert_eq!(
        attr_str(second, "messaging.destination.partition.id").as_ref(),
        Some(&partition),
        "the retry keeps the key, so it stays in the partition"
    );
    assert_eq!(attr(first, "messaging.kafka.offset"), Some(Value::I64(0)));
    assert_eq!(attr(second, "messaging.kafka.offset"), Some(Value::I64(1)));
    assert_eq!(
        attr_str(second, "messaging.kafka.message.key").as_deref(),
        Some("customer-7")
    );
    assert_eq!(dead.key.as_deref(), Some(&b"customer-7"[..]));

    // Consumers leave their groups while the broker still runs (closing one against a stopped broker
    // waits for it).
    for task in [worker, dlq] {
        task.abort();
        let _ = task.await;
    }
}
