//! The Jaeger-compatible query API on the query port: v1 JSON (Grafana's Jaeger data source) and api_v3 (the
//! current Jaeger UI).

use axum::Router;

use crate::ApiState;

pub(crate) fn routes() -> Router<ApiState> {
    Router::new()
}
