//! The native JSON API under `/api/v1/`: search, services, operations, attribute names and values, RED metrics,
//! the dependency graph, and the OpenAPI description of all of it (`/api/v1/openapi.json`).
//!
//! Times are RFC 3339 or unix nanoseconds; `lookback` (a duration, default 1h) applies when `start` is absent.
//! Nanosecond timestamps in responses are strings (JSON numbers lose precision past 2^53).

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use tracewell_query::{
    parse_kind, parse_status, status_name, AttrCondition, DurationScope, RedRequest, SearchRequest,
    TimeRange, TraceSummary,
};

use crate::extract::Tenant;
use crate::params::{bad, duration_nanos, format_rfc3339, number, parse_rfc3339};
use crate::{ApiError, ApiState};

const OPENAPI: &str = include_str!("../openapi.json");

pub(crate) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/api/v1/search", get(search))
        .route("/api/v1/services", get(services))
        .route("/api/v1/operations", get(operations))
        .route("/api/v1/tags", get(tag_names))
        .route("/api/v1/tags/{key}/values", get(tag_values))
        .route("/api/v1/metrics", get(red))
        .route("/api/v1/dependencies", get(dependencies))
        .route("/api/v1/sql", axum::routing::post(sql))
        .route("/api/v1/openapi.json", get(openapi))
}

/// Query parameters, keeping repeated keys (`tag=a=1&tag=b=2`).
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    pub fn parse(raw: Option<String>) -> Result<Self, ApiError> {
        let raw = raw.unwrap_or_default();
        let pairs = form_urlencoded_pairs(&raw)
            .map_err(|e| ApiError::BadRequest(format!("malformed query string: {e}")))?;
        Ok(Self(pairs))
    }

    /// Parameters given as pairs (e.g. from a JSON body).
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        Self(pairs)
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The first of several accepted spellings (camelCase and snake_case, say).
    pub fn any(&self, keys: &[&str]) -> Option<&str> {
        keys.iter().find_map(|k| self.get(k))
    }

    /// The value of `key` unless absent or empty.
    pub fn non_empty(&self, key: &str) -> Option<&str> {
        self.get(key).filter(|s| !s.is_empty())
    }

    /// `key` parsed by `parse` unless absent or empty; a parse error is a 400 naming `key`.
    pub fn parsed<T, E: std::fmt::Display>(
        &self,
        key: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<Option<T>, ApiError> {
        self.non_empty(key)
            .map(parse)
            .transpose()
            .map_err(|e| bad(key, e))
    }

    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> {
        self.0
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Splits `a=1&b=2` with percent-decoding and `+` as space.
fn form_urlencoded_pairs(raw: &str) -> Result<Vec<(String, String)>, String> {
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((percent_decode(k)?, percent_decode(v)?))
        })
        .collect()
}

fn percent_decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = s.get(i + 1..i + 3).ok_or("truncated percent escape")?;
                out.push(
                    u8::from_str_radix(hex, 16)
                        .map_err(|_| format!("bad percent escape %{hex}"))?,
                );
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| "percent escapes are not UTF-8".to_owned())
}

/// A native time parameter: RFC 3339 or unix nanoseconds.
pub(crate) fn time_param(params: &Params, key: &str) -> Result<Option<u64>, ApiError> {
    match params.get(key).map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(text) if text.bytes().all(|b| b.is_ascii_digit()) => number(key, Some(text)),
        Some(text) => parse_rfc3339(text).map(Some).ok_or_else(|| {
            bad(
                key,
                format!("{text:?} is neither RFC 3339 nor unix nanoseconds"),
            )
        }),
    }
}

/// `start`/`end`/`lookback` into a range; `end` defaults to now, `start` to `end - lookback` (default `lookback`).
pub(crate) fn range_of(params: &Params, default_lookback: Duration) -> Result<TimeRange, ApiError> {
    let end = time_param(params, "end")?.unwrap_or_else(now_nanos);
    let lookback = duration_nanos("lookback", params.get("lookback"))?
        .unwrap_or(default_lookback.as_nanos() as u64);
    let start = time_param(params, "start")?.unwrap_or(end.saturating_sub(lookback));
    if start > end {
        return Err(bad("start", "start is after end"));
    }
    Ok(TimeRange {
        start_unix_nano: start,
        end_unix_nano: end,
    })
}

pub(crate) fn now_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

fn limit_param(params: &Params, key: &str, default: usize) -> Result<usize, ApiError> {
    Ok(number(key, params.get(key))?.map_or(default, |v| v as usize))
}

async fn search(
    State(state): State<ApiState>,
    Tenant(tenant): Tenant,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(q)?;
    let req = search_request(&params, state.query.config().default_limit)?;
    let result = state.query.search(&tenant, &req).await?;
    Ok(Json(json!({
        "traces": result.traces.iter().map(summary_json).collect::<Vec<_>>(),
        "limitHit": result.limit_hit,
        "metrics": {
            "inspectedSpans": result.metrics.inspected_spans,
            "inspectedBlocks": result.metrics.inspected_blocks,
            "skippedBlocks": result.metrics.skipped_blocks,
            "totalBlocks": result.metrics.total_blocks,
        },
        "warnings": result.warnings,
    }))
    .into_response())
}

/// The search conditions of `/api/v1/search` (also used by the breakdown).
pub(crate) fn search_request(
    params: &Params,
    default_limit: usize,
) -> Result<SearchRequest, ApiError> {
    let mut req = SearchRequest::recent(limit_param(params, "limit", default_limit)?);
    req.spans_per_trace = limit_param(params, "spansPerTrace", 3)?;
    req.service = params.non_empty("service").map(str::to_owned);
    req.operation = params.non_empty("operation").map(str::to_owned);
    req.kind = params.parsed("kind", parse_kind)?;
    req.status = params.parsed("status", parse_status)?;
    for condition in params.all("tag") {
        req.attributes
            .push(AttrCondition::parse(condition).map_err(|e| bad("tag", e))?);
    }
    req.min_duration_nano = duration_nanos("minDuration", params.get("minDuration"))?;
    req.max_duration_nano = duration_nanos("maxDuration", params.get("maxDuration"))?;
    req.duration_scope = match params.get("durationScope").unwrap_or("span") {
        "span" => DurationScope::Span,
        "trace" => DurationScope::Trace,
        other => {
            return Err(bad(
                "durationScope",
                format!("{other:?} is not span or trace"),
            ))
        }
    };
    req.order = match params.get("order").unwrap_or("recent") {
        "recent" | "" => tracewell_query::SearchOrder::Recent,
        "duration" => tracewell_query::SearchOrder::Duration,
        other => return Err(bad("order", format!("{other:?} is not recent or duration"))),
    };
    if params.get("start").is_some()
        || params.get("end").is_some()
        || params.get("lookback").is_some()
    {
        let range = range_of(params, Duration::from_secs(3600))?;
        req.start_unix_nano = Some(range.start_unix_nano);
        req.end_unix_nano = Some(range.end_unix_nano);
    }
    Ok(req)
}

pub(crate) fn summary_json(t: &TraceSummary) -> Value {
    json!({
        "traceId": t.trace_id.to_hex(),
        "rootService": t.root_service,
        "rootOperation": t.root_operation,
        "startTimeUnixNano": t.start_unix_nano.to_string(),
        "durationNano": t.duration_nano,
        "spanCount": t.span_count,
        "errorCount": t.error_count,
        "services": t.services.iter().map(|(name, s)| json!({"name": name, "spans": s.spans, "errors": s.errors})).collect::<Vec<_>>(),
        "matchedCount": t.matched_count,
        "matchedSpans": t.matched.iter().map(|m| json!({
            "spanId": m.span_id.to_hex(),
            "service": m.service,
            "name": m.name,
            "startTimeUnixNano": m.start_unix_nano.to_string(),
            "durationNano": m.duration_nano,
            "status": status_name(m.status),
        })).collect::<Vec<_>>(),
    })
}

async fn services(
    State(state): State<ApiState>,
    Tenant(tenant): Tenant,
) -> Result<Response, ApiError> {
    let services = state.query.services(&tenant).await?;
    Ok(Json(json!({ "services": services })).into_response())
}

async fn operations(
    State(state): State<ApiState>,
    Tenant(tenant): Tenant,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(q)?;
    let kind = params.parsed("kind", parse_kind)?;
    let service = params.non_empty("service");
    let ops = state.query.operations(&tenant, service, kind).await?;
    let ops: Vec<Value> = ops
        .iter()
        .map(|o| json!({"service": o.service, "name": o.name, "kind": o.kind.map(|k| k.as_str())}))
        .collect();
    Ok(Json(json!({ "operations": ops })).into_response())
}

const DEFAULT_TAG_LOOKBACK: Duration = Duration::from_secs(24 * 3600);

async fn tag_names(
    State(state): State<ApiState>,
    Tenant(tenant): Tenant,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(q)?;
    let range = range_of(&params, DEFAULT_TAG_LOOKBACK)?;
    let names = state.query.tag_names(&tenant, &range).await?;
    Ok(
        Json(json!({"span": names.span, "resource": names.resource, "truncated": names.truncated}))
            .into_response(),
    )
}

async fn tag_values(
    State(state): State<ApiState>,
    Tenant(tenant): Tenant,
    Path(key): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(q)?;
    let range = range_of(&params, DEFAULT_TAG_LOOKBACK)?;
    let limit = limit_param(&params, "limit", 1000)?;
    if limit == 0 || limit > 10_000 {
        return Err(bad("limit", "must be between 1 and 10000"));
    }
    let values = state.query.tag_values(&tenant, &key, &range, limit).await?;
    let list: Vec<Value> = values
        .values
        .iter()
        .map(|v| json!({"type": v.kind.as_str(), "value": v.value}))
        .collect();
    Ok(Json(json!({"values": list, "truncated": values.truncated})).into_response())
}

async fn red(
    State(state): State<ApiState>,
    Tenant(tenant): Tenant,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(q)?;
    let range = range_of(&params, Duration::from_secs(3600))?;
    let step = duration_nanos("step", params.get("step"))?.unwrap_or(60_000_000_000);
    let quantiles = match params.get("quantiles") {
        None | Some("") => vec![0.5, 0.9, 0.99],
        Some(list) => list
            .split(',')
            .map(|q| {
                q.trim()
                    .parse::<f64>()
                    .map_err(|_| bad("quantiles", format!("{q:?} is not a number")))
            })
            .collect::<Result<_, _>>()?,
    };
    let req = RedRequest {
        range,
        step_nano: step,
        service: params.non_empty("service").map(str::to_owned),
        operation: params.non_empty("operation").map(str::to_owned),
        kinds: params
            .parsed("kind", tracewell_query::KindSelection::parse)?
            .unwrap_or_default(),
        group_by_operation: matches!(params.get("groupByOperation"), Some("true" | "1")),
        quantiles: quantiles.clone(),
    };
    let result = state.query.red(&tenant, &req).await?;
    let point = |p: &tracewell_query::RedPoint| {
        let qs: HashMap<String, Option<f64>> = quantiles
            .iter()
            .zip(&p.quantiles)
            .map(|(q, v)| (q.to_string(), *v))
            .collect();
        json!({
            "timeUnixNano": p.time_unix_nano.to_string(),
            "time": format_rfc3339(p.time_unix_nano),
            "count": p.count,
            "errors": p.errors,
            "rate": p.rate_per_second,
            "coveredSeconds": p.covered_seconds,
            "errorRate": p.error_rate,
            "meanNano": p.mean_nano,
            "quantilesNano": qs,
        })
    };
    let series: Vec<Value> = result
        .series
        .iter()
        .map(|s| {
            json!({
                "service": s.service,
                "operation": s.operation,
                "total": point(&s.total),
                "points": s.points.iter().map(point).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(Json(json!({
        "start": format_rfc3339(range.start_unix_nano),
        "end": format_rfc3339(range.end_unix_nano),
        "stepSeconds": result.step_nano / 1_000_000_000,
        "series": series,
    }))
    .into_response())
}

async fn dependencies(
    State(state): State<ApiState>,
    Tenant(tenant): Tenant,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(q)?;
    let range = range_of(&params, Duration::from_secs(3600))?;
    let deps = state.query.dependencies(&tenant, &range).await?;
    let mut nodes: std::collections::BTreeMap<&str, &str> = Default::default();
    for d in &deps {
        nodes.insert(&d.parent, d.parent_kind.as_str());
        nodes.insert(&d.child, d.child_kind.as_str());
    }
    let edges: Vec<Value> = deps
        .iter()
        .map(|d| {
            json!({
                "parent": d.parent, "parentKind": d.parent_kind.as_str(),
                "child": d.child, "childKind": d.child_kind.as_str(),
                "calls": d.calls, "errors": d.errors,
                "rate": d.rate_per_second, "errorRate": d.error_rate,
                "p50Nano": d.p50_nano, "p90Nano": d.p90_nano, "p99Nano": d.p99_nano,
            })
        })
        .collect();
    let nodes: Vec<Value> = nodes
        .into_iter()
        .map(|(name, kind)| json!({"name": name, "kind": kind}))
        .collect();
    Ok(Json(json!({
        "start": format_rfc3339(range.start_unix_nano),
        "end": format_rfc3339(range.end_unix_nano),
        "nodes": nodes,
        "edges": edges,
    }))
    .into_response())
}

/// `POST /api/v1/sql` with `{"query": "SELECT ..."}` (or the SQL itself as `text/plain`).
async fn sql(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Tenant(tenant): Tenant,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let is_text = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    let query = if is_text {
        String::from_utf8(body.to_vec()).map_err(|_| bad("body", "SQL text is not UTF-8"))?
    } else {
        #[derive(serde::Deserialize)]
        struct SqlRequest {
            query: String,
        }
        serde_json::from_slice::<SqlRequest>(&body)
            .map_err(|e| {
                bad(
                    "body",
                    format!("expected JSON {{\"query\": \"SELECT ...\"}}: {e}"),
                )
            })?
            .query
    };
    let result = state.query.sql(&tenant, &query).await?;
    Ok(Json(json!({
        "columns": result.columns.iter().map(|c| json!({"name": c.name, "type": c.data_type})).collect::<Vec<_>>(),
        "rows": result.rows,
        "rowCount": result.rows.len(),
        "truncated": result.truncated,
        "blocksScanned": result.blocks_scanned,
        "blocksTotal": result.blocks_total,
    }))
    .into_response())
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}
