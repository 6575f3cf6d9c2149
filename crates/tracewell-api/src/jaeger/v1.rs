//! Jaeger's v1 JSON API (what Grafana's Jaeger data source calls): `/api/services`,
//! `/api/services/{service}/operations`, `/api/operations`, `/api/traces` (search, or multi-get with
//! `traceID`), `/api/traces/{id}` and `/api/dependencies` (services only: queues collapse into producer →
//! consumer). Times are microseconds (search, trace hints) and milliseconds (dependencies), as in Jaeger. A
//! search `limit` above the query maximum is capped, not refused.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{json, Value};
use tracewell_query::{parse_kind, SearchRequest, TimeRange};

use super::convert;
use super::query::{add_tags, capped_limit, find_traces, tag_pairs, trace_id};
use super::response::{envelope, envelope_with_errors, V1Error};
use crate::native::{now_nanos, Params};
use crate::params::{bad, duration_nanos, number, tenant, unix_time};
use crate::{ApiError, ApiState};

const MICROS: u64 = 1_000;
const MILLIS: u64 = 1_000_000;
/// Search range when `start` is absent, as in Jaeger.
const SEARCH_LOOKBACK: Duration = Duration::from_secs(48 * 3600);
const SEARCH_LIMIT: usize = 100;
const DEPENDENCIES_LOOKBACK_MS: u64 = 24 * 3600 * 1000;
/// Timestamps below this many microseconds (1973) are taken as milliseconds: Grafana sends trace-by-id hints
/// in milliseconds.
const MILLIS_BELOW: u64 = 100_000_000_000_000;

pub(crate) async fn services(
    State(state): State<ApiState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, V1Error> {
    let tenant = tenant(&headers, &state.allowed_tenants)?;
    let params = Params::parse(query)?;
    let services = state.query.services(&tenant).await?;
    Ok(envelope(json!(services), services.len(), &params))
}

/// Legacy: the distinct operation names of a service, `null` when there are none.
pub(crate) async fn service_operations(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(service): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, V1Error> {
    let tenant = tenant(&headers, &state.allowed_tenants)?;
    let params = Params::parse(query)?;
    let mut names: Vec<String> = state
        .query
        .operations(&tenant, Some(&service), None)
        .await?
        .into_iter()
        .map(|o| o.name)
        .collect();
    names.dedup();
    let total = names.len();
    let data = if names.is_empty() {
        Value::Null
    } else {
        json!(names)
    };
    Ok(envelope(data, total, &params))
}

/// The Jaeger name of a span kind; unspecified (or unknown) is the empty string.
pub(crate) fn kind_name(kind: Option<tracewell_model::SpanKind>) -> &'static str {
    match kind {
        None | Some(tracewell_model::SpanKind::Unspecified) => "",
        Some(k) => k.as_str(),
    }
}

pub(crate) async fn operations(
    State(state): State<ApiState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, V1Error> {
    let tenant = tenant(&headers, &state.allowed_tenants)?;
    let params = Params::parse(query)?;
    let service = params
        .non_empty("service")
        .ok_or_else(|| ApiError::BadRequest("parameter 'service' is required".into()))?;
    let kind = params.parsed("spanKind", parse_kind)?;
    let ops = state.query.operations(&tenant, Some(service), kind).await?;
    let data: Vec<Value> = ops
        .iter()
        .map(|o| json!({"name": o.name, "spanKind": kind_name(o.kind)}))
        .collect();
    Ok(envelope(json!(data), data.len(), &params))
}

pub(crate) async fn traces(
    State(state): State<ApiState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, V1Error> {
    let tenant = tenant(&headers, &state.allowed_tenants)?;
    let params = Params::parse(query)?;
    if params.get("traceID").is_some() {
        return multi_get(&state, &tenant, &params).await;
    }
    let req = search_request(&params, state.query.max_limit(&tenant))?;
    let (found, _warnings) = find_traces(&state, &tenant, &req).await?;
    let data: Vec<Value> = found
        .iter()
        .map(|(_, spans)| convert::trace_json(spans, &[]))
        .collect();
    Ok(envelope(json!(data), 0, &params))
}

async fn multi_get(
    state: &ApiState,
    tenant: &tracewell_model::TenantId,
    params: &Params,
) -> Result<Response, V1Error> {
    let ids = params
        .all("traceID")
        .map(|raw| trace_id("traceID", raw, false))
        .collect::<Result<Vec<_>, _>>()?;
    let mut data = Vec::new();
    let mut errors = Vec::new();
    for id in ids {
        let found = state.query.trace(tenant, id).await?;
        if found.spans.is_empty() {
            errors.push(json!({"msg": "trace not found", "traceID": convert::trace_id(&id)}));
        } else {
            data.push(convert::trace_json(
                &found.spans,
                &unreadable(&found.unreadable_blocks),
            ));
        }
    }
    let errors = if errors.is_empty() {
        Value::Null
    } else {
        json!(errors)
    };
    Ok(envelope_with_errors(json!(data), 0, errors, params))
}

fn unreadable(blocks: &[String]) -> Vec<String> {
    if blocks.is_empty() {
        Vec::new()
    } else {
        vec![format!(
            "trace may be incomplete: blocks unreadable: {}",
            blocks.join(", ")
        )]
    }
}

/// A search from `/api/traces` parameters; `limit` is capped at `max_limit`.
fn search_request(params: &Params, max_limit: usize) -> Result<SearchRequest, ApiError> {
    let limit = capped_limit(
        number("limit", params.get("limit"))?,
        SEARCH_LIMIT,
        max_limit,
    );
    let mut req = SearchRequest::recent(limit);
    let text = |key: &str| params.non_empty(key).map(str::to_owned);
    req.service = text("service");
    req.operation = text("operation");
    let mut pairs = Vec::new();
    for raw in params.all("tags").filter(|t| !t.trim().is_empty()) {
        pairs.extend(tag_pairs("tags", raw)?);
    }
    for raw in params.all("tag") {
        let (key, value) = raw
            .split_once(':')
            .ok_or_else(|| bad("tag", format!("{raw:?} is not key:value")))?;
        pairs.push((key.to_owned(), value.to_owned()));
    }
    add_tags(&mut req, "tags", pairs)?;
    req.min_duration_nano = duration_nanos("minDuration", params.get("minDuration"))?;
    req.max_duration_nano = duration_nanos("maxDuration", params.get("maxDuration"))?;
    if let (Some(min), Some(max)) = (req.min_duration_nano, req.max_duration_nano) {
        if max < min {
            return Err(bad(
                "maxDuration",
                "'maxDuration' should be greater than 'minDuration'",
            ));
        }
    }
    let end = unix_time("end", params.get("end"), MICROS)?.unwrap_or_else(now_nanos);
    // Jaeger ignores `lookback` (the UI sends "custom" too); a duration is used when `start` is absent.
    let lookback = params
        .get("lookback")
        .and_then(|l| tracewell_model::parse_duration(l).ok())
        .unwrap_or(SEARCH_LOOKBACK);
    let start = unix_time("start", params.get("start"), MICROS)?
        .unwrap_or(end.saturating_sub(lookback.as_nanos() as u64));
    if start > end {
        return Err(bad("start", "start is after end"));
    }
    req.start_unix_nano = Some(start);
    req.end_unix_nano = Some(end);
    Ok(req)
}

/// A trace-by-id hint in microseconds, or in milliseconds when too small to be microseconds.
fn hint(params: &Params, key: &str) -> Result<Option<u64>, ApiError> {
    Ok(number(key, params.get(key))?.map(|v| {
        if v < MILLIS_BELOW {
            v.saturating_mul(MILLIS)
        } else {
            v.saturating_mul(MICROS)
        }
    }))
}

pub(crate) async fn trace(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(raw_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, V1Error> {
    let tenant = tenant(&headers, &state.allowed_tenants)?;
    let params = Params::parse(query)?;
    let id = trace_id("traceID", &raw_id, false)?;
    if let (Some(start), Some(end)) = (hint(&params, "start")?, hint(&params, "end")?) {
        if start > end {
            return Err(bad("start", "start is after end").into());
        }
    }
    let found = state.query.trace(&tenant, id).await?;
    if found.spans.is_empty() {
        return Err(ApiError::NotFound("trace not found".into()).into());
    }
    let trace = convert::trace_json(&found.spans, &unreadable(&found.unreadable_blocks));
    Ok(envelope(json!([trace]), 0, &params))
}

pub(crate) async fn dependencies(
    State(state): State<ApiState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, V1Error> {
    let tenant = tenant(&headers, &state.allowed_tenants)?;
    let params = Params::parse(query)?;
    let end = unix_time("endTs", params.get("endTs"), MILLIS)?.unwrap_or_else(now_nanos);
    let lookback = number("lookback", params.get("lookback"))?.unwrap_or(DEPENDENCIES_LOOKBACK_MS);
    let lookback = lookback
        .checked_mul(MILLIS)
        .ok_or_else(|| bad("lookback", "is out of range"))?;
    let range = TimeRange {
        start_unix_nano: end.saturating_sub(lookback),
        end_unix_nano: end,
    };
    let service = params.non_empty("service");
    let mut links: BTreeMap<(String, String), u64> = BTreeMap::new();
    // Jaeger's graph has services only: queues collapse into producer → consumer, databases are left out.
    for d in state.query.service_dependencies(&tenant, &range).await? {
        if service.is_none_or(|s| s == d.parent || s == d.child) {
            *links.entry((d.parent, d.child)).or_default() += d.calls;
        }
    }
    let data: Vec<Value> = links
        .into_iter()
        .map(|((parent, child), calls)| json!({"parent": parent, "child": child, "callCount": calls}))
        .collect();
    Ok(envelope(json!(data), 0, &params))
}
