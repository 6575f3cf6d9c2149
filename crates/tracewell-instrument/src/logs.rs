//! Log correlation: a `tracing-subscriber` event formatter that writes `trace_id` and `span_id` on every
//! log line emitted inside a span, as text (`... trace_id=… span_id=…`) or as one JSON object per line.
//!
//! The ids come from the active OpenTelemetry context: a `tracing` span bridged by
//! `tracing-opentelemetry` activates its context while entered, and the HTTP and messaging
//! integrations of this crate attach theirs while a handler runs, so both kinds of spans correlate.
//!
//! [`export`] sends the same events as OpenTelemetry log records, with the same ids.

use std::fmt;

use opentelemetry::trace::{SpanId, TraceContextExt, TraceId};
use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{self, Format, Full, Writer};
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::fmt::time::SystemTime;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

pub mod export;

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// `tracing-subscriber`'s full text format followed by `trace_id=… span_id=…`.
    #[default]
    Text,
    /// One JSON object per line: timestamp, level, target, message, fields, span, trace_id, span_id.
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!(
                "unknown log format {other:?}: expected text or json"
            )),
        }
    }
}

/// The trace and span id of the active OpenTelemetry span, when there is a valid one.
pub fn current_ids() -> Option<(TraceId, SpanId)> {
    let cx = opentelemetry::Context::current();
    let span = cx.span();
    let sc = span.span_context();
    sc.is_valid().then(|| (sc.trace_id(), sc.span_id()))
}

/// The event formatter; install with `tracing_subscriber::fmt::layer().event_format(CorrelatedFormat::new(..))`.
#[derive(Debug)]
pub struct CorrelatedFormat {
    format: LogFormat,
    text: Format<Full, SystemTime>,
}

impl CorrelatedFormat {
    pub fn new(format: LogFormat) -> Self {
        CorrelatedFormat {
            format,
            text: format::format().with_ansi(false),
        }
    }
}

impl<S, N> FormatEvent<S, N> for CorrelatedFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let ids = current_ids();
        match self.format {
            LogFormat::Text => {
                let mut line = String::with_capacity(160);
                self.text.format_event(ctx, Writer::new(&mut line), event)?;
                let line = line.trim_end_matches('\n');
                match ids {
                    Some((trace_id, span_id)) => {
                        writeln!(writer, "{line} trace_id={trace_id} span_id={span_id}")
                    }
                    None => writeln!(writer, "{line}"),
                }
            }
            LogFormat::Json => {
                let mut object = Map::new();
                let mut now = String::with_capacity(32);
                SystemTime.format_time(&mut Writer::new(&mut now))?;
                object.insert("timestamp".into(), Value::String(now));
                let meta = event.metadata();
                object.insert("level".into(), Value::String(meta.level().to_string()));
                object.insert("target".into(), Value::String(meta.target().to_string()));
                let mut fields = JsonFields::default();
                event.record(&mut fields);
                if let Some(message) = fields.message.take() {
                    object.insert("message".into(), Value::String(message));
                }
                if !fields.map.is_empty() {
                    object.insert("fields".into(), Value::Object(fields.map));
                }
                if let Some(span) = ctx.lookup_current() {
                    object.insert("span".into(), Value::String(span.name().to_string()));
                }
                if let Some((trace_id, span_id)) = ids {
                    object.insert("trace_id".into(), Value::String(trace_id.to_string()));
                    object.insert("span_id".into(), Value::String(span_id.to_string()));
                }
                let text = serde_json::to_string(&object).map_err(|_| fmt::Error)?;
                writeln!(writer, "{text}")
            }
        }
    }
}

#[derive(Default)]
struct JsonFields {
    message: Option<String>,
    map: Map<String, Value>,
}

impl JsonFields {
    fn put(&mut self, field: &Field, value: Value) {
        if field.name() == "message" {
            self.message = Some(match value {
                Value::String(s) => s,
                other => other.to_string(),
            });
        } else {
            self.map.insert(field.name().to_string(), value);
        }
    }
}

impl Visit for JsonFields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, Value::String(format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::String(value.to_string()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::from(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::from(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, Value::String(value.to_string()));
    }
}
