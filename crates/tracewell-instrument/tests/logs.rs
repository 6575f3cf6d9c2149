//! Log correlation: lines logged inside a span carry its `trace_id` and `span_id`, in text and JSON,
//! whether the span is a `tracing` span bridged to OpenTelemetry or an OpenTelemetry context attached
//! by this crate's integrations; lines outside any span carry none.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use opentelemetry::trace::{TraceContextExt, Tracer};
use support::*;
use tracewell_instrument::logs::{CorrelatedFormat, LogFormat};
use tracing_subscriber::layer::SubscriberExt;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Buffer {
    fn lines(&self) -> Vec<String> {
        String::from_utf8(self.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }
}

/// Logs three lines (outside any span, in a bridged `tracing` span, in an attached OTel context) and
/// returns them with the ids of the two spans.
fn log_three(format: LogFormat) -> (Vec<String>, [(String, String); 2]) {
    let (telemetry, instrumentation, exporter) = telemetry("logger");
    let buffer = Buffer::default();
    let subscriber = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(buffer.clone())
                .event_format(CorrelatedFormat::new(format)),
        )
        .with(tracing_opentelemetry::layer().with_tracer(telemetry.tracer("logs-test")));
    tracing::subscriber::with_default(subscriber, || {
        tracing::info!(order = 7, "outside any span");
        tracing::info_span!("charge card").in_scope(|| {
            tracing::warn!(amount = 12.5, "card declined");
        });
        let span = instrumentation.tracer().start("handle request");
        let cx = opentelemetry::Context::current_with_span(span);
        {
            let _guard = cx.clone().attach();
            tracing::error!(error = "boom", "request failed");
        }
        cx.span().end();
    });
    let spans = spans(&exporter);
    let ids = |name: &str| {
        let s = named(&spans, name);
        (trace_of(s).to_string(), id_of(s).to_string())
    };
    (buffer.lines(), [ids("charge card"), ids("handle request")])
}

#[test]
fn text_lines_end_with_the_ids() {
    let (lines, [(t1, s1), (t2, s2)]) = log_three(LogFormat::Text);
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert!(
        lines[0].contains("outside any span") && !lines[0].contains("trace_id="),
        "{}",
        lines[0]
    );
    assert!(lines[1].contains("card declined"), "{}", lines[1]);
    assert!(
        lines[1].ends_with(&format!(" trace_id={t1} span_id={s1}")),
        "{}",
        lines[1]
    );
    assert!(lines[2].contains("request failed"), "{}", lines[2]);
    assert!(
        lines[2].ends_with(&format!(" trace_id={t2} span_id={s2}")),
        "{}",
        lines[2]
    );
    assert!(lines[1].contains("WARN") && lines[2].contains("ERROR"));
}

#[test]
fn json_lines_carry_the_ids_as_fields() {
    let (lines, [(t1, s1), (t2, s2)]) = log_three(LogFormat::Json);
    let parsed: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    assert_eq!(parsed.len(), 3);
    assert_eq!(parsed[0]["message"], "outside any span");
    assert_eq!(parsed[0]["fields"]["order"], 7);
    assert!(parsed[0].get("trace_id").is_none());
    assert_eq!(parsed[1]["message"], "card declined");
    assert_eq!(parsed[1]["level"], "WARN");
    assert_eq!(parsed[1]["span"], "charge card");
    assert_eq!(parsed[1]["fields"]["amount"], 12.5);
    assert_eq!(parsed[1]["trace_id"], t1.as_str());
    assert_eq!(parsed[1]["span_id"], s1.as_str());
    assert_eq!(parsed[2]["trace_id"], t2.as_str());
    assert_eq!(parsed[2]["span_id"], s2.as_str());
    assert_eq!(parsed[2]["fields"]["error"], "boom");
    assert!(parsed[2]["timestamp"].as_str().unwrap().contains('T'));
}
