//! Tests of the v1 block format: exact round trips, trace lookups with pruning, statistics and corrupt files.

use std::sync::Arc;

use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use tracewell_model::{
    AttrValue, Attribute, Event, Link, Resource, Scope, Span, SpanId, SpanKind, Status, StatusCode,
    TraceId,
};

use super::read::plan_trace_read_for_test;
use super::schema::PAGE_ROWS;
use super::*;
use crate::error::StoreError;

/// splitmix64: deterministic test data without a rand dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn trace_id(&mut self) -> TraceId {
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&self.next().to_be_bytes());
        id[8..].copy_from_slice(&self.next().to_be_bytes());
        TraceId(id)
    }

    fn span_id(&mut self) -> SpanId {
        SpanId(self.next().to_be_bytes())
    }
}

fn s(key: &str, v: &str) -> Attribute {
    Attribute::str(key, v)
}

fn i(key: &str, v: i64) -> Attribute {
    Attribute::new(key, AttrValue::Int(v))
}

fn resource(service: &str, instance: u64) -> Arc<Resource> {
    Arc::new(Resource::new(
        vec![
            s("service.name", service),
            s("service.version", "1.14.2"),
            s("service.instance.id", &format!("{service}-{instance:04x}")),
            s("host.name", &format!("node-{}", instance % 7)),
            s("k8s.namespace.name", "shop"),
            s("k8s.pod.name", &format!("{service}-7f9c8d-{instance:05}")),
            s("deployment.environment.name", "production"),
            s("telemetry.sdk.name", "opentelemetry"),
            s("telemetry.sdk.language", "java"),
            s("telemetry.sdk.version", "1.42.0"),
        ],
        0,
        "https://opentelemetry.io/schemas/1.26.0".into(),
    ))
}

fn scope(name: &str) -> Arc<Scope> {
    Arc::new(Scope {
        name: name.into(),
        version: "2.8.0".into(),
        ..Scope::default()
    })
}

const SERVICES: [&str; 6] = [
    "frontend",
    "checkout",
    "cart",
    "payment",
    "inventory",
    "shipping",
];

/// Spans shaped like a small microservice shop: HTTP servers and clients, database calls, messaging.
fn realistic_spans(traces: usize, seed: u64) -> Vec<Span> {
    let mut rng = Rng(seed);
    let resources: Vec<_> = SERVICES
        .iter()
        .enumerate()
        .map(|(n, svc)| resource(svc, n as u64))
        .collect();
    let (http, jdbc) = (
        scope("io.opentelemetry.http"),
        scope("io.opentelemetry.jdbc"),
    );
    let base = 1_760_000_000_000_000_000u64;
    let mut spans = Vec::new();
    for _ in 0..traces {
        let trace_id = rng.trace_id();
        let start = base + rng.below(600_000_000_000);
        let root = rng.span_id();
        let children = 4 + rng.below(12);
        for n in 0..=children {
            let svc = if n == 0 { 0 } else { 1 + rng.below(5) as usize };
            let offset = if n == 0 { 0 } else { rng.below(50_000_000) };
            let mut span = Span {
                trace_id,
                span_id: if n == 0 { root } else { rng.span_id() },
                parent_span_id: (n > 0).then_some(root),
                flags: 1,
                start_unix_nano: start + offset,
                end_unix_nano: start + offset + 100_000 + rng.below(80_000_000),
                resource: Arc::clone(&resources[svc]),
                scope: Arc::clone(&http),
                ..Span::default()
            };
            match rng.below(3) {
                0 => {
                    let route = [
                        "/api/cart",
                        "/api/checkout",
                        "/api/products/{id}",
                        "/health",
                    ][rng.below(4) as usize];
                    span.name = format!("GET {route}");
                    span.kind = if n == 0 {
                        SpanKind::Server
                    } else {
                        SpanKind::Client
                    };
                    let code = [200, 200, 200, 201, 404, 500][rng.below(6) as usize];
                    span.attributes = vec![
                        s("http.request.method", "GET"),
                        s("http.route", route),
                        s(
                            "url.path",
                            &route.replace("{id}", &rng.below(5000).to_string()),
                        ),
                        i("http.response.status_code", code),
                        s("server.address", SERVICES[svc]),
                        i("server.port", 8080),
                        s("network.protocol.version", "1.1"),
                    ];
                    if code >= 500 {
                        span.status = Status {
                            code: StatusCode::Error,
                            message: "Internal Server Error".into(),
                        };
                    }
                }
                1 => {
                    span.name = "SELECT shop.orders".into();
                    span.kind = SpanKind::Client;
                    span.scope = Arc::clone(&jdbc);
                    span.attributes = vec![
                        s("db.system", "postgresql"),
                        s("db.operation.name", "SELECT"),
                        s(
                            "db.query.text",
                            "SELECT id, total FROM orders WHERE customer_id = ? LIMIT 20",
                        ),
                        s("server.address", "orders-db"),
                        i("db.response.returned_rows", rng.below(20) as i64),
                    ];
                }
                _ => {
                    span.name = "process order".into();
                    span.kind = SpanKind::Internal;
                    span.attributes = vec![
                        s("order.id", &format!("ord-{}", rng.below(1 << 20))),
                        i("items", 3),
                    ];
                    if rng.below(10) == 0 {
                        span.events.push(Event {
                            time_unix_nano: span.start_unix_nano + 1000,
                            name: "exception".into(),
                            attributes: vec![s(
                                "exception.type",
                                "java.lang.IllegalStateException",
                            )],
                            dropped_attributes_count: 0,
                        });
                    }
                }
            }
            spans.push(span);
        }
    }
    spans
}

fn value_zoo() -> Vec<Attribute> {
    vec![
        s("str", "héllo ✓"),
        s("empty.str", ""),
        Attribute::new("bool", AttrValue::Bool(true)),
        i("int.min", i64::MIN),
        Attribute::new("double", AttrValue::Double(-0.0)),
        Attribute::new("double.inf", AttrValue::Double(f64::INFINITY)),
        Attribute::new("bytes", AttrValue::Bytes(vec![0, 1, 255])),
        Attribute::new("bytes.empty", AttrValue::Bytes(vec![])),
        Attribute::new(
            "array",
            AttrValue::Array(vec![
                AttrValue::Int(1),
                AttrValue::Str("two".into()),
                AttrValue::Empty,
                AttrValue::Map(vec![
                    s("k", "v"),
                    Attribute::new("nested", AttrValue::Array(vec![])),
                ]),
            ]),
        ),
        Attribute::new(
            "map",
            AttrValue::Map(vec![i("a", 1), Attribute::new("b", AttrValue::Empty)]),
        ),
        Attribute::new("map.empty", AttrValue::Map(vec![])),
        Attribute::new("empty", AttrValue::Empty),
    ]
}

/// Spans exercising every field and value kind, given out of order.
fn varied_spans() -> Vec<Span> {
    let mut rng = Rng(7);
    let odd_resource = Arc::new(Resource {
        service_name: "odd".into(),
        attributes: value_zoo(),
        dropped_attributes_count: 3,
        schema_url: "https://example.com/schema".into(),
    });
    let bare = Arc::new(Resource {
        service_name: "unknown_service".into(),
        ..Resource::default()
    });
    let odd_scope = Arc::new(Scope {
        name: "lib".into(),
        version: String::new(),
        attributes: vec![s("scope.attr", "x")],
        dropped_attributes_count: 1,
        schema_url: "https://example.com/scope".into(),
    });
    let hot_mix = vec![
        s("custom", "first"),
        s("http.route", "/users/{id}"),
        i("retry", 2),
        s("http.response.status_code", "500"),
        i("http.response.status_code", 500),
        Attribute::new("db.system", AttrValue::Int(3)),
        s("http.route", "/duplicate"),
        s("url.path", "/users/42"),
        Attribute::new("rpc.method", AttrValue::Empty),
        s("peer.service", "billing"),
    ];
    let trace = rng.trace_id();
    let kinds = [
        SpanKind::Unspecified,
        SpanKind::Internal,
        SpanKind::Server,
        SpanKind::Client,
        SpanKind::Producer,
    ];
    let mut spans = Vec::new();
    for (n, kind) in kinds.into_iter().enumerate() {
        let n = n as u64;
        spans.push(Span {
            trace_id: if n == 4 { rng.trace_id() } else { trace },
            span_id: rng.span_id(),
            parent_span_id: (n % 2 == 1).then(|| rng.span_id()),
            trace_state: if n == 1 {
                "vendor=a:b".into()
            } else {
                String::new()
            },
            flags: n as u32 * 257,
            name: format!("op {n} ✓"),
            kind,
            start_unix_nano: 1_000 + (4 - n) * 10,
            end_unix_nano: 1_000 + (4 - n) * 10 + n * 7,
            attributes: match n {
                0 => hot_mix.clone(),
                1 => value_zoo(),
                2 => vec![],
                _ => [value_zoo(), hot_mix.clone()].concat(),
            },
            dropped_attributes_count: n as u32,
            events: (0..n)
                .map(|e| Event {
                    time_unix_nano: e,
                    name: format!("e{e}"),
                    attributes: hot_mix.clone(),
                    dropped_attributes_count: 1,
                })
                .collect(),
            dropped_events_count: 2,
            links: vec![Link {
                trace_id: rng.trace_id(),
                span_id: rng.span_id(),
                trace_state: "t=1".into(),
                attributes: value_zoo(),
                dropped_attributes_count: 4,
                flags: 256,
            }],
            dropped_links_count: 5,
            status: Status {
                code: [StatusCode::Unset, StatusCode::Ok, StatusCode::Error][n as usize % 3],
                message: if n == 2 { "boom".into() } else { String::new() },
            },
            resource: if n < 2 {
                Arc::clone(&odd_resource)
            } else {
                Arc::clone(&bare)
            },
            scope: if n == 3 {
                Arc::clone(&odd_scope)
            } else {
                Arc::new(Scope::default())
            },
        });
    }
    spans
}

fn sorted(mut spans: Vec<Span>) -> Vec<Span> {
    spans.sort_by_key(|s| (s.trace_id, s.start_unix_nano, s.span_id));
    spans
}

async fn stored(bytes: bytes::Bytes) -> (Arc<dyn ObjectStore>, Path) {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let path = Path::from("tenant/blocks/v1/01JTESTBLOCK/data.parquet");
    store
        .put(&path, PutPayload::from(bytes))
        .await
        .expect("put");
    (store, path)
}

async fn write_and_store(
    spans: Vec<Span>,
    opts: &WriteOptions,
) -> (Arc<dyn ObjectStore>, Path, BlockStats) {
    let (bytes, stats) = write_block(spans, opts).expect("write_block");
    let (store, path) = stored(bytes).await;
    (store, path, stats)
}

#[tokio::test]
async fn spans_round_trip_exactly() {
    let mut input = varied_spans();
    input.extend(realistic_spans(40, 1));
    input.reverse();
    let opts = WriteOptions {
        row_group_spans: 64,
        ..WriteOptions::default()
    };
    let (store, path, _) = write_and_store(input.clone(), &opts).await;
    let read = read_all(store, &path).await.expect("read_all");
    let expected = sorted(input);
    assert_eq!(read.len(), expected.len());
    for (got, want) in read.iter().zip(&expected) {
        assert_eq!(got, want);
    }
    for pair in read.windows(2) {
        if pair[0].resource == pair[1].resource {
            assert!(
                Arc::ptr_eq(&pair[0].resource, &pair[1].resource),
                "equal consecutive resources share an Arc"
            );
        }
        if pair[0].scope == pair[1].scope {
            assert!(
                Arc::ptr_eq(&pair[0].scope, &pair[1].scope),
                "equal consecutive scopes share an Arc"
            );
        }
    }
}

#[tokio::test]
async fn read_trace_returns_exactly_one_trace() {
    let input = realistic_spans(500, 2);
    assert!(input.len() > 4000, "{} spans", input.len());
    let opts = WriteOptions {
        row_group_spans: 2000,
        ..WriteOptions::default()
    };
    let (store, path, _) = write_and_store(input.clone(), &opts).await;
    let expected = sorted(input);
    for pick in [0, 1234, 2500, expected.len() - 1] {
        let id = expected[pick].trace_id;
        let want: Vec<_> = expected
            .iter()
            .filter(|s| s.trace_id == id)
            .cloned()
            .collect();
        let got = read_trace(Arc::clone(&store), &path, id)
            .await
            .expect("read_trace");
        assert_eq!(got, want, "trace {id}");
        let (groups, selected) = plan_trace_read_for_test(Arc::clone(&store), &path, id).await;
        assert!(groups.len() <= 2, "row groups {groups:?}");
        assert!(selected <= 2 * PAGE_ROWS, "{selected} rows selected");
    }
    let absent = Rng(99).trace_id();
    assert!(read_trace(Arc::clone(&store), &path, absent)
        .await
        .expect("absent")
        .is_empty());
    let (groups, _) = plan_trace_read_for_test(Arc::clone(&store), &path, absent).await;
    assert!(
        groups.len() <= 1,
        "statistics or bloom filters prune an absent trace: {groups:?}"
    );
}

#[tokio::test]
async fn stats_describe_the_block() {
    let input = realistic_spans(30, 3);
    let (_, stats) = write_block(input.clone(), &WriteOptions::default()).expect("write");
    let expected = sorted(input.clone());
    assert_eq!(stats.span_count, input.len() as u64);
    assert_eq!(stats.trace_count, 30);
    assert_eq!(
        stats.min_start_unix_nano,
        input.iter().map(|s| s.start_unix_nano).min().unwrap()
    );
    assert_eq!(
        stats.max_end_unix_nano,
        input.iter().map(|s| s.end_unix_nano).max().unwrap()
    );
    assert_eq!(stats.min_trace_id, expected[0].trace_id.to_hex());
    assert_eq!(
        stats.max_trace_id,
        expected[expected.len() - 1].trace_id.to_hex()
    );
    let mut services: Vec<String> = input.iter().map(|s| s.service_name().to_owned()).collect();
    services.sort();
    services.dedup();
    assert_eq!(stats.services, services);
    assert!(
        stats
            .operations
            .contains(&("frontend".into(), "GET /health".into()))
            || stats.operations.len() > 3
    );
    assert!(
        stats.operations.windows(2).all(|w| w[0] < w[1]),
        "sorted and distinct"
    );
    let all_ops: std::collections::BTreeSet<_> = input
        .iter()
        .map(|s| (s.service_name().to_owned(), s.name.clone()))
        .collect();
    assert_eq!(stats.operations, all_ops.into_iter().collect::<Vec<_>>());
}

#[tokio::test]
async fn empty_blocks_are_valid() {
    let (store, path, stats) = write_and_store(Vec::new(), &WriteOptions::default()).await;
    assert_eq!(stats, BlockStats::default());
    assert!(read_all(Arc::clone(&store), &path)
        .await
        .expect("read_all")
        .is_empty());
    assert!(read_trace(store, &path, Rng(1).trace_id())
        .await
        .expect("read_trace")
        .is_empty());
}

#[tokio::test]
async fn truncated_or_garbage_files_are_errors_not_panics() {
    let (bytes, _) = write_block(realistic_spans(100, 4), &WriteOptions::default()).expect("write");
    let id = realistic_spans(1, 4)[0].trace_id;
    let mut garbage = vec![0xA5u8; 4096];
    garbage[4092..].copy_from_slice(b"PAR1");
    let cases = [
        Vec::new(),
        b"not a parquet file".to_vec(),
        garbage,
        bytes[..bytes.len() / 2].to_vec(),
        bytes[..bytes.len() - 9].to_vec(),
        bytes[8..].to_vec(),
    ];
    for case in cases {
        let (store, path) = stored(case.into()).await;
        assert!(read_all(Arc::clone(&store), &path).await.is_err());
        assert!(read_trace(store, &path, id).await.is_err());
    }
}

#[tokio::test]
async fn flipped_bytes_never_panic() {
    let (bytes, _) = write_block(realistic_spans(100, 5), &WriteOptions::default()).expect("write");
    let id = realistic_spans(1, 5)[0].trace_id;
    let step = (bytes.len() / 97).max(1);
    for at in (0..bytes.len()).step_by(step) {
        let mut damaged = bytes.to_vec();
        damaged[at] ^= 0x5A;
        let (store, path) = stored(damaged.into()).await;
        let _ = read_all(Arc::clone(&store), &path).await;
        let _ = read_trace(store, &path, id).await;
    }
}

#[tokio::test]
async fn files_of_another_shape_are_corrupt_blocks() {
    use arrow::array::{Int32Array, RecordBatch};
    use arrow::datatypes::{DataType, Field, Schema};
    use parquet::arrow::ArrowWriter;
    use parquet::file::metadata::KeyValue;
    use parquet::file::properties::WriterProperties;

    let tagged = WriterProperties::builder()
        .set_key_value_metadata(Some(vec![KeyValue::new(
            schema::FORMAT_KEY.into(),
            FORMAT_VERSION.to_owned(),
        )]))
        .build();
    let wrong = Arc::new(Schema::new(vec![Field::new(
        "trace_id",
        DataType::Int32,
        false,
    )]));
    let batch = RecordBatch::try_new(
        Arc::clone(&wrong),
        vec![Arc::new(Int32Array::from(vec![1, 2]))],
    )
    .unwrap();
    let mut writer = ArrowWriter::try_new(Vec::new(), wrong, Some(tagged)).unwrap();
    writer.write(&batch).unwrap();
    let wrong_types = writer.into_inner().unwrap();

    let block = schema::block_schema();
    let writer = ArrowWriter::try_new(Vec::new(), block, None).unwrap();
    let untagged = writer.into_inner().unwrap();

    for (bytes, reason) in [
        (wrong_types, "column trace_id"),
        (untagged, "tracewell.block.format"),
    ] {
        let (store, path) = stored(bytes.into()).await;
        match read_all(store, &path).await {
            Err(StoreError::CorruptBlock { block, reason: got }) => {
                assert_eq!(block, path.to_string());
                assert!(got.contains(reason), "{got}");
            }
            other => panic!("expected a corrupt block, got {other:?}"),
        }
    }
}

#[test]
fn invalid_options_are_refused() {
    for opts in [
        WriteOptions {
            row_group_spans: 0,
            ..WriteOptions::default()
        },
        WriteOptions {
            bloom_fpp: 1.0,
            ..WriteOptions::default()
        },
        WriteOptions {
            zstd_level: 99,
            ..WriteOptions::default()
        },
    ] {
        assert!(
            write_block(realistic_spans(2, 6), &opts).is_err(),
            "{opts:?}"
        );
    }
}

#[test]
fn realistic_spans_take_few_bytes() {
    let input = realistic_spans(2000, 8);
    let spans = input.len();
    let (bytes, _) = write_block(input, &WriteOptions::default()).expect("write");
    let per_span = bytes.len() as f64 / spans as f64;
    println!(
        "{spans} spans: {} bytes, {per_span:.1} bytes/span",
        bytes.len()
    );
    assert!(per_span < 120.0, "{per_span:.1} bytes/span");
}

pub(crate) fn realistic_spans_pub(traces: usize, seed: u64) -> Vec<Span> {
    realistic_spans(traces, seed)
}
