//! NATS JetStream integration: [`JetStream::publish`] records a PRODUCER span and injects the context
//! into the message headers; [`JetStream::process`] / [`JetStream::run_consumer`] record a CONSUMER
//! span per delivery as the child of that context, acknowledge on success, and on failure retry (a
//! re-publish carrying the failed attempt's context) or dead-letter the message (original context
//! kept, link to the failed attempt) as [`RetryPolicy`] says. A dead-letter processor is the same
//! consumer loop over the dead-letter subject: its spans continue the original trace and link to the
//! failed attempt.

use std::future::Future;
use std::time::SystemTime;

use async_nats::header::HeaderMap;
use async_nats::jetstream::consumer::PullConsumer;
use async_nats::jetstream::context::PublishAckFuture;
use async_nats::jetstream::message::Message;
use async_nats::jetstream::publish::PublishAck;
use async_nats::jetstream::AckKind;
use bytes::Bytes;
use futures::StreamExt;
use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::TraceContextExt;
use opentelemetry::{Context, KeyValue};

use super::{
    attempt_of, dead_letter_link, finish_process, finish_publish, plan_after_failure,
    start_process, start_publish, wait_before_processing, Disposition, HeaderCarrier, MessageInfo,
    RetryPolicy,
};
use crate::Instrumentation;

/// `messaging.system` for NATS.
const SYSTEM: &str = "nats";

/// What went wrong talking to NATS.
#[derive(Debug, thiserror::Error)]
pub enum NatsError {
    #[error("publishing to {subject} failed: {message}")]
    Publish { subject: String, message: String },
    #[error("acknowledging a message from {subject} failed: {message}")]
    Ack { subject: String, message: String },
    #[error("reading from the consumer failed: {0}")]
    Consume(String),
}

impl HeaderCarrier for HeaderMap {
    fn get_header(&self, key: &str) -> Option<&str> {
        self.get(key).map(|v| v.as_str()).or_else(|| {
            self.iter()
                .find(|(name, _)| AsRef::<str>::as_ref(*name).eq_ignore_ascii_case(key))
                .and_then(|(_, values)| values.last())
                .map(|v| v.as_str())
        })
    }

    fn set_header(&mut self, key: &str, value: String) {
        self.remove_header(key);
        self.insert(key, value.as_str());
    }

    fn header_keys(&self) -> Vec<&str> {
        self.iter().map(|(name, _)| name.as_ref()).collect()
    }

    fn remove_header(&mut self, key: &str) {
        let names: Vec<String> = self
            .iter()
            .map(|(name, _)| AsRef::<str>::as_ref(name).to_string())
            .filter(|name| name.eq_ignore_ascii_case(key))
            .collect();
        if names.is_empty() {
            return;
        }
        // HeaderMap has no removal: rebuild it without those names.
        let mut rebuilt = HeaderMap::new();
        for (name, values) in self.iter() {
            if names
                .iter()
                .any(|n| n.as_str() == AsRef::<str>::as_ref(name))
            {
                continue;
            }
            for value in values {
                rebuilt.append(name.clone(), value.clone());
            }
        }
        *self = rebuilt;
    }
}

/// A message handed to a handler.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub subject: String,
    pub payload: Bytes,
    pub headers: HeaderMap,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// The process span's context (also current while the handler runs).
    pub context: Context,
}

/// Traced publishing and consuming over one JetStream context.
#[derive(Clone, Debug)]
pub struct JetStream {
    js: async_nats::jetstream::Context,
    instrumentation: Instrumentation,
}

impl JetStream {
    pub fn new(
        js: async_nats::jetstream::Context,
        instrumentation: impl Into<Instrumentation>,
    ) -> Self {
        JetStream {
            js,
            instrumentation: instrumentation.into(),
        }
    }

    pub fn context(&self) -> &async_nats::jetstream::Context {
        &self.js
    }

    /// Publishes `payload` to `subject` and waits for the stream's acknowledgement (the message is
    /// stored), under a PRODUCER span that is a child of the current context.
    pub async fn publish(&self, subject: &str, payload: Bytes) -> Result<PublishAck, NatsError> {
        self.publish_with_headers(subject, HeaderMap::new(), payload)
            .await
    }

    /// [`JetStream::publish`] with headers of the caller's (the trace context is added to them).
    pub async fn publish_with_headers(
        &self,
        subject: &str,
        mut headers: HeaderMap,
        payload: Bytes,
    ) -> Result<PublishAck, NatsError> {
        let mut info = MessageInfo::new(SYSTEM, subject);
        info.body_size = Some(payload.len());
        info.message_id = headers.get_header("Nats-Msg-Id").map(str::to_string);
        let cx = start_publish(
            &self.instrumentation,
            &Context::current(),
            &info,
            &mut headers,
        );
        self.send(subject, headers, payload, &cx).await
    }

    /// Publishes and waits for the acknowledgement, recording the outcome on `cx`'s span and ending it.
    async fn send(
        &self,
        subject: &str,
        headers: HeaderMap,
        payload: Bytes,
        cx: &Context,
    ) -> Result<PublishAck, NatsError> {
        let result = async {
            let ack: PublishAckFuture = self
                .js
                .publish_with_headers(subject.to_string(), headers, payload)
                .await
                .map_err(|e| e.to_string())?;
            ack.await.map_err(|e| e.to_string())
        }
        .await;
        match result {
            Ok(ack) => {
                cx.span().set_attribute(KeyValue::new(
                    "messaging.nats.stream.sequence",
                    i64::try_from(ack.sequence).unwrap_or(i64::MAX),
                ));
                finish_publish(cx, None);
                Ok(ack)
            }
            Err(message) => {
                finish_publish(cx, Some(&message));
                Err(NatsError::Publish {
                    subject: subject.to_string(),
                    message,
                })
            }
        }
    }

    /// Processes one delivered message with `handler` under a CONSUMER span, then acknowledges,
    /// retries or dead-letters it as `policy` says.
    pub async fn process<F, Fut, E>(
        &self,
        message: Message,
        policy: &RetryPolicy,
        handler: &F,
    ) -> Result<Disposition, NatsError>
    where
        F: Fn(Delivery) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: std::fmt::Display,
    {
        let subject = message.subject.as_str().to_string();
        let headers = message.headers.clone().unwrap_or_default();
        if let Some(wait) = wait_before_processing(&headers, SystemTime::now()) {
            ack(&message, AckKind::Nak(Some(wait)), &subject).await?;
            return Ok(Disposition::Deferred);
        }
        let attempt = attempt_of(&headers);
        let info_owned = message.info().ok().map(|i| {
            (
                i.stream_sequence,
                u32::try_from(i.delivered.max(1)).unwrap_or(u32::MAX),
                i.consumer.to_string(),
            )
        });
        let mut info = MessageInfo::new(SYSTEM, &subject);
        info.body_size = Some(message.payload.len());
        info.message_id = headers
            .get_header("Nats-Msg-Id")
            .map(str::to_string)
            .or_else(|| info_owned.as_ref().map(|(seq, _, _)| seq.to_string()));
        info.consumer_group = info_owned.as_ref().map(|(_, _, c)| c.as_str());
        // Redeliveries by the broker (e.g. after a crash) add to this library's attempts.
        let redeliveries = info_owned.as_ref().map_or(0, |(_, d, _)| d - 1);
        info.delivery_count = Some(attempt.saturating_add(redeliveries));
        let links = dead_letter_link(&headers).into_iter().collect();
        let cx = start_process(&self.instrumentation, &info, &headers, links);
        let delivery = Delivery {
            subject: subject.clone(),
            payload: message.payload.clone(),
            headers: headers.clone(),
            attempt,
            context: cx.clone(),
        };
        let outcome = handler(delivery).with_context(cx.clone()).await;
        let error = match outcome {
            Ok(()) => {
                ack(&message, AckKind::Ack, &subject).await?;
                finish_process(&cx, None, Disposition::Acked);
                return Ok(Disposition::Acked);
            }
            Err(e) => e.to_string(),
        };

        let plan = plan_after_failure(
            &self.instrumentation,
            policy,
            SYSTEM,
            &subject,
            &headers,
            &cx,
            attempt,
            &error,
            message.payload.len(),
        );
        let (destination, headers, publish, sent) = match plan.into_publish() {
            Some(parts) => parts,
            None => {
                tracing::error!(
                    subject,
                    attempt,
                    error,
                    "message dropped after its last attempt"
                );
                ack(&message, AckKind::Term, &subject).await?;
                finish_process(&cx, Some(&error), Disposition::Dropped);
                return Ok(Disposition::Dropped);
            }
        };
        let disposition = match self
            .send(&destination, headers, message.payload.clone(), &publish)
            .await
        {
            Ok(_) => {
                let kind = if sent == Disposition::DeadLettered {
                    AckKind::Term
                } else {
                    AckKind::Ack
                };
                ack(&message, kind, &subject).await?;
                sent
            }
            Err(_) => {
                // The broker keeps the message and delivers it again.
                ack(&message, AckKind::Nak(Some(policy.backoff)), &subject).await?;
                Disposition::Redelivered
            }
        };
        finish_process(&cx, Some(&error), disposition);
        Ok(disposition)
    }

    /// Pulls messages from `consumer` and processes them one at a time until the consumer's stream
    /// of messages ends or fails. Spawn one per consumer (or several for parallelism).
    pub async fn run_consumer<F, Fut, E>(
        &self,
        consumer: PullConsumer,
        policy: RetryPolicy,
        handler: F,
    ) -> Result<(), NatsError>
    where
        F: Fn(Delivery) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: std::fmt::Display,
    {
        let mut messages = consumer
            .messages()
            .await
            .map_err(|e| NatsError::Consume(e.to_string()))?;
        while let Some(next) = messages.next().await {
            let message = next.map_err(|e| NatsError::Consume(e.to_string()))?;
            self.process(message, &policy, &handler).await?;
        }
        Ok(())
    }
}

async fn ack(message: &Message, kind: AckKind, subject: &str) -> Result<(), NatsError> {
    message.ack_with(kind).await.map_err(|e| NatsError::Ack {
        subject: subject.to_string(),
        message: e.to_string(),
    })
}
