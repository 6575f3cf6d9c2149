//! The Tempo-compatible HTTP API (port 3200), for Grafana's Tempo data source.

use axum::routing::get;
use axum::Router;

use crate::ApiState;

pub(crate) fn routes() -> Router<ApiState> {
    Router::new().route("/api/echo", get(echo))
}

async fn echo() -> &'static str {
    "echo\n"
}
