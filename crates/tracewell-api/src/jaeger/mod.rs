//! The Jaeger-compatible query API on the query port: v1 JSON (Grafana's Jaeger data source) and api_v3 (the
//! current Jaeger UI), as thin adapters over the query service.
//!
//! - `v1.rs`: `/api/services`, `/api/services/{service}/operations`, `/api/operations`, `/api/traces`,
//!   `/api/traces/{id}`, `/api/dependencies`; `spm.rs`: `/api/metrics/{latencies,calls,errors}`.
//! - `v3.rs`: `/api/v3/services`, `/api/v3/operations`, `/api/v3/traces/{id}`, `/api/v3/traces`,
//!   `/api/v3/trace-summaries`.
//! - `convert.rs`: spans to Jaeger's JSON trace model; `query.rs`: ids, tag filters and searches shared by both;
//!   `response.rs`: envelopes and error shapes.

mod convert;
mod query;
mod response;
mod spm;
mod v1;
mod v3;

use axum::routing::get;
use axum::Router;

use crate::ApiState;

pub(crate) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/api/services", get(v1::services))
        .route(
            "/api/services/{service}/operations",
            get(v1::service_operations),
        )
        .route("/api/operations", get(v1::operations))
        .route("/api/traces", get(v1::traces))
        .route("/api/traces/{trace_id}", get(v1::trace))
        .route("/api/dependencies", get(v1::dependencies))
        .route("/api/metrics/latencies", get(spm::latencies))
        .route("/api/metrics/calls", get(spm::calls))
        .route("/api/metrics/errors", get(spm::errors))
        .route("/api/v3/services", get(v3::services))
        .route("/api/v3/operations", get(v3::operations))
        .route("/api/v3/traces", get(v3::find))
        .route("/api/v3/traces/{trace_id}", get(v3::trace))
        .route("/api/v3/trace-summaries", get(v3::summaries))
}
