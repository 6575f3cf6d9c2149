//! The sqlx integration against a real PostgreSQL (a server of the test's own): queries run in CLIENT spans
//! with the database attributes from the pool's options, the rows they returned, and for server errors the
//! SQLSTATE.
#![cfg(feature = "sqlx")]

#[path = "../../tracewell/tests/common/postgres.rs"]
mod postgres_server;
mod support;

use opentelemetry::trace::{SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::Value;
use opentelemetry_sdk::trace::SpanData;
use sqlx::postgres::PgPoolOptions;
use sqlx::Row;
use support::*;
use tracewell_instrument::db::sqlx::{database_of, fetch_all};

fn has(span: &SpanData, key: &str, value: &str) {
    assert_eq!(
        attr_str(span, key).as_deref(),
        Some(value),
        "{key} of {}",
        span.name
    );
}

#[tokio::test]
async fn sqlx_queries_run_in_client_spans() {
    let server = postgres_server::Postgres::start().await;
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect(&server.url)
        .await
        .unwrap();
    let options = pool.connect_options();
    let database = database_of(&options);
    let (_t, instrumentation, exporter) = telemetry("inventory");
    let parent =
        opentelemetry::Context::current_with_span(instrumentation.tracer().start("checkout"));
    let _attached = parent.clone().attach();

    let create = "CREATE TABLE stock (sku TEXT PRIMARY KEY, units BIGINT NOT NULL)";
    database
        .trace(&instrumentation, create, sqlx::query(create).execute(&pool))
        .await
        .unwrap();
    let insert = "INSERT INTO stock (sku, units) VALUES ($1, 3), ('lp-2', 7)";
    database
        .trace(
            &instrumentation,
            insert,
            sqlx::query(insert).bind("lp-1").execute(&pool),
        )
        .await
        .unwrap();
    let select = "SELECT sku FROM stock WHERE units > 1 ORDER BY sku";
    let rows = fetch_all(
        &database,
        &instrumentation,
        select,
        sqlx::query(select).fetch_all(&pool),
    )
    .await
    .unwrap();
    let skus: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(skus, ["lp-1", "lp-2"]);
    let missing = "SELECT units FROM no_such_table";
    let error = fetch_all(
        &database,
        &instrumentation,
        missing,
        sqlx::query(missing).fetch_all(&pool),
    )
    .await
    .unwrap_err();
    assert!(error.to_string().contains("no_such_table"), "{error}");

    let spans = wait_for_spans(&exporter, 4).await;
    let select_span = named(&spans, "SELECT stock");
    assert_eq!(select_span.span_kind, SpanKind::Client);
    assert_eq!(
        select_span.parent_span_id,
        parent.span().span_context().span_id(),
        "a child of the current context"
    );
    has(select_span, "db.system.name", "postgresql");
    has(select_span, "db.operation.name", "SELECT");
    has(select_span, "db.collection.name", "stock");
    has(select_span, "server.address", options.get_host());
    has(
        select_span,
        "db.namespace",
        options.get_database().unwrap_or(options.get_username()),
    );
    assert_eq!(
        attr(select_span, "server.port"),
        Some(Value::I64(i64::from(options.get_port())))
    );
    assert_eq!(
        attr(select_span, "db.response.returned_rows"),
        Some(Value::I64(2))
    );
    has(
        select_span,
        "db.query.text",
        "SELECT sku FROM stock WHERE units > ? ORDER BY sku",
    );
    let insert_span = named(&spans, "INSERT stock");
    has(
        insert_span,
        "db.query.text",
        "INSERT INTO stock (sku, units) VALUES ($1, ?), (?, ?)",
    );

    let failed = named(&spans, "SELECT no_such_table");
    has(failed, "db.response.status_code", "42P01");
    has(failed, "error.type", "42P01");
    assert!(
        matches!(&failed.status, Status::Error { description } if description.contains("no_such_table")),
        "{:?}",
        failed.status
    );
}
