//! sqlx (PostgreSQL): [`database_of`] reads the span attributes from the pool's connect options, sqlx's errors
//! record their SQLSTATE ([`RecordError`]), and [`fetch_all`] runs a query in its statement's CLIENT span and
//! records the rows it returned. sqlx queries do not lend out their text, so the statement is given beside the
//! query built from it:
//!
//! ```no_run
//! # async fn demo(pool: sqlx::PgPool) -> Result<(), sqlx::Error> {
//! use tracewell_instrument::db::sqlx::{database_of, fetch_all};
//! use tracewell_instrument::Instrumentation;
//!
//! let database = database_of(&pool.connect_options());
//! let instrumentation = Instrumentation::global();
//! let sql = "SELECT name FROM users WHERE id = $1";
//! let rows = fetch_all(&database, &instrumentation, sql, sqlx::query(sql).bind(42_i64).fetch_all(&pool)).await?;
//! // Statements without rows to count go through Database::trace:
//! let sql = "DELETE FROM sessions WHERE expires < now()";
//! database.trace(&instrumentation, sql, sqlx::query(sql).execute(&pool)).await?;
//! # Ok(()) }
//! ```

use std::future::Future;

use sqlx::postgres::PgConnectOptions;

use super::{Database, RecordError};
use crate::Instrumentation;

/// The [`Database`] a sqlx PostgreSQL pool connects to: `postgresql`, the database name (the user name when none
/// is set, as PostgreSQL does), the host and the port.
pub fn database_of(options: &PgConnectOptions) -> Database {
    let namespace = options
        .get_database()
        .unwrap_or_else(|| options.get_username());
    Database::new("postgresql")
        .namespace(namespace)
        .server_address(options.get_host())
        .server_port(options.get_port())
}

impl RecordError for sqlx::Error {
    /// The SQLSTATE of an error the server reported (`42P01`, `23505`).
    fn status_code(&self) -> Option<String> {
        self.as_database_error()
            .and_then(|e| e.code())
            .map(|code| code.into_owned())
    }

    /// The SQLSTATE, else what kind of failure it was (`row_not_found`, `pool_timed_out`, `io`...).
    fn error_type(&self) -> String {
        if let Some(code) = self.status_code() {
            return code;
        }
        match self {
            sqlx::Error::RowNotFound => "row_not_found",
            sqlx::Error::PoolTimedOut => "pool_timed_out",
            sqlx::Error::PoolClosed => "pool_closed",
            sqlx::Error::Io(_) => "io",
            sqlx::Error::Tls(_) => "tls",
            sqlx::Error::Protocol(_) => "protocol",
            sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => "decode",
            _ => "_OTHER",
        }
        .to_string()
    }

    /// The server's message (not its detail, which may quote row values), else the error.
    fn description(&self) -> String {
        match self.as_database_error() {
            Some(db) => db.message().to_string(),
            None => self.to_string(),
        }
    }
}

/// Runs `execution` (sqlx fetching the rows of `statement`) in the statement's CLIENT span and records how many
/// rows it returned (`db.response.returned_rows`).
pub async fn fetch_all<F, T>(
    database: &Database,
    instrumentation: &Instrumentation,
    statement: &str,
    execution: F,
) -> Result<Vec<T>, sqlx::Error>
where
    F: Future<Output = Result<Vec<T>, sqlx::Error>>,
{
    use opentelemetry::context::FutureExt as _;
    let span = database.start(instrumentation, statement);
    let result = execution.with_context(span.context().clone()).await;
    if let Ok(rows) = &result {
        span.set_returned_rows(rows.len() as u64);
    }
    span.end_with(&result);
    result
}
