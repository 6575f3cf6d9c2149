//! One-call setup: tracer provider with batch OTLP export, logger provider with batch OTLP export of
//! `tracing` events, resource, sampler, propagators and a `tracing` subscriber with log correlation,
//! honouring the standard `OTEL_*` variables.
//!
//! Environment variables win over values given in code (they are the operator's choice):
//! `OTEL_SDK_DISABLED`, `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER`(`_ARG`),
//! `OTEL_PROPAGATORS`, `OTEL_LOGS_EXPORTER`, `OTEL_EXPORTER_OTLP_(TRACES_|LOGS_)PROTOCOL` and
//! `OTEL_EXPORTER_OTLP_(TRACES_|LOGS_)ENDPOINT` (the exporters also read `OTEL_EXPORTER_OTLP_HEADERS`,
//! `_TIMEOUT` and `_COMPRESSION` themselves). `RUST_LOG` filters both the log lines and the exported
//! log records.

use std::sync::Arc;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry::KeyValue;
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig, WithTonicConfig};
use opentelemetry_sdk::logs::{LoggerProviderBuilder, SdkLoggerProvider};
use opentelemetry_sdk::trace::{
    BatchSpanProcessor, Sampler, SdkTracer, SdkTracerProvider, ShouldSample, SpanExporter,
    SpanProcessor,
};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

use crate::http_export::RuntimeHttpClient;
pub use crate::logs::LogFormat;
use crate::logs::{export, CorrelatedFormat};
use crate::propagation::{self, PropagationError};
use crate::resource::{build_resource_with_env, ServiceInfo};
use crate::sampler::{sampler_from_name, SamplerError};

/// The OTLP transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// OTLP/gRPC, port 4317 by default.
    Grpc,
    /// OTLP/HTTP with protobuf bodies, port 4318 by default (the specification's default).
    HttpProtobuf,
    /// OTLP/HTTP with JSON bodies.
    HttpJson,
}

impl std::str::FromStr for Protocol {
    type Err = InitError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "grpc" => Ok(Protocol::Grpc),
            "http/protobuf" => Ok(Protocol::HttpProtobuf),
            "http/json" => Ok(Protocol::HttpJson),
            other => Err(InitError::Protocol(other.to_string())),
        }
    }
}

/// Why setup failed.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("unknown OTLP protocol {0:?}: expected grpc, http/protobuf or http/json")]
    Protocol(String),
    #[error("OTEL_TRACES_SAMPLER: {0}")]
    Sampler(#[from] SamplerError),
    #[error("OTEL_PROPAGATORS: {0}")]
    Propagators(#[from] PropagationError),
    #[error("OTEL_SDK_DISABLED must be true or false, got {0:?}")]
    Disabled(String),
    #[error("OTEL_LOGS_EXPORTER: unknown exporter {0:?}: expected otlp or none")]
    LogsExporter(String),
    #[error("cannot build the OTLP exporter: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
    #[error("cannot start a Tokio runtime for the OTLP/HTTP exporter: {0}")]
    HttpRuntime(std::io::Error),
    #[error("bad log filter {0:?}: {1}")]
    LogFilter(String, String),
    #[error("a global tracing subscriber is already installed: {0}")]
    Subscriber(String),
}

type Env = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Adds a log processor to the logger provider being built.
type AttachLogProcessor =
    Box<dyn FnOnce(LoggerProviderBuilder) -> LoggerProviderBuilder + Send + Sync>;

/// Configures telemetry; [`Builder::init`] installs it globally, [`Builder::build`] returns it without
/// touching globals (several services in one process, tests).
pub struct Builder {
    service: ServiceInfo,
    endpoint: Option<String>,
    protocol: Option<Protocol>,
    sampler: Option<Box<dyn ShouldSample>>,
    propagators: Option<String>,
    log_format: LogFormat,
    log_filter: Option<String>,
    processors: Vec<Box<dyn SpanProcessorBox>>,
    log_processors: Vec<AttachLogProcessor>,
    export_otlp: bool,
    export_logs: bool,
    env: Env,
}

impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("service", &self.service)
            .field("endpoint", &self.endpoint)
            .field("protocol", &self.protocol)
            .field("propagators", &self.propagators)
            .field("log_format", &self.log_format)
            .field("log_filter", &self.log_filter)
            .field("export_otlp", &self.export_otlp)
            .field("export_logs", &self.export_logs)
            .finish_non_exhaustive()
    }
}

/// Object-safe wrapper so processors of any type can wait in the builder.
trait SpanProcessorBox: Send + Sync {
    fn attach(
        self: Box<Self>,
        builder: opentelemetry_sdk::trace::TracerProviderBuilder,
    ) -> opentelemetry_sdk::trace::TracerProviderBuilder;
}

impl<P: SpanProcessor + 'static> SpanProcessorBox for P {
    fn attach(
        self: Box<Self>,
        builder: opentelemetry_sdk::trace::TracerProviderBuilder,
    ) -> opentelemetry_sdk::trace::TracerProviderBuilder {
        builder.with_span_processor(*self)
    }
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            service: ServiceInfo::default(),
            endpoint: None,
            protocol: None,
            sampler: None,
            propagators: None,
            log_format: LogFormat::Text,
            log_filter: None,
            processors: Vec::new(),
            log_processors: Vec::new(),
            export_otlp: true,
            export_logs: true,
            env: Arc::new(|name| std::env::var(name).ok()),
        }
    }
}

/// Sets up telemetry from the environment alone and installs it globally; see [`Builder::init`].
pub fn init() -> Result<Guard, InitError> {
    Builder::default().init()
}

impl Builder {
    pub fn new() -> Self {
        Self::default()
    }

    /// `service.name` (overridden by `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES`).
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service.name = Some(name.into());
        self
    }

    /// `service.version`.
    pub fn service_version(mut self, version: impl Into<String>) -> Self {
        self.service.version = Some(version.into());
        self
    }

    /// An extra resource attribute.
    pub fn resource_attribute(mut self, attribute: KeyValue) -> Self {
        self.service.attributes.push(attribute);
        self
    }

    /// The collector to export to, e.g. `http://127.0.0.1:4317` for gRPC or `http://127.0.0.1:4318`
    /// for HTTP (`/v1/traces` and `/v1/logs` are appended when the URL has no path). Used for spans when
    /// no `OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT` is set, for log records when no
    /// `OTEL_EXPORTER_OTLP_(LOGS_)ENDPOINT` is set.
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// The OTLP transport when `OTEL_EXPORTER_OTLP_(TRACES_|LOGS_)PROTOCOL` is not set (default
    /// http/protobuf).
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = Some(protocol);
        self
    }

    /// The sampler when `OTEL_TRACES_SAMPLER` is not set (default parent-based always-on).
    pub fn sampler(mut self, sampler: impl ShouldSample + 'static) -> Self {
        self.sampler = Some(Box::new(sampler));
        self
    }

    /// Propagator names (`OTEL_PROPAGATORS` grammar) when `OTEL_PROPAGATORS` is not set
    /// (default `tracecontext,baggage`).
    pub fn propagators(mut self, names: impl Into<String>) -> Self {
        self.propagators = Some(names.into());
        self
    }

    /// Log line format for [`Builder::init`]'s subscriber.
    pub fn log_format(mut self, format: LogFormat) -> Self {
        self.log_format = format;
        self
    }

    /// Log filter directives when `RUST_LOG` is not set (default `info`); they filter the log lines and the
    /// exported log records alike.
    pub fn log_filter(mut self, directives: impl Into<String>) -> Self {
        self.log_filter = Some(directives.into());
        self
    }

    /// Adds a span processor (e.g. a simple processor over an in-memory exporter in tests).
    pub fn span_processor(mut self, processor: impl SpanProcessor + 'static) -> Self {
        self.processors.push(Box::new(processor));
        self
    }

    /// Exports spans to `exporter` through a batch processor instead of OTLP (log records then go only to
    /// processors added with [`Builder::log_processor`]).
    pub fn exporter(mut self, exporter: impl SpanExporter + 'static) -> Self {
        self.export_otlp = false;
        self.span_processor(BatchSpanProcessor::builder(exporter).build())
    }

    /// Does not export over OTLP, neither spans nor log records (only to processors added with
    /// [`Builder::span_processor`] and [`Builder::log_processor`]).
    pub fn without_otlp(mut self) -> Self {
        self.export_otlp = false;
        self
    }

    /// Exports spans but not log records over OTLP when `OTEL_LOGS_EXPORTER` is not set
    /// (`OTEL_LOGS_EXPORTER=none` does the same from the environment).
    pub fn without_log_export(mut self) -> Self {
        self.export_logs = false;
        self
    }

    /// Adds a log processor (e.g. a simple processor over an in-memory exporter in tests); it receives
    /// the records whatever `OTEL_LOGS_EXPORTER` says, which only chooses the OTLP exporter.
    pub fn log_processor(
        mut self,
        processor: impl opentelemetry_sdk::logs::LogProcessor + 'static,
    ) -> Self {
        self.log_processors.push(Box::new(move |builder| {
            builder.with_log_processor(processor)
        }));
        self
    }

    /// Reads configuration variables through `env` instead of the process environment.
    pub fn env(mut self, env: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        self.env = Arc::new(env);
        self
    }

    /// Builds the tracer provider, the logger provider and the propagator without installing anything
    /// globally.
    pub fn build(self) -> Result<Telemetry, InitError> {
        let env = self.env.clone();
        let var = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let disabled = match var("OTEL_SDK_DISABLED") {
            None => false,
            Some(v) if v.trim().eq_ignore_ascii_case("true") => true,
            Some(v) if v.trim().eq_ignore_ascii_case("false") => false,
            Some(v) => return Err(InitError::Disabled(v)),
        };
        let propagator_names = var("OTEL_PROPAGATORS")
            .or(self.propagators)
            .unwrap_or_else(|| "tracecontext,baggage".to_string());
        let propagator: Arc<dyn TextMapPropagator + Send + Sync> =
            Arc::new(propagation::propagator_from_names(&propagator_names)?);
        let resource = build_resource_with_env(&self.service, &|name| env(name));
        let log_filter = log_filter_directives(self.log_filter.as_deref());
        let export_logs = match var("OTEL_LOGS_EXPORTER") {
            Some(names) => otlp_among(&names)?,
            None => self.export_logs,
        };

        let mut builder = SdkTracerProvider::builder().with_resource(resource.clone());
        if disabled {
            // Nothing is exported and no trace starts here; incoming sampled traces still propagate.
            let provider = builder
                .with_sampler(Sampler::ParentBased(Box::new(Sampler::AlwaysOff)))
                .build();
            return Ok(Telemetry {
                provider,
                logger_provider: None,
                log_filter,
                propagator,
                disabled: true,
            });
        }
        let sampler: Box<dyn ShouldSample> = match var("OTEL_TRACES_SAMPLER") {
            Some(name) => sampler_from_name(&name, var("OTEL_TRACES_SAMPLER_ARG").as_deref())?,
            None => self
                .sampler
                .unwrap_or_else(|| Box::new(Sampler::ParentBased(Box::new(Sampler::AlwaysOn)))),
        };
        builder = builder.with_sampler(sampler);
        if self.export_otlp {
            let protocol = match var("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
                .or_else(|| var("OTEL_EXPORTER_OTLP_PROTOCOL"))
            {
                Some(p) => p.parse()?,
                None => self.protocol.unwrap_or(Protocol::HttpProtobuf),
            };
            let env_endpoint = var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_some()
                || var("OTEL_EXPORTER_OTLP_ENDPOINT").is_some();
            let endpoint = self.endpoint.clone().filter(|_| !env_endpoint);
            let exporter = otlp_span_exporter(protocol, endpoint)?;
            builder = builder.with_batch_exporter(exporter);
        }
        for processor in self.processors {
            builder = processor.attach(builder);
        }

        let mut logs = SdkLoggerProvider::builder().with_resource(resource);
        let mut log_processors = 0;
        if self.export_otlp && export_logs {
            let protocol = match var("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL")
                .or_else(|| var("OTEL_EXPORTER_OTLP_PROTOCOL"))
            {
                Some(p) => p.parse()?,
                None => self.protocol.unwrap_or(Protocol::HttpProtobuf),
            };
            let env_endpoint = var("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT").is_some()
                || var("OTEL_EXPORTER_OTLP_ENDPOINT").is_some();
            let endpoint = self.endpoint.filter(|_| !env_endpoint);
            logs = logs.with_batch_exporter(otlp_log_exporter(protocol, endpoint)?);
            log_processors += 1;
        }
        for attach in self.log_processors {
            logs = attach(logs);
            log_processors += 1;
        }
        let logger_provider = if log_processors > 0 {
            // The filter is checked here, where it starts to matter, rather than when first used.
            parse_log_filter(&log_filter)?;
            Some(logs.build())
        } else {
            None
        };
        Ok(Telemetry {
            provider: builder.build(),
            logger_provider,
            log_filter,
            propagator,
            disabled: false,
        })
    }

    /// Builds telemetry and installs it globally: tracer provider, text-map propagator, and a `tracing`
    /// subscriber (filter from `RUST_LOG`, correlated log lines on stderr, spans bridged to
    /// OpenTelemetry, events that pass the filter exported as log records). The returned guard flushes
    /// and shuts down on drop.
    pub fn init(self) -> Result<Guard, InitError> {
        let log_format = self.log_format;
        let filter = parse_log_filter(&log_filter_directives(self.log_filter.as_deref()))?;
        let telemetry = self.build()?;
        let tracer = telemetry.tracer("tracewell-instrument");
        let logs = telemetry.logger_provider.as_ref().map(export::layer);
        tracing_subscriber::registry()
            .with(filter)
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::io::stderr)
                    .event_format(CorrelatedFormat::new(log_format)),
            )
            .with(tracing_opentelemetry::layer().with_tracer(tracer))
            .with(logs)
            .try_init()
            .map_err(|e| InitError::Subscriber(e.to_string()))?;
        opentelemetry::global::set_tracer_provider(telemetry.provider.clone());
        let propagator = telemetry.propagator.clone();
        opentelemetry::global::set_text_map_propagator(SharedPropagator(propagator));
        Ok(Guard {
            telemetry: Some(telemetry),
        })
    }
}

/// `RUST_LOG` when set, else the configured directives, else `info`.
fn log_filter_directives(configured: Option<&str>) -> String {
    std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .or_else(|| configured.map(str::to_string))
        .unwrap_or_else(|| "info".into())
}

fn parse_log_filter(directives: &str) -> Result<EnvFilter, InitError> {
    EnvFilter::try_new(directives)
        .map_err(|e| InitError::LogFilter(directives.to_string(), e.to_string()))
}

/// Whether the `OTEL_LOGS_EXPORTER` list (`otlp`, `none`) names OTLP.
fn otlp_among(names: &str) -> Result<bool, InitError> {
    let mut otlp = false;
    for name in names.split(',').map(|n| n.trim().to_ascii_lowercase()) {
        match name.as_str() {
            "otlp" => otlp = true,
            "none" | "" => {}
            _ => return Err(InitError::LogsExporter(name)),
        }
    }
    Ok(otlp)
}

fn otlp_span_exporter(
    protocol: Protocol,
    endpoint: Option<String>,
) -> Result<opentelemetry_otlp::SpanExporter, InitError> {
    let builder = opentelemetry_otlp::SpanExporter::builder();
    Ok(match protocol {
        Protocol::Grpc => tonic_config(builder.with_tonic(), endpoint).build()?,
        Protocol::HttpProtobuf | Protocol::HttpJson => http_config(
            builder.with_http(),
            "TRACES",
            protocol,
            endpoint.map(|e| http_signal_url(&e, "traces")),
        )?
        .build()?,
    })
}

fn otlp_log_exporter(
    protocol: Protocol,
    endpoint: Option<String>,
) -> Result<opentelemetry_otlp::LogExporter, InitError> {
    let builder = opentelemetry_otlp::LogExporter::builder();
    Ok(match protocol {
        Protocol::Grpc => tonic_config(builder.with_tonic(), endpoint).build()?,
        Protocol::HttpProtobuf | Protocol::HttpJson => http_config(
            builder.with_http(),
            "LOGS",
            protocol,
            endpoint.map(|e| http_signal_url(&e, "logs")),
        )?
        .build()?,
    })
}

/// The gRPC exporters' settings, the same for every signal.
fn tonic_config<B: WithExportConfig + WithTonicConfig>(builder: B, endpoint: Option<String>) -> B {
    let builder = match endpoint {
        Some(e) => builder.with_endpoint(e),
        None => builder,
    };
    builder.with_compression(opentelemetry_otlp::Compression::Gzip)
}

/// The HTTP exporters' settings, the same for every signal (`TRACES`, `LOGS`) but for the timeout variable.
fn http_config<B: WithExportConfig + WithHttpConfig>(
    builder: B,
    signal: &str,
    protocol: Protocol,
    url: Option<String>,
) -> Result<B, InitError> {
    let client = RuntimeHttpClient::for_signal(signal).map_err(InitError::HttpRuntime)?;
    let builder =
        builder
            .with_http_client(client)
            .with_protocol(if protocol == Protocol::HttpJson {
                opentelemetry_otlp::Protocol::HttpJson
            } else {
                opentelemetry_otlp::Protocol::HttpBinary
            });
    Ok(match url {
        Some(url) => builder.with_endpoint(url),
        None => builder,
    })
}

/// `http://host:4318` → `http://host:4318/v1/{signal}`; a URL with a path is used as given.
fn http_signal_url(endpoint: &str, signal: &str) -> String {
    let trimmed = endpoint.trim_end_matches('/');
    let after_scheme = trimmed.split_once("://").map_or(trimmed, |(_, rest)| rest);
    if after_scheme.contains('/') {
        endpoint.to_string()
    } else {
        format!("{trimmed}/v1/{signal}")
    }
}

/// A configured tracer provider, logger provider and propagator, not installed globally.
#[derive(Clone, Debug)]
pub struct Telemetry {
    provider: SdkTracerProvider,
    /// `None` when no log record is to be exported (SDK disabled, `OTEL_LOGS_EXPORTER=none` or no OTLP,
    /// and no log processor).
    logger_provider: Option<SdkLoggerProvider>,
    /// The log filter directives (`RUST_LOG`, else the builder's, else `info`).
    log_filter: String,
    propagator: Arc<dyn TextMapPropagator + Send + Sync>,
    disabled: bool,
}

impl Telemetry {
    /// A tracer for instrumentation scope `name`.
    pub fn tracer(&self, name: &'static str) -> SdkTracer {
        self.provider.tracer(name)
    }

    pub fn provider(&self) -> &SdkTracerProvider {
        &self.provider
    }

    /// The logger provider that exports log records, when log export is on.
    pub fn logger_provider(&self) -> Option<&SdkLoggerProvider> {
        self.logger_provider.as_ref()
    }

    /// A `tracing` dispatcher under which code runs as this service, for processes that host several
    /// services (each with its own [`Telemetry`]), where the global subscriber cannot tell them apart.
    ///
    /// Events emitted under it that pass the log filter become this service's log records (its resource,
    /// the ids of the active span); everything, events and spans, also goes to the dispatcher that was
    /// current when this was called, usually the process's global subscriber, which writes its log lines
    /// as before. Run each future that works for the service under it with
    /// `tracing::instrument::WithSubscriber::with_subscriber` (a spawned task does not inherit it). Without
    /// log export, this is the current dispatcher itself.
    pub fn log_dispatch(&self) -> tracing::Dispatch {
        let outer = tracing::dispatcher::get_default(tracing::Dispatch::clone);
        match &self.logger_provider {
            Some(provider) => export::service_dispatch(
                outer,
                provider,
                EnvFilter::builder().parse_lossy(&self.log_filter),
            ),
            None => outer,
        }
    }

    pub fn propagator(&self) -> Arc<dyn TextMapPropagator + Send + Sync> {
        self.propagator.clone()
    }

    /// Whether `OTEL_SDK_DISABLED=true` turned export off.
    pub fn is_disabled(&self) -> bool {
        self.disabled
    }

    /// Exports every span and log record still buffered.
    pub fn flush(&self) -> Result<(), opentelemetry_sdk::error::OTelSdkError> {
        let spans = self.provider.force_flush();
        let logs = self
            .logger_provider
            .as_ref()
            .map_or(Ok(()), SdkLoggerProvider::force_flush);
        spans.and(logs)
    }

    /// Flushes and stops the exporters (spans and log records).
    pub fn shutdown(&self) -> Result<(), opentelemetry_sdk::error::OTelSdkError> {
        let spans = self.provider.shutdown();
        let logs = self
            .logger_provider
            .as_ref()
            .map_or(Ok(()), SdkLoggerProvider::shutdown);
        spans.and(logs)
    }
}

/// Keeps global telemetry alive; flushes and shuts it down when dropped or on [`Guard::shutdown`].
#[derive(Debug)]
pub struct Guard {
    telemetry: Option<Telemetry>,
}

impl Guard {
    pub fn telemetry(&self) -> Option<&Telemetry> {
        self.telemetry.as_ref()
    }

    /// Flushes and shuts down now, reporting a failure instead of logging it.
    pub fn shutdown(mut self) -> Result<(), opentelemetry_sdk::error::OTelSdkError> {
        match self.telemetry.take() {
            Some(t) => t.shutdown(),
            None => Ok(()),
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(t) = self.telemetry.take() {
            if let Err(e) = t.shutdown() {
                eprintln!("tracewell-instrument: shutting down telemetry failed: {e}");
            }
        }
    }
}

/// A shared propagator usable where an owned `TextMapPropagator` is required.
#[derive(Clone, Debug)]
pub(crate) struct SharedPropagator(pub(crate) Arc<dyn TextMapPropagator + Send + Sync>);

impl TextMapPropagator for SharedPropagator {
    fn inject_context(
        &self,
        cx: &opentelemetry::Context,
        injector: &mut dyn opentelemetry::propagation::Injector,
    ) {
        self.0.inject_context(cx, injector)
    }

    fn extract_with_context(
        &self,
        cx: &opentelemetry::Context,
        extractor: &dyn opentelemetry::propagation::Extractor,
    ) -> opentelemetry::Context {
        self.0.extract_with_context(cx, extractor)
    }

    fn fields(&self) -> opentelemetry::propagation::text_map_propagator::FieldIter<'_> {
        self.0.fields()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_endpoint_gets_the_signal_path_only_without_one() {
        assert_eq!(
            http_signal_url("http://h:4318", "traces"),
            "http://h:4318/v1/traces"
        );
        assert_eq!(
            http_signal_url("http://h:4318/", "logs"),
            "http://h:4318/v1/logs"
        );
        assert_eq!(
            http_signal_url("http://h:4318/custom/traces", "traces"),
            "http://h:4318/custom/traces"
        );
    }

    #[test]
    fn bad_environment_values_are_named() {
        let with = |pairs: &'static [(&'static str, &'static str)]| {
            Builder::new().without_otlp().env(move |name| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            })
        };
        let e = with(&[("OTEL_SDK_DISABLED", "maybe")]).build().unwrap_err();
        assert_eq!(
            e.to_string(),
            "OTEL_SDK_DISABLED must be true or false, got \"maybe\""
        );
        let e = with(&[("OTEL_TRACES_SAMPLER", "sometimes")])
            .build()
            .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("OTEL_TRACES_SAMPLER: unknown sampler \"sometimes\""),
            "{e}"
        );
        let e = with(&[("OTEL_PROPAGATORS", "tracecontext,carrier-pigeon")])
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("carrier-pigeon"), "{e}");
        let e = Builder::new()
            .env(|name| (name == "OTEL_EXPORTER_OTLP_PROTOCOL").then(|| "smoke".to_string()))
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("\"smoke\""), "{e}");
        assert!(with(&[("OTEL_SDK_DISABLED", "TRUE")])
            .build()
            .unwrap()
            .is_disabled());
        let e = with(&[("OTEL_LOGS_EXPORTER", "otlp,console")])
            .build()
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "OTEL_LOGS_EXPORTER: unknown exporter \"console\": expected otlp or none"
        );
    }

    #[test]
    fn the_logs_exporter_list_names_otlp_or_none() {
        assert!(otlp_among("otlp").unwrap());
        assert!(otlp_among(" OTLP , none").unwrap());
        assert!(!otlp_among("none").unwrap());
        assert!(otlp_among("logging").is_err());
    }
}
