//! Spans of Tracewell's own work — ingest requests, flushes, compactions, queries — for self-tracing
//! (`--self-tracing`). Spans go to the global OpenTelemetry tracer provider: without one installed they are
//! no-ops that cost a few nanoseconds, so the calls stay in place whether self-tracing is on or not.

use opentelemetry::trace::{SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue, Value};

/// The instrumentation scope of Tracewell's own spans.
pub const SCOPE: &str = "tracewell";

/// One unit of work traced as a span: a child of the current context, ended when dropped.
#[derive(Debug)]
pub struct Work {
    cx: Context,
}

impl Work {
    /// Starts a span of `kind` named `name` under the current context.
    pub fn start(
        name: impl Into<std::borrow::Cow<'static, str>>,
        kind: SpanKind,
        attributes: Vec<KeyValue>,
    ) -> Self {
        let tracer = opentelemetry::global::tracer(SCOPE);
        let span = tracer
            .span_builder(name)
            .with_kind(kind)
            .with_attributes(attributes)
            .start(&tracer);
        Self {
            cx: Context::current_with_span(span),
        }
    }

    /// The context to run the work's future in (`FutureExt::with_context`), so its own spans are children.
    pub fn context(&self) -> Context {
        self.cx.clone()
    }

    /// Records an attribute learned while working.
    pub fn set(&self, key: &'static str, value: impl Into<Value>) {
        self.cx.span().set_attribute(KeyValue::new(key, value));
    }

    /// Records the work's outcome: `record` notes what a success found, an error marks the work failed.
    pub fn finish<T, E: std::fmt::Display>(
        &self,
        result: &Result<T, E>,
        record: impl FnOnce(&Self, &T),
    ) {
        match result {
            Ok(found) => record(self, found),
            Err(error) => self.fail(error),
        }
    }

    /// Marks the work failed.
    pub fn fail(&self, message: impl std::fmt::Display) {
        self.cx
            .span()
            .set_status(Status::error(message.to_string()));
    }
}

impl Drop for Work {
    fn drop(&mut self) {
        self.cx.span().end();
    }
}
