use super::*;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans};

const OFFICIAL_EXAMPLE: &str = include_str!("../../tests/fixtures/otlp/trace.json");

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        key_strindex: 0,
    }
}

fn span(trace: u8, id: u8, start: u64, end: u64) -> otlp::Span {
    otlp::Span {
        trace_id: if trace == 0 {
            vec![0; 16]
        } else {
            vec![trace; 16]
        },
        span_id: if id == 0 { vec![0; 8] } else { vec![id; 8] },
        name: format!("op-{id}"),
        start_time_unix_nano: start,
        end_time_unix_nano: end,
        ..Default::default()
    }
}

fn request(spans: Vec<otlp::Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(OtlpResource {
                attributes: vec![kv(
                    "service.name",
                    any_value::Value::StringValue("checkout".into()),
                )],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            schema_url: String::new(),
        }],
    }
}

#[test]
fn the_official_otlp_json_example_decodes_into_one_span() {
    let req: ExportTraceServiceRequest = serde_json::from_str(OFFICIAL_EXAMPLE).unwrap();
    let spans = into_spans(req);
    assert_eq!(spans.len(), 1);
    let s = &spans[0];
    assert_eq!(s.trace_id.to_string(), "5b8efff798038103d269b633813fc60c");
    assert_eq!(s.span_id.to_string(), "eee19b7ec3c1b174");
    assert_eq!(s.parent_span_id.unwrap().to_string(), "eee19b7ec3c1b173");
    assert_eq!(s.service_name(), "my.service");
    assert_eq!(s.kind, SpanKind::Server);
    assert_eq!(s.duration_nano(), 1_000_000_000);
    assert_eq!(s.scope.name, "my.library");
    assert_eq!(
        s.attribute("my.span.attr").and_then(|v| v.as_str()),
        Some("some value")
    );
}

#[test]
fn invalid_spans_are_dropped_and_counted_by_reason() {
    let mut req = request(vec![
        span(1, 1, 10, 20),
        span(0, 2, 10, 20),
        span(1, 0, 10, 20),
        span(1, 3, 30, 20),
        span(1, 4, 10, 10),
    ]);
    let report = sanitize(&mut req, &SpanLimits::default());
    assert_eq!(report.accepted, 2);
    assert_eq!(report.rejected_total(), 3);
    assert_eq!(report.rejected[&RejectReason::InvalidTraceId], 1);
    assert_eq!(report.rejected[&RejectReason::InvalidSpanId], 1);
    assert_eq!(report.rejected[&RejectReason::EndBeforeStart], 1);
    assert!(
        report.message().contains("3 span(s) rejected"),
        "{}",
        report.message()
    );
    assert_eq!(span_count(&req), 2);
}

const MINUTE: u64 = 60_000_000_000;

fn time_limits() -> SpanLimits {
    SpanLimits {
        max_span_future: Some(Duration::from_secs(15 * 60)),
        max_span_age: Some(Duration::from_secs(7 * 24 * 3600)),
        ..SpanLimits::default()
    }
}

#[test]
fn spans_beyond_the_time_bounds_are_refused_relative_to_the_given_now() {
    let now = 1_700_000_000_000_000_000;
    let day = 24 * 60 * MINUTE;
    let mut req = request(vec![
        span(1, 1, now - MINUTE, now),
        // At the bounds: kept.
        span(1, 2, now + 15 * MINUTE, now + 15 * MINUTE),
        span(1, 3, now - 7 * day, now - 7 * day + 1),
        // Beyond them.
        span(1, 4, now + 16 * MINUTE, now + 17 * MINUTE),
        span(1, 5, now, now + 3 * 60 * MINUTE),
        span(1, 6, now - 7 * day - 1, now),
        span(1, 7, 1, 2),
    ]);
    let report = sanitize_at(&mut req, &time_limits(), now);
    assert_eq!(report.accepted, 3);
    assert_eq!(report.rejected[&RejectReason::InFuture], 2);
    assert_eq!(report.rejected[&RejectReason::TooOld], 2);
    let message = report.message();
    assert!(
        message.starts_with("4 span(s) rejected (in_future: 2, too_old: 2); first: span \"op-4\""),
        "{message}"
    );
    assert!(
        message.contains("starts 16m in the future, beyond the limit of 15m (max_span_future)"),
        "{message}"
    );
    let kept: Vec<u8> = into_spans(req).iter().map(|s| s.span_id.0[0]).collect();
    assert_eq!(kept, [1, 2, 3]);
}

#[test]
fn the_time_bound_messages_name_the_end_and_the_age() {
    let now = 1_700_000_000_000_000_000;
    let mut req = request(vec![span(1, 5, now, now + 3 * 60 * MINUTE)]);
    let message = sanitize_at(&mut req, &time_limits(), now).message();
    assert!(
        message.contains("ends 3h in the future, beyond the limit of 15m"),
        "{message}"
    );
    let mut req = request(vec![span(1, 6, now - 30 * 24 * 60 * MINUTE, now)]);
    let message = sanitize_at(&mut req, &time_limits(), now).message();
    assert!(
        message.contains("started 30d ago, older than the limit of 7d (max_span_age)"),
        "{message}"
    );
    // Zipkin spans without a timestamp start at 0.
    let mut req = request(vec![span(1, 7, 0, 5)]);
    let message = sanitize_at(&mut req, &time_limits(), now).message();
    assert!(
        message.contains("has no start time, so is older than the limit of 7d"),
        "{message}"
    );
}

#[test]
fn without_time_bounds_any_time_is_accepted_and_end_before_start_still_is_not() {
    let now = 1_700_000_000_000_000_000;
    let mut req = request(vec![
        span(1, 1, 1, 2),
        span(1, 2, u64::MAX - 1, u64::MAX),
        span(1, 3, now + MINUTE, now),
    ]);
    let report = sanitize_at(&mut req, &SpanLimits::default(), now);
    assert_eq!(report.accepted, 2);
    assert_eq!(report.rejected[&RejectReason::EndBeforeStart], 1);
    // A clock before 1970 or bounds past the end of time neither panic nor refuse.
    let limits = SpanLimits {
        max_span_future: Some(Duration::MAX),
        max_span_age: Some(Duration::MAX),
        ..SpanLimits::default()
    };
    let mut req = request(vec![span(1, 1, 0, u64::MAX)]);
    assert_eq!(sanitize_at(&mut req, &limits, 0).accepted, 1);
}

#[test]
fn a_request_with_only_invalid_spans_becomes_empty() {
    let mut req = request(vec![span(0, 1, 1, 2)]);
    sanitize(&mut req, &SpanLimits::default());
    assert!(req.resource_spans.is_empty());
}

#[test]
fn attribute_limits_truncate_values_and_drop_extra_attributes() {
    let mut s = span(1, 1, 1, 2);
    s.attributes = (0..5)
        .map(|i| {
            kv(
                &format!("k{i}"),
                any_value::Value::StringValue("é".repeat(10)),
            )
        })
        .collect();
    let mut req = request(vec![s]);
    let limits = SpanLimits {
        max_attributes: 3,
        max_attribute_value_bytes: 5,
        ..SpanLimits::default()
    };
    let report = sanitize(&mut req, &limits);
    assert_eq!(report.dropped_attributes, 2);
    // Three span values and the resource's `service.name` ("checkout" is 8 bytes).
    assert_eq!(report.truncated_values, 4);
    let spans = into_spans(req);
    assert_eq!(spans[0].attributes.len(), 3);
    assert_eq!(spans[0].dropped_attributes_count, 2);
    // 'é' is two bytes: a 5-byte cut lands inside a character and backs off to 4 bytes.
    assert_eq!(spans[0].attributes[0].value.as_str(), Some("éé"));
}

#[test]
fn model_spans_round_trip_through_otlp() {
    let mut s = span(7, 9, 100, 250);
    s.parent_span_id = vec![3; 8];
    s.kind = 3;
    s.attributes = vec![
        kv("str", any_value::Value::StringValue("v".into())),
        kv("int", any_value::Value::IntValue(-4)),
        kv("dbl", any_value::Value::DoubleValue(1.5)),
        kv("bool", any_value::Value::BoolValue(true)),
        kv("bytes", any_value::Value::BytesValue(vec![1, 2, 3])),
        kv(
            "arr",
            any_value::Value::ArrayValue(ArrayValue {
                values: vec![AnyValue {
                    value: Some(any_value::Value::IntValue(1)),
                }],
            }),
        ),
        kv(
            "map",
            any_value::Value::KvlistValue(KeyValueList {
                values: vec![kv("inner", any_value::Value::StringValue("x".into()))],
            }),
        ),
    ];
    s.events = vec![otlp::span::Event {
        time_unix_nano: 120,
        name: "retry".into(),
        ..Default::default()
    }];
    s.links = vec![otlp::span::Link {
        trace_id: vec![8; 16],
        span_id: vec![8; 8],
        ..Default::default()
    }];
    s.status = Some(otlp::Status {
        code: 2,
        message: "boom".into(),
    });
    let original = request(vec![s]);
    let spans = into_spans(original.clone());
    let back = to_resource_spans(&spans);
    assert_eq!(
        back[0].scope_spans[0].spans[0],
        original.resource_spans[0].scope_spans[0].spans[0]
    );
    assert_eq!(
        back[0].resource.as_ref().unwrap().attributes,
        original.resource_spans[0]
            .resource
            .as_ref()
            .unwrap()
            .attributes
    );
}
