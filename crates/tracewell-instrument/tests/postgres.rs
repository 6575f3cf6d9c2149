//! The tokio-postgres integration against a real PostgreSQL (a server of the test's own, as the server's
//! tests start one): statements, prepared statements, transactions and server errors each get a CLIENT
//! span with the database attributes, the sanitised text and, for errors, the SQLSTATE.
#![cfg(feature = "postgres")]

#[path = "../../tracewell/tests/common/postgres.rs"]
mod postgres_server;
mod support;

use opentelemetry::trace::{SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry_sdk::trace::SpanData;
use support::*;
use tracewell_instrument::db::postgres::{database_of, TracedExt};

fn has(span: &SpanData, key: &str, value: &str) {
    assert_eq!(
        attr_str(span, key).as_deref(),
        Some(value),
        "{key} of {}",
        span.name
    );
}

#[tokio::test]
async fn statements_run_in_client_spans() {
    let server = postgres_server::Postgres::start().await;
    let config: tokio_postgres::Config = server.url.parse().unwrap();
    let port = config.get_ports()[0];
    let (mut client, connection) = config.connect(tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let database = database_of(&config);
    let (_t, instrumentation, exporter) = telemetry("inventory");
    let checkout =
        opentelemetry::Context::current_with_span(instrumentation.tracer().start("checkout"));
    let _attached = checkout.clone().attach();

    let db = client.traced(&database, &instrumentation);
    db.batch_execute(
        "CREATE TABLE items (id BIGINT PRIMARY KEY, name TEXT NOT NULL, price_cents BIGINT NOT NULL)",
    )
    .await
    .unwrap();
    let inserted = db
        .execute(
            "INSERT INTO items (id, name, price_cents) VALUES ($1, $2, 1999), ($3, 'gift card', 500)",
            &[&1_i64, &"turntable", &2_i64],
        )
        .await
        .unwrap();
    assert_eq!(inserted, 2);
    let rows = db
        .query(
            "SELECT name FROM items WHERE price_cents > 100 AND id IN (1, 2, 3) ORDER BY id",
            &[],
        )
        .await
        .unwrap();
    let names: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(names, ["turntable", "gift card"]);
    let prepared = db
        .prepare("SELECT price_cents FROM items WHERE id = $1")
        .await
        .unwrap();
    let price: i64 = db.query_one(&prepared, &[&1_i64]).await.unwrap().get(0);
    assert_eq!(price, 1999);
    assert!(db.query_opt(&prepared, &[&9_i64]).await.unwrap().is_none());

    // Server errors carry their SQLSTATE.
    let missing = db.query("SELECT * FROM nowhere", &[]).await.unwrap_err();
    assert_eq!(
        missing.code(),
        Some(&tokio_postgres::error::SqlState::UNDEFINED_TABLE)
    );
    let duplicate = db
        .execute(
            "INSERT INTO items (id, name, price_cents) VALUES ($1, 'again', 1)",
            &[&1_i64],
        )
        .await
        .unwrap_err();
    assert_eq!(
        duplicate.code(),
        Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION)
    );

    // A transaction's statements, with a CTE whose main statement is an UPDATE.
    let transaction = client.transaction().await.unwrap();
    transaction
        .traced(&database, &instrumentation)
        .execute(
            "WITH cheap AS (SELECT id FROM items WHERE price_cents < 1000) \
             UPDATE items SET price_cents = price_cents + 1 WHERE id IN (SELECT id FROM cheap)",
            &[],
        )
        .await
        .unwrap();
    transaction.commit().await.unwrap();
    checkout.span().end();

    let spans = spans(&exporter);
    let checkout = named(&spans, "checkout");
    let statements: Vec<&SpanData> = spans.iter().filter(|s| s.name != "checkout").collect();
    assert_eq!(
        statements
            .iter()
            .map(|s| s.name.to_string())
            .collect::<Vec<_>>(),
        [
            "CREATE TABLE items",
            "INSERT items",
            "SELECT items",
            "SELECT items",
            "SELECT items",
            "SELECT nowhere",
            "INSERT items",
            "UPDATE items",
        ]
    );
    for span in &statements {
        assert_eq!(span.span_kind, SpanKind::Client);
        assert_eq!(span.parent_span_id, id_of(checkout));
        assert_eq!(trace_of(span), trace_of(checkout));
        has(span, "db.system.name", "postgresql");
        has(span, "db.namespace", "postgres");
        has(span, "server.address", "127.0.0.1");
        has(span, "server.port", &port.to_string());
    }
    let insert = statements[1];
    has(insert, "db.operation.name", "INSERT");
    has(insert, "db.collection.name", "items");
    has(
        insert,
        "db.query.text",
        "INSERT INTO items (id, name, price_cents) VALUES ($1, $2, ?), ($3, ?, ?)",
    );
    assert_eq!(insert.status, Status::Unset);
    has(
        statements[2],
        "db.query.text",
        "SELECT name FROM items WHERE price_cents > ? AND id IN (?) ORDER BY id",
    );
    has(
        statements[3],
        "db.query.text",
        "SELECT price_cents FROM items WHERE id = $1",
    );

    let missing = statements[5];
    assert!(
        matches!(&missing.status, Status::Error { description } if description.contains("nowhere"))
    );
    has(missing, "error.type", "42P01");
    has(missing, "db.response.status_code", "42P01");
    let duplicate = statements[6];
    has(duplicate, "error.type", "23505");
    match &duplicate.status {
        Status::Error { description } => {
            assert!(description.contains("duplicate key"), "{description}");
            assert!(!description.contains("(1)"), "no row values: {description}");
        }
        other => panic!("{other:?}"),
    }

    let update = statements[7];
    has(update, "db.operation.name", "UPDATE");
    has(update, "db.collection.name", "items");
    assert_eq!(update.status, Status::Unset);
}
