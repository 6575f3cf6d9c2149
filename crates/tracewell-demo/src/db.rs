//! The shop's database: SQLite embedded in the process by default, PostgreSQL when a URL is given.
//! Every statement runs under a CLIENT span from `tracewell_instrument::db` (named `SELECT demo_products`
//! after the statement, with `db.system.name`, `db.namespace`, `db.collection.name`, `db.operation.name`,
//! the sanitised `db.query.text`, the server for PostgreSQL and `db.response.returned_rows`), the child of
//! the current context.

use std::sync::{Arc, Mutex};

use opentelemetry::context::FutureExt as _;
use tracewell_instrument::db::{Database, RecordError};
use tracewell_instrument::Instrumentation;

/// A product of the catalogue.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Product {
    pub id: i64,
    pub name: String,
    pub category: String,
    pub price_cents: i64,
}

/// Categories of the seeded catalogue.
pub const CATEGORIES: &[&str] = &["vinyl", "cassettes", "turntables", "headphones"];
/// Product ids run from 1 to this.
pub const PRODUCT_COUNT: i64 = 40;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("postgres: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("the database task failed: {0}")]
    Task(String),
}

impl RecordError for DbError {
    /// PostgreSQL's SQLSTATE, SQLite's extended result code.
    fn status_code(&self) -> Option<String> {
        match self {
            DbError::Sqlite(rusqlite::Error::SqliteFailure(error, _)) => {
                Some(error.extended_code.to_string())
            }
            DbError::Postgres(error) => error.status_code(),
            _ => None,
        }
    }

    fn error_type(&self) -> String {
        match self {
            DbError::Postgres(error) => error.error_type(),
            _ => self.status_code().unwrap_or_else(|| "_OTHER".to_string()),
        }
    }

    fn description(&self) -> String {
        match self {
            DbError::Postgres(error) => error.description(),
            _ => self.to_string(),
        }
    }
}

/// The shop's database: where statements go, and what their spans say about it.
#[derive(Clone)]
pub struct Db {
    backend: Backend,
    database: Database,
}

#[derive(Clone)]
enum Backend {
    Sqlite(Arc<Mutex<rusqlite::Connection>>),
    Postgres(Arc<tokio_postgres::Client>),
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("database", &self.database)
            .finish_non_exhaustive()
    }
}

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS demo_products (id BIGINT PRIMARY KEY, name TEXT NOT NULL, \
     category TEXT NOT NULL, price_cents BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS demo_stock (product_id BIGINT PRIMARY KEY, quantity BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS demo_orders (id BIGINT PRIMARY KEY, customer TEXT NOT NULL, \
     total_cents BIGINT NOT NULL, status TEXT NOT NULL)",
];

impl Db {
    /// An in-memory SQLite database with the schema and catalogue.
    pub async fn sqlite() -> Result<Db, DbError> {
        let connection = rusqlite::Connection::open_in_memory()?;
        for statement in SCHEMA {
            connection.execute(statement, [])?;
        }
        let db = Db {
            backend: Backend::Sqlite(Arc::new(Mutex::new(connection))),
            database: Database::new("sqlite").namespace("shop"),
        };
        db.seed().await?;
        Ok(db)
    }

    /// A PostgreSQL database at `url` (tables are prefixed `demo_` and created when missing).
    pub async fn postgres(url: &str) -> Result<Db, DbError> {
        let config: tokio_postgres::Config = url.parse()?;
        let database = tracewell_instrument::db::postgres::database_of(&config);
        let (client, connection) = config.connect(tokio_postgres::NoTls).await?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::error!(%error, "demo PostgreSQL connection ended");
            }
        });
        for statement in SCHEMA {
            client.batch_execute(statement).await?;
        }
        let db = Db {
            backend: Backend::Postgres(Arc::new(client)),
            database,
        };
        db.seed().await?;
        Ok(db)
    }

    async fn seed(&self) -> Result<(), DbError> {
        for id in 1..=PRODUCT_COUNT {
            let category = CATEGORIES[(id as usize) % CATEGORIES.len()];
            let name = format!("{} #{id}", category.trim_end_matches('s'));
            let price = 999 + (id * 731) % 20_000;
            self.execute_untraced(
                "INSERT INTO demo_products (id, name, category, price_cents) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (id) DO NOTHING",
                vec![Param::Int(id), Param::Text(name), Param::Text(category.into()), Param::Int(price)],
            )
            .await?;
            self.execute_untraced(
                "INSERT INTO demo_stock (product_id, quantity) VALUES ($1, $2) ON CONFLICT (product_id) DO NOTHING",
                vec![Param::Int(id), Param::Int(100 + id % 7)],
            )
            .await?;
        }
        Ok(())
    }

    /// Runs a query returning rows of `columns` values, under the statement's CLIENT span.
    async fn query(
        &self,
        instrumentation: &Instrumentation,
        sql: &'static str,
        params: Vec<Param>,
    ) -> Result<Vec<Vec<Value>>, DbError> {
        let span = self.database.start(instrumentation, sql);
        let result = self
            .query_untraced(sql, params)
            .with_context(span.context().clone())
            .await;
        if let Ok(rows) = &result {
            span.set_returned_rows(rows.len() as u64);
        }
        span.end_with(&result);
        result
    }

    async fn execute_untraced(
        &self,
        sql: &'static str,
        params: Vec<Param>,
    ) -> Result<u64, DbError> {
        match &self.backend {
            Backend::Sqlite(connection) => {
                let connection = connection.clone();
                tokio::task::spawn_blocking(move || {
                    let connection = connection.lock().unwrap_or_else(|e| e.into_inner());
                    let n = connection.execute(sql, rusqlite::params_from_iter(params.iter()))?;
                    Ok(n as u64)
                })
                .await
                .map_err(|e| DbError::Task(e.to_string()))?
            }
            Backend::Postgres(client) => {
                let refs: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
                    params.iter().map(Param::as_pg).collect();
                Ok(client.execute(sql, &refs).await?)
            }
        }
    }

    async fn query_untraced(
        &self,
        sql: &'static str,
        params: Vec<Param>,
    ) -> Result<Vec<Vec<Value>>, DbError> {
        match &self.backend {
            Backend::Sqlite(connection) => {
                let connection = connection.clone();
                tokio::task::spawn_blocking(move || {
                    let connection = connection.lock().unwrap_or_else(|e| e.into_inner());
                    let mut statement = connection.prepare_cached(sql)?;
                    let columns = statement.column_count();
                    let rows =
                        statement.query_map(rusqlite::params_from_iter(params.iter()), |row| {
                            (0..columns)
                                .map(|i| {
                                    Ok(match row.get_ref(i)? {
                                        rusqlite::types::ValueRef::Integer(n) => Value::Int(n),
                                        rusqlite::types::ValueRef::Text(t) => {
                                            Value::Text(String::from_utf8_lossy(t).into_owned())
                                        }
                                        _ => Value::Null,
                                    })
                                })
                                .collect::<Result<Vec<_>, rusqlite::Error>>()
                        })?;
                    Ok(rows.collect::<Result<Vec<_>, _>>()?)
                })
                .await
                .map_err(|e| DbError::Task(e.to_string()))?
            }
            Backend::Postgres(client) => {
                let refs: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
                    params.iter().map(Param::as_pg).collect();
                let rows = client.query(sql, &refs).await?;
                Ok(rows
                    .iter()
                    .map(|row| {
                        (0..row.len())
                            .map(|i| {
                                if let Ok(n) = row.try_get::<_, i64>(i) {
                                    Value::Int(n)
                                } else if let Ok(t) = row.try_get::<_, String>(i) {
                                    Value::Text(t)
                                } else {
                                    Value::Null
                                }
                            })
                            .collect()
                    })
                    .collect())
            }
        }
    }

    /// Products of a category in one query.
    pub async fn products_in(
        &self,
        instr: &Instrumentation,
        category: &str,
    ) -> Result<Vec<Product>, DbError> {
        let rows = self
            .query(
                instr,
                "SELECT id, name, category, price_cents FROM demo_products WHERE category = $1 ORDER BY id",
                vec![Param::Text(category.to_string())],
            )
            .await?;
        Ok(rows.into_iter().filter_map(product_of).collect())
    }

    /// Ids of a category's products (the first query of the N+1 pattern).
    pub async fn product_ids_in(
        &self,
        instr: &Instrumentation,
        category: &str,
    ) -> Result<Vec<i64>, DbError> {
        let rows = self
            .query(
                instr,
                "SELECT id FROM demo_products WHERE category = $1 ORDER BY id",
                vec![Param::Text(category.to_string())],
            )
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| r.first()?.as_int())
            .collect())
    }

    pub async fn product(
        &self,
        instr: &Instrumentation,
        id: i64,
    ) -> Result<Option<Product>, DbError> {
        let rows = self
            .query(
                instr,
                "SELECT id, name, category, price_cents FROM demo_products WHERE id = $1",
                vec![Param::Int(id)],
            )
            .await?;
        Ok(rows.into_iter().find_map(product_of))
    }

    pub async fn stock(&self, instr: &Instrumentation, id: i64) -> Result<i64, DbError> {
        let rows = self
            .query(
                instr,
                "SELECT quantity FROM demo_stock WHERE product_id = $1",
                vec![Param::Int(id)],
            )
            .await?;
        Ok(rows.first().and_then(|r| r.first()?.as_int()).unwrap_or(0))
    }

    pub async fn insert_order(
        &self,
        instr: &Instrumentation,
        id: i64,
        customer: &str,
        total_cents: i64,
    ) -> Result<(), DbError> {
        self.query(
            instr,
            "INSERT INTO demo_orders (id, customer, total_cents, status) VALUES ($1, $2, $3, 'pending') \
             RETURNING id",
            vec![Param::Int(id), Param::Text(customer.to_string()), Param::Int(total_cents)],
        )
        .await?;
        Ok(())
    }

    pub async fn set_order_status(
        &self,
        instr: &Instrumentation,
        id: i64,
        status: &str,
    ) -> Result<(), DbError> {
        self.query(
            instr,
            // SQLite numbers `$N` parameters by first appearance: keep them in order.
            "UPDATE demo_orders SET status = $1 WHERE id = $2 RETURNING id",
            vec![Param::Text(status.to_string()), Param::Int(id)],
        )
        .await?;
        Ok(())
    }

    /// An order's status and total.
    pub async fn order(
        &self,
        instr: &Instrumentation,
        id: i64,
    ) -> Result<Option<(String, i64)>, DbError> {
        let rows = self
            .query(
                instr,
                "SELECT status, total_cents FROM demo_orders WHERE id = $1",
                vec![Param::Int(id)],
            )
            .await?;
        Ok(rows
            .first()
            .and_then(|r| Some((r.first()?.as_text()?.to_string(), r.get(1)?.as_int()?))))
    }
}

fn product_of(row: Vec<Value>) -> Option<Product> {
    Some(Product {
        id: row.first()?.as_int()?,
        name: row.get(1)?.as_text()?.to_string(),
        category: row.get(2)?.as_text()?.to_string(),
        price_cents: row.get(3)?.as_int()?,
    })
}

/// A statement parameter.
#[derive(Clone, Debug)]
enum Param {
    Int(i64),
    Text(String),
}

impl Param {
    fn as_pg(&self) -> &(dyn tokio_postgres::types::ToSql + Sync) {
        match self {
            Param::Int(n) => n,
            Param::Text(t) => t,
        }
    }
}

impl rusqlite::ToSql for Param {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        match self {
            Param::Int(n) => n.to_sql(),
            Param::Text(t) => t.to_sql(),
        }
    }
}

/// A column value.
#[derive(Clone, Debug)]
enum Value {
    Int(i64),
    Text(String),
    Null,
}

impl Value {
    fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(n) => Some(*n),
            _ => None,
        }
    }
    fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(t) => Some(t),
            _ => None,
        }
    }
}
