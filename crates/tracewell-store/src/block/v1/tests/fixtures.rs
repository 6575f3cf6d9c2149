//! Test spans: a realistic microservice workload and a set exercising every field and value kind.

use std::sync::Arc;

use tracewell_model::{
    AttrValue, Attribute, Event, Link, Resource, Scope, Span, SpanId, SpanKind, Status, StatusCode,
    TraceId,
};

/// splitmix64: deterministic test data without a rand dependency.
pub(in crate::block) struct Rng(pub(in crate::block) u64);

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

    pub(in crate::block) fn trace_id(&mut self) -> TraceId {
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
pub(in crate::block) fn realistic_spans(traces: usize, seed: u64) -> Vec<Span> {
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
pub(in crate::block) fn varied_spans() -> Vec<Span> {
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
