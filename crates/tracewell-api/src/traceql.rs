//! `GET` and `POST /api/v1/traceql`: a TraceQL search in the native API's shapes. `GET` takes `q`, `start`/`end`
//! (RFC 3339 or unix nanoseconds) or `lookback`, `limit` and `spansPerSet` as query parameters; `POST` takes the
//! same as a JSON object (`{"query": "...", "start": ..., "limit": 20}`). Answers list each matching trace's
//! summary with its span sets, and say when the candidate bound cut the answer. A metrics query (`| rate()`, ...)
//! answers series instead, one point per `step` (a duration, default a hundredth of the range, at least 1s).

use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use tracewell_query::traceql_lang::value::Value as TraceqlValue;
use tracewell_query::{
    is_metrics_query, status_name, SpansetResult, TraceqlMetricsRequest, TraceqlRequest,
};

use crate::native::{range_of, summary_json, Params};
use crate::params::{bad, duration_nanos, number, tenant};
use crate::{ApiError, ApiState};

pub(crate) fn routes() -> Router<ApiState> {
    Router::new().route("/api/v1/traceql", get(traceql_get).post(traceql_post))
}

async fn traceql_get(
    State(state): State<ApiState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(q)?;
    run(state, headers, params).await
}

async fn traceql_post(
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let fields: serde_json::Map<String, Value> = serde_json::from_slice(&body).map_err(|e| {
        bad(
            "body",
            format!("expected a JSON object like {{\"query\": \"{{ status = error }}\"}}: {e}"),
        )
    })?;
    let mut pairs = Vec::new();
    for (key, value) in fields {
        let key = if key == "query" { "q".to_owned() } else { key };
        let text = match value {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            Value::Null => continue,
            other => {
                return Err(bad(
                    &key,
                    format!("expected a string or number, got {other}"),
                ))
            }
        };
        pairs.push((key, text));
    }
    run(state, headers, Params::from_pairs(pairs)).await
}

async fn run(state: ApiState, headers: HeaderMap, params: Params) -> Result<Response, ApiError> {
    let tenant = tenant(&headers, &state.allowed_tenants)?;
    let query = params
        .non_empty("q")
        .ok_or_else(|| bad("q", "a TraceQL query is required, e.g. { status = error }"))?;
    let range = range_of(&params, Duration::from_secs(3600))?;
    if is_metrics_query(query) {
        return metrics(state, tenant, query, range, &params).await;
    }
    let limit = number("limit", params.get("limit"))?
        .map_or(state.query.config().default_limit, |n| n as usize);
    let spans_per_set = number("spansPerSet", params.get("spansPerSet"))?.map_or(3, |n| n as usize);
    let req = TraceqlRequest {
        query: query.to_owned(),
        start_unix_nano: Some(range.start_unix_nano),
        end_unix_nano: Some(range.end_unix_nano),
        limit,
        spans_per_set,
    };
    let result = state.query.traceql_search(&tenant, &req).await?;
    Ok(Json(json!({
        "traces": result.traces.iter().map(|t| {
            let mut summary = summary_json(&t.summary);
            summary["spanSets"] = t.span_sets.iter().map(span_set_json).collect();
            summary
        }).collect::<Vec<_>>(),
        "limitHit": result.limit_hit,
        "inspectedTraces": result.inspected_traces,
        "metrics": {
            "inspectedSpans": result.metrics.inspected_spans,
            "inspectedBlocks": result.metrics.inspected_blocks,
            "skippedBlocks": result.metrics.skipped_blocks,
            "totalBlocks": result.metrics.total_blocks,
        },
        "cut": result.cut,
    }))
    .into_response())
}

async fn metrics(
    state: ApiState,
    tenant: tracewell_model::TenantId,
    query: &str,
    range: tracewell_query::TimeRange,
    params: &Params,
) -> Result<Response, ApiError> {
    let span = range.end_unix_nano.saturating_sub(range.start_unix_nano);
    let step =
        duration_nanos("step", params.get("step"))?.unwrap_or((span / 100).max(1_000_000_000));
    if step == 0 {
        return Err(bad("step", "must be a positive duration such as 30s"));
    }
    let req = TraceqlMetricsRequest {
        query: query.to_owned(),
        start_unix_nano: range.start_unix_nano,
        end_unix_nano: range.end_unix_nano.saturating_add(1),
        step_nano: step,
    };
    let result = state.query.traceql_metrics(&tenant, &req).await?;
    Ok(Json(json!({
        "series": result.series.iter().map(|s| json!({
            "labels": s.labels.iter().map(|(k, v)| json!({"key": k, "value": value_json(v)})).collect::<Vec<_>>(),
            "points": s.values.iter().enumerate().filter(|(_, v)| v.is_finite()).map(|(i, v)| {
                json!([(req.start_unix_nano + i as u64 * step).to_string(), v])
            }).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "stepNano": step,
        "inspectedSpans": result.inspected_spans,
        "warnings": result.warnings,
    }))
    .into_response())
}

fn span_set_json(set: &SpansetResult) -> Value {
    json!({
        "matched": set.matched,
        "attributes": set.attributes.iter().map(|(k, v)| json!({"key": k, "value": value_json(v)})).collect::<Vec<_>>(),
        "spans": set.spans.iter().map(|s| json!({
            "spanId": s.span.span_id.to_hex(),
            "service": s.span.service,
            "name": s.span.name,
            "startTimeUnixNano": s.span.start_unix_nano.to_string(),
            "durationNano": s.span.duration_nano,
            "status": status_name(s.span.status),
            "attributes": s.attributes.iter().map(|(k, v)| json!({"key": k, "value": value_json(v)})).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

/// A TraceQL value as JSON: numbers, strings and booleans as themselves, durations in nanoseconds, enums and
/// arrays by their TraceQL text.
fn value_json(v: &TraceqlValue) -> Value {
    match v {
        TraceqlValue::Nil => Value::Null,
        TraceqlValue::Bool(b) => (*b).into(),
        TraceqlValue::Int(i) => (*i).into(),
        TraceqlValue::Float(f) => {
            serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number)
        }
        TraceqlValue::Duration(d) => (*d).into(),
        TraceqlValue::Str(s) => s.clone().into(),
        other => other.to_string().into(),
    }
}
