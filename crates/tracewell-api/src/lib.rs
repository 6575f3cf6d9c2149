//! # tracewell-api
//!
//! The read side over HTTP on the query port (16686 by default):
//!
//! - `GET /api/v1/traces/{trace_id}`: one trace as OTLP JSON (`{"resourceSpans": [...]}`), merged from head
//!   and blocks, or `?format=compact` for the UI; 400 for a malformed id, 404 when unknown.
//! - `GET /api/v1/traces/{trace_id}/spans/{span_id}`: one span as OTLP JSON.
//! - `GET /api/v1/traces/{trace_id}/logs` and `GET /api/v1/logs`: log records of a trace, and log search
//!   (`logs.rs`).
//! - `GET`/`POST /api/v1/traceql`: TraceQL search (`traceql.rs`).
//! - `GET /api/v1/insights`, `GET /api/v1/breakdown` (`diagnosis.rs`) and `GET /api/v1/tail` (`tail.rs`, live spans
//!   as Server-Sent Events), `GET /api/v1/alerts` (`alerts.rs`).
//! - `/mcp`: the Model Context Protocol endpoint for agents (`mcp/`).
//! - `GET /metrics`: Prometheus text exposition of every Tracewell metric.
//! - every other `GET`: the embedded web UI (`ui/dist`), `index.html` for the UI's own routes.
//! - `GET /healthz` (the process is up) and `GET /readyz` (the WAL is replayed and writes are accepted).
//!
//! Handlers are thin: they parse parameters, call the store, and shape the response. With a token file, the
//! [`auth`] layer in front of them (and of the receivers) checks bearer tokens and sets the tenant from them.

mod alerts;
pub mod auth;
mod compact;
mod diagnosis;
mod error;
mod extract;
mod health;
mod jaeger;
mod logs;
pub mod mcp;
mod native;
mod params;
pub mod recent;
mod self_trace;
pub mod tail;
mod tempo;
mod traceql;
mod traces;
mod ui;

use std::sync::Arc;

use axum::Router;
use prometheus_client::registry::Registry;
use tracewell_query::QueryService;
use tracewell_store::Store;

pub use error::ApiError;

/// Shared state of the API handlers.
#[derive(Clone)]
pub struct ApiState {
    pub store: Store,
    pub query: QueryService,
    pub registry: Arc<Registry>,
    /// Tenants allowed to read; empty means any valid tenant id.
    pub allowed_tenants: Arc<Vec<String>>,
    /// Traces just opened in the UI, for its one-span-at-a-time requests.
    pub recent: Arc<recent::RecentTraces>,
    /// Live tails: their limits and the switch that ends them at shutdown.
    pub tail: Arc<tail::TailHub>,
    /// The alert engine, when rules are configured.
    pub alerts: Option<Arc<tracewell_alerts::AlertEngine>>,
    /// Open MCP sessions.
    pub mcp: Arc<mcp::Sessions>,
}

/// Routes of the Tempo-compatible port (3200 by default).
pub fn tempo_router(state: ApiState) -> Router {
    Router::new()
        .merge(tempo::routes())
        .merge(health::routes())
        .route_layer(axum::middleware::from_fn(self_trace::trace_request))
        .with_state(state)
}

/// Every route of the query port.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .merge(traces::routes())
        .merge(logs::routes())
        .merge(native::routes())
        .merge(traceql::routes())
        .merge(diagnosis::routes())
        .merge(tail::routes())
        .merge(alerts::routes())
        .merge(mcp::routes())
        .merge(jaeger::routes())
        .merge(health::routes())
        .route_layer(axum::middleware::from_fn(self_trace::trace_request))
        .fallback(ui::fallback)
        .with_state(state)
}
