//! Helpers shared by the integration tests: reading query data files.

#![allow(dead_code)]

use std::path::Path;

/// Lines of a data file under `tests/data`, without comments and blanks.
/// When `escaped`, `\\`, `\n`, `\t` and `\r` are unescaped.
pub fn queries(file: &str, escaped: bool) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .map(|line| {
            if escaped {
                unescape(line)
            } else {
                line.to_string()
            }
        })
        .collect()
}

fn unescape(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

use tracewell_traceql::ast::{AttributeScope, Intrinsic};
use tracewell_traceql::value::{Kind, Status, Value};
use tracewell_traceql::view::{SpanView, TraceView};

/// A span built by hand for tests.
#[derive(Clone, Debug, Default)]
pub struct TestSpan {
    pub name: String,
    pub service: String,
    pub status: Option<Status>,
    pub kind: Option<Kind>,
    pub duration_ms: i64,
    pub span_attrs: Vec<(String, Value)>,
    pub resource_attrs: Vec<(String, Value)>,
    pub event_attrs: Vec<(String, Value)>,
    pub parent: Option<usize>,
}

impl TestSpan {
    pub fn new(name: &str, service: &str, parent: Option<usize>) -> TestSpan {
        TestSpan {
            name: name.into(),
            service: service.into(),
            parent,
            duration_ms: 10,
            ..TestSpan::default()
        }
    }

    pub fn error(mut self) -> TestSpan {
        self.status = Some(Status::Error);
        self
    }

    pub fn duration(mut self, ms: i64) -> TestSpan {
        self.duration_ms = ms;
        self
    }

    pub fn attr(mut self, key: &str, value: Value) -> TestSpan {
        self.span_attrs.push((key.into(), value));
        self
    }

    pub fn resource(mut self, key: &str, value: Value) -> TestSpan {
        self.resource_attrs.push((key.into(), value));
        self
    }

    pub fn event(mut self, key: &str, value: Value) -> TestSpan {
        self.event_attrs.push((key.into(), value));
        self
    }
}

impl SpanView for TestSpan {
    fn intrinsic(&self, intrinsic: Intrinsic) -> Value {
        match intrinsic {
            Intrinsic::Name => Value::Str(self.name.clone()),
            Intrinsic::Status => Value::Status(self.status.unwrap_or(Status::Unset)),
            Intrinsic::Kind => Value::Kind(self.kind.unwrap_or(Kind::Internal)),
            Intrinsic::Duration => Value::Duration(self.duration_ms * 1_000_000),
            _ => Value::Nil,
        }
    }

    fn attribute(&self, scope: AttributeScope, key: &str) -> Option<Value> {
        let attrs = match scope {
            AttributeScope::Span => &self.span_attrs,
            AttributeScope::Resource => {
                if key == "service.name" {
                    return Some(Value::Str(self.service.clone()));
                }
                &self.resource_attrs
            }
            AttributeScope::Event => &self.event_attrs,
            _ => return None,
        };
        attrs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
    }

    fn for_each_attribute(&self, visit: &mut dyn FnMut(AttributeScope, &str, Value)) {
        for (key, value) in &self.span_attrs {
            visit(AttributeScope::Span, key, value.clone());
        }
        visit(
            AttributeScope::Resource,
            "service.name",
            Value::Str(self.service.clone()),
        );
        for (key, value) in &self.resource_attrs {
            visit(AttributeScope::Resource, key, value.clone());
        }
    }
}

/// A trace of [`TestSpan`]s; `parent` indexes may point at missing spans.
#[derive(Clone, Debug, Default)]
pub struct TestTrace {
    pub spans: Vec<TestSpan>,
}

impl TraceView for TestTrace {
    type Span = TestSpan;

    fn span_count(&self) -> usize {
        self.spans.len()
    }

    fn span(&self, index: usize) -> Option<&TestSpan> {
        self.spans.get(index)
    }

    fn parent(&self, index: usize) -> Option<usize> {
        self.spans.get(index).and_then(|s| s.parent)
    }
}

/// Runs `query` over `trace` and returns the span names of each spanset.
pub fn names(query: &str, trace: &TestTrace) -> Vec<Vec<String>> {
    let compiled = tracewell_traceql::compile(query).unwrap_or_else(|e| panic!("{query}: {e}"));
    tracewell_traceql::evaluate(&compiled, trace)
        .unwrap_or_else(|e| panic!("{query}: {e}"))
        .into_iter()
        .map(|s| {
            s.spans
                .iter()
                .map(|&i| trace.spans[i].name.clone())
                .collect()
        })
        .collect()
}

/// Names of all spans returned, flattened.
pub fn flat(query: &str, trace: &TestTrace) -> Vec<String> {
    names(query, trace).into_iter().flatten().collect()
}
