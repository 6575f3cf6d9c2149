//! Tag conditions match in any place of a span: its attributes, its resource's, its events', its links' and its
//! instrumentation scope's; values of every type compare by their text. Several conditions must hold on the same
//! span, each in any place. Checked on head spans and on flushed blocks (value filters and key statistics must not
//! rule out a block or row group holding a match in an event, link or scope).

mod common;

use common::{base_time, kv, kv_int, open, tenant, trace_id, MS};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{span, ResourceSpans, ScopeSpans, Span};
use tracewell_query::{AttrCondition, QueryConfig, QueryService, SearchRequest};

const PLACES: [&str; 5] = ["span", "resource", "event", "link", "scope"];

fn kv_double(key: &str, value: f64) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::DoubleValue(value)),
        }),
        ..Default::default()
    }
}

fn kv_bool(key: &str, value: bool) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::BoolValue(value)),
        }),
        ..Default::default()
    }
}

/// One span and what each of its places holds.
#[derive(Default, Clone)]
struct Placed {
    trace: u8,
    id: u8,
    span: Vec<KeyValue>,
    resource: Vec<KeyValue>,
    event: Vec<KeyValue>,
    link: Vec<KeyValue>,
    scope: Vec<KeyValue>,
}

impl Placed {
    fn new(trace: u8, id: u8) -> Self {
        Self {
            trace,
            id,
            ..Default::default()
        }
    }

    fn put(mut self, place: &str, attrs: Vec<KeyValue>) -> Self {
        match place {
            "span" => self.span = attrs,
            "resource" => self.resource = attrs,
            "event" => self.event = attrs,
            "link" => self.link = attrs,
            _ => self.scope = attrs,
        }
        self
    }
}

/// The four value types under `<place>.<type>` keys: `hit` values or `miss` values.
fn typed(place: &str, hit: bool) -> Vec<KeyValue> {
    vec![
        kv(&format!("{place}.str"), if hit { "hit" } else { "miss" }),
        kv_int(&format!("{place}.int"), if hit { 123 } else { 124 }),
        kv_double(&format!("{place}.double"), if hit { 72.5 } else { 72.25 }),
        kv_bool(&format!("{place}.bool"), hit),
    ]
}

/// Trace `n` (1–5) holds the hit values in place `n`, trace `10 + n` the miss values there; trace 20 has one span
/// with a tag in every place; trace 21 has those tags split over two spans; trace 22 has keys with a dedicated
/// span column in its resource and an event.
fn dataset() -> Vec<Placed> {
    let mut out = Vec::new();
    for (i, place) in PLACES.iter().enumerate() {
        let n = i as u8 + 1;
        out.push(Placed::new(n, 1).put(place, typed(place, true)));
        out.push(Placed::new(10 + n, 1).put(place, typed(place, false)));
    }
    out.push(Placed {
        span: vec![kv_int("order.id", 42)],
        resource: vec![kv("region", "eu")],
        event: vec![kv("exception.type", "Timeout")],
        link: vec![kv("link.reason", "retry")],
        scope: vec![kv("lib.tier", "core")],
        ..Placed::new(20, 1)
    });
    out.push(Placed {
        span: vec![kv_int("order.id", 42)],
        ..Placed::new(21, 1)
    });
    out.push(Placed {
        event: vec![kv("exception.type", "Timeout")],
        ..Placed::new(21, 2)
    });
    out.push(Placed {
        resource: vec![kv("peer.service", "billing")],
        event: vec![kv("http.route", "/pay")],
        ..Placed::new(22, 1)
    });
    out
}

fn export(spans: &[Placed], base: u64) -> ExportTraceServiceRequest {
    let resource_spans = spans
        .iter()
        .map(|p| {
            let start = base + u64::from(p.trace) * 1000 * MS + u64::from(p.id) * MS;
            let span = Span {
                trace_id: trace_id(p.trace).0.to_vec(),
                span_id: vec![p.trace, p.id, 0, 0, 0, 0, 0, 1],
                name: format!("op {}", p.trace),
                kind: 2,
                start_time_unix_nano: start,
                end_time_unix_nano: start + 10 * MS,
                attributes: p.span.clone(),
                events: if p.event.is_empty() {
                    vec![]
                } else {
                    vec![
                        span::Event {
                            time_unix_nano: start + MS,
                            name: "first".into(),
                            ..Default::default()
                        },
                        span::Event {
                            time_unix_nano: start + 2 * MS,
                            name: "second".into(),
                            attributes: p.event.clone(),
                            ..Default::default()
                        },
                    ]
                },
                links: if p.link.is_empty() {
                    vec![]
                } else {
                    vec![span::Link {
                        trace_id: trace_id(99).0.to_vec(),
                        span_id: vec![9; 8],
                        attributes: p.link.clone(),
                        ..Default::default()
                    }]
                },
                ..Default::default()
            };
            let mut resource = vec![kv("service.name", &format!("svc-{}", p.trace))];
            resource.extend(p.resource.clone());
            ResourceSpans {
                resource: Some(Resource {
                    attributes: resource,
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    scope: Some(InstrumentationScope {
                        name: "lib".into(),
                        attributes: p.scope.clone(),
                        ..Default::default()
                    }),
                    spans: vec![span],
                    ..Default::default()
                }],
                ..Default::default()
            }
        })
        .collect();
    ExportTraceServiceRequest { resource_spans }
}

/// Where the spans are searched.
#[derive(Debug, Clone, Copy)]
enum Layout {
    Head,
    Blocks,
}

struct Fixture {
    _dir: tempfile::TempDir,
    query: QueryService,
}

async fn fixture(layout: Layout) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    store
        .append(&tenant(), export(&dataset(), base_time()), None)
        .await
        .unwrap();
    if let Layout::Blocks = layout {
        store.flush_all().await.unwrap();
    }
    Fixture {
        _dir: dir,
        query: QueryService::new(store, QueryConfig::default()),
    }
}

/// The traces matching every condition, in ascending order.
async fn found(f: &Fixture, conditions: &[&str]) -> Vec<u8> {
    let req = SearchRequest {
        attributes: conditions
            .iter()
            .map(|c| AttrCondition::parse(c).unwrap())
            .collect(),
        ..SearchRequest::recent(100)
    };
    let result = f.query.search(&tenant(), &req).await.unwrap();
    let mut got: Vec<u8> = result.traces.iter().map(|t| t.trace_id.0[15]).collect();
    got.sort_unstable();
    got
}

async fn every_place_and_type(layout: Layout) {
    let f = fixture(layout).await;
    for (i, place) in PLACES.iter().enumerate() {
        let (hit, miss) = (i as u8 + 1, i as u8 + 11);
        for (condition, want) in [
            (format!("{place}.str=hit"), hit),
            (format!("{place}.int=123"), hit),
            (format!("{place}.double=72.5"), hit),
            (format!("{place}.bool=true"), hit),
            (format!("{place}.str=miss"), miss),
            (format!("{place}.int=124"), miss),
            (format!("{place}.double=72.25"), miss),
            (format!("{place}.bool=false"), miss),
        ] {
            assert_eq!(
                found(&f, &[&condition]).await,
                vec![want],
                "{layout:?}: {condition}"
            );
        }
        // Every type's text, all on the same span.
        let all = [
            format!("{place}.str=hit"),
            format!("{place}.int=123"),
            format!("{place}.double=72.5"),
            format!("{place}.bool=true"),
        ];
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        assert_eq!(found(&f, &all).await, vec![hit], "{layout:?}: {place} all");
        let regex = format!("{place}.double=~72\\.[0-9]+");
        assert_eq!(
            found(&f, &[&regex]).await,
            vec![hit, miss],
            "{layout:?}: {regex}"
        );
    }
}

#[tokio::test]
async fn tags_match_every_place_and_type_on_head_spans() {
    every_place_and_type(Layout::Head).await;
}

#[tokio::test]
async fn tags_match_every_place_and_type_on_blocks() {
    every_place_and_type(Layout::Blocks).await;
}

async fn several_tags_on_one_span(layout: Layout) {
    let f = fixture(layout).await;
    let every_place = [
        "order.id=42",
        "region=eu",
        "exception.type=Timeout",
        "link.reason=retry",
        "lib.tier=core",
    ];
    assert_eq!(found(&f, &every_place).await, vec![20], "{layout:?}");
    // Trace 21 has both tags, but on two different spans.
    assert_eq!(
        found(&f, &["order.id=42"]).await,
        vec![20, 21],
        "{layout:?}"
    );
    assert_eq!(
        found(&f, &["exception.type=Timeout"]).await,
        vec![20, 21],
        "{layout:?}"
    );
    assert_eq!(
        found(&f, &["order.id=42", "exception.type=Timeout"]).await,
        vec![20],
        "{layout:?}: a tag split across two spans does not match"
    );
}

#[tokio::test]
async fn several_tags_match_in_different_places_of_one_span_on_head_spans() {
    several_tags_on_one_span(Layout::Head).await;
}

#[tokio::test]
async fn several_tags_match_in_different_places_of_one_span_on_blocks() {
    several_tags_on_one_span(Layout::Blocks).await;
}

async fn negation_and_dedicated_keys(layout: Layout) {
    let f = fixture(layout).await;
    let mut everything: Vec<u8> = dataset().iter().map(|p| p.trace).collect();
    everything.sort_unstable();
    everything.dedup();
    // A span matches key!=v when no place holds key=v: only trace 3's event holds event.str=hit.
    let not_three: Vec<u8> = everything.iter().copied().filter(|&t| t != 3).collect();
    assert_eq!(
        found(&f, &["event.str!=hit"]).await,
        not_three,
        "{layout:?}"
    );
    let not_five: Vec<u8> = everything.iter().copied().filter(|&t| t != 5).collect();
    assert_eq!(
        found(&f, &["scope.int!~12[3]"]).await,
        not_five,
        "{layout:?}"
    );
    // Keys with a dedicated span column are found in the other places too.
    assert_eq!(found(&f, &["peer.service=billing"]).await, vec![22]);
    assert_eq!(found(&f, &["http.route=/pay"]).await, vec![22]);
    let not_22: Vec<u8> = everything.iter().copied().filter(|&t| t != 22).collect();
    assert_eq!(found(&f, &["http.route!=/pay"]).await, not_22, "{layout:?}");
}

#[tokio::test]
async fn negated_tags_and_dedicated_keys_on_head_spans() {
    negation_and_dedicated_keys(Layout::Head).await;
}

#[tokio::test]
async fn negated_tags_and_dedicated_keys_on_blocks() {
    negation_and_dedicated_keys(Layout::Blocks).await;
}
