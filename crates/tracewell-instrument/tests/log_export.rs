//! Log export end to end over real sockets: `tracing` events reach an OTLP receiver of the test's own as
//! log records with their body, severity, fields, the service's resource and the trace and span id of the
//! span they were emitted in; events below the log filter and the exporter's own events are not
//! exported; `OTEL_LOGS_EXPORTER=none` exports nothing; several services in one process each export
//! their own records under their own dispatcher while the process's log lines go on as before.
//!
//! Only `init_exports_events_of_the_process` installs global state; the other tests run under
//! dispatchers of their own, so none of their events reaches the global subscriber.

#[path = "support/otlp_logs.rs"]
mod otlp_logs;
mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use opentelemetry::trace::{TraceContextExt, Tracer};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use otlp_logs::{Received, Receiver};
use tracewell_instrument::logs::{current_ids, CorrelatedFormat, LogFormat};
use tracewell_instrument::{Builder, Instrumentation, Protocol, Telemetry};
use tracing::instrument::WithSubscriber;
use tracing_subscriber::layer::SubscriberExt;

/// Severity numbers of the OpenTelemetry logs data model.
const INFO: i32 = 9;
const WARN: i32 = 13;
const ERROR: i32 = 17;

/// Shuts `telemetry` down (flushing its records) off the runtime's threads, as the exporters need them.
async fn shutdown(telemetry: Telemetry) {
    tokio::task::spawn_blocking(move || telemetry.shutdown())
        .await
        .unwrap()
        .expect("shutdown flushes");
}

fn int(record: &Received, key: &str) -> Option<i64> {
    match record.attribute(key) {
        Some(Value::IntValue(i)) => Some(*i),
        _ => None,
    }
}

fn string(record: &Received, key: &str) -> Option<String> {
    match record.attribute(key) {
        Some(Value::StringValue(s)) => Some(s.clone()),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_exports_events_of_the_process() {
    let (receiver, http, _) = Receiver::start().await;
    let guard = Builder::new()
        .service_name("checkout")
        .service_version("1.2.3")
        .endpoint(http)
        .protocol(Protocol::HttpProtobuf)
        .env(|_| None)
        .log_filter("info,chatty=warn")
        .init()
        .expect("init");
    let telemetry = guard.telemetry().expect("telemetry").clone();
    assert!(telemetry.logger_provider().is_some());

    tracing::info!(order = 7, "order received outside any span");
    let charge = tracing::info_span!("charge card").in_scope(|| {
        tracing::warn!(
            amount = 12.5,
            customer = "ada",
            retried = true,
            attempts = 3_u64,
            "card declined"
        );
        current_ids().expect("the tracing span's ids")
    });
    // A context attached by hand, as the HTTP, gRPC and messaging integrations attach theirs.
    let span = Instrumentation::global().tracer().start("handle request");
    let cx = opentelemetry::Context::current_with_span(span);
    let handled = {
        let _attached = cx.clone().attach();
        let error = std::io::Error::other("connection reset");
        tracing::error!(
            error = &error as &(dyn std::error::Error + 'static),
            "request failed"
        );
        current_ids().expect("the attached context's ids")
    };
    cx.span().end();
    tracing::debug!("debug detail below the filter");
    tracing::info!(target: "chatty", "chatty info below its target's level");
    tracing::warn!(target: "chatty", "chatty warning");
    tracing::warn!(target: "hyper_util::client::legacy::pool", "transport warning");
    tracing::error!(target: "opentelemetry_sdk", "exporter error");

    tokio::task::spawn_blocking(move || guard.shutdown())
        .await
        .unwrap()
        .expect("shutdown flushes");
    assert!(
        receiver.span_batches() > 0,
        "spans went to the same endpoint"
    );

    let outside = receiver.one("order received outside any span");
    assert_eq!(outside.record.severity_number, INFO);
    assert_eq!(outside.record.severity_text, "INFO");
    assert_eq!(int(&outside, "order"), Some(7));
    assert!(outside.record.trace_id.is_empty() && outside.record.span_id.is_empty());
    assert_eq!(outside.service, "checkout");
    assert_eq!(outside.scope, "log_export", "the target is the scope");
    assert!(outside.record.time_unix_nano > 0 || outside.record.observed_time_unix_nano > 0);

    let declined = receiver.one("card declined");
    assert_eq!(declined.record.severity_number, WARN);
    assert_eq!(declined.record.severity_text, "WARN");
    assert_eq!(declined.trace_id(), charge.0.to_string());
    assert_eq!(declined.span_id(), charge.1.to_string());
    assert!(matches!(declined.attribute("amount"), Some(Value::DoubleValue(a)) if *a == 12.5));
    assert_eq!(string(&declined, "customer").as_deref(), Some("ada"));
    assert!(matches!(
        declined.attribute("retried"),
        Some(Value::BoolValue(true))
    ));
    assert_eq!(int(&declined, "attempts"), Some(3));

    let failed = receiver.one("request failed");
    assert_eq!(failed.record.severity_number, ERROR);
    assert_eq!(failed.record.severity_text, "ERROR");
    assert_eq!(failed.trace_id(), handled.0.to_string());
    assert_eq!(failed.span_id(), handled.1.to_string());
    assert_eq!(
        string(&failed, "exception.message").as_deref(),
        Some("connection reset")
    );
    assert_eq!(failed.service, "checkout");

    assert_eq!(receiver.one("chatty warning").scope, "chatty");
    for filtered in [
        "debug detail below the filter",
        "chatty info below its target's level",
        "transport warning",
        "exporter error",
    ] {
        assert!(
            receiver.with_body(filtered).is_empty(),
            "{filtered:?} must not be exported"
        );
    }
    // Nothing of the exporter's own machinery (HTTP client, SDK) was exported while it worked.
    for record in receiver.records() {
        assert!(
            !tracewell_instrument::logs::export::is_exporter_internal(&record.scope),
            "exported {:?} from {}",
            record.body(),
            record.scope
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otel_logs_exporter_none_exports_no_record() {
    let (receiver, http, _) = Receiver::start().await;
    for telemetry in [
        Builder::new()
            .service_name("quiet")
            .endpoint(http.clone())
            .protocol(Protocol::HttpProtobuf)
            .env(|name| (name == "OTEL_LOGS_EXPORTER").then(|| "none".to_string()))
            .build()
            .unwrap(),
        Builder::new()
            .service_name("quiet")
            .endpoint(http.clone())
            .protocol(Protocol::HttpProtobuf)
            .env(|_| None)
            .without_log_export()
            .build()
            .unwrap(),
    ] {
        assert!(telemetry.logger_provider().is_none());
        let outer = tracing::Dispatch::new(tracing_subscriber::registry());
        let dispatch = tracing::dispatcher::with_default(&outer, || telemetry.log_dispatch());
        let instrumentation = Instrumentation::from_telemetry(&telemetry);
        async {
            let span = instrumentation.tracer().start("quiet work");
            let cx = opentelemetry::Context::current_with_span(span);
            {
                let _attached = cx.clone().attach();
                tracing::error!("an error nobody exports");
            }
            cx.span().end();
        }
        .with_subscriber(dispatch)
        .await;
        shutdown(telemetry).await;
    }
    assert!(receiver.span_batches() >= 2, "spans are still exported");
    assert!(receiver.records().is_empty(), "{:?}", receiver.records());
}

/// Log lines written by the process's own subscriber.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Lines {
    type Writer = Lines;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_sharing_a_process_export_their_own_records() {
    let (receiver, _, grpc) = Receiver::start().await;
    let build = |name: &str| {
        Builder::new()
            .service_name(name)
            .endpoint(grpc.clone())
            .protocol(Protocol::Grpc)
            .env(|_| None)
            .build()
            .unwrap()
    };
    let orders = build("orders");
    let payments = build("payments");

    // The process's subscriber: formatted lines, info and above.
    let lines = Lines::default();
    let process = tracing::Dispatch::new(
        tracing_subscriber::registry()
            .with(tracing_subscriber::filter::LevelFilter::INFO)
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(lines.clone())
                    .event_format(CorrelatedFormat::new(LogFormat::Text)),
            ),
    );
    let (orders_logs, payments_logs) = tracing::dispatcher::with_default(&process, || {
        (orders.log_dispatch(), payments.log_dispatch())
    });

    let work = |instrumentation: Instrumentation, service: &'static str, body: &'static str| async move {
        let span = instrumentation.tracer().start(body);
        let cx = opentelemetry::Context::current_with_span(span);
        let ids = {
            let _attached = cx.clone().attach();
            tracing::warn!(service, "{body}");
            tracing::debug!("{body}: detail below the filter");
            // A `tracing` span inside: the process's subscriber keeps it, the event keeps the context.
            tracing::info_span!("step").in_scope(|| tracing::info!("{body}: step"));
            current_ids().unwrap()
        };
        cx.span().end();
        ids
    };
    let order_ids = work(
        Instrumentation::from_telemetry(&orders),
        "orders",
        "order received",
    )
    .with_subscriber(orders_logs)
    .await;
    let payment_ids = work(
        Instrumentation::from_telemetry(&payments),
        "payments",
        "payment declined",
    )
    .with_subscriber(payments_logs)
    .await;
    shutdown(orders).await;
    shutdown(payments).await;

    for (body, service, ids) in [
        ("order received", "orders", order_ids),
        ("payment declined", "payments", payment_ids),
    ] {
        let record = receiver.one(body);
        assert_eq!(record.service, service, "{body}");
        assert_eq!(record.record.severity_number, WARN);
        assert_eq!(record.trace_id(), ids.0.to_string());
        assert_eq!(record.span_id(), ids.1.to_string());
        assert_eq!(string(&record, "service").as_deref(), Some(service));
        let step = receiver.one(&format!("{body}: step"));
        assert_eq!(step.service, service);
        assert_eq!(step.span_id(), ids.1.to_string());
        assert!(receiver
            .with_body(&format!("{body}: detail below the filter"))
            .is_empty());
    }
    assert_eq!(receiver.records().len(), 4, "{:?}", receiver.records());

    // The process's own lines are as they were: every event it enables, in its span, with the ids.
    let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(lines[0].contains("WARN") && lines[0].contains("order received"));
    assert!(lines[0].ends_with(&format!("trace_id={} span_id={}", order_ids.0, order_ids.1)));
    assert!(lines[1].contains("step") && lines[1].contains("order received: step"));
    assert!(lines[3].contains("payment declined: step"));
    assert!(!text.contains("below the filter"));
}
