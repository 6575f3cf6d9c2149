//! Log export: `tracing` events become OpenTelemetry log records, sent over OTLP beside the spans.
//!
//! The bridge is `opentelemetry-appender-tracing`'s layer. Each record gets the severity number and text
//! of the event's level, the message as its body, the other fields as attributes (an error field as
//! `exception.message`), the target as its instrumentation scope, the service's resource, and the trace
//! and span id of the active OpenTelemetry context: a `tracing` span bridged by `tracing-opentelemetry`
//! (which activates its context while entered) or a context attached by this crate's HTTP, gRPC and
//! messaging integrations, so a record belongs to the span it was emitted in.
//!
//! Events of the exporter's own machinery (the OpenTelemetry crates, tonic, hyper, h2, tower, reqwest) are
//! never exported: exporting them would log the export itself, in a loop.
//!
//! [`layer`] is the bridge for a subscriber of your own; [`crate::Builder::init`] adds it to the global
//! subscriber; [`crate::Telemetry::log_dispatch`] serves processes that host several services.

use opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge;
use opentelemetry_sdk::logs::{SdkLogger, SdkLoggerProvider};
use tracing::dispatcher::Dispatch;
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};
use tracing_core::span::Current;
use tracing_subscriber::filter::{filter_fn, FilterFn, Filtered};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{EnvFilter, Layer};

/// The `tracing` to OpenTelemetry logs bridge over an SDK logger provider.
pub type Bridge = OpenTelemetryTracingBridge<SdkLoggerProvider, SdkLogger>;

/// A filter that keeps events of every target but the exporter's own.
pub type WithoutExporterEvents = FilterFn<fn(&Metadata<'_>) -> bool>;

/// [`Bridge`] behind a per-layer filter that drops the exporter's own events.
pub type ExportLayer<S> = Filtered<Bridge, WithoutExporterEvents, S>;

/// Whether `target` belongs to the exporter's own machinery: the OpenTelemetry crates (and
/// `tracing-opentelemetry`), tonic, hyper, h2, tower and reqwest.
pub fn is_exporter_internal(target: &str) -> bool {
    let krate = target.split("::").next().unwrap_or(target);
    krate.starts_with("opentelemetry")
        || krate.starts_with("tracing_opentelemetry")
        || krate.starts_with("tonic")
        || krate.starts_with("hyper")
        || krate.starts_with("tower")
        || matches!(krate, "h2" | "reqwest")
}

fn not_exporter_internal(metadata: &Metadata<'_>) -> bool {
    !is_exporter_internal(metadata.target())
}

fn without_exporter_events() -> WithoutExporterEvents {
    filter_fn(not_exporter_internal as fn(&Metadata<'_>) -> bool)
}

/// The bridge for a subscriber of your own: every event that the subscriber enables (put your level
/// filter before it), except the exporter's own, becomes a log record of `provider`.
///
/// ```no_run
/// # fn main() -> Result<(), tracewell_instrument::InitError> {
/// use tracing_subscriber::layer::SubscriberExt;
/// use tracing_subscriber::util::SubscriberInitExt;
///
/// let telemetry = tracewell_instrument::Builder::new().service_name("checkout").build()?;
/// let logs = telemetry.logger_provider().map(tracewell_instrument::logs::export::layer);
/// tracing_subscriber::registry()
///     .with(tracing_subscriber::EnvFilter::new("info"))
///     .with(tracing_subscriber::fmt::layer())
///     .with(logs)
///     .init();
/// # Ok(())
/// # }
/// ```
pub fn layer<S>(provider: &SdkLoggerProvider) -> ExportLayer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    bridge(provider).with_filter(without_exporter_events())
}

/// The bridge over `provider`. The SDK remarks at INFO level that the bridge's logger has an empty name
/// (the bridge names each record's scope after its target instead): that remark is nobody's log line.
fn bridge(provider: &SdkLoggerProvider) -> Bridge {
    tracing::dispatcher::with_default(&Dispatch::none(), || {
        OpenTelemetryTracingBridge::new(provider)
    })
}

/// A dispatcher that passes everything to `outer` and also exports the events `filter` enables (the
/// exporter's own excepted) through `provider`.
pub(crate) fn service_dispatch(
    outer: Dispatch,
    provider: &SdkLoggerProvider,
    filter: EnvFilter,
) -> Dispatch {
    let filter_hint = Layer::<tracing_subscriber::Registry>::max_level_hint(&filter)
        .unwrap_or(LevelFilter::TRACE);
    // Only global filters in this registry: per-layer filters keep their state in a thread-local that
    // `outer`'s own per-layer filters would share while both see the same event.
    let logs = tracing_subscriber::registry()
        .with(filter)
        .with(without_exporter_events())
        .with(bridge(provider));
    Dispatch::new(Tee {
        hint: LevelFilter::current().max(filter_hint),
        outer,
        logs: Dispatch::new(logs),
    })
}

/// Spans and events go to `outer` as if it were the current dispatcher (so its log lines and span
/// bookkeeping are unchanged); events also go to `logs`, which exports them.
struct Tee {
    outer: Dispatch,
    logs: Dispatch,
    hint: LevelFilter,
}

impl Subscriber for Tee {
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        let outer = self.outer.register_callsite(metadata);
        let logs = self.logs.register_callsite(metadata);
        if outer.is_never() && logs.is_never() {
            Interest::never()
        } else if outer.is_always() && logs.is_always() {
            Interest::always()
        } else {
            Interest::sometimes()
        }
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        self.outer.enabled(metadata) || self.logs.enabled(metadata)
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(self.hint)
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        self.outer.new_span(span)
    }

    fn record(&self, span: &Id, values: &Record<'_>) {
        self.outer.record(span, values)
    }

    fn record_follows_from(&self, span: &Id, follows: &Id) {
        self.outer.record_follows_from(span, follows)
    }

    fn event(&self, event: &Event<'_>) {
        // Each dispatcher only gets what it enables: `Dispatch::event` does not ask.
        if self.outer.enabled(event.metadata()) {
            self.outer.event(event);
        }
        if self.logs.enabled(event.metadata()) {
            self.logs.event(event);
        }
    }

    fn enter(&self, span: &Id) {
        self.outer.enter(span)
    }

    fn exit(&self, span: &Id) {
        self.outer.exit(span)
    }

    fn clone_span(&self, id: &Id) -> Id {
        self.outer.clone_span(id)
    }

    fn try_close(&self, id: Id) -> bool {
        self.outer.try_close(id)
    }

    fn current_span(&self) -> Current {
        self.outer.current_span()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exporters_own_targets_are_internal() {
        for target in [
            "opentelemetry",
            "opentelemetry_sdk",
            "opentelemetry-otlp",
            "opentelemetry_sdk::logs::batch_log_processor",
            "tracing_opentelemetry::layer",
            "tonic::transport::channel",
            "hyper",
            "hyper_util::client::legacy::pool",
            "h2::codec",
            "tower::buffer::worker",
            "reqwest::connect",
        ] {
            assert!(is_exporter_internal(target), "{target}");
        }
        for target in ["checkout", "tracewell_demo::broker", "h2o", "hypothesis"] {
            assert!(!is_exporter_internal(target), "{target}");
        }
    }
}
