//! Diagnosis over HTTP: `GET /api/v1/insights` (findings, most important first), `GET /api/v1/breakdown`
//! (where the time goes across the traces a search matches) and `GET /api/v1/heatmap` (matching spans by start
//! time and duration over a whole range). All are thin over the query service; the shapes are described in
//! `docs/diagnosis.md` and the OpenAPI file.

use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use crate::extract::Tenant;
use crate::native::{now_nanos, search_request, time_param, Params};
use crate::params::{duration_nanos, number};
use crate::{ApiError, ApiState};

pub(crate) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/api/v1/insights", get(insights))
        .route("/api/v1/breakdown", get(breakdown))
        .route("/api/v1/heatmap", get(heatmap))
}

/// `lookback`, `baseline`, `service`, `limit` and `end` into an insights request.
pub(crate) fn insights_request(
    state: &ApiState,
    params: &Params,
) -> Result<tracewell_query::InsightsRequest, ApiError> {
    let mut req = state.query.insights_request();
    if let Some(window) = duration_nanos("lookback", params.get("lookback"))? {
        req.window = Duration::from_nanos(window);
    }
    if let Some(baseline) = duration_nanos("baseline", params.get("baseline"))? {
        req.baseline = Duration::from_nanos(baseline);
    }
    req.service = params.non_empty("service").map(str::to_owned);
    if let Some(limit) = number("limit", params.get("limit"))? {
        req.limit = limit as usize;
    }
    req.end_unix_nano = time_param(params, "end")?.unwrap_or_else(now_nanos);
    Ok(req)
}

async fn insights(
    State(state): State<ApiState>,
    Tenant(tenant): Tenant,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(q)?;
    let req = insights_request(&state, &params)?;
    let result = state.query.insights(&tenant, &req).await?;
    Ok(Json(result).into_response())
}

/// Without `start`, `end` or `lookback`, the last hour.
fn last_hour_unless_given(req: &mut tracewell_query::SearchRequest) {
    if req.start_unix_nano.is_none() {
        let range = tracewell_query::TimeRange::last(Duration::from_secs(3600));
        req.start_unix_nano = Some(range.start_unix_nano);
        req.end_unix_nano = Some(range.end_unix_nano);
    }
}

/// Traces a breakdown reads unless `limit` says otherwise.
const DEFAULT_BREAKDOWN_TRACES: usize = 200;

async fn breakdown(
    State(state): State<ApiState>,
    Tenant(tenant): Tenant,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(q)?;
    let mut req = search_request(&params, DEFAULT_BREAKDOWN_TRACES)?;
    // The query service refuses limits out of range.
    last_hour_unless_given(&mut req);
    let result = state.query.breakdown(&tenant, &req).await?;
    Ok(Json(result).into_response())
}

/// Time buckets of a heatmap unless `buckets` says otherwise.
const DEFAULT_HEATMAP_BUCKETS: u64 = 60;

async fn heatmap(
    State(state): State<ApiState>,
    Tenant(tenant): Tenant,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(q)?;
    let mut req = search_request(&params, 1)?;
    last_hour_unless_given(&mut req);
    req.spans_per_trace = 0;
    let buckets = number("buckets", params.get("buckets"))?.unwrap_or(DEFAULT_HEATMAP_BUCKETS);
    let result = state.query.heatmap(&tenant, &req, buckets as usize).await?;
    Ok(Json(result).into_response())
}
