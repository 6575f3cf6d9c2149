//! Kafka integration on `rdkafka`: [`Kafka::publish`] records a PRODUCER span, injects the context into
//! the record headers and waits for the broker's acknowledgement; [`Kafka::run_consumer`] /
//! [`Kafka::process`] record a CONSUMER span per record as the child of that context, commit the
//! offset on success, and on failure retry (a new record carrying the failed attempt's context) or
//! dead-letter the record (original context kept, link to the failed attempt) as [`RetryPolicy`] says.
//!
//! Kafka has no delayed redelivery: a retry is a new record whose `tracewell-not-before` header holds
//! the earliest time it may run, and the consumer waits for that time before processing it. The wait
//! holds up the partition, so give retries a topic of their own
//! ([`RetryPolicy::retry_destination`]) when the backoff is long. The record key is kept on retries
//! and dead letters, so records of one key stay in one partition and in order.

use std::future::Future;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::TraceContextExt;
use opentelemetry::{Context, KeyValue};
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{BorrowedMessage, Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::Offset;

use super::{
    attempt_of, dead_letter_link, finish_process, finish_publish, plan_after_failure,
    start_process, start_publish, wait_before_processing, Disposition, MessageInfo, RetryPolicy,
};
use crate::Instrumentation;

/// `messaging.system` for Kafka.
const SYSTEM: &str = "kafka";

/// Record headers as this crate reads and writes them (a [`super::HeaderCarrier`]).
pub type RecordHeaders = Vec<(String, Vec<u8>)>;

/// What went wrong talking to Kafka.
#[derive(Debug, thiserror::Error)]
pub enum KafkaError {
    #[error("producing to {topic} failed: {message}")]
    Publish { topic: String, message: String },
    #[error("committing offset {offset} of {topic}/{partition} failed: {message}")]
    Commit {
        topic: String,
        partition: i32,
        offset: i64,
        message: String,
    },
    #[error("reading from the consumer failed: {0}")]
    Consume(String),
}

/// Where the broker stored a produced record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stored {
    pub partition: i32,
    pub offset: i64,
}

/// A record handed to a handler.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub payload: Bytes,
    pub headers: RecordHeaders,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// The process span's context (also current while the handler runs).
    pub context: Context,
}

/// The headers of a received record (values that are not UTF-8 are kept but read as absent).
pub fn record_headers<M: Message>(message: &M) -> RecordHeaders {
    message
        .headers()
        .map(|headers| {
            headers
                .iter()
                .map(|h| (h.key.to_string(), h.value.unwrap_or_default().to_vec()))
                .collect()
        })
        .unwrap_or_default()
}

fn owned_headers(headers: &RecordHeaders) -> OwnedHeaders {
    headers.iter().fold(
        OwnedHeaders::new_with_capacity(headers.len()),
        |h, (k, v)| {
            h.insert(Header {
                key: k.as_str(),
                value: Some(v.as_slice()),
            })
        },
    )
}

/// Traced producing and consuming over one `rdkafka` producer.
#[derive(Clone)]
pub struct Kafka {
    producer: FutureProducer,
    instrumentation: Instrumentation,
    /// How long a produce may wait in the client's queue before it fails.
    queue_timeout: Duration,
}

impl std::fmt::Debug for Kafka {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kafka")
            .field("queue_timeout", &self.queue_timeout)
            .finish_non_exhaustive()
    }
}

impl Kafka {
    pub fn new(producer: FutureProducer, instrumentation: impl Into<Instrumentation>) -> Self {
        Kafka {
            producer,
            instrumentation: instrumentation.into(),
            queue_timeout: Duration::from_secs(10),
        }
    }

    /// Sets how long a produce may wait in the client's queue (default 10 s).
    pub fn queue_timeout(mut self, timeout: Duration) -> Self {
        self.queue_timeout = timeout;
        self
    }

    pub fn producer(&self) -> &FutureProducer {
        &self.producer
    }

    /// Produces `payload` (with `key`) to `topic` and waits for the broker's acknowledgement, under a
    /// PRODUCER span that is a child of the current context.
    pub async fn publish(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        payload: Bytes,
    ) -> Result<Stored, KafkaError> {
        self.publish_with_headers(topic, key, RecordHeaders::new(), payload)
            .await
    }

    /// [`Kafka::publish`] with headers of the caller's (the trace context is added to them).
    pub async fn publish_with_headers(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        mut headers: RecordHeaders,
        payload: Bytes,
    ) -> Result<Stored, KafkaError> {
        let mut info = MessageInfo::new(SYSTEM, topic);
        info.body_size = Some(payload.len());
        let cx = start_publish(
            &self.instrumentation,
            &Context::current(),
            &info,
            &mut headers,
        );
        self.send(topic, key, &headers, &payload, &cx).await
    }

    /// Produces and waits for the acknowledgement, recording the outcome on `cx`'s span and ending it.
    async fn send(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        headers: &RecordHeaders,
        payload: &[u8],
        cx: &Context,
    ) -> Result<Stored, KafkaError> {
        let span = cx.span();
        if let Some(key) = key.and_then(|k| std::str::from_utf8(k).ok()) {
            span.set_attribute(KeyValue::new(
                "messaging.kafka.message.key",
                key.to_string(),
            ));
        }
        let mut record = FutureRecord::to(topic)
            .payload(payload)
            .headers(owned_headers(headers));
        if let Some(key) = key {
            record = record.key(key);
        }
        match self.producer.send(record, self.queue_timeout).await {
            Ok(delivery) => {
                span.set_attribute(KeyValue::new(
                    "messaging.destination.partition.id",
                    delivery.partition.to_string(),
                ));
                span.set_attribute(KeyValue::new("messaging.kafka.offset", delivery.offset));
                finish_publish(cx, None);
                Ok(Stored {
                    partition: delivery.partition,
                    offset: delivery.offset,
                })
            }
            Err((error, _)) => {
                let message = error.to_string();
                finish_publish(cx, Some(&message));
                Err(KafkaError::Publish {
                    topic: topic.to_string(),
                    message,
                })
            }
        }
    }

    /// Processes one record of `consumer` (whose consumer group is `group`) with `handler` under a
    /// CONSUMER span, then commits its offset, or retries or dead-letters it as `policy` says. When a
    /// retry or dead letter cannot be produced, the consumer is moved back to the record, which is
    /// processed again after `policy.backoff`.
    pub async fn process<F, Fut, E>(
        &self,
        consumer: &StreamConsumer,
        group: &str,
        message: &BorrowedMessage<'_>,
        policy: &RetryPolicy,
        handler: &F,
    ) -> Result<Disposition, KafkaError>
    where
        F: Fn(Delivery) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: std::fmt::Display,
    {
        let topic = message.topic().to_string();
        let (partition, offset) = (message.partition(), message.offset());
        let headers = record_headers(message);
        if let Some(wait) = wait_before_processing(&headers, SystemTime::now()) {
            tokio::time::sleep(wait).await;
        }
        let payload = Bytes::copy_from_slice(message.payload().unwrap_or_default());
        let key = message.key().map(<[u8]>::to_vec);
        let attempt = attempt_of(&headers);
        let mut info = MessageInfo::new(SYSTEM, &topic);
        info.body_size = Some(payload.len());
        info.message_id = Some(format!("{partition}-{offset}"));
        info.consumer_group = Some(group);
        info.delivery_count = Some(attempt);
        let links = dead_letter_link(&headers).into_iter().collect();
        let cx = start_process(&self.instrumentation, &info, &headers, links);
        let span = cx.span();
        span.set_attribute(KeyValue::new(
            "messaging.destination.partition.id",
            partition.to_string(),
        ));
        span.set_attribute(KeyValue::new("messaging.kafka.offset", offset));
        if let Some(key) = key.as_deref().and_then(|k| std::str::from_utf8(k).ok()) {
            span.set_attribute(KeyValue::new(
                "messaging.kafka.message.key",
                key.to_string(),
            ));
        }
        if message.payload().is_none() {
            span.set_attribute(KeyValue::new("messaging.kafka.message.tombstone", true));
        }
        let delivery = Delivery {
            topic: topic.clone(),
            partition,
            offset,
            key: key.clone(),
            payload: payload.clone(),
            headers: headers.clone(),
            attempt,
            context: cx.clone(),
        };
        let error = match handler(delivery).with_context(cx.clone()).await {
            Ok(()) => {
                commit(consumer, message)?;
                finish_process(&cx, None, Disposition::Acked);
                return Ok(Disposition::Acked);
            }
            Err(e) => e.to_string(),
        };

        let plan = plan_after_failure(
            &self.instrumentation,
            policy,
            SYSTEM,
            &topic,
            &headers,
            &cx,
            attempt,
            &error,
            payload.len(),
        );
        let Some((destination, headers, publish, sent)) = plan.into_publish() else {
            tracing::error!(
                topic,
                partition,
                offset,
                attempt,
                error,
                "record dropped after its last attempt"
            );
            commit(consumer, message)?;
            finish_process(&cx, Some(&error), Disposition::Dropped);
            return Ok(Disposition::Dropped);
        };
        let disposition = match self
            .send(&destination, key.as_deref(), &headers, &payload, &publish)
            .await
        {
            Ok(_) => {
                commit(consumer, message)?;
                sent
            }
            Err(produce_error) => {
                tracing::warn!(%produce_error, topic, partition, offset, "record will be processed again");
                tokio::time::sleep(policy.backoff).await;
                consumer
                    .seek(
                        &topic,
                        partition,
                        Offset::Offset(offset),
                        Duration::from_secs(5),
                    )
                    .map_err(|e| {
                        KafkaError::Consume(format!(
                            "seeking back to {topic}/{partition}@{offset}: {e}"
                        ))
                    })?;
                Disposition::Redelivered
            }
        };
        finish_process(&cx, Some(&error), disposition);
        Ok(disposition)
    }

    /// Receives records from `consumer` (subscribed by the caller; its consumer group is `group`) and
    /// processes them one at a time until receiving fails. Spawn one per consumer.
    pub async fn run_consumer<F, Fut, E>(
        &self,
        consumer: StreamConsumer,
        group: &str,
        policy: RetryPolicy,
        handler: F,
    ) -> Result<(), KafkaError>
    where
        F: Fn(Delivery) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: std::fmt::Display,
    {
        loop {
            let message = consumer
                .recv()
                .await
                .map_err(|e| KafkaError::Consume(e.to_string()))?;
            self.process(&consumer, group, &message, &policy, &handler)
                .await?;
        }
    }
}

fn commit(consumer: &StreamConsumer, message: &BorrowedMessage<'_>) -> Result<(), KafkaError> {
    consumer
        .commit_message(message, CommitMode::Async)
        .map_err(|e| KafkaError::Commit {
            topic: message.topic().to_string(),
            partition: message.partition(),
            offset: message.offset(),
            message: e.to_string(),
        })
}
