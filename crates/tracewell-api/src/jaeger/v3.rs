//! Jaeger's api_v3 over HTTP (what the current Jaeger UI calls): `/api/v3/services`, `/api/v3/operations`,
//! `/api/v3/traces/{trace_id}`, `/api/v3/traces` and `/api/v3/trace-summaries`. Traces are OTLP JSON wrapped in
//! `{"result": ...}`; errors are `{"error":{"httpCode","message"}}`; `query.*` parameters are accepted in
//! camelCase and in the deprecated snake_case; times are RFC 3339. A `query.searchDepth` above the query maximum
//! is capped, not refused.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use opentelemetry_proto::tonic::trace::v1::TracesData;
use serde_json::{json, Value};
use tracewell_model::{otlp, Span};
use tracewell_query::{parse_kind, SearchRequest, TraceSummary};

use super::query::{add_tags, capped_limit, find_traces, tag_pairs, trace_id};
use super::response::{json_response, V3Error};
use crate::native::Params;
use crate::params::{bad, duration_nanos, number, rfc3339, tenant};
use crate::{ApiError, ApiState};

const SEARCH_DEPTH: usize = 100;

fn ok(body: Value) -> Response {
    json_response(StatusCode::OK, &body, false)
}

fn no_traces() -> ApiError {
    ApiError::NotFound("No traces found".into())
}

pub(crate) async fn services(
    State(state): State<ApiState>,
    headers: HeaderMap,
) -> Result<Response, V3Error> {
    let tenant = tenant(&headers, &state.allowed_tenants)?;
    let services = state.query.services(&tenant).await?;
    Ok(ok(json!({ "services": services })))
}

pub(crate) async fn operations(
    State(state): State<ApiState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, V3Error> {
    let tenant = tenant(&headers, &state.allowed_tenants)?;
    let params = Params::parse(query)?;
    let service = params.non_empty("service");
    let kind = params
        .any(&["spanKind", "span_kind"])
        .filter(|k| !k.is_empty())
        .map(parse_kind)
        .transpose()
        .map_err(|e| bad("spanKind", e))?;
    let ops = state.query.operations(&tenant, service, kind).await?;
    let list: Vec<Value> = ops
        .iter()
        .map(|o| {
            let kind = match super::v1::kind_name(o.kind) {
                "" => "internal",
                k => k,
            };
            json!({"name": o.name, "spanKind": kind})
        })
        .collect();
    Ok(ok(json!({ "operations": list })))
}

/// An RFC 3339 time under either spelling; a `+` offset sent unescaped arrives as a space and is repaired.
fn time(params: &Params, keys: &[&str]) -> Result<Option<u64>, ApiError> {
    let Some(text) = params.any(keys).map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    match rfc3339(keys[0], Some(text)) {
        Err(_) if text.contains(' ') => rfc3339(keys[0], Some(&text.replace(' ', "+"))),
        parsed => parsed,
    }
}

fn boolean(params: &Params, keys: &[&str]) -> Result<bool, ApiError> {
    match params.any(keys).filter(|v| !v.is_empty()) {
        None | Some("false" | "0") => Ok(false),
        Some("true" | "1") => Ok(true),
        Some(other) => Err(bad(keys[0], format!("{other:?} is not true or false"))),
    }
}

fn traces_data(traces: &[&[Span]]) -> Value {
    let data = TracesData {
        resource_spans: traces
            .iter()
            .flat_map(|spans| otlp::to_resource_spans(spans))
            .collect(),
    };
    json!({ "result": otlp::to_json(&data) })
}

pub(crate) async fn trace(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(raw_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, V3Error> {
    let tenant = tenant(&headers, &state.allowed_tenants)?;
    let params = Params::parse(query)?;
    let id = trace_id("trace_id", &raw_id, true)?;
    let start = time(&params, &["startTime", "start_time"])?;
    let end = time(&params, &["endTime", "end_time"])?;
    if let (Some(start), Some(end)) = (start, end) {
        if start > end {
            return Err(bad("startTime", "is after endTime").into());
        }
    }
    boolean(&params, &["rawTraces", "raw_traces"])?;
    let found = state.query.trace(&tenant, id).await?;
    if found.spans.is_empty() {
        return Err(no_traces().into());
    }
    Ok(ok(traces_data(&[&found.spans])))
}

/// A search from `query.*` parameters; `query.searchDepth` is capped at `max_limit`.
fn search_request(params: &Params, max_limit: usize) -> Result<SearchRequest, ApiError> {
    let requested = number(
        "query.searchDepth",
        params.any(&[
            "query.searchDepth",
            "query.search_depth",
            "query.num_traces",
        ]),
    )?;
    let depth = capped_limit(requested, SEARCH_DEPTH, max_limit);
    let mut req = SearchRequest::recent(depth);
    let text = |keys: &[&str]| {
        params
            .any(keys)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    req.service = text(&["query.serviceName", "query.service_name"]);
    req.operation = text(&["query.operationName", "query.operation_name"]);
    let min = time(params, &["query.startTimeMin", "query.start_time_min"])?;
    let max = time(params, &["query.startTimeMax", "query.start_time_max"])?;
    let (Some(min), Some(max)) = (min, max) else {
        return Err(bad(
            "query.startTimeMin",
            "query.startTimeMin and query.startTimeMax are required",
        ));
    };
    if min >= max {
        return Err(bad(
            "query.startTimeMin",
            "must be before query.startTimeMax",
        ));
    }
    (req.start_unix_nano, req.end_unix_nano) = (Some(min), Some(max));
    req.min_duration_nano = duration_nanos(
        "query.durationMin",
        params.any(&["query.durationMin", "query.duration_min"]),
    )?;
    req.max_duration_nano = duration_nanos(
        "query.durationMax",
        params.any(&["query.durationMax", "query.duration_max"]),
    )?;
    if let (Some(min), Some(max)) = (req.min_duration_nano, req.max_duration_nano) {
        if max < min {
            return Err(bad(
                "query.durationMax",
                "must not be less than query.durationMin",
            ));
        }
    }
    if let Some(raw) = params
        .get("query.attributes")
        .filter(|a| !a.trim().is_empty())
    {
        let pairs = tag_pairs("query.attributes", raw)?;
        add_tags(&mut req, "query.attributes", pairs)?;
    }
    if params
        .get("query.filter")
        .is_some_and(|f| !f.trim().is_empty())
    {
        return Err(bad(
            "query.filter",
            "filter expressions are not supported; use query.attributes",
        ));
    }
    boolean(params, &["query.rawTraces", "query.raw_traces"])?;
    Ok(req)
}

pub(crate) async fn find(
    State(state): State<ApiState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, V3Error> {
    let tenant = tenant(&headers, &state.allowed_tenants)?;
    let params = Params::parse(query)?;
    let req = search_request(&params, state.query.max_limit(&tenant))?;
    let (found, _warnings) = find_traces(&state, &tenant, &req).await?;
    if found.is_empty() {
        return Err(no_traces().into());
    }
    let traces: Vec<&[Span]> = found.iter().map(|(_, spans)| spans.as_slice()).collect();
    Ok(ok(traces_data(&traces)))
}

pub(crate) async fn summaries(
    State(state): State<ApiState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, V3Error> {
    let tenant = tenant(&headers, &state.allowed_tenants)?;
    let params = Params::parse(query)?;
    let req = search_request(&params, state.query.max_limit(&tenant))?;
    let result = state.query.search(&tenant, &req).await?;
    let list: Vec<Value> = result.traces.iter().map(summary_json).collect();
    Ok(ok(json!({ "summaries": list })))
}

/// A `TraceSummary` as jsonpb writes it: zero counts and empty names left out, nanoseconds as strings.
fn summary_json(t: &TraceSummary) -> Value {
    let mut out = json!({
        "traceId": t.trace_id.to_hex(),
        "minStartTimeUnixNano": t.start_unix_nano.to_string(),
        "maxEndTimeUnixNano": t.end_unix_nano().to_string(),
    });
    if let Some(service) = t.root_service.as_deref().filter(|s| !s.is_empty()) {
        out["rootServiceName"] = service.into();
    }
    if let Some(op) = t.root_operation.as_deref().filter(|s| !s.is_empty()) {
        out["rootOperationName"] = op.into();
    }
    if t.span_count > 0 {
        out["spanCount"] = t.span_count.into();
    }
    if t.error_count > 0 {
        out["errorSpanCount"] = t.error_count.into();
    }
    let services: Vec<Value> = t
        .services
        .iter()
        .map(|(name, s)| {
            let mut svc = json!({"name": name});
            if s.spans > 0 {
                svc["spanCount"] = s.spans.into();
            }
            if s.errors > 0 {
                svc["errorSpanCount"] = s.errors.into();
            }
            svc
        })
        .collect();
    out["services"] = json!(services);
    out
}
