//! Unit tests for argument parsing and the trace generator's invariants.

use std::collections::{BTreeSet, HashMap};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use rand::rngs::StdRng;
use rand::SeedableRng;

use super::batch::BatchBuilder;
use super::*;

const NOW: u64 = 1_750_000_000_000_000_000;

#[test]
fn parses_rates() {
    let cases: [(&str, Result<Rate, ()>); 10] = [
        ("max", Ok(Rate::Max)),
        ("MAX", Ok(Rate::Max)),
        ("1000", Ok(Rate::PerSecond(1000))),
        ("100_000", Ok(Rate::PerSecond(100_000))),
        ("250k", Ok(Rate::PerSecond(250_000))),
        ("1M", Ok(Rate::PerSecond(1_000_000))),
        ("0", Err(())),
        ("-5", Err(())),
        ("fast", Err(())),
        ("", Err(())),
    ];
    for (input, want) in cases {
        assert_eq!(input.parse::<Rate>().map_err(|_| ()), want, "{input:?}");
    }
    assert_eq!(Rate::PerSecond(42).to_string(), "42");
    assert_eq!(Rate::Max.to_string(), "max");
}

/// Encodes `trace` as an export request and decodes it back with prost,
/// returning `(service.name, span)` pairs: checks the hand-written encoder too.
fn decoded(trace: &GeneratedTrace) -> Vec<(String, Span)> {
    let mut batch = BatchBuilder::new();
    batch.add(trace);
    let request = ExportTraceServiceRequest::decode(batch.finish().as_slice()).expect("valid OTLP");
    let mut out = Vec::new();
    for rs in request.resource_spans {
        let resource = rs.resource.expect("resource");
        let service = resource
            .attributes
            .iter()
            .find(|a| a.key == "service.name")
            .expect("service.name");
        let Some(Value::StringValue(name)) = service.value.as_ref().and_then(|v| v.value.clone())
        else {
            panic!("service.name is a string")
        };
        for ss in rs.scope_spans {
            out.extend(ss.spans.into_iter().map(|span| (name.clone(), span)));
        }
    }
    assert_eq!(out.len(), trace.spans.len());
    out
}

fn spans(trace: &GeneratedTrace) -> Vec<Span> {
    decoded(trace).into_iter().map(|(_, span)| span).collect()
}

fn check_trace(spans: &[Span]) {
    assert!(
        (5..=30).contains(&spans.len()),
        "span count {}",
        spans.len()
    );
    let trace_id = &spans[0].trace_id;
    assert_eq!(trace_id.len(), 16);
    assert!(trace_id.iter().any(|b| *b != 0), "non-zero trace id");
    let by_id: HashMap<&[u8], &Span> = spans.iter().map(|s| (s.span_id.as_slice(), s)).collect();
    assert_eq!(by_id.len(), spans.len(), "span ids are unique");
    let roots = spans.iter().filter(|s| s.parent_span_id.is_empty()).count();
    assert_eq!(roots, 1, "exactly one root");
    for s in spans {
        assert_eq!(&s.trace_id, trace_id);
        assert_eq!(s.span_id.len(), 8);
        assert!(s.span_id.iter().any(|b| *b != 0), "non-zero span id");
        assert!(s.start_time_unix_nano <= s.end_time_unix_nano);
        assert!(s.end_time_unix_nano <= NOW);
        assert_ne!(s.kind, 0, "span kind set");
        if s.parent_span_id.is_empty() {
            continue;
        }
        let parent = by_id
            .get(s.parent_span_id.as_slice())
            .expect("parent exists in trace");
        assert!(
            parent.start_time_unix_nano <= s.start_time_unix_nano,
            "{} starts inside {}",
            s.name,
            parent.name
        );
        assert!(
            s.end_time_unix_nano <= parent.end_time_unix_nano,
            "{} ends inside {}",
            s.name,
            parent.name
        );
    }
}

fn is_error(span: &Span) -> bool {
    span.status
        .as_ref()
        .is_some_and(|st| st.code == StatusCode::Error as i32)
}

#[test]
fn generated_traces_hold_invariants() {
    let mut rng = StdRng::seed_from_u64(7);
    let mut services = BTreeSet::new();
    let mut sizes = BTreeSet::new();
    let mut errors = 0;
    for _ in 0..2000 {
        let trace = decoded(&generate_trace(&mut rng, NOW));
        let spans: Vec<Span> = trace.iter().map(|(_, s)| s.clone()).collect();
        check_trace(&spans);
        sizes.insert(spans.len());
        services.extend(trace.into_iter().map(|(service, _)| service));
        errors += spans.iter().any(is_error) as usize;
    }
    assert!(services.len() >= 3, "services: {services:?}");
    assert!(sizes.len() >= 5, "span-count variety: {sizes:?}");
    let rate = errors as f64 / 2000.0;
    assert!((0.01..=0.05).contains(&rate), "error rate {rate}");
}

#[test]
fn error_traces_carry_exception_and_propagate() {
    let mut rng = StdRng::seed_from_u64(3);
    let spans = std::iter::repeat_with(|| spans(&generate_trace(&mut rng, NOW)))
        .find(|t| t.iter().any(is_error))
        .expect("an error trace within the stream");
    let origin = spans
        .iter()
        .find(|s| !s.events.is_empty())
        .expect("exception event");
    assert!(is_error(origin));
    let event = &origin.events[0];
    assert_eq!(event.name, "exception");
    let keys: Vec<&str> = event.attributes.iter().map(|a| a.key.as_str()).collect();
    assert!(keys.contains(&"exception.type") && keys.contains(&"exception.message"));
    let mut parent = origin.parent_span_id.clone();
    while let Some(p) = spans.iter().find(|s| s.span_id == parent) {
        assert!(is_error(p), "ancestor {} is ERROR", p.name);
        parent = p.parent_span_id.clone();
    }
    assert!(parent.is_empty(), "walked up to the root");
}

#[test]
fn generation_is_deterministic_for_a_seed() {
    let a = generate_trace(&mut StdRng::seed_from_u64(99), NOW);
    let b = generate_trace(&mut StdRng::seed_from_u64(99), NOW);
    assert_eq!(a, b);
}

#[test]
fn spans_use_semantic_convention_attributes() {
    let mut rng = StdRng::seed_from_u64(5);
    let mut keys = BTreeSet::new();
    for _ in 0..500 {
        for span in spans(&generate_trace(&mut rng, NOW)) {
            keys.extend(span.attributes.into_iter().map(|a| a.key));
        }
    }
    for want in [
        "http.request.method",
        "http.response.status_code",
        "http.route",
        "url.path",
        "server.address",
        "db.system",
        "db.query.text",
        "db.operation.name",
        "messaging.system",
        "messaging.destination.name",
        "messaging.operation.type",
        "rpc.system",
        "rpc.service",
        "rpc.method",
        "peer.service",
    ] {
        assert!(keys.contains(want), "missing {want}");
    }
}

#[test]
fn encoded_attribute_values_round_trip() {
    let trace = generate_trace(&mut StdRng::seed_from_u64(21), NOW);
    let spans = spans(&trace);
    for generated in &trace.spans {
        let span = spans
            .iter()
            .find(|s| s.span_id == generated.span_id)
            .expect("span encoded");
        assert_eq!(span.name, generated.name);
        assert_eq!(span.start_time_unix_nano, generated.start_time_unix_nano);
        assert_eq!(span.flags, generated.flags);
        for (attr, kv) in generated.attributes.iter().zip(&span.attributes) {
            assert_eq!(kv.key, attr.key);
            let value = kv.value.as_ref().and_then(|v| v.value.clone());
            let want = match &attr.val {
                builder::Val::Str(s) => Value::StringValue(s.to_string()),
                builder::Val::String(s) => Value::StringValue(s.clone()),
                builder::Val::Int(i) => Value::IntValue(*i),
            };
            assert_eq!(value, Some(want));
        }
    }
}
