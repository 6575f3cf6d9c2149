//! Database client spans following the OpenTelemetry database semantic conventions, for any driver.
//!
//! [`Database`] describes where statements go (`db.system.name`, `db.namespace`, `server.address`,
//! `server.port`); [`Database::start`] opens the CLIENT span of one statement (the child of the current
//! context) and [`Database::trace`] runs a statement's future inside it. The span is named
//! `{db.operation.name} {db.collection.name}` (`SELECT orders`), else `{db.operation.name}
//! {db.stored_procedure.name}`, else the operation alone (a subquery or no table), else the namespace,
//! else `server.address:server.port`, else the system; the operation and collection are read from the
//! statement text by [`sql::parse_statement`], and `db.query.text` is the statement with its literals
//! replaced by `?` ([`sql::sanitize`]). Every attribute is given at span start, where samplers see it.
//!
//! A failed statement gets `error.type` and `db.response.status_code` from [`RecordError`] (SQLSTATE
//! for PostgreSQL) and status ERROR with the error's description.
//!
//! [`postgres`] (feature `postgres`) runs tokio-postgres' `query`, `execute` and the rest in such spans;
//! [`sqlx`] (feature `sqlx`) does the same for sqlx on PostgreSQL.

#[cfg(feature = "postgres")]
pub mod postgres;
pub mod sql;
#[cfg(feature = "sqlx")]
pub mod sqlx;

pub use sql::{parse_statement, sanitize, Dialect, StatementInfo};

use std::future::Future;

use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::{SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};

use crate::Instrumentation;

/// What a database span records of an error.
pub trait RecordError: std::fmt::Display {
    /// `db.response.status_code`: the database's own code for the error (SQLSTATE for PostgreSQL, the
    /// error number for MySQL, the result code for SQLite), when there is one.
    fn status_code(&self) -> Option<String> {
        None
    }

    /// `error.type`: by default the status code, else `_OTHER`.
    fn error_type(&self) -> String {
        self.status_code().unwrap_or_else(|| "_OTHER".to_string())
    }

    /// The span status description: by default the error's `Display`.
    fn description(&self) -> String {
        self.to_string()
    }
}

impl<E: RecordError + ?Sized> RecordError for &E {
    fn status_code(&self) -> Option<String> {
        (**self).status_code()
    }

    fn error_type(&self) -> String {
        (**self).error_type()
    }

    fn description(&self) -> String {
        (**self).description()
    }
}

/// The database statements go to: the attributes every statement's span carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Database {
    system: String,
    namespace: Option<String>,
    server_address: Option<String>,
    server_port: Option<u16>,
    dialect: Dialect,
}

impl Database {
    /// A database of `system`, the `db.system.name` (`postgresql`, `mysql`, `mariadb`, `sqlite`,
    /// `microsoft.sql_server`, ...), which also picks the SQL [`Dialect`].
    pub fn new(system: impl Into<String>) -> Self {
        let system = system.into();
        Database {
            dialect: Dialect::of_system(&system),
            system,
            namespace: None,
            server_address: None,
            server_port: None,
        }
    }

    /// `db.namespace`: the database name (as given when connecting).
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = Some(namespace.into());
        self
    }

    /// `server.address`: the database host (or Unix socket path).
    pub fn server_address(mut self, address: impl Into<String>) -> Self {
        self.server_address = Some(address.into());
        self
    }

    /// `server.port`.
    pub fn server_port(mut self, port: u16) -> Self {
        self.server_port = Some(port);
        self
    }

    /// The SQL dialect the statements are read in, when the system's default is not right.
    pub fn dialect(mut self, dialect: Dialect) -> Self {
        self.dialect = dialect;
        self
    }

    /// `db.system.name`.
    pub fn system(&self) -> &str {
        &self.system
    }

    /// The span name and attributes of `statement` on this database (see the module doc).
    pub fn statement_attributes(&self, statement: &str) -> (String, Vec<KeyValue>) {
        let info = parse_statement(statement, self.dialect);
        let mut attributes = Vec::with_capacity(8);
        attributes.push(KeyValue::new("db.system.name", self.system.clone()));
        if let Some(namespace) = &self.namespace {
            attributes.push(KeyValue::new("db.namespace", namespace.clone()));
        }
        if let Some(address) = &self.server_address {
            attributes.push(KeyValue::new("server.address", address.clone()));
        }
        if let Some(port) = self.server_port {
            attributes.push(KeyValue::new("server.port", i64::from(port)));
        }
        let name = self.span_name(&info);
        let StatementInfo {
            operation,
            collection,
            stored_procedure,
        } = info;
        if let Some(operation) = operation {
            attributes.push(KeyValue::new("db.operation.name", operation));
        }
        if let Some(collection) = collection {
            attributes.push(KeyValue::new("db.collection.name", collection));
        }
        if let Some(procedure) = stored_procedure {
            attributes.push(KeyValue::new("db.stored_procedure.name", procedure));
        }
        let text = sanitize(statement, self.dialect);
        if !text.is_empty() {
            attributes.push(KeyValue::new("db.query.text", text));
        }
        (name, attributes)
    }

    fn span_name(&self, info: &StatementInfo) -> String {
        let target = info
            .collection
            .as_deref()
            .or(info.stored_procedure.as_deref());
        match (&info.operation, target) {
            (Some(operation), Some(target)) => format!("{operation} {target}"),
            (Some(operation), None) => operation.clone(),
            (None, _) => match (&self.namespace, &self.server_address, self.server_port) {
                (Some(namespace), _, _) => namespace.clone(),
                (None, Some(address), Some(port)) => format!("{address}:{port}"),
                (None, Some(address), None) => address.clone(),
                (None, None, _) => self.system.clone(),
            },
        }
    }

    /// Opens the CLIENT span of `statement`, the child of the current context.
    pub fn start(&self, instrumentation: &Instrumentation, statement: &str) -> DbSpan {
        self.start_with_parent(instrumentation, statement, &Context::current())
    }

    /// Opens the CLIENT span of `statement`, the child of `parent`.
    pub fn start_with_parent(
        &self,
        instrumentation: &Instrumentation,
        statement: &str,
        parent: &Context,
    ) -> DbSpan {
        let (name, attributes) = self.statement_attributes(statement);
        let tracer = instrumentation.tracer();
        let span = tracer
            .span_builder(name)
            .with_kind(SpanKind::Client)
            .with_attributes(attributes)
            .start_with_context(tracer, parent);
        DbSpan {
            cx: parent.with_span(span),
        }
    }

    /// Runs `execution` (the driver's future executing `statement`) in the statement's span, the
    /// current context while it runs, and ends the span with its outcome.
    pub async fn trace<F, T, E>(
        &self,
        instrumentation: &Instrumentation,
        statement: &str,
        execution: F,
    ) -> Result<T, E>
    where
        F: Future<Output = Result<T, E>>,
        E: RecordError,
    {
        let span = self.start(instrumentation, statement);
        let result = execution.with_context(span.context().clone()).await;
        span.end_with(&result);
        result
    }
}

/// The open span of one statement. Dropping it without [`DbSpan::end`] ends the span too, without
/// an outcome (as when the statement's future is cancelled).
#[derive(Debug)]
pub struct DbSpan {
    cx: Context,
}

impl DbSpan {
    /// The context holding the span: make it current around the execution (so anything the driver
    /// records is its child), or use it as the parent of other spans.
    pub fn context(&self) -> &Context {
        &self.cx
    }

    /// `db.response.returned_rows` (opt-in in the conventions: nothing records it unless called).
    pub fn set_returned_rows(&self, rows: u64) {
        self.cx.span().set_attribute(KeyValue::new(
            "db.response.returned_rows",
            i64::try_from(rows).unwrap_or(i64::MAX),
        ));
    }

    /// Records a failure: `error.type`, `db.response.status_code` when known, status ERROR with the
    /// error's description.
    pub fn record_error(&self, error: &(impl RecordError + ?Sized)) {
        let span = self.cx.span();
        if let Some(code) = error.status_code() {
            span.set_attribute(KeyValue::new("db.response.status_code", code));
        }
        span.set_attribute(KeyValue::new("error.type", error.error_type()));
        span.set_status(Status::error(error.description()));
    }

    /// Ends the span.
    pub fn end(self) {
        self.cx.span().end();
    }

    /// Records `result`'s error, if it is one, and ends the span.
    pub fn end_with<T, E: RecordError>(self, result: &Result<T, E>) {
        if let Err(error) = result {
            self.record_error(error);
        }
        self.end();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attribute(attributes: &[KeyValue], key: &str) -> Option<String> {
        attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| kv.value.to_string())
    }

    #[test]
    fn names_and_attributes() {
        let db = Database::new("postgresql")
            .namespace("shop")
            .server_address("db.internal")
            .server_port(5433);
        let (name, attributes) = db.statement_attributes(
            "INSERT INTO demo_orders (id, status) VALUES ($1, 'pending') RETURNING id",
        );
        assert_eq!(name, "INSERT demo_orders");
        for (key, value) in [
            ("db.system.name", "postgresql"),
            ("db.namespace", "shop"),
            ("server.address", "db.internal"),
            ("server.port", "5433"),
            ("db.operation.name", "INSERT"),
            ("db.collection.name", "demo_orders"),
            (
                "db.query.text",
                "INSERT INTO demo_orders (id, status) VALUES ($1, ?) RETURNING id",
            ),
        ] {
            assert_eq!(attribute(&attributes, key).as_deref(), Some(value), "{key}");
        }
        assert_eq!(
            db.statement_attributes("CALL refresh($1)").0,
            "CALL refresh"
        );
        assert_eq!(db.statement_attributes("SELECT 1").0, "SELECT");
        // Nothing parsed: the namespace, then the server, then the system.
        assert_eq!(db.statement_attributes("").0, "shop");
        let (name, attributes) = Database::new("postgresql")
            .server_address("db.internal")
            .server_port(5433)
            .statement_attributes("-- nothing");
        assert_eq!(name, "db.internal:5433");
        assert_eq!(attribute(&attributes, "db.query.text"), None);
        assert_eq!(Database::new("sqlite").statement_attributes("").0, "sqlite");
    }

    #[test]
    fn the_system_picks_the_dialect() {
        let (_, attributes) =
            Database::new("mysql").statement_attributes(r#"SELECT * FROM t WHERE a = "x""#);
        assert_eq!(
            attribute(&attributes, "db.query.text").as_deref(),
            Some("SELECT * FROM t WHERE a = ?")
        );
        let (_, attributes) =
            Database::new("sqlite").statement_attributes(r#"SELECT * FROM t WHERE "a" = 1"#);
        assert_eq!(
            attribute(&attributes, "db.query.text").as_deref(),
            Some(r#"SELECT * FROM t WHERE "a" = ?"#)
        );
    }
}
