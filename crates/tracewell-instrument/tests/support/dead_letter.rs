//! The trace every broker integration must produce for a message that fails twice and is dead-lettered (shared by
//! the NATS and Kafka tests): HTTP SERVER → PRODUCER → attempt 1 → retry PRODUCER → attempt 2 → dead-letter
//! PRODUCER, and the dead-letter processor continuing the original trace with a link to attempt 2.

use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::Value;
use opentelemetry_sdk::trace::SpanData;

use super::*;

/// The spans a broker test checks further.
pub struct DeadLetterTrace<'a> {
    pub publish: &'a SpanData,
    pub first: &'a SpanData,
    pub second: &'a SpanData,
}

/// Checks the shape above for `system` (`messaging.system`) and consumer `group`, the `orders.created` and
/// `dead.orders` destinations and the 10-byte body the tests send; every span must be in one trace.
pub fn assert_dead_letter_trace<'a>(
    system: &str,
    group: &str,
    api_spans: &'a [SpanData],
    worker_spans: &'a [SpanData],
    dlq_spans: &'a [SpanData],
) -> DeadLetterTrace<'a> {
    let server = named(api_spans, "POST /orders");
    let publish = named(api_spans, "publish orders.created");
    assert_eq!(publish.span_kind, SpanKind::Producer);
    assert_eq!(publish.parent_span_id, id_of(server));
    assert_eq!(
        attr_str(publish, "messaging.system").as_deref(),
        Some(system)
    );
    assert_eq!(
        attr_str(publish, "messaging.destination.name").as_deref(),
        Some("orders.created")
    );
    assert_eq!(
        attr(publish, "messaging.message.body.size"),
        Some(Value::I64(10))
    );
    let trace = trace_of(server);

    let mut processes = all_named(worker_spans, "process orders.created");
    processes.sort_by_key(|s| s.start_time);
    assert_eq!(processes.len(), 2);
    let (first, second) = (processes[0], processes[1]);
    let retry_publish = named(worker_spans, "publish orders.created");
    let dead_publish = named(worker_spans, "publish dead.orders");
    assert_eq!(first.span_kind, SpanKind::Consumer);
    assert_eq!(
        first.parent_span_id,
        id_of(publish),
        "attempt 1 is the publish's child"
    );
    assert_eq!(
        retry_publish.parent_span_id,
        id_of(first),
        "the retry carries attempt 1's context"
    );
    assert_eq!(
        second.parent_span_id,
        id_of(retry_publish),
        "attempt 2 is the retry's child"
    );
    assert_eq!(dead_publish.parent_span_id, id_of(second));
    for attempt in [first, second] {
        assert!(matches!(attempt.status, Status::Error { .. }));
        assert!(attempt.events.iter().any(|e| e.name == "exception"));
        assert_eq!(
            attr_str(attempt, "messaging.consumer.group.name").as_deref(),
            Some(group)
        );
    }
    assert_eq!(
        attr_str(first, "messaging.tracewell.disposition").as_deref(),
        Some("retried")
    );
    assert_eq!(
        attr_str(second, "messaging.tracewell.disposition").as_deref(),
        Some("dead_lettered")
    );
    assert_eq!(
        attr(first, "messaging.message.delivery_count"),
        Some(Value::I64(1))
    );

    let dead_process = named(dlq_spans, "process dead.orders");
    assert_eq!(dead_process.span_kind, SpanKind::Consumer);
    assert_eq!(
        dead_process.parent_span_id,
        id_of(publish),
        "the dead-letter processor continues the original trace from the first publish"
    );
    let links: Vec<_> = dead_process.links.iter().collect();
    assert_eq!(links.len(), 1, "one link, to the failed attempt");
    assert_eq!(links[0].span_context.span_id(), id_of(second));
    assert_eq!(links[0].span_context.trace_id(), trace);
    assert_eq!(dead_process.status, Status::Unset);
    assert_eq!(
        attr_str(dead_process, "messaging.tracewell.disposition").as_deref(),
        Some("acked")
    );

    for span in api_spans.iter().chain(worker_spans).chain(dlq_spans) {
        assert_eq!(trace_of(span), trace, "{} left the trace", span.name);
    }
    DeadLetterTrace {
        publish,
        first,
        second,
    }
}
