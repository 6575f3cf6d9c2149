//! The driver-neutral database helper: statement spans are CLIENT children of the current context, carry
//! the database attributes and the sanitised text, are current while the statement runs, and record
//! errors.

mod support;

use opentelemetry::trace::{Span as _, SpanKind, Status, TraceContextExt, Tracer};
use support::*;
use tracewell_instrument::db::{Database, RecordError};

#[derive(Debug, thiserror::Error)]
#[error("database is locked")]
struct Busy;

impl RecordError for Busy {
    fn status_code(&self) -> Option<String> {
        Some("5".to_string())
    }
    fn error_type(&self) -> String {
        "SQLITE_BUSY".to_string()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the pool is closed")]
struct PoolClosed;

impl RecordError for PoolClosed {}

#[tokio::test]
async fn statements_are_client_spans_of_the_current_context() {
    let (_t, instrumentation, exporter) = telemetry("shop");
    let db = Database::new("sqlite").namespace("shop");
    let tracer = instrumentation.tracer();
    let checkout = opentelemetry::Context::current_with_span(tracer.start("checkout"));

    let rows = {
        let _attached = checkout.clone().attach();
        db.trace(
            &instrumentation,
            "SELECT id, name FROM orders WHERE customer = 'ada' AND total > 100 -- the big ones",
            async {
                // Work done while the statement runs belongs to it.
                instrumentation.tracer().start("driver work").end();
                Ok::<_, Busy>(vec![1, 2])
            },
        )
        .await
    }
    .unwrap();
    assert_eq!(rows, [1, 2]);

    let failed = {
        let _attached = checkout.clone().attach();
        db.trace(
            &instrumentation,
            "UPDATE orders SET status = ? WHERE id = ?",
            async { Err::<(), _>(Busy) },
        )
        .await
    };
    assert!(failed.is_err());
    let closed = {
        let _attached = checkout.clone().attach();
        db.trace(&instrumentation, "DELETE FROM carts", async {
            Err::<(), _>(PoolClosed)
        })
        .await
    };
    assert!(closed.is_err());

    // By hand, with the opt-in row count.
    let span = db.start_with_parent(&instrumentation, "SELECT 1", &checkout);
    span.set_returned_rows(1);
    span.end();
    checkout.span().end();

    let spans = spans(&exporter);
    let checkout = named(&spans, "checkout");
    let select = named(&spans, "SELECT orders");
    assert_eq!(select.span_kind, SpanKind::Client);
    assert_eq!(select.parent_span_id, id_of(checkout));
    assert_eq!(trace_of(select), trace_of(checkout));
    assert_eq!(select.status, Status::Unset);
    for (key, value) in [
        ("db.system.name", "sqlite"),
        ("db.namespace", "shop"),
        ("db.operation.name", "SELECT"),
        ("db.collection.name", "orders"),
        (
            "db.query.text",
            "SELECT id, name FROM orders WHERE customer = ? AND total > ?",
        ),
    ] {
        assert_eq!(attr_str(select, key).as_deref(), Some(value), "{key}");
    }
    assert_eq!(named(&spans, "driver work").parent_span_id, id_of(select));

    let update = named(&spans, "UPDATE orders");
    assert_eq!(
        attr_str(update, "db.query.text").as_deref(),
        Some("UPDATE orders SET status = ? WHERE id = ?")
    );
    assert_eq!(update.status, Status::error("database is locked"));
    assert_eq!(
        attr_str(update, "error.type").as_deref(),
        Some("SQLITE_BUSY")
    );
    assert_eq!(
        attr_str(update, "db.response.status_code").as_deref(),
        Some("5")
    );

    let delete = named(&spans, "DELETE carts");
    assert_eq!(attr_str(delete, "error.type").as_deref(), Some("_OTHER"));
    assert_eq!(attr_str(delete, "db.response.status_code"), None);
    assert!(matches!(delete.status, Status::Error { .. }));

    let by_hand = named(&spans, "SELECT");
    assert_eq!(by_hand.parent_span_id, id_of(checkout));
    assert_eq!(
        attr_str(by_hand, "db.response.returned_rows").as_deref(),
        Some("1")
    );
}
