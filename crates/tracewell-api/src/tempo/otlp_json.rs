//! OTLP traces as Tempo writes them in JSON (gogo jsonpb defaults): ids and bytes in base64, enums as names
//! (`SPAN_KIND_SERVER`, `STATUS_CODE_ERROR`), 64-bit integers as strings, zero values and empty lists omitted,
//! empty messages (`resource`, `scope`, `status`) written as `{}`.

use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::trace::v1::{span, ResourceSpans, ScopeSpans, Span, Status};
use serde_json::{json, Map, Value};

use super::base64;

/// An object builder that leaves zero values out, as jsonpb does.
#[derive(Default)]
struct Obj(Map<String, Value>);

impl Obj {
    fn str(mut self, key: &str, v: &str) -> Self {
        if !v.is_empty() {
            self.0.insert(key.into(), v.into());
        }
        self
    }
    fn u32(mut self, key: &str, v: u32) -> Self {
        if v != 0 {
            self.0.insert(key.into(), v.into());
        }
        self
    }
    fn u64(mut self, key: &str, v: u64) -> Self {
        if v != 0 {
            self.0.insert(key.into(), v.to_string().into());
        }
        self
    }
    fn bytes(mut self, key: &str, v: &[u8]) -> Self {
        if !v.is_empty() {
            self.0.insert(key.into(), base64::encode(v).into());
        }
        self
    }
    fn list(mut self, key: &str, items: Vec<Value>) -> Self {
        if !items.is_empty() {
            self.0.insert(key.into(), Value::Array(items));
        }
        self
    }
    fn value(mut self, key: &str, v: Value) -> Self {
        self.0.insert(key.into(), v);
        self
    }
    fn done(self) -> Value {
        Value::Object(self.0)
    }
}

pub(crate) fn resource_spans(rs: &[ResourceSpans]) -> Vec<Value> {
    rs.iter().map(one_resource_spans).collect()
}

fn one_resource_spans(rs: &ResourceSpans) -> Value {
    let resource = rs.resource.as_ref().map(|r| {
        Obj::default()
            .list("attributes", attributes(&r.attributes))
            .u32("droppedAttributesCount", r.dropped_attributes_count)
            .done()
    });
    let mut obj = Obj::default();
    if let Some(resource) = resource {
        obj = obj.value("resource", resource);
    }
    obj.list(
        "scopeSpans",
        rs.scope_spans.iter().map(scope_spans).collect(),
    )
    .str("schemaUrl", &rs.schema_url)
    .done()
}

fn scope_spans(ss: &ScopeSpans) -> Value {
    let mut obj = Obj::default();
    if let Some(scope) = &ss.scope {
        obj = obj.value("scope", scope_json(scope));
    }
    obj.list("spans", ss.spans.iter().map(span_json).collect())
        .str("schemaUrl", &ss.schema_url)
        .done()
}

fn scope_json(scope: &InstrumentationScope) -> Value {
    Obj::default()
        .str("name", &scope.name)
        .str("version", &scope.version)
        .list("attributes", attributes(&scope.attributes))
        .u32("droppedAttributesCount", scope.dropped_attributes_count)
        .done()
}

fn span_json(s: &Span) -> Value {
    let mut obj = Obj::default()
        .bytes("traceId", &s.trace_id)
        .bytes("spanId", &s.span_id)
        .str("traceState", &s.trace_state)
        .bytes("parentSpanId", &s.parent_span_id)
        .u32("flags", s.flags)
        .str("name", &s.name);
    if s.kind != 0 {
        let kind = span::SpanKind::try_from(s.kind)
            .map(|k| k.as_str_name().to_owned())
            .unwrap_or_else(|_| s.kind.to_string());
        obj = obj.value("kind", kind.into());
    }
    obj.u64("startTimeUnixNano", s.start_time_unix_nano)
        .u64("endTimeUnixNano", s.end_time_unix_nano)
        .list("attributes", attributes(&s.attributes))
        .u32("droppedAttributesCount", s.dropped_attributes_count)
        .list("events", s.events.iter().map(event_json).collect())
        .u32("droppedEventsCount", s.dropped_events_count)
        .list("links", s.links.iter().map(link_json).collect())
        .u32("droppedLinksCount", s.dropped_links_count)
        .value("status", status_json(s.status.as_ref()))
        .done()
}

fn event_json(e: &span::Event) -> Value {
    Obj::default()
        .u64("timeUnixNano", e.time_unix_nano)
        .str("name", &e.name)
        .list("attributes", attributes(&e.attributes))
        .u32("droppedAttributesCount", e.dropped_attributes_count)
        .done()
}

fn link_json(l: &span::Link) -> Value {
    Obj::default()
        .bytes("traceId", &l.trace_id)
        .bytes("spanId", &l.span_id)
        .str("traceState", &l.trace_state)
        .list("attributes", attributes(&l.attributes))
        .u32("droppedAttributesCount", l.dropped_attributes_count)
        .u32("flags", l.flags)
        .done()
}

fn status_json(status: Option<&Status>) -> Value {
    let Some(status) = status else {
        return json!({});
    };
    let mut obj = Obj::default().str("message", &status.message);
    if status.code != 0 {
        let code = opentelemetry_proto::tonic::trace::v1::status::StatusCode::try_from(status.code)
            .map(|c| c.as_str_name().to_owned())
            .unwrap_or_else(|_| status.code.to_string());
        obj = obj.value("code", code.into());
    }
    obj.done()
}

fn attributes(kvs: &[KeyValue]) -> Vec<Value> {
    kvs.iter()
        .map(|kv| {
            let mut obj = Obj::default().str("key", &kv.key);
            if let Some(v) = &kv.value {
                obj = obj.value("value", any_value(v));
            }
            obj.done()
        })
        .collect()
}

/// Oneof members are written even when they hold a zero value.
fn any_value(v: &AnyValue) -> Value {
    use any_value::Value as V;
    match &v.value {
        None => json!({}),
        Some(V::StringValue(s)) => json!({ "stringValue": s }),
        Some(V::BoolValue(b)) => json!({ "boolValue": b }),
        Some(V::IntValue(i)) => json!({ "intValue": i.to_string() }),
        Some(V::DoubleValue(d)) => json!({ "doubleValue": float(*d) }),
        Some(V::BytesValue(b)) => json!({ "bytesValue": base64::encode(b) }),
        Some(V::ArrayValue(a)) => {
            json!({ "arrayValue": Obj::default().list("values", a.values.iter().map(any_value).collect()).done() })
        }
        Some(V::KvlistValue(l)) => {
            json!({ "kvlistValue": Obj::default().list("values", attributes(&l.values)).done() })
        }
        Some(V::StringValueStrindex(i)) => json!({ "stringValueStrindex": i }),
    }
}

/// A double as jsonpb writes it: a number, or `"NaN"` / `"Infinity"` / `"-Infinity"`.
pub(crate) fn float(d: f64) -> Value {
    if d.is_nan() {
        "NaN".into()
    } else if d.is_infinite() {
        if d > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else {
        json!(d)
    }
}
