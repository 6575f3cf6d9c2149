//! Shared test helpers: telemetry exporting to memory, span lookups.
#![allow(dead_code)]

pub mod dead_letter;

use std::net::SocketAddr;

use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry::Value;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SimpleSpanProcessor, SpanData};
use tracewell_instrument::{Builder, Instrumentation, Telemetry};

/// Telemetry for `service` that keeps finished spans in memory (exported as each span ends).
pub fn telemetry(service: &str) -> (Telemetry, Instrumentation, InMemorySpanExporter) {
    let exporter = InMemorySpanExporter::default();
    let telemetry = Builder::new()
        .service_name(service)
        .without_otlp()
        .env(|_| None)
        .span_processor(SimpleSpanProcessor::new(exporter.clone()))
        .build()
        .expect("telemetry");
    let instrumentation = Instrumentation::from_telemetry(&telemetry);
    (telemetry, instrumentation, exporter)
}

pub fn spans(exporter: &InMemorySpanExporter) -> Vec<SpanData> {
    exporter.get_finished_spans().expect("finished spans")
}

pub fn named<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    let matching: Vec<&SpanData> = spans.iter().filter(|s| s.name == name).collect();
    assert_eq!(
        matching.len(),
        1,
        "exactly one span named {name:?} among {:?}",
        spans.iter().map(|s| s.name.to_string()).collect::<Vec<_>>()
    );
    matching[0]
}

pub fn all_named<'a>(spans: &'a [SpanData], name: &str) -> Vec<&'a SpanData> {
    spans.iter().filter(|s| s.name == name).collect()
}

pub fn attr(span: &SpanData, key: &str) -> Option<Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.clone())
}

pub fn attr_str(span: &SpanData, key: &str) -> Option<String> {
    attr(span, key).map(|v| v.to_string())
}

pub fn trace_of(span: &SpanData) -> TraceId {
    span.span_context.trace_id()
}

pub fn id_of(span: &SpanData) -> SpanId {
    span.span_context.span_id()
}

/// Waits (up to 10 s) until `exporter` holds at least `n` spans.
pub async fn wait_for_spans(exporter: &InMemorySpanExporter, n: usize) -> Vec<SpanData> {
    for _ in 0..200 {
        let s = spans(exporter);
        if s.len() >= n {
            return s;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let s = spans(exporter);
    panic!(
        "expected {n} spans, got {}: {:?}",
        s.len(),
        s.iter().map(|s| s.name.to_string()).collect::<Vec<_>>()
    );
}

/// Serves `router` on a free loopback port for the rest of the test.
pub async fn serve(router: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    addr
}
