//! The storage-neutral contract between the evaluator and a storage engine:
//! how a span answers intrinsics and attributes, and how a trace exposes
//! its spans and parent links.

use crate::ast::{AttributeScope, Field, Intrinsic};
use crate::value::Value;

/// One span as the evaluator sees it.
pub trait SpanView {
    /// The value of an intrinsic, or [`Value::Nil`] when unknown.
    ///
    /// `span:childCount` and `nestedSet*` are computed by the evaluator from
    /// the trace's parent links and are never asked for. Event and link
    /// intrinsics of a span with several events or links may be answered
    /// with a [`Value::Array`].
    fn intrinsic(&self, intrinsic: Intrinsic) -> Value;

    /// The attribute `key` in `scope`, or `None` when absent.
    ///
    /// `scope` is never [`AttributeScope::Unscoped`]: the evaluator resolves
    /// `.key` as the span attribute if present, else the resource
    /// attribute. Event and link attributes of a span with several events
    /// or links may be answered with a [`Value::Array`] of their values.
    fn attribute(&self, scope: AttributeScope, key: &str) -> Option<Value>;

    /// Calls `visit` with the scope, key and value of every span, resource
    /// and instrumentation-scope attribute of the span, for functions that
    /// look at all of them (`compare()`). The scope is
    /// [`AttributeScope::Span`], [`AttributeScope::Resource`] or
    /// [`AttributeScope::Instrumentation`]; event and link attributes are
    /// not listed. Values without a TraceQL form may be given as
    /// [`Value::Nil`]. A key listed twice in one scope counts once.
    fn for_each_attribute(&self, visit: &mut dyn FnMut(AttributeScope, &str, Value));
}

/// One trace: its spans, addressed by index, and their parent links.
pub trait TraceView {
    /// The span type.
    type Span: SpanView;

    /// Number of spans; indexes are `0..span_count()`.
    fn span_count(&self) -> usize;

    /// The span at `index`, if any.
    fn span(&self, index: usize) -> Option<&Self::Span>;

    /// Index of the parent of span `index` when the parent is in the trace;
    /// `None` for roots and for spans whose parent is missing. Links that
    /// point out of range, at the span itself, or that form cycles are
    /// ignored.
    fn parent(&self, index: usize) -> Option<usize>;
}

/// The value of `field` on `span`, `Nil` when absent; an unscoped attribute is the span's, else the resource's.
/// Structural intrinsics (`span:childCount`, nested-set numbers) are the evaluator's and read as `Nil` here.
pub fn field_value<S: SpanView>(span: &S, field: &Field) -> Value {
    match field {
        Field::Intrinsic(i) => span.intrinsic(*i),
        Field::Attribute(a) => match a.scope {
            AttributeScope::Unscoped => span
                .attribute(AttributeScope::Span, &a.name)
                .or_else(|| span.attribute(AttributeScope::Resource, &a.name)),
            scope => span.attribute(scope, &a.name),
        }
        .unwrap_or(Value::Nil),
    }
}
