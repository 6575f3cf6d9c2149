//! Tempo's TraceQL metrics API: `GET /api/metrics/query_range` (series of samples per step) and
//! `GET /api/metrics/query` (one value per series over the whole range), answering `tempopb.QueryRangeResponse`
//! and `tempopb.QueryInstantResponse` JSON. `q` is the metrics query; `start`/`end` are unix seconds,
//! milliseconds or nanoseconds (by magnitude) or RFC 3339, defaulting to the last hour; `step` is a duration
//! (`30s`) or seconds, defaulting to a hundredth of the range (at least one second).

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use tracewell_model::TenantId;
use tracewell_query::traceql_lang::metrics::Series;
use tracewell_query::{TraceqlMetricsRequest, TraceqlMetricsResult};

use super::error::TempoError;
use super::search::attribute_json;
use crate::native::{now_nanos, Params};
use crate::params::{bad, parse_rfc3339, tenant};
use crate::{ApiError, ApiState};

const SECOND: u64 = 1_000_000_000;
const DEFAULT_RANGE: u64 = 3600 * SECOND;

/// Runs the metrics query the parameters give (`instant`: one step over the whole range).
pub(crate) async fn run(
    state: &ApiState,
    tenant: &TenantId,
    params: &Params,
    instant: bool,
) -> Result<(TraceqlMetricsRequest, TraceqlMetricsResult), ApiError> {
    let req = request(params, instant)?;
    let result = state.query.traceql_metrics(tenant, &req).await?;
    Ok((req, result))
}

/// A series' samples with data, as `(unix milliseconds, value)`.
pub(crate) fn samples<'a>(
    series: &'a Series,
    req: &'a TraceqlMetricsRequest,
) -> impl Iterator<Item = (u64, f64)> + 'a {
    series
        .values
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_finite())
        .map(|(i, v)| {
            (
                (req.start_unix_nano + i as u64 * req.step_nano) / 1_000_000,
                *v,
            )
        })
}

pub(crate) async fn query_range(
    State(state): State<ApiState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, TempoError> {
    let tenant = tenant(&headers, &state.allowed_tenants)?;
    let (req, result) = run(&state, &tenant, &Params::parse(query)?, false).await?;
    let series: Vec<Value> = result
        .series
        .iter()
        .map(|s| {
            let mut out = series_labels(s);
            out["samples"] = samples(s, &req)
                .map(|(ms, v)| json!({ "timestampMs": ms.to_string(), "value": v }))
                .collect();
            out
        })
        .collect();
    Ok(Json(json!({ "series": series, "metrics": metrics_json(&result) })).into_response())
}

pub(crate) async fn query_instant(
    State(state): State<ApiState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, TempoError> {
    let tenant = tenant(&headers, &state.allowed_tenants)?;
    let (_, result) = run(&state, &tenant, &Params::parse(query)?, true).await?;
    let series: Vec<Value> = result
        .series
        .iter()
        .filter_map(|s| {
            let value = s.values.first().copied().filter(|v| v.is_finite())?;
            let mut out = series_labels(s);
            out["value"] = value.into();
            Some(out)
        })
        .collect();
    Ok(Json(json!({ "series": series, "metrics": metrics_json(&result) })).into_response())
}

fn metrics_json(result: &TraceqlMetricsResult) -> Value {
    json!({
        "inspectedSpans": result.inspected_spans.to_string(),
        "totalBlocks": result.inspected_blocks,
    })
}

/// `labels` as OTLP key/values.
fn series_labels(s: &Series) -> Value {
    json!({
        "labels": s.labels.iter().map(|(k, v)| attribute_json(k, v)).collect::<Vec<_>>(),
    })
}

/// The query and its range; an instant query is one step covering the range.
fn request(params: &Params, instant: bool) -> Result<TraceqlMetricsRequest, ApiError> {
    let query = params
        .get("q")
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .ok_or_else(|| {
            bad(
                "q",
                "a TraceQL metrics query is required, e.g. { } | rate()",
            )
        })?;
    let end = time(params, "end")?.unwrap_or_else(now_nanos);
    let start = time(params, "start")?.unwrap_or(end.saturating_sub(DEFAULT_RANGE));
    if end <= start {
        return Err(bad("start", "start must be before end"));
    }
    let range = end - start;
    let step = if instant {
        range
    } else {
        match params.get("step").map(str::trim).filter(|s| !s.is_empty()) {
            None => (range / 100).max(SECOND),
            Some(text) => step(text)?,
        }
    };
    Ok(TraceqlMetricsRequest {
        query: query.to_owned(),
        start_unix_nano: start,
        end_unix_nano: end,
        step_nano: step,
    })
}

fn step(text: &str) -> Result<u64, ApiError> {
    let nanos = match text.parse::<f64>() {
        Ok(seconds) if seconds.is_finite() && seconds > 0.0 => (seconds * 1e9) as u64,
        Ok(_) => 0,
        Err(_) => tracewell_model::parse_duration(text)
            .map_err(|e| bad("step", e))?
            .as_nanos() as u64,
    };
    if nanos == 0 {
        return Err(bad("step", "must be a positive duration such as 30s"));
    }
    Ok(nanos)
}

/// Unix seconds, milliseconds, microseconds or nanoseconds (told apart by magnitude), or RFC 3339.
fn time(params: &Params, name: &str) -> Result<Option<u64>, ApiError> {
    let Some(text) = params.get(name).map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    if let Ok(n) = text.parse::<u64>() {
        let nanos = match n {
            0..=99_999_999_999 => n.checked_mul(SECOND),
            100_000_000_000..=99_999_999_999_999 => n.checked_mul(1_000_000),
            100_000_000_000_000..=99_999_999_999_999_999 => n.checked_mul(1_000),
            _ => Some(n),
        };
        return nanos
            .map(Some)
            .ok_or_else(|| bad(name, "timestamp is out of range"));
    }
    parse_rfc3339(text).map(Some).ok_or_else(|| {
        bad(
            name,
            format!("{text:?} is not unix time or an RFC 3339 time"),
        )
    })
}
