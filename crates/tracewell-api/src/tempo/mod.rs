//! The Tempo-compatible HTTP API (port 3200), for Grafana's Tempo data source:
//!
//! - `GET /api/echo`: health check.
//! - `GET /api/traces/{id}` (`{"batches": [...]}` or `tempopb.Trace`) and `GET /api/v2/traces/{id}`
//!   (`tempopb.TraceByIDResponse`), as JSON or, with `Accept: application/protobuf`, as protobuf (`trace.rs`).
//! - `GET /api/search` with `tags` (logfmt), `minDuration`/`maxDuration` (whole trace), `start`/`end` (unix
//!   seconds), `limit`, `spss`; or TraceQL in `q` (`search.rs`).
//! - `GET /api/metrics/query_range` and `/api/metrics/query`: TraceQL metrics (`metrics.rs`).
//! - gRPC `tempopb.StreamingQuerier` (search, tags, tag values, metrics) on the same port (`grpc.rs`).
//! - `GET /api/search/tags`, `/api/v2/search/tags`, `/api/search/tag/{tag}/values`,
//!   `/api/v2/search/tag/{tag}/values` (`tags.rs`).
//!
//! Errors are plain text with the status code, as Tempo answers them (`error.rs`).

pub(crate) mod base64;
mod error;
mod grpc;
pub(crate) mod logfmt;
mod metrics;
pub(crate) mod otlp_json;
mod proto;
pub(crate) mod search;
mod tags;
mod trace;

use std::time::Duration;

use axum::routing::get;
use axum::Router;
use tracewell_query::TimeRange;

use crate::native::{now_nanos, Params};
use crate::params::{bad, unix_time};
use crate::{ApiError, ApiState};

pub(crate) fn routes() -> Router<ApiState> {
    Router::new()
        .merge(grpc::routes())
        .route("/api/echo", get(echo))
        .route("/api/traces/{trace_id}", get(trace::v1))
        .route("/api/v2/traces/{trace_id}", get(trace::v2))
        .route("/api/search", get(search::search))
        .route("/api/metrics/query_range", get(metrics::query_range))
        .route("/api/metrics/query", get(metrics::query_instant))
        .route("/api/search/tags", get(tags::names_v1))
        .route("/api/v2/search/tags", get(tags::names_v2))
        .route("/api/search/tag/{tag}/values", get(tags::values_v1))
        .route("/api/v2/search/tag/{tag}/values", get(tags::values_v2))
}

async fn echo() -> &'static str {
    "echo\n"
}

const SECOND: u64 = 1_000_000_000;

/// `start`/`end` in unix seconds, `0` or absent meaning unbounded; when both are given, `end` must be after
/// `start`. Returns nanoseconds.
fn seconds_bounds(params: &Params) -> Result<(Option<u64>, Option<u64>), ApiError> {
    let start = unix_time("start", params.get("start"), SECOND)?.filter(|&s| s > 0);
    let end = unix_time("end", params.get("end"), SECOND)?.filter(|&e| e > 0);
    if let (Some(s), Some(e)) = (start, end) {
        if e <= s {
            return Err(bad("start", "start must be before end"));
        }
    }
    Ok((start, end))
}

/// A time range from `start`/`end` in unix seconds, defaulting to the `lookback` before now.
fn seconds_range(params: &Params, lookback: Duration) -> Result<TimeRange, ApiError> {
    let (start, end) = seconds_bounds(params)?;
    let end = end.unwrap_or_else(now_nanos);
    let start = start.unwrap_or(end.saturating_sub(lookback.as_nanos() as u64));
    if start > end {
        return Err(bad("start", "start must be before end"));
    }
    Ok(TimeRange {
        start_unix_nano: start,
        end_unix_nano: end,
    })
}
