//! Every span a client sends reads back identically: ids, times, attributes of every type, events, links,
//! status, resource and scope, whichever receiver it came through, per tenant, and across a graceful restart.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, UNIX_EPOCH};

use common::{fixture, Server};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{
    any_value::Value, AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link, SpanKind};
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, TracesData};
use prost::Message;
use serde_json::{json, Value as Json};

// ---------------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------------

/// 2023-11-14T22:13:20Z, in nanoseconds: the base of every hand-written span time.
const T0: u64 = 1_700_000_000_000_000_000;
const MS: u64 = 1_000_000;

fn kv(key: &str, value: Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn string(s: &str) -> Value {
    Value::StringValue(s.into())
}

fn array(values: Vec<Value>) -> Value {
    Value::ArrayValue(ArrayValue {
        values: values
            .into_iter()
            .map(|v| AnyValue { value: Some(v) })
            .collect(),
    })
}

fn kvlist(values: Vec<KeyValue>) -> Value {
    Value::KvlistValue(KeyValueList { values })
}

fn hex_id(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// A trace id whose bytes all derive from `seed`, so each test writes its own traces.
fn trace_id(seed: u8) -> Vec<u8> {
    (0..16)
        .map(|i| seed.wrapping_mul(31).wrapping_add(i * 7 + 1))
        .collect()
}

/// A span id derived from `seed` and a span number.
fn span_id(seed: u8, n: u8) -> Vec<u8> {
    vec![0x5a, seed, n, 0x10, 0x20, 0x30, 0x40, n.wrapping_add(1)]
}

/// A request exercising as many OTLP fields as the protocol has: two resources (one with two scopes), every
/// attribute value type, trace state, flags, dropped counts, schema URLs, events, links and each status form.
fn rich_request(seed: u8) -> ExportTraceServiceRequest {
    let trace = trace_id(seed);
    let id = |n| span_id(seed, n);
    let every_type = vec![
        kv("str", string("plain")),
        kv("str.empty", string("")),
        kv("str.unicode", string("ünïcødé ✓ 日本語")),
        kv("int", Value::IntValue(42)),
        kv("int.negative", Value::IntValue(-7)),
        kv("int.max", Value::IntValue(i64::MAX)),
        kv("int.min", Value::IntValue(i64::MIN)),
        kv("double", Value::DoubleValue(0.25)),
        kv("double.huge", Value::DoubleValue(-1.5e300)),
        kv("double.integral", Value::DoubleValue(3.0)),
        kv("bool.true", Value::BoolValue(true)),
        kv("bool.false", Value::BoolValue(false)),
        kv("bytes", Value::BytesValue(vec![0, 1, 2, 0xfe, 0xff])),
        kv("bytes.empty", Value::BytesValue(Vec::new())),
        kv(
            "array",
            array(vec![
                string("a"),
                Value::IntValue(1),
                Value::DoubleValue(1.5),
                Value::BoolValue(true),
                array(vec![string("nested")]),
                kvlist(vec![kv("in.array", Value::IntValue(9))]),
            ]),
        ),
        kv("array.empty", array(Vec::new())),
        kv(
            "kvlist",
            kvlist(vec![
                kv("inner.str", string("v")),
                kv("inner.map", kvlist(vec![kv("deep", Value::IntValue(1))])),
                kv("inner.bytes", Value::BytesValue(vec![9, 9])),
            ]),
        ),
        KeyValue {
            key: "empty".into(),
            value: Some(AnyValue { value: None }),
            ..Default::default()
        },
    ];
    let root = Span {
        trace_id: trace.clone(),
        span_id: id(1),
        trace_state: "vendor=abc,other=1".into(),
        parent_span_id: Vec::new(),
        flags: 0x301,
        name: "GET /items".into(),
        kind: SpanKind::Server as i32,
        start_time_unix_nano: T0,
        end_time_unix_nano: T0 + 50 * MS,
        attributes: every_type,
        dropped_attributes_count: 3,
        events: vec![
            Event {
                time_unix_nano: T0 + MS,
                name: "cache miss".into(),
                attributes: vec![
                    kv("cache.key", string("item:1")),
                    kv("attempt", Value::IntValue(2)),
                ],
                dropped_attributes_count: 1,
            },
            Event {
                time_unix_nano: T0 + 2 * MS,
                name: String::new(),
                attributes: Vec::new(),
                dropped_attributes_count: 0,
            },
        ],
        dropped_events_count: 4,
        links: vec![
            Link {
                trace_id: trace_id(seed.wrapping_add(100)),
                span_id: span_id(seed.wrapping_add(100), 1),
                trace_state: "k=v".into(),
                attributes: vec![kv("link.kind", string("follows_from"))],
                dropped_attributes_count: 2,
                flags: 0x101,
            },
            Link {
                trace_id: trace.clone(),
                span_id: id(5),
                trace_state: String::new(),
                attributes: Vec::new(),
                dropped_attributes_count: 0,
                flags: 0,
            },
        ],
        dropped_links_count: 5,
        status: Some(Status {
            message: "stock lookup failed".into(),
            code: StatusCode::Error as i32,
        }),
    };
    let query = Span {
        trace_id: trace.clone(),
        span_id: id(2),
        parent_span_id: id(1),
        flags: 0x101,
        name: "SELECT items".into(),
        kind: SpanKind::Client as i32,
        start_time_unix_nano: T0 + 3 * MS,
        end_time_unix_nano: T0 + 20 * MS,
        // Attributes the block format keeps in dedicated columns, one of them with a value of another type.
        attributes: vec![
            kv("db.system", string("postgresql")),
            kv("db.query.text", string("SELECT * FROM items WHERE id = $1")),
            kv("custom.between", Value::IntValue(1)),
            kv("http.response.status_code", Value::IntValue(200)),
            kv("http.route", Value::IntValue(5)),
            kv("server.address", string("db.internal")),
        ],
        status: Some(Status {
            message: String::new(),
            code: StatusCode::Ok as i32,
        }),
        ..Default::default()
    };
    let cache = Span {
        trace_id: trace.clone(),
        span_id: id(3),
        parent_span_id: id(1),
        name: "cache get".into(),
        kind: SpanKind::Internal as i32,
        start_time_unix_nano: T0 + 21 * MS,
        end_time_unix_nano: T0 + 21 * MS,
        // An explicit unset status with no message means the same as no status.
        status: Some(Status {
            message: String::new(),
            code: StatusCode::Unset as i32,
        }),
        ..Default::default()
    };
    let publish = Span {
        trace_id: trace.clone(),
        span_id: id(4),
        parent_span_id: id(2),
        name: "publish invoice".into(),
        kind: SpanKind::Producer as i32,
        start_time_unix_nano: T0 + 22 * MS,
        end_time_unix_nano: T0 + 30 * MS,
        attributes: vec![
            kv("messaging.system", string("kafka")),
            kv("messaging.destination.name", string("invoices")),
        ],
        status: Some(Status {
            message: "not really an error".into(),
            code: StatusCode::Unset as i32,
        }),
        ..Default::default()
    };
    let consume = Span {
        trace_id: trace.clone(),
        span_id: id(5),
        parent_span_id: id(4),
        name: "consume invoice".into(),
        kind: SpanKind::Consumer as i32,
        start_time_unix_nano: T0 + 31 * MS,
        end_time_unix_nano: T0 + 45 * MS,
        links: vec![Link {
            trace_id: trace.clone(),
            span_id: id(4),
            trace_state: "x=1".into(),
            attributes: vec![kv("messaging.batch", Value::BoolValue(true))],
            dropped_attributes_count: 0,
            flags: 0x1,
        }],
        ..Default::default()
    };
    ExportTraceServiceRequest {
        resource_spans: vec![
            ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![
                        kv("service.name", string("inventory")),
                        kv("host.name", string("node-7")),
                        kv("process.pid", Value::IntValue(4242)),
                        kv(
                            "deployment",
                            kvlist(vec![
                                kv("region", string("eu-west-1")),
                                kv("canary", Value::BoolValue(false)),
                            ]),
                        ),
                    ],
                    dropped_attributes_count: 1,
                    entity_refs: Vec::new(),
                }),
                scope_spans: vec![
                    ScopeSpans {
                        scope: Some(InstrumentationScope {
                            name: "inventory.http".into(),
                            version: "2.1.0".into(),
                            attributes: vec![kv("scope.flavor", string("blue"))],
                            dropped_attributes_count: 2,
                        }),
                        spans: vec![root, query],
                        schema_url: "https://opentelemetry.io/schemas/1.25.0".into(),
                    },
                    ScopeSpans {
                        scope: Some(InstrumentationScope {
                            name: "inventory.cache".into(),
                            ..Default::default()
                        }),
                        spans: vec![cache],
                        schema_url: String::new(),
                    },
                ],
                schema_url: "https://opentelemetry.io/schemas/1.26.0".into(),
            },
            ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![
                        kv("service.name", string("billing")),
                        kv(
                            "build.digest",
                            Value::BytesValue(vec![0xde, 0xad, 0xbe, 0xef]),
                        ),
                    ],
                    dropped_attributes_count: 0,
                    entity_refs: Vec::new(),
                }),
                scope_spans: vec![ScopeSpans {
                    scope: Some(InstrumentationScope {
                        name: "billing.worker".into(),
                        version: "0.1.0-beta".into(),
                        attributes: Vec::new(),
                        dropped_attributes_count: 0,
                    }),
                    spans: vec![publish, consume],
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            },
        ],
    }
}

/// One span with the resource and scope it was reported with: what a reader must get back, whatever the grouping.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    resource: Resource,
    resource_schema_url: String,
    scope: InstrumentationScope,
    scope_schema_url: String,
    span: Span,
}

/// Flattens resource spans into rows keyed by span id, normalizing what OTLP defines as equivalent: an absent
/// resource or scope is an empty one, and an unset status without a message is no status.
fn rows(resource_spans: &[ResourceSpans]) -> BTreeMap<String, Row> {
    let mut out = BTreeMap::new();
    for rs in resource_spans {
        for ss in &rs.scope_spans {
            for span in &ss.spans {
                let mut span = span.clone();
                if span
                    .status
                    .as_ref()
                    .is_some_and(|s| s.code == 0 && s.message.is_empty())
                {
                    span.status = None;
                }
                let row = Row {
                    resource: rs.resource.clone().unwrap_or_default(),
                    resource_schema_url: rs.schema_url.clone(),
                    scope: ss.scope.clone().unwrap_or_default(),
                    scope_schema_url: ss.schema_url.clone(),
                    span,
                };
                let key = hex_id(&row.span.span_id);
                assert!(
                    out.insert(key.clone(), row).is_none(),
                    "span id {key} appears twice"
                );
            }
        }
    }
    out
}

/// Rows of the spans of one trace in a request.
fn rows_of_trace(req: &ExportTraceServiceRequest, trace: &[u8]) -> BTreeMap<String, Row> {
    rows(&req.resource_spans)
        .into_iter()
        .filter(|(_, row)| row.span.trace_id == trace)
        .collect()
}

/// Reads a trace through the API, as the OTLP message its JSON encodes.
async fn read_trace(server: &Server, trace: &[u8]) -> TracesData {
    let (status, body) = server.get_trace(&hex_id(trace)).await;
    assert_eq!(status, 200, "GET trace {}: {body}", hex_id(trace));
    serde_json::from_value(body.clone())
        .unwrap_or_else(|e| panic!("response is not OTLP JSON ({e}): {body}"))
}

/// Asserts that what the server returns for `trace` is exactly what `sent` holds for it.
async fn assert_reads_back(server: &Server, sent: &ExportTraceServiceRequest, trace: &[u8]) {
    let expected = rows_of_trace(sent, trace);
    assert!(!expected.is_empty());
    let got = rows(&read_trace(server, trace).await.resource_spans);
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "span ids of the trace"
    );
    for (id, want) in &expected {
        assert_eq!(&got[id], want, "span {id} differs");
    }
}

/// GET a trace as a tenant: (status, body).
async fn get_trace_as(server: &Server, trace: &str, tenant: Option<&str>) -> (u16, Json) {
    let mut request = reqwest::Client::new().get(server.url(&format!("/api/v1/traces/{trace}")));
    if let Some(tenant) = tenant {
        request = request.header("X-Scope-OrgID", tenant);
    }
    let response = request.send().await.expect("GET trace");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Json::Null))
}

/// Every span of a read-API JSON body, with its resource and scope JSON.
fn json_spans(body: &Json) -> Vec<(&Json, &Json, &Json)> {
    let mut out = Vec::new();
    for rs in body["resourceSpans"]
        .as_array()
        .expect("resourceSpans array")
    {
        for ss in rs["scopeSpans"].as_array().expect("scopeSpans array") {
            for span in ss["spans"].as_array().expect("spans array") {
                out.push((&rs["resource"], &ss["scope"], span));
            }
        }
    }
    out
}

/// The span with this id in a read-API JSON body, with its resource and scope.
fn json_span<'a>(body: &'a Json, span_id: &str) -> (&'a Json, &'a Json, &'a Json) {
    let matches: Vec<_> = json_spans(body)
        .into_iter()
        .filter(|(_, _, s)| s["spanId"] == span_id)
        .collect();
    assert_eq!(matches.len(), 1, "span {span_id} in {body:#}");
    matches[0]
}

/// An attribute list as key → value JSON.
fn attr_map(attributes: &Json) -> BTreeMap<String, Json> {
    attributes
        .as_array()
        .map(|list| {
            list.iter()
                .map(|kv| (kv["key"].as_str().unwrap().to_owned(), kv["value"].clone()))
                .collect()
        })
        .unwrap_or_default()
}

async fn grpc_client(server: &Server) -> TraceServiceClient<tonic::transport::Channel> {
    TraceServiceClient::connect(server.otlp_grpc_url())
        .await
        .expect("connect to the OTLP gRPC port")
}

/// Sends a request over gRPC and asserts every span was accepted.
async fn export_grpc(server: &Server, req: ExportTraceServiceRequest) {
    let response = grpc_client(server)
        .await
        .export(req)
        .await
        .expect("gRPC export")
        .into_inner();
    assert_eq!(response.partial_success, None, "{response:?}");
}

// ---------------------------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_sent_with_the_official_otlp_exporter_read_back_identically() {
    use opentelemetry::trace::{Link as OtelLink, TracerProvider as _};
    use opentelemetry::trace::{
        Span as _, SpanKind as Kind, Status as OtelStatus, TraceContextExt, Tracer as _,
    };
    use opentelemetry::Value as OtelValue;
    use opentelemetry::{
        Array, Context, InstrumentationScope as OtelScope, KeyValue as Kv, StringValue,
    };
    use opentelemetry_otlp::WithExportConfig;
    use opentelemetry_sdk::trace::SdkTracerProvider;

    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]).await;

    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(server.otlp_grpc_url())
        .build()
        .expect("build the OTLP exporter");
    let resource = opentelemetry_sdk::Resource::builder_empty()
        .with_service_name("checkout")
        .with_attribute(Kv::new("service.version", "1.4.2"))
        .with_attribute(Kv::new("host.cpus", 8_i64))
        .build();
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build();
    let tracer = provider.tracer_with_scope(
        OtelScope::builder("checkout.handlers")
            .with_version("0.9.0")
            .with_schema_url("https://opentelemetry.io/schemas/1.24.0")
            .with_attributes([Kv::new("scope.kind", "http")])
            .build(),
    );
    let t0 = UNIX_EPOCH + Duration::from_nanos(1_700_000_000_123_456_789);
    let at = |ms: u64| t0 + Duration::from_millis(ms);

    // A span of another trace, for a link to point at.
    let mut other = tracer
        .span_builder("enqueue order")
        .with_kind(Kind::Producer)
        .with_start_time(at(0))
        .start(&tracer);
    let other_context = other.span_context().clone();
    other.end_with_timestamp(at(1));

    let root = tracer
        .span_builder("POST /checkout")
        .with_kind(Kind::Server)
        .with_start_time(at(0))
        .with_attributes([
            Kv::new("http.request.method", "POST"),
            Kv::new("http.response.status_code", 500_i64),
            Kv::new("cart.total", 99.5_f64),
            Kv::new("cart.express", true),
            Kv::new(
                "cart.items",
                OtelValue::Array(Array::String(vec![
                    "sku-1".into(),
                    StringValue::from("sku-2"),
                ])),
            ),
            Kv::new("cart.quantities", OtelValue::Array(Array::I64(vec![1, 3]))),
            Kv::new(
                "cart.prices",
                OtelValue::Array(Array::F64(vec![9.5, 45.25])),
            ),
            Kv::new(
                "cart.gift",
                OtelValue::Array(Array::Bool(vec![false, true])),
            ),
        ])
        .start(&tracer);
    let root_cx = Context::new().with_span(root);
    let mut child = tracer
        .span_builder("charge card")
        .with_kind(Kind::Client)
        .with_start_time(at(2))
        .with_attributes([Kv::new("payment.provider", "acme-pay")])
        .with_links(vec![OtelLink::new(
            other_context.clone(),
            vec![Kv::new("link.reason", "order")],
            0,
        )])
        .start_with_context(&tracer, &root_cx);
    child.add_event_with_timestamp(
        "retry",
        at(3),
        vec![
            Kv::new("retry.attempt", 2_i64),
            Kv::new("retry.reason", "timeout"),
        ],
    );
    child.set_status(OtelStatus::error("card declined"));
    let child_cx = root_cx.with_span(child);
    let mut grandchild = tracer
        .span_builder("fraud check")
        .with_kind(Kind::Internal)
        .with_start_time(at(4))
        .start_with_context(&tracer, &child_cx);
    grandchild.end_with_timestamp(at(5));
    child_cx.span().end_with_timestamp(at(8));
    root_cx.span().end_with_timestamp(at(10));

    let trace = root_cx.span().span_context().trace_id().to_string();
    let root_id = root_cx.span().span_context().span_id().to_string();
    let child_id = child_cx.span().span_context().span_id().to_string();
    let grandchild_id = grandchild.span_context().span_id().to_string();
    let flushing = provider.clone();
    tokio::task::spawn_blocking(move || flushing.force_flush())
        .await
        .unwrap()
        .expect("force_flush");
    let stopping = provider.clone();
    tokio::task::spawn_blocking(move || stopping.shutdown())
        .await
        .unwrap()
        .expect("shutdown");

    let (status, body) = server.get_trace(&trace).await;
    assert_eq!(status, 200, "{body}");
    let resource_spans = body["resourceSpans"].as_array().unwrap();
    assert_eq!(resource_spans.len(), 1, "one resource: {body:#}");
    let scope_spans = resource_spans[0]["scopeSpans"].as_array().unwrap();
    assert_eq!(scope_spans.len(), 1, "one scope: {body:#}");
    assert_eq!(
        scope_spans[0]["spans"].as_array().unwrap().len(),
        3,
        "root, child and grandchild: {body:#}"
    );
    assert_eq!(
        scope_spans[0]["schemaUrl"],
        "https://opentelemetry.io/schemas/1.24.0"
    );
    assert_eq!(
        attr_map(&resource_spans[0]["resource"]["attributes"]),
        BTreeMap::from([
            (
                "service.name".to_owned(),
                json!({"stringValue": "checkout"})
            ),
            (
                "service.version".to_owned(),
                json!({"stringValue": "1.4.2"})
            ),
            ("host.cpus".to_owned(), json!({"intValue": "8"})),
        ])
    );
    let scope = &scope_spans[0]["scope"];
    assert_eq!(scope["name"], "checkout.handlers");
    assert_eq!(scope["version"], "0.9.0");
    assert_eq!(
        scope["attributes"],
        json!([{"key": "scope.kind", "value": {"stringValue": "http"}}])
    );

    // Ids are lowercase hex of the right length.
    assert_eq!(trace.len(), 32);
    for span in scope_spans[0]["spans"].as_array().unwrap() {
        assert_eq!(span["traceId"], trace.as_str());
        let id = span["spanId"].as_str().unwrap();
        assert!(
            id.len() == 16
                && id
                    .chars()
                    .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)),
            "{id}"
        );
    }
    let ns = |ms: u64| (1_700_000_000_123_456_789_u64 + ms * MS).to_string();

    let (_, _, root) = json_span(&body, &root_id);
    assert_eq!(root["name"], "POST /checkout");
    assert_eq!(root["parentSpanId"], "");
    assert_eq!(root["kind"], 2);
    assert_eq!(
        root["flags"], 0x101,
        "sampled, parent known not to be remote"
    );
    assert_eq!(root["startTimeUnixNano"], ns(0));
    assert_eq!(root["endTimeUnixNano"], ns(10));
    assert_eq!(
        root["attributes"],
        json!([
            {"key": "http.request.method", "value": {"stringValue": "POST"}},
            {"key": "http.response.status_code", "value": {"intValue": "500"}},
            {"key": "cart.total", "value": {"doubleValue": 99.5}},
            {"key": "cart.express", "value": {"boolValue": true}},
            {"key": "cart.items", "value": {"arrayValue": {"values": [{"stringValue": "sku-1"}, {"stringValue": "sku-2"}]}}},
            {"key": "cart.quantities", "value": {"arrayValue": {"values": [{"intValue": "1"}, {"intValue": "3"}]}}},
            {"key": "cart.prices", "value": {"arrayValue": {"values": [{"doubleValue": 9.5}, {"doubleValue": 45.25}]}}},
            {"key": "cart.gift", "value": {"arrayValue": {"values": [{"boolValue": false}, {"boolValue": true}]}}},
        ])
    );
    assert_eq!(
        root.get("status"),
        None,
        "an unset status reads back absent: {root:#}"
    );
    assert_eq!(root["events"], json!([]));
    assert_eq!(root["links"], json!([]));

    let (_, _, child) = json_span(&body, &child_id);
    assert_eq!(child["name"], "charge card");
    assert_eq!(child["parentSpanId"], root_id.as_str());
    assert_eq!(child["kind"], 3);
    assert_eq!(child["startTimeUnixNano"], ns(2));
    assert_eq!(child["endTimeUnixNano"], ns(8));
    assert_eq!(
        child["attributes"],
        json!([{"key": "payment.provider", "value": {"stringValue": "acme-pay"}}])
    );
    assert_eq!(
        child["status"],
        json!({"code": 2, "message": "card declined"})
    );
    let events = child["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{child:#}");
    assert_eq!(events[0]["name"], "retry");
    assert_eq!(events[0]["timeUnixNano"], ns(3));
    assert_eq!(
        events[0]["attributes"],
        json!([
            {"key": "retry.attempt", "value": {"intValue": "2"}},
            {"key": "retry.reason", "value": {"stringValue": "timeout"}},
        ])
    );
    let links = child["links"].as_array().unwrap();
    assert_eq!(links.len(), 1, "{child:#}");
    assert_eq!(links[0]["traceId"], other_context.trace_id().to_string());
    assert_eq!(links[0]["spanId"], other_context.span_id().to_string());
    assert_ne!(links[0]["traceId"], trace.as_str());
    assert_eq!(links[0]["flags"], 0x101);
    assert_eq!(
        links[0]["attributes"],
        json!([{"key": "link.reason", "value": {"stringValue": "order"}}])
    );

    let (_, _, grandchild) = json_span(&body, &grandchild_id);
    assert_eq!(grandchild["name"], "fraud check");
    assert_eq!(grandchild["parentSpanId"], child_id.as_str());
    assert_eq!(grandchild["kind"], 1);
    assert_eq!(grandchild["startTimeUnixNano"], ns(4));
    assert_eq!(grandchild["endTimeUnixNano"], ns(5));

    // The linked span is a trace of its own.
    let (status, other_body) = server
        .get_trace(&other_context.trace_id().to_string())
        .await;
    assert_eq!(status, 200, "{other_body}");
    let (_, _, other) = json_span(&other_body, &other_context.span_id().to_string());
    assert_eq!(other["name"], "enqueue order");
    assert_eq!(other["kind"], 4);
    assert_eq!(other["startTimeUnixNano"], ns(0));
    assert_eq!(other["endTimeUnixNano"], ns(1));
}

#[tokio::test]
async fn otlp_grpc_requests_with_gzip_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]).await;
    let sent = rich_request(1);

    let mut client = grpc_client(&server)
        .await
        .send_compressed(tonic::codec::CompressionEncoding::Gzip);
    let request = tonic::Request::new(sent.clone());
    assert!(request.metadata().get("x-scope-orgid").is_none());
    let response = client
        .export(request)
        .await
        .expect("gzip-compressed export")
        .into_inner();
    assert_eq!(response.partial_success, None, "{response:?}");

    assert_reads_back(&server, &sent, &trace_id(1)).await;
    // The span linked from the root is in a trace nobody wrote.
    let (status, body) = server.get_trace(&hex_id(&trace_id(101))).await;
    assert_eq!(status, 404, "{body}");
}

#[tokio::test]
async fn otlp_http_protobuf_round_trips() {
    use std::io::Write;

    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]).await;
    let client = reqwest::Client::new();

    let plain = rich_request(2);
    let response = client
        .post(server.otlp_http_url())
        .header("Content-Type", "application/x-protobuf")
        .body(plain.encode_to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/x-protobuf");
    let decoded = ExportTraceServiceResponse::decode(response.bytes().await.unwrap())
        .expect("protobuf response");
    assert_eq!(decoded.partial_success, None);

    let compressed = rich_request(3);
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gzip.write_all(&compressed.encode_to_vec()).unwrap();
    let response = client
        .post(server.otlp_http_url())
        .header("Content-Type", "application/x-protobuf")
        .header("Content-Encoding", "gzip")
        .body(gzip.finish().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let decoded = ExportTraceServiceResponse::decode(response.bytes().await.unwrap())
        .expect("protobuf response");
    assert_eq!(decoded.partial_success, None);

    assert_reads_back(&server, &plain, &trace_id(2)).await;
    assert_reads_back(&server, &compressed, &trace_id(3)).await;
}

#[tokio::test]
async fn otlp_http_json_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]).await;
    let client = reqwest::Client::new();

    // The example from the OTLP specification repository, byte for byte (uppercase hex ids).
    let official = std::fs::read(fixture("otlp/trace.json")).unwrap();
    let response = client
        .post(server.otlp_http_url())
        .header("Content-Type", "application/json")
        .body(official)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let body: Json = response.json().await.unwrap();
    assert_eq!(body.get("partialSuccess"), None, "{body}");

    let (status, body) = server.get_trace("5b8efff798038103d269b633813fc60c").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"resourceSpans": [{
            "resource": {
                "attributes": [{"key": "service.name", "value": {"stringValue": "my.service"}}],
                "droppedAttributesCount": 0,
                "entityRefs": [],
            },
            "scopeSpans": [{
                "scope": {
                    "name": "my.library",
                    "version": "1.0.0",
                    "attributes": [{"key": "my.scope.attribute", "value": {"stringValue": "some scope attribute"}}],
                    "droppedAttributesCount": 0,
                },
                "spans": [{
                    "traceId": "5b8efff798038103d269b633813fc60c",
                    "spanId": "eee19b7ec3c1b174",
                    "traceState": "",
                    "parentSpanId": "eee19b7ec3c1b173",
                    "flags": 0,
                    "name": "I'm a server span",
                    "kind": 2,
                    "startTimeUnixNano": "1544712660000000000",
                    "endTimeUnixNano": "1544712661000000000",
                    "attributes": [{"key": "my.span.attr", "value": {"stringValue": "some value"}}],
                    "droppedAttributesCount": 0,
                    "events": [],
                    "droppedEventsCount": 0,
                    "links": [],
                    "droppedLinksCount": 0,
                }],
                "schemaUrl": "",
            }],
            "schemaUrl": "",
        }]})
    );

    // Hand-written OTLP/JSON: integers as JSON numbers and as strings, times as numbers, and fields this server
    // does not know (which OTLP/JSON receivers must ignore).
    let hand_written = json!({
        "resourceSpans": [{
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "json-client"}}]},
            "futureResourceSpansField": {"anything": [1, 2, 3]},
            "scopeSpans": [{
                "scope": {"name": "hand", "futureScopeField": true},
                "spans": [{
                    "traceId": "0af7651916cd43dd8448eb211c80319c",
                    "spanId": "b7ad6b7169203331",
                    "name": "numbers",
                    "kind": 1,
                    "startTimeUnixNano": 1_700_000_000_000_000_000_u64,
                    "endTimeUnixNano": "1700000000500000000",
                    "attributes": [
                        {"key": "as.number", "value": {"intValue": 42}},
                        {"key": "as.string", "value": {"intValue": "42"}},
                        {"key": "negative", "value": {"intValue": -5}},
                        {"key": "big.string", "value": {"intValue": "9007199254740993"}},
                        {"key": "unknown.value.field", "value": {"stringValue": "kept", "futureValueField": 1}},
                    ],
                    "events": [{"timeUnixNano": 1_700_000_000_100_000_000_u64, "name": "tick", "futureEventField": {}}],
                    "futureSpanField": "ignored",
                }],
            }],
        }],
        "futureTopLevelField": null,
    });
    let response = client
        .post(server.otlp_http_url())
        .json(&hand_written)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());

    let (status, body) = server.get_trace("0af7651916cd43dd8448eb211c80319c").await;
    assert_eq!(status, 200, "{body}");
    let (resource, scope, span) = json_span(&body, "b7ad6b7169203331");
    assert_eq!(
        attr_map(&resource["attributes"])["service.name"],
        json!({"stringValue": "json-client"})
    );
    assert_eq!(scope["name"], "hand");
    assert_eq!(span["name"], "numbers");
    assert_eq!(span["kind"], 1);
    assert_eq!(span["startTimeUnixNano"], "1700000000000000000");
    assert_eq!(span["endTimeUnixNano"], "1700000000500000000");
    assert_eq!(
        span["attributes"],
        json!([
            {"key": "as.number", "value": {"intValue": "42"}},
            {"key": "as.string", "value": {"intValue": "42"}},
            {"key": "negative", "value": {"intValue": "-5"}},
            {"key": "big.string", "value": {"intValue": "9007199254740993"}},
            {"key": "unknown.value.field", "value": {"stringValue": "kept"}},
        ])
    );
    assert_eq!(
        span["events"],
        json!([{"timeUnixNano": "1700000000100000000", "name": "tick", "attributes": [], "droppedAttributesCount": 0}])
    );
}

/// Zipkin v2 kinds and their OTLP numbers.
fn otlp_kind(zipkin_kind: Option<&str>) -> i64 {
    match zipkin_kind {
        Some("CLIENT") => 3,
        Some("SERVER") => 2,
        Some("PRODUCER") => 4,
        Some("CONSUMER") => 5,
        None => 0,
        Some(other) => panic!("unexpected kind {other}"),
    }
}

/// Zipkin fixtures: (file name, spans).
fn zipkin_fixtures() -> Vec<(String, Vec<Json>)> {
    let mut files: Vec<_> = std::fs::read_dir(fixture("zipkin"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{files:?}");
    files
        .into_iter()
        .map(|path| {
            let spans: Vec<Json> = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                spans,
            )
        })
        .collect()
}

/// Checks one read-back span against the Zipkin span it came from.
fn assert_matches_zipkin(file: &str, zipkin: &Json, resource: &Json, span: &Json) {
    let context = format!("{file}: span {}: {span:#}", zipkin["id"]);
    let trace = zipkin["traceId"].as_str().unwrap();
    assert_eq!(span["traceId"], format!("{trace:0>32}"), "{context}");
    assert_eq!(span["spanId"], zipkin["id"], "{context}");
    let parent = zipkin["parentId"]
        .as_str()
        .filter(|p| *p != zipkin["id"])
        .unwrap_or("");
    assert_eq!(span["parentSpanId"], parent, "{context}");
    assert_eq!(span["name"], zipkin["name"], "{context}");
    assert_eq!(
        span["kind"],
        otlp_kind(zipkin["kind"].as_str()),
        "{context}"
    );
    let start = zipkin["timestamp"].as_u64().unwrap();
    let duration = zipkin["duration"].as_u64().unwrap();
    assert_eq!(
        span["startTimeUnixNano"],
        (start * 1000).to_string(),
        "{context}"
    );
    assert_eq!(
        span["endTimeUnixNano"],
        ((start + duration) * 1000).to_string(),
        "{context}"
    );
    let service = zipkin["localEndpoint"]["serviceName"]
        .as_str()
        .unwrap_or("unknown_service");
    assert_eq!(
        attr_map(&resource["attributes"])["service.name"],
        json!({"stringValue": service}),
        "{context}"
    );

    let attributes = attr_map(&span["attributes"]);
    let tags = zipkin["tags"].as_object().cloned().unwrap_or_default();
    for (key, value) in &tags {
        if key == "error" {
            let message = value.as_str().unwrap();
            assert_eq!(
                span["status"],
                json!({"code": 2, "message": message}),
                "{context}"
            );
            assert!(!attributes.contains_key("error"), "{context}");
        } else {
            assert_eq!(
                attributes.get(key),
                Some(&json!({"stringValue": value})),
                "tag {key}: {context}"
            );
        }
    }
    if !tags.contains_key("error") {
        assert_eq!(span.get("status"), None, "{context}");
    }
    if let Some(peer) = zipkin["remoteEndpoint"]["serviceName"].as_str() {
        assert_eq!(
            attributes.get("peer.service"),
            Some(&json!({"stringValue": peer})),
            "{context}"
        );
    }
    let annotations = zipkin["annotations"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let events: Vec<Json> = annotations
        .iter()
        .map(|a| {
            json!({
                "timeUnixNano": (a["timestamp"].as_u64().unwrap() * 1000).to_string(),
                "name": a["value"],
                "attributes": [],
                "droppedAttributesCount": 0,
            })
        })
        .collect();
    assert_eq!(span["events"], Json::Array(events), "{context}");
}

#[tokio::test]
async fn zipkin_fixtures_read_back_with_their_ids_times_and_tags() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]).await;
    let client = reqwest::Client::new();
    let fixtures = zipkin_fixtures();
    for (file, _) in &fixtures {
        let response = client
            .post(server.zipkin_url())
            .header("Content-Type", "application/json")
            .body(std::fs::read(fixture(&format!("zipkin/{file}"))).unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            202,
            "{file}: {}",
            response.text().await.unwrap()
        );
        assert!(
            response
                .headers()
                .get("x-tracewell-rejected-spans")
                .is_none(),
            "{file}"
        );
    }

    let mut checked = 0;
    for (file, spans) in &fixtures {
        // Shared spans (a client and a server half with one span id) have a test of their own below.
        let mut id_counts: BTreeMap<&str, usize> = BTreeMap::new();
        for span in spans {
            *id_counts.entry(span["id"].as_str().unwrap()).or_default() += 1;
        }
        let traces: BTreeSet<&str> = spans
            .iter()
            .map(|s| s["traceId"].as_str().unwrap())
            .collect();
        for trace in traces {
            let padded = format!("{trace:0>32}");
            let (status, body) = server.get_trace(&padded).await;
            assert_eq!(status, 200, "{file}: trace {padded}: {body}");
            // The 64-bit form of the id finds the same trace.
            assert_eq!(
                server.get_trace(trace).await,
                (200, body.clone()),
                "{file}: trace {trace}"
            );
            let read = json_spans(&body);
            let expected_ids: BTreeSet<&str> = spans
                .iter()
                .filter(|s| s["traceId"] == trace)
                .map(|s| s["id"].as_str().unwrap())
                .collect();
            let read_ids: BTreeSet<&str> = read
                .iter()
                .map(|(_, _, s)| s["spanId"].as_str().unwrap())
                .collect();
            assert_eq!(read_ids, expected_ids, "{file}: span ids of trace {trace}");
            for zipkin in spans
                .iter()
                .filter(|s| s["traceId"] == trace && id_counts[s["id"].as_str().unwrap()] == 1)
            {
                let (resource, _, span) = json_span(&body, zipkin["id"].as_str().unwrap());
                assert_matches_zipkin(file, zipkin, resource, span);
                checked += 1;
            }
        }
    }
    // Every fixture span but the 8 halves of the 4 shared spans (skew.json: 1, yelp.json: 3).
    let total: usize = fixtures.iter().map(|(_, spans)| spans.len()).sum();
    assert_eq!(checked, total - 8);
}

#[tokio::test]
async fn both_halves_of_a_shared_zipkin_span_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]).await;
    let client = reqwest::Client::new();
    for (file, spans) in zipkin_fixtures() {
        let shared: Vec<&Json> = spans
            .iter()
            .filter(|s| {
                spans
                    .iter()
                    .filter(|o| o["id"] == s["id"] && o["traceId"] == s["traceId"])
                    .count()
                    > 1
            })
            .collect();
        if shared.is_empty() {
            continue;
        }
        let response = client
            .post(server.zipkin_url())
            .header("Content-Type", "application/json")
            .body(std::fs::read(fixture(&format!("zipkin/{file}"))).unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 202, "{file}");
        for zipkin in shared {
            let (status, body) = server.get_trace(zipkin["traceId"].as_str().unwrap()).await;
            assert_eq!(status, 200, "{file}: {body}");
            let want_kind = otlp_kind(zipkin["kind"].as_str());
            let halves: Vec<_> = json_spans(&body)
                .into_iter()
                .filter(|(_, _, s)| s["spanId"] == zipkin["id"] && s["kind"] == want_kind)
                .collect();
            assert_eq!(
                halves.len(),
                1,
                "{file}: the {} half of shared span {} is missing",
                zipkin["kind"],
                zipkin["id"]
            );
            let (resource, _, span) = halves[0];
            assert_matches_zipkin(&file, zipkin, resource, span);
            assert_eq!(
                attr_map(&span["attributes"]).contains_key("zipkin.shared"),
                zipkin["shared"] == true
            );
        }
    }
}

#[tokio::test]
async fn tenants_are_isolated() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]).await;
    let trace = trace_id(4);
    let trace_hex = hex_id(&trace);

    // team-a writes over HTTP, with the header.
    let team_a = rich_request(4);
    let response = reqwest::Client::new()
        .post(server.otlp_http_url())
        .header("Content-Type", "application/x-protobuf")
        .header("X-Scope-OrgID", "team-a")
        .body(team_a.encode_to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let (status, body) = get_trace_as(&server, &trace_hex, Some("team-a")).await;
    assert_eq!(status, 200, "{body}");
    let got: TracesData = serde_json::from_value(body).unwrap();
    assert_eq!(rows(&got.resource_spans), rows_of_trace(&team_a, &trace));
    for other in [Some("team-b"), None] {
        let (status, body) = get_trace_as(&server, &trace_hex, other).await;
        assert_eq!(
            status, 404,
            "tenant {other:?} must not see team-a's trace: {body}"
        );
        assert_eq!(body["status"], 404);
        assert!(
            body["error"].as_str().unwrap().contains(&trace_hex),
            "{body}"
        );
    }

    // team-b writes the same trace id over gRPC, with metadata, and different spans.
    let mut team_b = rich_request(4);
    team_b.resource_spans.truncate(1);
    team_b.resource_spans[0].scope_spans.truncate(1);
    team_b.resource_spans[0].scope_spans[0].spans.truncate(1);
    team_b.resource_spans[0].scope_spans[0].spans[0].name = "team-b's own root".into();
    let mut request = tonic::Request::new(team_b.clone());
    request
        .metadata_mut()
        .insert("x-scope-orgid", "team-b".parse().unwrap());
    let response = grpc_client(&server)
        .await
        .export(request)
        .await
        .expect("export as team-b")
        .into_inner();
    assert_eq!(response.partial_success, None);

    let (status, body) = get_trace_as(&server, &trace_hex, Some("team-b")).await;
    assert_eq!(status, 200, "{body}");
    let got: TracesData = serde_json::from_value(body).unwrap();
    assert_eq!(rows(&got.resource_spans), rows_of_trace(&team_b, &trace));
    // team-a still sees exactly its own spans, and the default tenant still nothing.
    let (status, body) = get_trace_as(&server, &trace_hex, Some("team-a")).await;
    assert_eq!(status, 200);
    let got: TracesData = serde_json::from_value(body).unwrap();
    assert_eq!(rows(&got.resource_spans), rows_of_trace(&team_a, &trace));
    assert_eq!(get_trace_as(&server, &trace_hex, None).await.0, 404);

    // The default tenant is a tenant like any other.
    let default = rich_request(5);
    export_grpc(&server, default.clone()).await;
    assert_reads_back(&server, &default, &trace_id(5)).await;
    for other in ["team-a", "team-b"] {
        assert_eq!(
            get_trace_as(&server, &hex_id(&trace_id(5)), Some(other))
                .await
                .0,
            404,
            "{other}"
        );
    }
}

#[tokio::test]
async fn data_survives_a_graceful_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path(), &[]).await;
    let sent = rich_request(6);
    export_grpc(&server, sent.clone()).await;
    // A Zipkin trace too (one without shared span ids: see `both_halves_of_a_shared_zipkin_span_read_back`).
    let zipkin = std::fs::read(fixture("zipkin/messaging-kafka.json")).unwrap();
    let response = reqwest::Client::new()
        .post(server.zipkin_url())
        .header("Content-Type", "application/json")
        .body(zipkin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    assert_reads_back(&server, &sent, &trace_id(6)).await;
    let (status, zipkin_before) = server.get_trace("0562809467078eab").await;
    assert_eq!(status, 200);
    assert_eq!(json_spans(&zipkin_before).len(), 28, "{zipkin_before:#}");
    let (_, rich_before) = server.get_trace(&hex_id(&trace_id(6))).await;

    let status = server.terminate();
    assert!(
        status.success(),
        "exit status {status:?}; logs:\n{}",
        server.logs()
    );
    let blocks = dir.path().join("blocks/single-tenant/v2");
    let parquet: Vec<_> = std::fs::read_dir(&blocks)
        .unwrap_or_else(|e| panic!("{}: {e}", blocks.display()))
        .map(|e| e.unwrap().path().join("data.parquet"))
        .filter(|p| p.is_file())
        .collect();
    assert!(
        !parquet.is_empty(),
        "no block written under {}",
        blocks.display()
    );

    let server = Server::start(dir.path(), &[]).await;
    assert_reads_back(&server, &sent, &trace_id(6)).await;
    assert_eq!(
        server.get_trace(&hex_id(&trace_id(6))).await,
        (200, rich_before)
    );
    assert_eq!(
        server.get_trace("0562809467078eab").await,
        (200, zipkin_before)
    );
}

#[tokio::test]
#[ignore = "server bug: the read API renders non-finite doubles as empty values: otlp::to_json goes through \
            serde_json::to_value, which turns NaN and infinities into null, and strip_nulls then deletes them; \
            OTLP/JSON encodes them as the strings \"NaN\", \"Infinity\" and \"-Infinity\", which the OTLP/JSON \
            receiver also refuses with 400"]
async fn non_finite_double_attributes_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]).await;
    let mut sent = rich_request(7);
    sent.resource_spans.truncate(1);
    sent.resource_spans[0].scope_spans.truncate(1);
    sent.resource_spans[0].scope_spans[0].spans.truncate(1);
    let span = &mut sent.resource_spans[0].scope_spans[0].spans[0];
    span.attributes = vec![
        kv("nan", Value::DoubleValue(f64::NAN)),
        kv("infinity", Value::DoubleValue(f64::INFINITY)),
        kv("negative.infinity", Value::DoubleValue(f64::NEG_INFINITY)),
        kv("negative.zero", Value::DoubleValue(-0.0)),
    ];
    export_grpc(&server, sent).await;
    let (status, body) = server.get_trace(&hex_id(&trace_id(7))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["attributes"],
        json!([
            {"key": "nan", "value": {"doubleValue": "NaN"}},
            {"key": "infinity", "value": {"doubleValue": "Infinity"}},
            {"key": "negative.infinity", "value": {"doubleValue": "-Infinity"}},
            {"key": "negative.zero", "value": {"doubleValue": -0.0}},
        ])
    );

    // The same values in OTLP/JSON, as a client writes them.
    let trace = "0102030405060708090a0b0c0d0e0f10";
    let body = json!({"resourceSpans": [{"scopeSpans": [{"spans": [{
        "traceId": trace,
        "spanId": "0102030405060708",
        "name": "non-finite",
        "attributes": [
            {"key": "nan", "value": {"doubleValue": "NaN"}},
            {"key": "infinity", "value": {"doubleValue": "Infinity"}},
            {"key": "negative.infinity", "value": {"doubleValue": "-Infinity"}},
        ],
    }]}]}]});
    let response = reqwest::Client::new()
        .post(server.otlp_http_url())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let (status, body) = server.get_trace(trace).await;
    assert_eq!(status, 200, "{body}");
    let got: TracesData = serde_json::from_value(body).unwrap();
    let attributes = &got.resource_spans[0].scope_spans[0].spans[0].attributes;
    let doubles: Vec<Option<f64>> = attributes
        .iter()
        .map(|a| match a.value.as_ref().and_then(|v| v.value.as_ref()) {
            Some(Value::DoubleValue(d)) => Some(*d),
            _ => None,
        })
        .collect();
    assert!(doubles[0].is_some_and(f64::is_nan), "{doubles:?}");
    assert_eq!(
        &doubles[1..],
        [Some(f64::INFINITY), Some(f64::NEG_INFINITY)]
    );
}
