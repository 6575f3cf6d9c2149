//! Messaging instrumentation, broker-neutral: header carriers, PRODUCER and CONSUMER (process) spans
//! following the messaging semantic conventions, and the header bookkeeping that lets retries and
//! dead-lettering keep a message's trace.
//!
//! The model:
//! - `publish` records a PRODUCER span `publish {destination}` (child of the current context) and
//!   injects its context into the message headers.
//! - `process` records a CONSUMER span `process {destination}` whose parent is the context in the
//!   message headers.
//! - A failed attempt that will be retried is re-published with the *current* context (the failed
//!   attempt's), so the next attempt is its child; the first publisher's context is kept in
//!   `tracewell-original-*` headers ([`prepare_retry`]).
//! - After the last attempt the message goes to a dead-letter destination with the *original* context
//!   restored and a link to the failed attempt in `tracewell-dead-letter-link` ([`prepare_dead_letter`]);
//!   the dead-letter processor's span continues the original trace and links to that attempt
//!   ([`dead_letter_link`]).
//!
//! [`nats`] implements this for NATS JetStream and [`kafka`] (feature `kafka`) for Kafka with
//! `rdkafka`. Other brokers need only a [`HeaderCarrier`] for their header type: for AMQP (`lapin`),
//! implement it on a newtype over `FieldTable` storing `AMQPValue::LongString`; any client with
//! Kafka-style byte headers fits the implementation for `Vec<(String, Vec<u8>)>` below.

#[cfg(feature = "kafka")]
pub mod kafka;
#[cfg(feature = "nats")]
pub mod nats;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::{
    Link, SpanContext, SpanKind, Status, TraceContextExt, TraceFlags, TraceState, Tracer,
};
use opentelemetry::{Context, KeyValue};

use crate::propagation::parse_traceparent;
use crate::Instrumentation;

/// Header holding the failed attempt's span context (W3C `traceparent` format) on a dead letter.
pub const DEAD_LETTER_LINK: &str = "tracewell-dead-letter-link";
/// Header holding why the message was dead-lettered (the last error).
pub const DEAD_LETTER_REASON: &str = "tracewell-dead-letter-reason";
/// Header holding the destination the message failed on.
pub const DEAD_LETTER_SOURCE: &str = "tracewell-dead-letter-source";
/// Header counting delivery attempts made by this library's retries (1 on the first retry's message).
pub const ATTEMPT: &str = "tracewell-attempt";
/// Header holding the earliest time (unix milliseconds) a retried message may be processed.
pub const NOT_BEFORE: &str = "tracewell-not-before";
/// Prefix of headers keeping the first publisher's propagation headers while retries carry their own.
pub const ORIGINAL_PREFIX: &str = "tracewell-original-";

/// Message headers of some broker client, as text.
pub trait HeaderCarrier {
    /// The value of `key` (compared case-insensitively).
    fn get_header(&self, key: &str) -> Option<&str>;
    /// Sets `key` to `value`, replacing earlier values.
    fn set_header(&mut self, key: &str, value: String);
    /// All header names.
    fn header_keys(&self) -> Vec<&str>;
    /// Removes `key`.
    fn remove_header(&mut self, key: &str);
}

/// An OpenTelemetry [`Injector`] over any [`HeaderCarrier`].
#[derive(Debug)]
pub struct HeaderCarrierInjector<'a, C: ?Sized>(pub &'a mut C);

/// An OpenTelemetry [`Extractor`] over any [`HeaderCarrier`].
#[derive(Debug)]
pub struct HeaderCarrierExtractor<'a, C: ?Sized>(pub &'a C);

impl<C: HeaderCarrier + ?Sized> Injector for HeaderCarrierInjector<'_, C> {
    fn set(&mut self, key: &str, value: String) {
        self.0.set_header(key, value);
    }
}

impl<C: HeaderCarrier + ?Sized> Extractor for HeaderCarrierExtractor<'_, C> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get_header(key)
    }

    fn keys(&self) -> Vec<&str> {
        self.0.header_keys()
    }
}

/// String maps: keys compared case-insensitively, one value per key.
macro_rules! map_carrier {
    ($map:ty) => {
        impl HeaderCarrier for $map {
            fn get_header(&self, key: &str) -> Option<&str> {
                self.get(key).map(String::as_str).or_else(|| {
                    self.iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(key))
                        .map(|(_, v)| v.as_str())
                })
            }
            fn set_header(&mut self, key: &str, value: String) {
                self.retain(|k, _| !k.eq_ignore_ascii_case(key));
                self.insert(key.to_string(), value);
            }
            fn header_keys(&self) -> Vec<&str> {
                self.keys().map(String::as_str).collect()
            }
            fn remove_header(&mut self, key: &str) {
                self.retain(|k, _| !k.eq_ignore_ascii_case(key));
            }
        }
    };
}

map_carrier!(HashMap<String, String>);
map_carrier!(BTreeMap<String, String>);

/// Kafka-style headers: an ordered list of names and byte values (non-UTF-8 values read as absent).
impl HeaderCarrier for Vec<(String, Vec<u8>)> {
    fn get_header(&self, key: &str) -> Option<&str> {
        self.iter()
            .rev()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .and_then(|(_, v)| std::str::from_utf8(v).ok())
    }
    fn set_header(&mut self, key: &str, value: String) {
        self.retain(|(k, _)| !k.eq_ignore_ascii_case(key));
        self.push((key.to_string(), value.into_bytes()));
    }
    fn header_keys(&self) -> Vec<&str> {
        self.iter().map(|(k, _)| k.as_str()).collect()
    }
    fn remove_header(&mut self, key: &str) {
        self.retain(|(k, _)| !k.eq_ignore_ascii_case(key));
    }
}

/// What a messaging span is about.
#[derive(Clone, Debug)]
pub struct MessageInfo<'a> {
    /// `messaging.system`, e.g. `nats`, `rabbitmq`, `kafka`.
    pub system: &'a str,
    /// `messaging.destination.name`: subject, queue or topic.
    pub destination: &'a str,
    /// `messaging.message.id`.
    pub message_id: Option<String>,
    /// `messaging.message.body.size` in bytes.
    pub body_size: Option<usize>,
    /// `messaging.consumer.group.name` (durable consumer, queue group, consumer group).
    pub consumer_group: Option<&'a str>,
    /// Delivery attempt, 1 for the first (`messaging.message.delivery_count`).
    pub delivery_count: Option<u32>,
}

impl<'a> MessageInfo<'a> {
    pub fn new(system: &'a str, destination: &'a str) -> Self {
        MessageInfo {
            system,
            destination,
            message_id: None,
            body_size: None,
            consumer_group: None,
            delivery_count: None,
        }
    }

    fn attributes(
        &self,
        operation_type: &'static str,
        operation_name: &'static str,
    ) -> Vec<KeyValue> {
        let mut attributes = vec![
            KeyValue::new("messaging.system", self.system.to_string()),
            KeyValue::new("messaging.destination.name", self.destination.to_string()),
            KeyValue::new("messaging.operation.type", operation_type),
            KeyValue::new("messaging.operation.name", operation_name),
        ];
        if let Some(id) = &self.message_id {
            attributes.push(KeyValue::new("messaging.message.id", id.clone()));
        }
        if let Some(size) = self.body_size {
            attributes.push(KeyValue::new(
                "messaging.message.body.size",
                i64::try_from(size).unwrap_or(i64::MAX),
            ));
        }
        if let Some(group) = self.consumer_group {
            attributes.push(KeyValue::new(
                "messaging.consumer.group.name",
                group.to_string(),
            ));
        }
        if let Some(count) = self.delivery_count {
            attributes.push(KeyValue::new(
                "messaging.message.delivery_count",
                i64::from(count),
            ));
        }
        attributes
    }
}

/// Starts a PRODUCER span `publish {destination}` as a child of `parent` and injects its context into
/// `headers`. End the span (`cx.span().end()`) once the broker has acknowledged the message.
pub fn start_publish<C: HeaderCarrier + ?Sized>(
    instrumentation: &Instrumentation,
    parent: &Context,
    info: &MessageInfo<'_>,
    headers: &mut C,
) -> Context {
    let cx = start_producer_span(instrumentation, parent, info);
    instrumentation.inject(&cx, &mut HeaderCarrierInjector(headers));
    cx
}

/// A PRODUCER span `publish {destination}` that does not touch the message headers (a dead letter
/// keeps its original context).
pub fn start_producer_span(
    instrumentation: &Instrumentation,
    parent: &Context,
    info: &MessageInfo<'_>,
) -> Context {
    let tracer = instrumentation.tracer();
    let span = tracer
        .span_builder(format!("publish {}", info.destination))
        .with_kind(SpanKind::Producer)
        .with_attributes(info.attributes("send", "publish"))
        .start_with_context(tracer, parent);
    parent.with_span(span)
}

/// Starts a CONSUMER span `process {destination}` whose parent is the context carried by `headers`,
/// with extra `links`. Returns the span's context; attach it while the handler runs and end the span
/// with [`finish_process`].
pub fn start_process<C: HeaderCarrier + ?Sized>(
    instrumentation: &Instrumentation,
    info: &MessageInfo<'_>,
    headers: &C,
    links: Vec<Link>,
) -> Context {
    let parent = instrumentation.extract(&HeaderCarrierExtractor(headers));
    let tracer = instrumentation.tracer();
    let span = tracer
        .span_builder(format!("process {}", info.destination))
        .with_kind(SpanKind::Consumer)
        .with_attributes(info.attributes("process", "process"))
        .with_links(links)
        .start_with_context(tracer, &parent);
    parent.with_span(span)
}

/// What happened to a processed message, recorded on its span as `messaging.tracewell.disposition`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disposition {
    /// Processed and acknowledged.
    Acked,
    /// Failed; published again for another attempt.
    Retried,
    /// Failed for the last time; sent to the dead-letter destination.
    DeadLettered,
    /// Failed and could not be retried or dead-lettered; left to the broker's redelivery.
    Redelivered,
    /// Failed for the last time with no dead-letter destination; dropped (and logged).
    Dropped,
    /// Not processed yet: its retry backoff has not elapsed, so the broker will deliver it again.
    Deferred,
}

impl Disposition {
    pub fn as_str(self) -> &'static str {
        match self {
            Disposition::Acked => "acked",
            Disposition::Retried => "retried",
            Disposition::DeadLettered => "dead_lettered",
            Disposition::Redelivered => "redelivered",
            Disposition::Dropped => "dropped",
            Disposition::Deferred => "deferred",
        }
    }
}

/// Ends a process span: error status and an exception event when `error` is set, and the disposition.
pub fn finish_process(cx: &Context, error: Option<&str>, disposition: Disposition) {
    let span = cx.span();
    if let Some(message) = error {
        span.add_event(
            "exception",
            vec![
                KeyValue::new("exception.type", "handler_error"),
                KeyValue::new("exception.message", message.to_string()),
            ],
        );
        span.set_attribute(KeyValue::new("error.type", "handler_error"));
        span.set_status(Status::error(message.to_string()));
    }
    span.set_attribute(KeyValue::new(
        "messaging.tracewell.disposition",
        disposition.as_str(),
    ));
    span.end();
}

/// Retry and dead-letter policy for a consumer.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Attempts in all, including the first; after the last failure the message is dead-lettered.
    pub max_attempts: u32,
    /// Delay before attempt n+1 is `backoff * n`.
    pub backoff: Duration,
    /// Where messages go after the last failed attempt (`None`: dropped after the last attempt).
    pub dead_letter: Option<String>,
    /// Where retries are published (`None`: the destination the message came from; use a destination
    /// of its own when other consumers read the same one).
    pub retry_destination: Option<String>,
}

impl RetryPolicy {
    pub fn new(max_attempts: u32, dead_letter: impl Into<String>) -> Self {
        RetryPolicy {
            max_attempts: max_attempts.max(1),
            backoff: Duration::from_millis(200),
            dead_letter: Some(dead_letter.into()),
            retry_destination: None,
        }
    }

    /// A policy without dead-lettering (for dead-letter processors themselves).
    pub fn without_dead_letter(max_attempts: u32) -> Self {
        RetryPolicy {
            max_attempts: max_attempts.max(1),
            backoff: Duration::from_millis(200),
            dead_letter: None,
            retry_destination: None,
        }
    }

    pub fn backoff(mut self, backoff: Duration) -> Self {
        self.backoff = backoff;
        self
    }
}

/// The attempt number of a received message (1 unless this library retried it).
pub fn attempt_of<C: HeaderCarrier + ?Sized>(headers: &C) -> u32 {
    headers
        .get_header(ATTEMPT)
        .and_then(|v| v.trim().parse::<u32>().ok())
        .filter(|n| *n >= 1)
        .unwrap_or(1)
}

/// How long a received message must still wait before it may be processed (retry backoff).
pub fn wait_before_processing<C: HeaderCarrier + ?Sized>(
    headers: &C,
    now: SystemTime,
) -> Option<Duration> {
    let not_before = headers.get_header(NOT_BEFORE)?.trim().parse::<u64>().ok()?;
    let now_ms = now.duration_since(UNIX_EPOCH).ok()?.as_millis() as u64;
    (not_before > now_ms).then(|| Duration::from_millis(not_before - now_ms))
}

/// Rewrites `headers` for attempt `attempt + 1`: keeps the first publisher's propagation headers
/// under [`ORIGINAL_PREFIX`] (once) and sets the attempt counter and earliest processing time. The
/// retry's publish ([`start_publish`] with the failed attempt as parent) then injects the current
/// context, so the next attempt is a child of the failed one.
pub fn prepare_retry<C: HeaderCarrier + ?Sized>(
    headers: &mut C,
    attempt: u32,
    delay: Duration,
    now: SystemTime,
) {
    preserve_original(headers);
    headers.set_header(ATTEMPT, (attempt + 1).to_string());
    let not_before = now
        .checked_add(delay)
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_millis() as u64);
    headers.set_header(NOT_BEFORE, not_before.to_string());
}

fn preserve_original<C: HeaderCarrier + ?Sized>(headers: &mut C) {
    let already = headers
        .header_keys()
        .iter()
        .any(|k| k.to_ascii_lowercase().starts_with(ORIGINAL_PREFIX));
    if already {
        return;
    }
    let propagation: Vec<(String, String)> = headers
        .header_keys()
        .into_iter()
        .filter(|k| is_propagation_header(k))
        .filter_map(|k| Some((k.to_ascii_lowercase(), headers.get_header(k)?.to_string())))
        .collect();
    for (key, value) in propagation {
        headers.set_header(&format!("{ORIGINAL_PREFIX}{key}"), value);
    }
}

/// Headers written by the propagators this crate ships.
fn is_propagation_header(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    matches!(
        key.as_str(),
        "traceparent" | "tracestate" | "baggage" | "b3" | "uber-trace-id"
    ) || key.starts_with("x-b3-")
        || key.starts_with("uberctx-")
}

/// Rewrites `headers` of a message that failed its last attempt for the dead-letter destination:
/// restores the first publisher's propagation headers, and records the failed attempt (`failed`, for
/// the link), the reason and the source destination.
pub fn prepare_dead_letter<C: HeaderCarrier + ?Sized>(
    headers: &mut C,
    failed: &SpanContext,
    reason: &str,
    source: &str,
) {
    let keys: Vec<String> = headers
        .header_keys()
        .into_iter()
        .map(str::to_string)
        .collect();
    let mut originals = Vec::new();
    for key in &keys {
        if let Some(field) = key.to_ascii_lowercase().strip_prefix(ORIGINAL_PREFIX) {
            if let Some(value) = headers.get_header(key) {
                originals.push((key.clone(), field.to_string(), value.to_string()));
            }
        }
    }
    if !originals.is_empty() {
        // The retries' propagation headers describe a failed attempt, not the original publisher.
        for key in keys.iter().filter(|k| is_propagation_header(k)) {
            headers.remove_header(key);
        }
        for (original_key, field, value) in originals {
            headers.remove_header(&original_key);
            headers.set_header(&field, value);
        }
    }
    headers.remove_header(ATTEMPT);
    headers.remove_header(NOT_BEFORE);
    if failed.is_valid() {
        headers.set_header(
            DEAD_LETTER_LINK,
            format!(
                "00-{}-{}-{:02x}",
                failed.trace_id(),
                failed.span_id(),
                failed.trace_flags().to_u8() & 0x03
            ),
        );
    }
    let reason: String = reason
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(1024)
        .collect();
    headers.set_header(DEAD_LETTER_REASON, reason);
    headers.set_header(DEAD_LETTER_SOURCE, source.to_string());
}

/// The link from a dead-letter processor's span to the failed attempt recorded in `headers`.
pub fn dead_letter_link<C: HeaderCarrier + ?Sized>(headers: &C) -> Option<Link> {
    let failed = parse_traceparent(headers.get_header(DEAD_LETTER_LINK)?).ok()?;
    let mut attributes = vec![KeyValue::new("tracewell.link.type", "failed_attempt")];
    if let Some(source) = headers.get_header(DEAD_LETTER_SOURCE) {
        attributes.push(KeyValue::new(
            "messaging.destination.name",
            source.to_string(),
        ));
    }
    Some(Link::new(
        SpanContext::new(
            failed.trace_id(),
            failed.span_id(),
            failed.trace_flags() & TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        ),
        attributes,
        0,
    ))
}

/// What to do with a message whose processing failed, decided by [`plan_after_failure`].
#[derive(Debug)]
pub enum AfterFailure<C> {
    /// Publish `headers` to `destination` for another attempt; `publish` is the PRODUCER span (child
    /// of the failed attempt, already injected into `headers`) to end once the broker has the message.
    Retry {
        destination: String,
        headers: C,
        publish: Context,
    },
    /// Publish `headers` (original context restored, link to the failed attempt) to `destination`;
    /// `publish` is the PRODUCER span (child of the failed attempt, not injected).
    DeadLetter {
        destination: String,
        headers: C,
        publish: Context,
    },
    /// No attempts left and no dead-letter destination.
    Drop,
}

impl<C> AfterFailure<C> {
    /// Destination, headers, PRODUCER span and the disposition the message gets once published;
    /// `None` for [`AfterFailure::Drop`].
    pub fn into_publish(self) -> Option<(String, C, Context, Disposition)> {
        match self {
            AfterFailure::Retry {
                destination,
                headers,
                publish,
            } => Some((destination, headers, publish, Disposition::Retried)),
            AfterFailure::DeadLetter {
                destination,
                headers,
                publish,
            } => Some((destination, headers, publish, Disposition::DeadLettered)),
            AfterFailure::Drop => None,
        }
    }
}

/// Decides, for a message from `source` that failed attempt `attempt` with `error` under the process
/// span `failed`, whether it is retried or dead-lettered, and prepares the headers and PRODUCER span.
#[allow(clippy::too_many_arguments)]
pub fn plan_after_failure<C: HeaderCarrier + Clone>(
    instrumentation: &Instrumentation,
    policy: &RetryPolicy,
    system: &str,
    source: &str,
    headers: &C,
    failed: &Context,
    attempt: u32,
    error: &str,
    body_size: usize,
) -> AfterFailure<C> {
    if attempt < policy.max_attempts {
        let destination = policy
            .retry_destination
            .clone()
            .unwrap_or_else(|| source.to_string());
        let mut retry = headers.clone();
        prepare_retry(
            &mut retry,
            attempt,
            policy.backoff * attempt,
            SystemTime::now(),
        );
        let mut info = MessageInfo::new(system, &destination);
        info.body_size = Some(body_size);
        let publish = start_publish(instrumentation, failed, &info, &mut retry);
        publish.span().set_attribute(KeyValue::new(
            "messaging.tracewell.retry_of",
            source.to_string(),
        ));
        return AfterFailure::Retry {
            destination,
            headers: retry,
            publish,
        };
    }
    let Some(destination) = policy.dead_letter.clone() else {
        return AfterFailure::Drop;
    };
    let mut dead = headers.clone();
    prepare_dead_letter(&mut dead, failed.span().span_context(), error, source);
    let mut info = MessageInfo::new(system, &destination);
    info.body_size = Some(body_size);
    let publish = start_producer_span(instrumentation, failed, &info);
    AfterFailure::DeadLetter {
        destination,
        headers: dead,
        publish,
    }
}

/// Ends a PRODUCER span with the broker's verdict on the publish.
pub fn finish_publish(cx: &Context, error: Option<&str>) {
    let span = cx.span();
    if let Some(message) = error {
        span.set_attribute(KeyValue::new("error.type", "publish_failed"));
        span.set_status(Status::error(message.to_string()));
    }
    span.end();
}
