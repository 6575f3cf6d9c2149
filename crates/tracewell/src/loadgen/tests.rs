//! Unit tests for argument parsing and the trace generator's invariants.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::Span;
use rand::rngs::StdRng;
use rand::SeedableRng;

use super::catalog::resource_service;
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

#[test]
fn parses_durations() {
    let cases: [(&str, Option<Duration>); 11] = [
        ("500ms", Some(Duration::from_millis(500))),
        ("10s", Some(Duration::from_secs(10))),
        ("1.5s", Some(Duration::from_millis(1500))),
        ("2m", Some(Duration::from_secs(120))),
        ("1h", Some(Duration::from_secs(3600))),
        ("250us", Some(Duration::from_micros(250))),
        ("7", Some(Duration::from_secs(7))),
        (" 3s ", Some(Duration::from_secs(3))),
        ("10x", None),
        ("s", None),
        ("", None),
    ];
    for (input, want) in cases {
        assert_eq!(parse_duration(input).ok(), want, "{input:?}");
    }
}

fn spans(trace: &GeneratedTrace) -> Vec<&Span> {
    trace.spans.iter().map(|s| &s.span).collect()
}

fn check_trace(trace: &GeneratedTrace) {
    let spans = spans(trace);
    assert!(
        (5..=30).contains(&spans.len()),
        "span count {}",
        spans.len()
    );
    let trace_id = &spans[0].trace_id;
    assert_eq!(trace_id.len(), 16);
    assert!(trace_id.iter().any(|b| *b != 0));
    let by_id: HashMap<&[u8], &Span> = spans.iter().map(|s| (s.span_id.as_slice(), *s)).collect();
    assert_eq!(by_id.len(), spans.len(), "span ids are unique");
    let roots = spans.iter().filter(|s| s.parent_span_id.is_empty()).count();
    assert_eq!(roots, 1, "exactly one root");
    for s in &spans {
        assert_eq!(&s.trace_id, trace_id);
        assert_eq!(s.span_id.len(), 8);
        assert!(s.span_id.iter().any(|b| *b != 0), "non-zero span id");
        assert!(s.start_time_unix_nano <= s.end_time_unix_nano);
        assert!(s.end_time_unix_nano <= NOW);
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

fn is_error(trace: &GeneratedTrace) -> bool {
    trace.spans.iter().any(|s| {
        s.span
            .status
            .as_ref()
            .is_some_and(|st| st.code == StatusCode::Error as i32)
    })
}

#[test]
fn generated_traces_hold_invariants() {
    let mut rng = StdRng::seed_from_u64(7);
    let mut services = BTreeSet::new();
    let mut sizes = BTreeSet::new();
    let mut errors = 0;
    for _ in 0..2000 {
        let trace = generate_trace(&mut rng, NOW);
        check_trace(&trace);
        sizes.insert(trace.spans.len());
        services.extend(
            trace
                .spans
                .iter()
                .map(|s| resource_service(s.resource).name),
        );
        errors += is_error(&trace) as usize;
    }
    assert!(services.len() >= 3, "services: {services:?}");
    assert!(sizes.len() >= 5, "span-count variety: {sizes:?}");
    let rate = errors as f64 / 2000.0;
    assert!((0.01..=0.05).contains(&rate), "error rate {rate}");
}

#[test]
fn error_traces_carry_exception_and_propagate() {
    let mut rng = StdRng::seed_from_u64(3);
    let trace = std::iter::repeat_with(|| generate_trace(&mut rng, NOW))
        .find(is_error)
        .expect("an error trace within the stream");
    let spans = spans(&trace);
    let root = spans
        .iter()
        .find(|s| s.parent_span_id.is_empty())
        .expect("root");
    assert_eq!(
        root.status.as_ref().map(|s| s.code),
        Some(StatusCode::Error as i32)
    );
    let origin = spans
        .iter()
        .find(|s| !s.events.is_empty())
        .expect("exception event");
    let keys: Vec<&str> = origin.events[0]
        .attributes
        .iter()
        .map(|a| a.key.as_str())
        .collect();
    assert!(keys.contains(&"exception.type") && keys.contains(&"exception.message"));
}

#[test]
fn generation_is_deterministic_for_a_seed() {
    let a = generate_trace(&mut StdRng::seed_from_u64(99), NOW);
    let b = generate_trace(&mut StdRng::seed_from_u64(99), NOW);
    assert_eq!(spans(&a), spans(&b));
}

#[test]
fn spans_use_semantic_convention_attributes() {
    let mut rng = StdRng::seed_from_u64(5);
    let mut keys = BTreeSet::new();
    for _ in 0..500 {
        for s in generate_trace(&mut rng, NOW).spans {
            keys.extend(s.span.attributes.into_iter().map(|a| a.key));
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
