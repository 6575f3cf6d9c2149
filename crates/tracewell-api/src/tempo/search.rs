//! `GET /api/search` as Tempo serves it: `tags` (logfmt; `service.name` and `name` select the service and span
//! name, other keys match span or resource attributes exactly), `minDuration`/`maxDuration` on the whole trace,
//! `start`/`end` in unix seconds, `limit`, `spss`; or a TraceQL query (`q`), evaluated by the query service with
//! every span set of each trace in `spanSets` (`by()` groups and aggregate values as span-set attributes,
//! `select()` values as span attributes). The response is `tempopb.SearchResponse` JSON with only the fields
//! Grafana's decoder knows.

use std::collections::BTreeMap;

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};
use tracewell_model::TenantId;
use tracewell_query::traceql_lang::value::Value as TraceqlValue;
use tracewell_query::{
    AttrCondition, DurationScope, MatchOp, MatchedSpan, SearchMetrics, SearchRequest, SearchResult,
    SpansetResult, TraceSummary, TraceqlRequest, TraceqlResult, TraceqlTrace,
};

use super::error::TempoError;
use super::{logfmt, seconds_bounds};
use crate::native::Params;
use crate::params::{bad, duration_nanos, number, tenant};
use crate::{ApiError, ApiState};

/// Says why a TraceQL answer may be incomplete.
pub(crate) const WARNING_HEADER: &str = "x-tracewell-warning";

/// Spans returned per span set when `spss` is absent.
const DEFAULT_SPSS: usize = 3;

/// A condition matching `value` exactly (bars and backslashes are escaped, not alternatives).
pub(crate) fn exact_condition(
    param: &str,
    key: &str,
    value: &str,
) -> Result<AttrCondition, ApiError> {
    let escaped = value.replace('\\', "\\\\").replace('|', "\\|");
    AttrCondition::new(key, MatchOp::Eq, &escaped).map_err(|e| bad(param, e))
}

/// A search's answer, before it is shaped for JSON or protobuf.
pub(crate) enum SearchAnswer {
    Traceql(TraceqlResult),
    Tags(SearchResult),
}

/// Answers a search given as Tempo's parameters: TraceQL in `q`, or `tags` and durations.
pub(crate) async fn answer(
    state: &ApiState,
    tenant: &TenantId,
    params: &Params,
) -> Result<SearchAnswer, ApiError> {
    let default_limit = state.query.config().default_limit;
    if let Some(req) = traceql_request(params, default_limit)? {
        return Ok(SearchAnswer::Traceql(
            state.query.traceql_search(tenant, &req).await?,
        ));
    }
    let req = request(params, default_limit)?;
    Ok(SearchAnswer::Tags(state.query.search(tenant, &req).await?))
}

pub(crate) async fn search(
    State(state): State<ApiState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, TempoError> {
    let tenant = tenant(&headers, &state.allowed_tenants)?;
    let params = Params::parse(query)?;
    match answer(&state, &tenant, &params).await? {
        SearchAnswer::Traceql(result) => {
            let mut metrics = metrics_json(&result.metrics);
            if result.inspected_traces > 0 {
                metrics["inspectedTraces"] = result.inspected_traces.into();
            }
            let body = json!({
                "traces": result.traces.iter().map(traceql_trace_json).collect::<Vec<_>>(),
                "metrics": metrics,
            });
            let mut response = Json(body).into_response();
            // Grafana's decoder knows no warning field: an incomplete answer says so in a header.
            if let Some(value) = result
                .cut
                .and_then(|cut| axum::http::HeaderValue::from_str(&cut).ok())
            {
                response.headers_mut().insert(WARNING_HEADER, value);
            }
            Ok(response)
        }
        SearchAnswer::Tags(result) => Ok(Json(json!({
            "traces": result.traces.iter().map(trace_json).collect::<Vec<_>>(),
            "metrics": metrics_json(&result.metrics),
        }))
        .into_response()),
    }
}

fn request(params: &Params, default_limit: usize) -> Result<SearchRequest, ApiError> {
    let q = params.get("q").map(str::trim).filter(|q| !q.is_empty());
    let tags = params.get("tags").filter(|t| !t.trim().is_empty());
    if q.is_some() && tags.is_some() {
        return Err(bad("q", "give either q or tags, not both"));
    }
    let mut req = SearchRequest::recent(limit(params, default_limit)?);
    req.spans_per_trace = spss(params)?;
    req.duration_scope = DurationScope::Trace;
    req.min_duration_nano = millis(duration_nanos("minDuration", params.get("minDuration"))?);
    req.max_duration_nano = millis(duration_nanos("maxDuration", params.get("maxDuration"))?);
    if let (Some(min), Some(max)) = (req.min_duration_nano, req.max_duration_nano) {
        if max < min {
            return Err(bad("maxDuration", "must not be less than minDuration"));
        }
    }
    (req.start_unix_nano, req.end_unix_nano) = seconds_bounds(params)?;

    let pairs = match tags {
        Some(text) => {
            let pairs = logfmt::parse(text).map_err(|e| bad("tags", e))?;
            let mut seen = std::collections::HashSet::new();
            if let Some((key, _)) = pairs.iter().find(|(k, _)| !seen.insert(k.as_str())) {
                return Err(bad("tags", format!("duplicate key {key:?}")));
            }
            pairs
        }
        None => Vec::new(),
    };
    for (key, value) in pairs {
        match key.as_str() {
            "service.name" | "resource.service.name" => req.service = Some(value),
            "name" => req.operation = Some(value),
            _ => req.attributes.push(exact_condition("tags", &key, &value)?),
        }
    }
    Ok(req)
}

fn limit(params: &Params, default_limit: usize) -> Result<usize, ApiError> {
    Ok(match number("limit", params.get("limit"))? {
        None => default_limit,
        Some(0) => return Err(bad("limit", "must be at least 1")),
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
    })
}

fn spss(params: &Params) -> Result<usize, ApiError> {
    Ok(match number("spss", params.get("spss"))? {
        None | Some(0) => DEFAULT_SPSS,
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
    })
}

/// A TraceQL search when `q` holds a query other than the match-all `{}` (which the plain search answers).
fn traceql_request(
    params: &Params,
    default_limit: usize,
) -> Result<Option<TraceqlRequest>, ApiError> {
    let Some(q) = params.get("q").map(str::trim).filter(|q| !q.is_empty()) else {
        return Ok(None);
    };
    if q.chars().filter(|c| !c.is_whitespace()).collect::<String>() == "{}" {
        return Ok(None);
    }
    if params.get("tags").is_some_and(|t| !t.trim().is_empty()) {
        return Err(bad("q", "give either q or tags, not both"));
    }
    let (start_unix_nano, end_unix_nano) = seconds_bounds(params)?;
    Ok(Some(TraceqlRequest {
        query: q.to_owned(),
        start_unix_nano,
        end_unix_nano,
        limit: limit(params, default_limit)?,
        spans_per_set: spss(params)?,
    }))
}

fn traceql_trace_json(t: &TraceqlTrace) -> Value {
    let mut obj = trace_json(&t.summary);
    let sets: Vec<Value> = t.span_sets.iter().map(traceql_set_json).collect();
    if let Some(first) = sets.first() {
        obj["spanSet"] = first.clone();
    }
    obj["spanSets"] = Value::Array(sets);
    obj
}

fn traceql_set_json(set: &SpansetResult) -> Value {
    let spans: Vec<Value> = set
        .spans
        .iter()
        .map(|s| {
            span_json(
                &s.span,
                s.attributes.iter().map(|(k, v)| attribute_json(k, v)),
            )
        })
        .collect();
    let mut out = json!({ "spans": spans, "matched": set.matched });
    if !set.attributes.is_empty() {
        out["attributes"] = set
            .attributes
            .iter()
            .map(|(k, v)| attribute_json(k, v))
            .collect();
    }
    out
}

/// A TraceQL value as an OTLP JSON key/value (Tempo's span-set attributes).
pub(crate) fn attribute_json(key: &str, value: &TraceqlValue) -> Value {
    let value = match value {
        TraceqlValue::Nil => json!({}),
        TraceqlValue::Bool(b) => json!({ "boolValue": b }),
        TraceqlValue::Int(i) => json!({ "intValue": i.to_string() }),
        TraceqlValue::Float(f) => json!({ "doubleValue": f }),
        TraceqlValue::Str(s) => json!({ "stringValue": s }),
        other => json!({ "stringValue": other.to_string() }),
    };
    json!({ "key": key, "value": value })
}

/// Tempo truncates duration bounds to whole milliseconds.
fn millis(nanos: Option<u64>) -> Option<u64> {
    nanos.map(|n| n - n % 1_000_000)
}

fn trace_json(t: &TraceSummary) -> Value {
    let hex = t.trace_id.to_hex();
    let trimmed = hex.trim_start_matches('0');
    let mut obj = Map::new();
    obj.insert(
        "traceID".into(),
        if trimmed.is_empty() { "0" } else { trimmed }.into(),
    );
    obj.insert(
        "rootServiceName".into(),
        t.root_service
            .as_deref()
            .unwrap_or("<root span not yet received>")
            .into(),
    );
    if let Some(op) = t.root_operation.as_deref().filter(|o| !o.is_empty()) {
        obj.insert("rootTraceName".into(), op.into());
    }
    obj.insert(
        "startTimeUnixNano".into(),
        t.start_unix_nano.to_string().into(),
    );
    let duration_ms = u32::try_from(t.duration_nano / 1_000_000).unwrap_or(u32::MAX);
    if duration_ms > 0 {
        obj.insert("durationMs".into(), duration_ms.into());
    }
    let span_set = span_set_json(t);
    obj.insert("spanSet".into(), span_set.clone());
    obj.insert("spanSets".into(), json!([span_set]));
    let stats: Map<String, Value> = t
        .services
        .iter()
        .map(|(name, s)| {
            let mut stat = json!({ "spanCount": s.spans });
            if s.errors > 0 {
                stat["errorCount"] = s.errors.into();
            }
            (name.clone(), stat)
        })
        .collect();
    obj.insert("serviceStats".into(), Value::Object(stats));
    Value::Object(obj)
}

/// A span of a span set: id, name, times, its service and `extra` attributes.
fn span_json(m: &MatchedSpan, extra: impl Iterator<Item = Value>) -> Value {
    let mut attributes = vec![json!({"key": "service.name", "value": {"stringValue": m.service}})];
    attributes.extend(extra);
    let mut span = json!({
        "spanID": m.span_id.to_hex(),
        "startTimeUnixNano": m.start_unix_nano.to_string(),
        "durationNanos": m.duration_nano.to_string(),
        "attributes": attributes,
    });
    if !m.name.is_empty() {
        span["name"] = m.name.clone().into();
    }
    span
}

fn span_set_json(t: &TraceSummary) -> Value {
    let spans: Vec<Value> = t
        .matched
        .iter()
        .map(|m| {
            let error = (m.status == tracewell_model::StatusCode::Error)
                .then(|| json!({"key": "status", "value": {"stringValue": "error"}}));
            span_json(m, error.into_iter())
        })
        .collect();
    let mut set = json!({ "spans": spans });
    if t.matched_count > 0 {
        set["matched"] = t.matched_count.into();
    }
    set
}

/// Only fields of `tempopb.SearchMetrics` that every Grafana version decodes; zero values are left out.
fn metrics_json(m: &SearchMetrics) -> Value {
    let mut obj: BTreeMap<&str, Value> = BTreeMap::new();
    if m.inspected_spans > 0 {
        obj.insert("inspectedSpans", m.inspected_spans.to_string().into());
    }
    if m.total_blocks > 0 {
        obj.insert("totalBlocks", m.total_blocks.into());
    }
    json!(obj)
}
