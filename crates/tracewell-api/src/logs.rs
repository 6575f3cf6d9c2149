//! Log records: `GET /api/v1/traces/{trace_id}/logs` (the records of one trace, oldest first) and
//! `GET /api/v1/logs` (search by service, severity, body text, attributes and trace over a time range, newest
//! first). Both answer `{"logs": [...], "truncated": bool}` with one flat object per record:
//!
//! ```json
//! {"time": "2026-12-07T14:00:00.123456789Z", "timeUnixNano": "1796...", "severityNumber": 17,
//!  "severityText": "ERROR", "body": "payment declined", "service": "payments", "traceId": "4bf9...",
//!  "spanId": "00f0...", "attributes": {"order.id": 42}, "resource": {"service.name": "payments"},
//!  "scope": "payments.http", "eventName": ""}
//! ```

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Map, Value};
use tracewell_model::logs::severity_from_name;
use tracewell_model::{Attribute, LogRecord};
use tracewell_store::{LogQuery, LogResult};

use crate::extract::Tenant;
use crate::native::{range_of, Params};
use crate::params::{bad, format_rfc3339, number, trace_id};
use crate::{ApiError, ApiState};

/// Records one answer holds unless `limit` says otherwise, and at most.
const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 5_000;

pub(crate) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/api/v1/traces/{trace_id}/logs", get(trace_logs))
        .route("/api/v1/logs", get(search_logs))
}

fn attributes_json(attributes: &[Attribute]) -> Value {
    Value::Object(
        attributes
            .iter()
            .map(|a| (a.key.clone(), a.value.to_json()))
            .collect::<Map<_, _>>(),
    )
}

fn record_json(r: &LogRecord) -> Value {
    json!({
        "time": format_rfc3339(r.time()),
        "timeUnixNano": r.time().to_string(),
        "severityNumber": r.severity_number,
        "severityText": r.severity_text,
        "body": r.body_text(),
        "service": r.service_name(),
        "traceId": r.trace_id.map(|t| t.to_hex()),
        "spanId": r.span_id.map(|s| s.to_hex()),
        "attributes": attributes_json(&r.attributes),
        "resource": attributes_json(&r.resource.attributes),
        "scope": r.scope.name,
        "eventName": r.event_name,
    })
}

fn answer(result: &LogResult) -> Json<Value> {
    Json(json!({
        "logs": result.records.iter().map(record_json).collect::<Vec<_>>(),
        "truncated": result.truncated,
    }))
}

fn limit(params: &Params) -> Result<usize, ApiError> {
    let limit = number("limit", params.get("limit"))?.map_or(DEFAULT_LIMIT, |v| v as usize);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(bad(
            "limit",
            format!("must be between 1 and {MAX_LIMIT}, got {limit}"),
        ));
    }
    Ok(limit)
}

async fn trace_logs(
    State(state): State<ApiState>,
    Tenant(tenant): Tenant,
    Path(raw_id): Path<String>,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let id = trace_id("trace id", &raw_id)?;
    let result = state
        .query
        .store()
        .trace_logs(&tenant, id, limit(&params)?)
        .await
        .map_err(tracewell_query::QueryError::from)?;
    Ok(answer(&result))
}

/// Parses `minSeverity` as a number (1–24) or a name (`warn`, `ERROR`...).
fn min_severity(params: &Params) -> Result<i32, ApiError> {
    let Some(raw) = params.non_empty("minSeverity") else {
        return Ok(0);
    };
    match raw.parse::<i32>() {
        Ok(n) if (0..=24).contains(&n) => Ok(n),
        Ok(n) => Err(bad("minSeverity", format!("must be 0 to 24, got {n}"))),
        Err(_) => severity_from_name(raw).ok_or_else(|| {
            bad(
                "minSeverity",
                format!("unknown severity {raw:?}: expected a number or TRACE, DEBUG, INFO, WARN, ERROR, FATAL"),
            )
        }),
    }
}

async fn search_logs(
    State(state): State<ApiState>,
    Tenant(tenant): Tenant,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let range = range_of(&params, std::time::Duration::from_secs(3600))?;
    let attributes = params
        .all("attr")
        .map(|pair| {
            pair.split_once('=')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .ok_or_else(|| bad("attr", format!("{pair:?} is not key=value")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let query = LogQuery {
        trace_id: params
            .non_empty("traceId")
            .map(|raw| trace_id("traceId", raw))
            .transpose()?,
        service: params.non_empty("service").map(str::to_owned),
        min_severity: min_severity(&params)?,
        text: params.non_empty("q").map(str::to_owned),
        attributes,
        start_unix_nano: range.start_unix_nano,
        end_unix_nano: range.end_unix_nano,
        limit: limit(&params)?,
    };
    let result = state
        .query
        .store()
        .search_logs(&tenant, &query)
        .await
        .map_err(tracewell_query::QueryError::from)?;
    Ok(answer(&result))
}
