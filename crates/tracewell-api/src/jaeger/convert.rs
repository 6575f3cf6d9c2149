//! Spans to Jaeger's v1 JSON trace model, as Jaeger renders OTLP data:
//!
//! - processes from resources (`serviceName`, other resource attributes as tags), keyed `p1`, `p2`, ... in order
//!   of first appearance, identical processes shared; `telemetry.sdk.*`/`telemetry.distro.*` span attributes
//!   move to the process;
//! - span tags in Jaeger's order: `otel.scope.name`/`otel.scope.version`, attributes, `span.kind`,
//!   `otel.status_code`, `error=true`, `otel.status_description`, `w3c.tracestate`;
//! - the parent as a `CHILD_OF` reference, links as `FOLLOWS_FROM` (or `CHILD_OF` when the link says
//!   `opentracing.ref_type=child_of`), events as logs;
//! - times and durations in microseconds, 64-bit trace ids as 16 hex digits.

use serde_json::{json, Map, Value};
use tracewell_model::{AttrValue, Attribute, Span, SpanId, SpanKind, StatusCode, TraceId};

use crate::tempo::{base64, otlp_json::float};

/// Span attributes Jaeger moves onto the process.
const LIBRARY_ATTRIBUTES: [&str; 5] = [
    "telemetry.sdk.language",
    "telemetry.sdk.name",
    "telemetry.sdk.version",
    "telemetry.distro.name",
    "telemetry.distro.version",
];

/// The span attribute whose string values become span warnings.
const WARNINGS_ATTRIBUTE: &str = "@jaeger@warnings";

/// Largest integer a JSON number carries exactly; larger int64 tags are written as strings.
const MAX_SAFE_INT: i64 = (1 << 53) - 1;

/// A trace id as Jaeger writes it: 16 hex digits when the high half is zero, else 32.
pub(crate) fn trace_id(id: &TraceId) -> String {
    let hex = id.to_hex();
    match hex.strip_prefix("0000000000000000") {
        Some(low) => low.to_owned(),
        None => hex,
    }
}

fn span_id(id: &SpanId) -> String {
    id.to_hex()
}

/// A Jaeger trace of `spans` (one trace, non-empty), with trace-level warnings.
pub(crate) fn trace_json(spans: &[Span], warnings: &[String]) -> Value {
    let mut processes: Vec<Value> = Vec::new();
    let mut span_list = Vec::with_capacity(spans.len());
    for span in spans {
        let process = process_json(span);
        let index = match processes.iter().position(|p| *p == process) {
            Some(i) => i,
            None => {
                processes.push(process);
                processes.len() - 1
            }
        };
        span_list.push(span_json(span, &format!("p{}", index + 1)));
    }
    let processes: Map<String, Value> = processes
        .into_iter()
        .enumerate()
        .map(|(i, p)| (format!("p{}", i + 1), p))
        .collect();
    json!({
        "traceID": spans.first().map(|s| trace_id(&s.trace_id)).unwrap_or_default(),
        "spans": span_list,
        "processes": processes,
        "warnings": if warnings.is_empty() { Value::Null } else { json!(warnings) },
    })
}

fn process_json(span: &Span) -> Value {
    let resource = &span.resource;
    let mut tags: Vec<Value> = resource
        .attributes
        .iter()
        .filter(|a| a.key != "service.name")
        .map(|a| tag(&a.key, &a.value))
        .collect();
    for a in span
        .attributes
        .iter()
        .filter(|a| LIBRARY_ATTRIBUTES.contains(&a.key.as_str()))
    {
        if !resource.attributes.iter().any(|r| r.key == a.key) {
            tags.push(tag(&a.key, &a.value));
        }
    }
    json!({"serviceName": resource.service_name, "tags": tags})
}

fn span_json(span: &Span, process_id: &str) -> Value {
    let mut tags = Vec::new();
    if !span.scope.name.is_empty() {
        tags.push(string_tag("otel.scope.name", &span.scope.name));
    }
    if !span.scope.version.is_empty() {
        tags.push(string_tag("otel.scope.version", &span.scope.version));
    }
    let mut warnings = Vec::new();
    for a in &span.attributes {
        if a.key == WARNINGS_ATTRIBUTE {
            warnings.extend(warnings_of(&a.value));
        } else if !LIBRARY_ATTRIBUTES.contains(&a.key.as_str()) {
            tags.push(tag(&a.key, &a.value));
        }
    }
    if span.kind != SpanKind::Unspecified {
        tags.push(string_tag("span.kind", span.kind.as_str()));
    }
    match span.status.code {
        StatusCode::Unset => {}
        StatusCode::Ok => tags.push(string_tag("otel.status_code", "OK")),
        StatusCode::Error => {
            tags.push(string_tag("otel.status_code", "ERROR"));
            tags.push(json!({"key": "error", "type": "bool", "value": true}));
        }
    }
    if !span.status.message.is_empty() {
        tags.push(string_tag("otel.status_description", &span.status.message));
    }
    if !span.trace_state.is_empty() {
        tags.push(string_tag("w3c.tracestate", &span.trace_state));
    }
    let mut out = json!({
        "traceID": trace_id(&span.trace_id),
        "spanID": span_id(&span.span_id),
        "operationName": span.name,
        "references": references(span),
        "startTime": span.start_unix_nano / 1_000,
        "duration": span.duration_nano() / 1_000,
        "tags": tags,
        "logs": span.events.iter().map(|e| {
            let mut fields = Vec::new();
            if !e.name.is_empty() && !e.attributes.iter().any(|a| a.key == "event") {
                fields.push(string_tag("event", &e.name));
            }
            fields.extend(e.attributes.iter().map(|a| tag(&a.key, &a.value)));
            json!({"timestamp": e.time_unix_nano / 1_000, "fields": fields})
        }).collect::<Vec<_>>(),
        "processID": process_id,
        "warnings": if warnings.is_empty() { Value::Null } else { json!(warnings) },
    });
    if span.flags & 1 != 0 {
        out["flags"] = 1.into();
    }
    out
}

fn warnings_of(value: &AttrValue) -> Vec<String> {
    match value {
        AttrValue::Str(s) => vec![s.clone()],
        AttrValue::Array(items) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

fn references(span: &Span) -> Vec<Value> {
    let mut refs: Vec<(&str, String, String)> = Vec::new();
    if let Some(parent) = &span.parent_span_id {
        refs.push(("CHILD_OF", trace_id(&span.trace_id), span_id(parent)));
    }
    for link in &span.links {
        let child_of = link
            .attributes
            .iter()
            .any(|a| a.key == "opentracing.ref_type" && a.value.as_str() == Some("child_of"));
        let ref_type = if child_of { "CHILD_OF" } else { "FOLLOWS_FROM" };
        if span.parent_span_id == Some(link.span_id) && link.trace_id == span.trace_id {
            if let Some(first) = refs.first_mut() {
                first.0 = ref_type;
            }
            continue;
        }
        refs.push((ref_type, trace_id(&link.trace_id), span_id(&link.span_id)));
    }
    refs.into_iter()
        .map(|(ref_type, trace, span)| json!({"refType": ref_type, "traceID": trace, "spanID": span}))
        .collect()
}

fn string_tag(key: &str, value: &str) -> Value {
    json!({"key": key, "type": "string", "value": value})
}

/// One attribute as a Jaeger tag.
pub(crate) fn tag(key: &str, value: &AttrValue) -> Value {
    let (kind, value) = match value {
        AttrValue::Str(s) => ("string", json!(s)),
        AttrValue::Bool(b) => ("bool", json!(b)),
        AttrValue::Int(i) if (-MAX_SAFE_INT..=MAX_SAFE_INT).contains(i) => ("int64", json!(i)),
        AttrValue::Int(i) => ("int64", json!(i.to_string())),
        AttrValue::Double(d) => ("float64", float(*d)),
        AttrValue::Bytes(b) => ("binary", json!(base64::encode(b))),
        AttrValue::Array(_) | AttrValue::Map(_) => ("string", json!(raw(value).to_string())),
        AttrValue::Empty => ("string", json!("")),
    };
    json!({"key": key, "type": kind, "value": value})
}

/// A nested value as plain JSON (maps as objects, bytes as base64), for array and map attributes.
fn raw(value: &AttrValue) -> Value {
    match value {
        AttrValue::Str(s) => json!(s),
        AttrValue::Bool(b) => json!(b),
        AttrValue::Int(i) => json!(i),
        AttrValue::Double(d) => float(*d),
        AttrValue::Bytes(b) => json!(base64::encode(b)),
        AttrValue::Array(items) => Value::Array(items.iter().map(raw).collect()),
        AttrValue::Map(kvs) => Value::Object(
            kvs.iter()
                .map(|Attribute { key, value }| (key.clone(), raw(value)))
                .collect(),
        ),
        AttrValue::Empty => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_tags_follow_jaeger() {
        let mut id = TraceId([0; 16]);
        id.0[15] = 1;
        assert_eq!(trace_id(&id), "0000000000000001");
        id.0[0] = 1;
        assert_eq!(trace_id(&id).len(), 32);
        assert_eq!(
            tag("big", &AttrValue::Int(9_223_372_036_854_775_222)),
            json!({"key": "big", "type": "int64", "value": "9223372036854775222"})
        );
        assert_eq!(
            tag("b", &AttrValue::Bytes(vec![0, 0, 48, 57])),
            json!({"key": "b", "type": "binary", "value": "AAAwOQ=="})
        );
        assert_eq!(
            tag(
                "a",
                &AttrValue::Array(vec![AttrValue::Int(1), AttrValue::Str("x".into())])
            ),
            json!({"key": "a", "type": "string", "value": "[1,\"x\"]"})
        );
    }
}
