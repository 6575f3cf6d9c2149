//! tokio-postgres: [`TracedExt::traced`] gives any `Client` or `Transaction` (anything implementing
//! `GenericClient`) `query`, `query_one`, `query_opt`, `execute` and `batch_execute` that run inside the
//! statement's CLIENT span ([`Database::trace`]):
//!
//! ```no_run
//! # async fn demo(client: tokio_postgres::Client, config: tokio_postgres::Config) -> Result<(), tokio_postgres::Error> {
//! use tracewell_instrument::db::postgres::{database_of, TracedExt};
//! use tracewell_instrument::Instrumentation;
//!
//! let database = database_of(&config);
//! let instrumentation = Instrumentation::global();
//! let rows = client
//!     .traced(&database, &instrumentation)
//!     .query("SELECT name FROM users WHERE id = $1", &[&42_i64])
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! The instrumentation is given per use, so several services of one process can share a client and
//! still record their spans as themselves. Prepared statements keep their text in a
//! [`PreparedStatement`] (tokio-postgres' `Statement` does not): prepare with [`Traced::prepare`] and
//! pass it where a query string goes. `BEGIN`, `COMMIT` and `ROLLBACK` of tokio-postgres' transaction API
//! are not traced. Errors record their SQLSTATE as `db.response.status_code` and `error.type`.

use std::sync::Arc;

use tokio_postgres::types::ToSql;
use tokio_postgres::{Config, Error, GenericClient, Row, Statement};

use super::{Database, RecordError};
use crate::Instrumentation;

/// The [`Database`] a tokio-postgres configuration points at: `postgresql`, the database name (the
/// user name when none is set, as PostgreSQL does), the first host (a TCP host name, or a Unix socket
/// directory) and the first port (5432 when none is set).
pub fn database_of(config: &Config) -> Database {
    let mut database = Database::new("postgresql");
    if let Some(name) = config.get_dbname().or(config.get_user()) {
        database = database.namespace(name);
    }
    match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => {
            database = database.server_address(host.clone());
        }
        #[cfg(unix)]
        Some(tokio_postgres::config::Host::Unix(path)) => {
            database = database.server_address(path.display().to_string());
        }
        None => {}
    }
    database.server_port(config.get_ports().first().copied().unwrap_or(5432))
}

impl RecordError for Error {
    /// The SQLSTATE of an error the server reported (`42P01`, `23505`).
    fn status_code(&self) -> Option<String> {
        self.code().map(|code| code.code().to_string())
    }

    /// The SQLSTATE, else `connection_closed` for a closed connection, else `_OTHER`.
    fn error_type(&self) -> String {
        match self.status_code() {
            Some(code) => code,
            None if self.is_closed() => "connection_closed".to_string(),
            None => "_OTHER".to_string(),
        }
    }

    /// The server's severity and message (`ERROR: relation "t" does not exist`; not its `DETAIL`,
    /// which quotes row values), else the error and its causes.
    fn description(&self) -> String {
        if let Some(db) = self.as_db_error() {
            return format!("{}: {}", db.severity(), db.message());
        }
        let mut description = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            description.push_str(": ");
            description.push_str(&cause.to_string());
            source = cause.source();
        }
        description
    }
}

/// A statement [`Traced`] runs: SQL text, or a [`PreparedStatement`].
pub trait Query: Sync {
    /// The statement's text, which names the span and (sanitised) becomes `db.query.text`.
    fn sql(&self) -> &str;

    /// The prepared statement to execute, if any (else the text is sent).
    fn prepared(&self) -> Option<&Statement> {
        None
    }
}

impl Query for str {
    fn sql(&self) -> &str {
        self
    }
}

impl Query for String {
    fn sql(&self) -> &str {
        self
    }
}

/// A prepared statement and its text.
#[derive(Clone, Debug)]
pub struct PreparedStatement {
    statement: Statement,
    sql: Arc<str>,
}

impl PreparedStatement {
    /// Pairs a statement prepared elsewhere with the text it was prepared from.
    pub fn new(statement: Statement, sql: impl Into<Arc<str>>) -> Self {
        PreparedStatement {
            statement,
            sql: sql.into(),
        }
    }

    pub fn statement(&self) -> &Statement {
        &self.statement
    }
}

impl Query for PreparedStatement {
    fn sql(&self) -> &str {
        &self.sql
    }

    fn prepared(&self) -> Option<&Statement> {
        Some(&self.statement)
    }
}

/// `.traced(&database, &instrumentation)` on a tokio-postgres `Client` or `Transaction`.
pub trait TracedExt: GenericClient + Sync + Sized {
    /// This client's statements, each in a CLIENT span recorded with `instrumentation`.
    fn traced<'a>(
        &'a self,
        database: &'a Database,
        instrumentation: &'a Instrumentation,
    ) -> Traced<'a, Self> {
        Traced {
            client: self,
            database,
            instrumentation,
        }
    }
}

impl<C: GenericClient + Sync> TracedExt for C {}

/// A client whose statements run in spans; see the module doc.
#[derive(Debug)]
pub struct Traced<'a, C> {
    client: &'a C,
    database: &'a Database,
    instrumentation: &'a Instrumentation,
}

impl<C: GenericClient + Sync> Traced<'_, C> {
    /// Like `Client::query`.
    pub async fn query<Q: Query + ?Sized>(
        &self,
        statement: &Q,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, Error> {
        let execution = async {
            match statement.prepared() {
                Some(prepared) => self.client.query(prepared, params).await,
                None => self.client.query(statement.sql(), params).await,
            }
        };
        self.database
            .trace(self.instrumentation, statement.sql(), execution)
            .await
    }

    /// Like `Client::query_one` (a statement returning no row or several is an error).
    pub async fn query_one<Q: Query + ?Sized>(
        &self,
        statement: &Q,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Row, Error> {
        let execution = async {
            match statement.prepared() {
                Some(prepared) => self.client.query_one(prepared, params).await,
                None => self.client.query_one(statement.sql(), params).await,
            }
        };
        self.database
            .trace(self.instrumentation, statement.sql(), execution)
            .await
    }

    /// Like `Client::query_opt`.
    pub async fn query_opt<Q: Query + ?Sized>(
        &self,
        statement: &Q,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, Error> {
        let execution = async {
            match statement.prepared() {
                Some(prepared) => self.client.query_opt(prepared, params).await,
                None => self.client.query_opt(statement.sql(), params).await,
            }
        };
        self.database
            .trace(self.instrumentation, statement.sql(), execution)
            .await
    }

    /// Like `Client::execute`: the number of rows modified.
    pub async fn execute<Q: Query + ?Sized>(
        &self,
        statement: &Q,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, Error> {
        let execution = async {
            match statement.prepared() {
                Some(prepared) => self.client.execute(prepared, params).await,
                None => self.client.execute(statement.sql(), params).await,
            }
        };
        self.database
            .trace(self.instrumentation, statement.sql(), execution)
            .await
    }

    /// Like `Client::batch_execute`, in one span named after the first statement.
    pub async fn batch_execute(&self, sql: &str) -> Result<(), Error> {
        self.database
            .trace(self.instrumentation, sql, self.client.batch_execute(sql))
            .await
    }

    /// Prepares `sql` (not traced: nothing runs yet), keeping its text for the spans of its executions.
    pub async fn prepare(&self, sql: &str) -> Result<PreparedStatement, Error> {
        let statement = self.client.prepare(sql).await?;
        Ok(PreparedStatement::new(statement, sql))
    }

    /// The client underneath.
    pub fn client(&self) -> &C {
        self.client
    }
}
