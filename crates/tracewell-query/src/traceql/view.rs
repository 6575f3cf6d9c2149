//! Stored spans as the TraceQL evaluator sees them: [`TraceSpans`] implements the language crate's `TraceView`
//! over one trace's spans, answering intrinsics (including the trace-level ones) and attributes of every scope.

use std::collections::HashMap;

use tracewell_model::{AttrValue, Attribute, Span, SpanId, SpanKind, StatusCode};
use tracewell_traceql::ast::{AttributeScope, Field, Intrinsic};
use tracewell_traceql::value::{Kind, Status, Value};
use tracewell_traceql::view::{SpanView, TraceView};

/// What every span of a trace answers for `trace:` intrinsics.
#[derive(Debug, Clone)]
struct TraceFacts {
    id: String,
    duration_nano: u64,
    root_name: Option<String>,
    root_service: Option<String>,
}

/// One span with its trace's facts.
pub struct SpanRef<'a> {
    pub span: &'a Span,
    trace: &'a TraceFacts,
}

/// One trace: its spans (any order) and their parent links.
pub struct TraceSpans<'a> {
    spans: Vec<SpanRef<'a>>,
    parents: Vec<Option<usize>>,
}

/// Holds the trace facts the span views borrow.
pub struct TraceHolder {
    facts: TraceFacts,
}

impl TraceHolder {
    pub fn new(spans: &[Span]) -> Self {
        let start = spans.iter().map(|s| s.start_unix_nano).min().unwrap_or(0);
        let end = spans.iter().map(|s| s.end_unix_nano).max().unwrap_or(0);
        let root = spans
            .iter()
            .filter(|s| s.parent_span_id.is_none())
            .min_by_key(|s| s.start_unix_nano);
        Self {
            facts: TraceFacts {
                id: spans
                    .first()
                    .map(|s| s.trace_id.to_hex())
                    .unwrap_or_default(),
                duration_nano: end.saturating_sub(start),
                root_name: root.map(|r| r.name.clone()),
                root_service: root.map(|r| r.service_name().to_owned()),
            },
        }
    }

    pub fn view<'a>(&'a self, spans: &'a [Span]) -> TraceSpans<'a> {
        let mut index_of: HashMap<SpanId, usize> = HashMap::with_capacity(spans.len());
        for (i, s) in spans.iter().enumerate() {
            index_of.entry(s.span_id).or_insert(i);
        }
        let parents = spans
            .iter()
            .enumerate()
            .map(|(i, s)| {
                s.parent_span_id
                    .and_then(|p| index_of.get(&p).copied())
                    .filter(|&p| p != i)
            })
            .collect();
        TraceSpans {
            spans: spans
                .iter()
                .map(|span| SpanRef {
                    span,
                    trace: &self.facts,
                })
                .collect(),
            parents,
        }
    }
}

impl<'a> TraceView for TraceSpans<'a> {
    type Span = SpanRef<'a>;

    fn span_count(&self) -> usize {
        self.spans.len()
    }

    fn span(&self, index: usize) -> Option<&Self::Span> {
        self.spans.get(index)
    }

    fn parent(&self, index: usize) -> Option<usize> {
        self.parents.get(index).copied().flatten()
    }
}

/// A stored attribute value as a TraceQL value; maps and bytes have no TraceQL form.
pub fn to_value(value: &AttrValue) -> Value {
    match value {
        AttrValue::Str(s) => Value::Str(s.clone()),
        AttrValue::Bool(b) => Value::Bool(*b),
        AttrValue::Int(i) => Value::Int(*i),
        AttrValue::Double(d) => Value::Float(*d),
        AttrValue::Array(items) => Value::Array(items.iter().map(to_value).collect()),
        AttrValue::Bytes(_) | AttrValue::Map(_) | AttrValue::Empty => Value::Nil,
    }
}

fn find(attrs: &[Attribute], key: &str) -> Option<Value> {
    attrs
        .iter()
        .find(|a| a.key == key)
        .map(|a| to_value(&a.value))
}

/// One value when a single event (link) has it, an array when several do.
fn gathered(values: Vec<Value>) -> Option<Value> {
    match values.len() {
        0 => None,
        1 => values.into_iter().next(),
        _ => Some(Value::Array(values)),
    }
}

pub(super) fn status(code: StatusCode) -> Status {
    match code {
        StatusCode::Unset => Status::Unset,
        StatusCode::Ok => Status::Ok,
        StatusCode::Error => Status::Error,
    }
}

pub(super) fn kind(kind: SpanKind) -> Kind {
    match kind {
        SpanKind::Unspecified => Kind::Unspecified,
        SpanKind::Internal => Kind::Internal,
        SpanKind::Server => Kind::Server,
        SpanKind::Client => Kind::Client,
        SpanKind::Producer => Kind::Producer,
        SpanKind::Consumer => Kind::Consumer,
    }
}

fn nanos(n: u64) -> Value {
    Value::Duration(i64::try_from(n).unwrap_or(i64::MAX))
}

impl SpanView for SpanRef<'_> {
    fn intrinsic(&self, intrinsic: Intrinsic) -> Value {
        let s = self.span;
        let text = |t: &Option<String>| t.clone().map_or(Value::Nil, Value::Str);
        match intrinsic {
            Intrinsic::Duration => nanos(s.duration_nano()),
            Intrinsic::Name => Value::Str(s.name.clone()),
            Intrinsic::Status => Value::Status(status(s.status.code)),
            Intrinsic::StatusMessage => Value::Str(s.status.message.clone()),
            Intrinsic::Kind => Value::Kind(kind(s.kind)),
            Intrinsic::SpanId => Value::Str(s.span_id.to_hex()),
            Intrinsic::ParentId => s
                .parent_span_id
                .map_or(Value::Nil, |p| Value::Str(p.to_hex())),
            Intrinsic::TraceId => Value::Str(self.trace.id.clone()),
            Intrinsic::TraceDuration => nanos(self.trace.duration_nano),
            Intrinsic::TraceRootName => text(&self.trace.root_name),
            Intrinsic::TraceRootService => text(&self.trace.root_service),
            Intrinsic::EventName => gathered(
                s.events
                    .iter()
                    .map(|e| Value::Str(e.name.clone()))
                    .collect(),
            )
            .unwrap_or(Value::Nil),
            Intrinsic::EventTimeSinceStart => gathered(
                s.events
                    .iter()
                    .map(|e| nanos(e.time_unix_nano.saturating_sub(s.start_unix_nano)))
                    .collect(),
            )
            .unwrap_or(Value::Nil),
            Intrinsic::LinkTraceId => gathered(
                s.links
                    .iter()
                    .map(|l| Value::Str(l.trace_id.to_hex()))
                    .collect(),
            )
            .unwrap_or(Value::Nil),
            Intrinsic::LinkSpanId => gathered(
                s.links
                    .iter()
                    .map(|l| Value::Str(l.span_id.to_hex()))
                    .collect(),
            )
            .unwrap_or(Value::Nil),
            Intrinsic::InstrumentationName => Value::Str(s.scope.name.clone()),
            Intrinsic::InstrumentationVersion => Value::Str(s.scope.version.clone()),
            // Computed by the evaluator from the parent links.
            Intrinsic::ChildCount
            | Intrinsic::NestedSetLeft
            | Intrinsic::NestedSetRight
            | Intrinsic::NestedSetParent => Value::Nil,
        }
    }

    fn attribute(&self, scope: AttributeScope, key: &str) -> Option<Value> {
        let s = self.span;
        match scope {
            AttributeScope::Span => find(&s.attributes, key),
            AttributeScope::Resource => find(&s.resource.attributes, key),
            AttributeScope::Unscoped => {
                find(&s.attributes, key).or_else(|| find(&s.resource.attributes, key))
            }
            AttributeScope::Event => gathered(
                s.events
                    .iter()
                    .filter_map(|e| find(&e.attributes, key))
                    .collect(),
            ),
            AttributeScope::Link => gathered(
                s.links
                    .iter()
                    .filter_map(|l| find(&l.attributes, key))
                    .collect(),
            ),
            AttributeScope::Instrumentation => find(&s.scope.attributes, key),
        }
    }

    fn for_each_attribute(&self, visit: &mut dyn FnMut(AttributeScope, &str, Value)) {
        let s = self.span;
        for (scope, attributes) in [
            (AttributeScope::Span, &s.attributes),
            (AttributeScope::Resource, &s.resource.attributes),
            (AttributeScope::Instrumentation, &s.scope.attributes),
        ] {
            for a in attributes {
                visit(scope, &a.key, to_value(&a.value));
            }
        }
    }
}

/// The value of a field on a span (for `select()`); `None` when absent.
pub fn field_value(span: &SpanRef<'_>, field: &Field) -> Option<Value> {
    match field {
        Field::Attribute(a) => span.attribute(a.scope, &a.name),
        Field::Intrinsic(i) => Some(span.intrinsic(*i)).filter(|v| !matches!(v, Value::Nil)),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tracewell_model::{Resource, Scope};

    use super::*;

    #[test]
    fn every_span_resource_and_scope_attribute_is_listed() {
        let span = Span {
            name: "GET /".into(),
            attributes: vec![
                Attribute::new("http.method", AttrValue::Str("GET".into())),
                Attribute::new("payload", AttrValue::Bytes(vec![1])),
            ],
            resource: Arc::new(Resource::new(
                vec![Attribute::new(
                    "service.name",
                    AttrValue::Str("shop".into()),
                )],
                0,
                String::new(),
            )),
            scope: Arc::new(Scope {
                attributes: vec![Attribute::new("lib.flag", AttrValue::Bool(true))],
                ..Scope::default()
            }),
            events: vec![tracewell_model::Event {
                attributes: vec![Attribute::new("event.only", AttrValue::Int(1))],
                ..Default::default()
            }],
            ..Span::default()
        };
        let spans = [span];
        let holder = TraceHolder::new(&spans);
        let trace = holder.view(&spans);
        let mut listed = Vec::new();
        trace
            .span(0)
            .expect("one span")
            .for_each_attribute(&mut |scope, key, value| {
                listed.push((scope, key.to_owned(), value))
            });
        assert_eq!(
            listed,
            vec![
                (
                    AttributeScope::Span,
                    "http.method".to_owned(),
                    Value::Str("GET".into())
                ),
                (AttributeScope::Span, "payload".to_owned(), Value::Nil),
                (
                    AttributeScope::Resource,
                    "service.name".to_owned(),
                    Value::Str("shop".into())
                ),
                (
                    AttributeScope::Instrumentation,
                    "lib.flag".to_owned(),
                    Value::Bool(true)
                ),
            ]
        );
    }
}
