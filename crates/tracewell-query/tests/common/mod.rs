//! A known data set for query tests: six traces over four services with every kind of condition a search can
//! meet, and a store to put them in (head only, blocks only, or both).
#![allow(dead_code)]

use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{status, ResourceSpans, ScopeSpans, Span, Status};
use tracewell_model::{TenantId, TraceId};
use tracewell_query::{QueryConfig, QueryService};
use tracewell_store::{Store, StoreConfig};

pub const MS: u64 = 1_000_000;

pub fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
        ..Default::default()
    }
}

pub fn kv_int(key: &str, value: i64) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::IntValue(value)),
        }),
        ..Default::default()
    }
}

/// One span of the data set.
pub struct S {
    pub trace: u8,
    pub id: u8,
    pub parent: Option<u8>,
    pub service: &'static str,
    pub env: &'static str,
    pub name: &'static str,
    pub kind: i32,
    pub offset_ms: u64,
    pub duration_ms: u64,
    pub error: bool,
    pub attrs: Vec<KeyValue>,
}

pub fn trace_id(n: u8) -> TraceId {
    let mut id = [0u8; 16];
    id[0] = 0xa0;
    id[15] = n;
    TraceId(id)
}

fn span_id(trace: u8, n: u8) -> Vec<u8> {
    vec![trace, n, 0, 0, 0, 0, 0, 1]
}

const SERVER: i32 = 2;
const CLIENT: i32 = 3;
const CONSUMER: i32 = 5;
const INTERNAL: i32 = 1;

/// Trace `n` starts `n` seconds after the base time.
pub fn dataset() -> Vec<S> {
    let s = |trace, id, parent, service, name, kind, offset_ms, duration_ms| S {
        trace,
        id,
        parent,
        service,
        env: "prod",
        name,
        kind,
        offset_ms,
        duration_ms,
        error: false,
        attrs: vec![],
    };
    let mut out = vec![
        s(1, 1, None, "gateway", "GET /users", SERVER, 0, 100),
        S {
            attrs: vec![
                kv_int("http.response.status_code", 200),
                kv("http.route", "/users/{id}"),
            ],
            ..s(1, 2, Some(1), "users", "GET /users/{id}", SERVER, 10, 50)
        },
        S {
            attrs: vec![kv("db.system", "postgresql")],
            ..s(1, 3, Some(2), "users", "SELECT users", CLIENT, 20, 20)
        },
        s(2, 1, None, "gateway", "GET /orders", SERVER, 0, 300),
        S {
            error: true,
            attrs: vec![
                kv_int("http.response.status_code", 500),
                kv("customer.tier", "gold"),
            ],
            ..s(2, 2, Some(1), "orders", "POST /orders", SERVER, 10, 250)
        },
        s(3, 1, None, "gateway", "GET /users", SERVER, 0, 40),
        S {
            attrs: vec![
                kv_int("http.response.status_code", 404),
                kv("customer.tier", "silver"),
            ],
            ..s(3, 2, Some(1), "users", "GET /users/{id}", SERVER, 5, 30)
        },
        S {
            env: "staging",
            attrs: vec![kv("messaging.destination.name", "orders")],
            ..s(4, 1, None, "worker", "process order", CONSUMER, 0, 500)
        },
        s(5, 1, None, "gateway", "GET /health", INTERNAL, 0, 1),
        S {
            attrs: vec![
                kv_int("http.response.status_code", 201),
                kv("customer.tier", "gold"),
            ],
            ..s(6, 1, None, "orders", "POST /orders", SERVER, 0, 120)
        },
    ];
    out.sort_by_key(|s| (s.trace, s.id));
    out
}

/// Export requests of the spans, one resource per (service, environment).
pub fn request_of(spans: &[&S], base: u64) -> ExportTraceServiceRequest {
    let mut resource_spans: Vec<ResourceSpans> = Vec::new();
    for s in spans {
        let span = Span {
            trace_id: trace_id(s.trace).0.to_vec(),
            span_id: span_id(s.trace, s.id),
            parent_span_id: s.parent.map(|p| span_id(s.trace, p)).unwrap_or_default(),
            name: s.name.into(),
            kind: s.kind,
            start_time_unix_nano: base + u64::from(s.trace) * 1000 * MS + s.offset_ms * MS,
            end_time_unix_nano: base
                + u64::from(s.trace) * 1000 * MS
                + (s.offset_ms + s.duration_ms) * MS,
            attributes: s.attrs.clone(),
            status: Some(Status {
                code: if s.error {
                    status::StatusCode::Error as i32
                } else {
                    0
                },
                ..Default::default()
            }),
            ..Default::default()
        };
        let resource = Resource {
            attributes: vec![
                kv("service.name", s.service),
                kv("deployment.environment", s.env),
            ],
            ..Default::default()
        };
        match resource_spans
            .iter_mut()
            .find(|r| r.resource.as_ref() == Some(&resource))
        {
            Some(rs) => rs.scope_spans[0].spans.push(span),
            None => resource_spans.push(ResourceSpans {
                resource: Some(resource),
                scope_spans: vec![ScopeSpans {
                    spans: vec![span],
                    ..Default::default()
                }],
                ..Default::default()
            }),
        }
    }
    ExportTraceServiceRequest { resource_spans }
}

/// Where the data set lives when queried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    HeadOnly,
    BlocksOnly,
    /// Traces 1–3 in a block, the rest in the head; trace 2's child span in the head too.
    Mixed,
}

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub store: Store,
    pub query: QueryService,
    pub base: u64,
}

pub fn tenant() -> TenantId {
    TenantId::new("single-tenant").unwrap()
}

pub fn config(dir: &std::path::Path) -> StoreConfig {
    let mut config = StoreConfig::new(dir);
    config.head_max_age = Duration::from_secs(3600);
    config
}

pub async fn open(dir: &std::path::Path) -> Store {
    let mut registry = prometheus_client::registry::Registry::default();
    let store = Store::open(config(dir), &mut registry).unwrap();
    store.recover().await.unwrap();
    store
}

/// The base time: ten minutes ago, on a whole minute.
pub fn base_time() -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    (now - 10 * 60_000 * MS) / (60_000 * MS) * (60_000 * MS)
}

pub async fn fixture(layout: Layout) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let base = base_time();
    let spans = dataset();
    let tenant = tenant();
    let (first, second): (Vec<&S>, Vec<&S>) = match layout {
        Layout::HeadOnly => (vec![], spans.iter().collect()),
        Layout::BlocksOnly => (spans.iter().collect(), vec![]),
        Layout::Mixed => spans
            .iter()
            .partition(|s| s.trace <= 3 && !(s.trace == 2 && s.id == 2)),
    };
    if !first.is_empty() {
        store
            .append(&tenant, request_of(&first, base), None)
            .await
            .unwrap();
        store.flush_all().await.unwrap();
    }
    if !second.is_empty() {
        store
            .append(&tenant, request_of(&second, base), None)
            .await
            .unwrap();
    }
    let query = QueryService::new(store.clone(), QueryConfig::default());
    Fixture {
        dir,
        store,
        query,
        base,
    }
}
