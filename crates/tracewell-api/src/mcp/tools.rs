//! The MCP tools: read-only views sized for a model's context — summaries first, lists capped, long traces paged.
//! Each tool answers one text content block holding compact JSON; bad arguments come back as a tool error
//! (`isError: true`) whose message says what to change.

use std::time::Duration;

use serde_json::{json, Map, Value};
use tracewell_model::{format_rfc3339, parse_duration, StatusCode, TenantId, TraceId};
use tracewell_query::shape::TraceShape;
use tracewell_query::{
    parse_status, AttrCondition, KindSelection, RedRequest, SearchRequest, TimeRange,
};

use crate::ApiState;

pub(crate) const INSTRUCTIONS: &str = "Tracewell stores distributed traces. Start with get_insights to see what \
changed recently and which service it started in; then get_trace on an exemplar (compare with the baseline \
exemplar), search_traces to find more, get_breakdown to see where time goes across many traces, and \
get_service_red / get_dependencies for figures and topology. Durations are milliseconds; lookbacks are like 15m, \
1h, 2d.";

fn schema(properties: Value, required: &[&str]) -> Value {
    json!({"type": "object", "properties": properties, "required": required, "additionalProperties": false})
}

fn search_properties() -> Value {
    json!({
        "service": {"type": "string", "description": "service name"},
        "operation": {"type": "string", "description": "span name"},
        "tags": {"type": "array", "items": {"type": "string"}, "description": "attribute conditions: key=value, key!=value, key=~regex, key>number"},
        "status": {"type": "string", "enum": ["error", "ok", "unset"]},
        "minDuration": {"type": "string", "description": "e.g. 250ms"},
        "maxDuration": {"type": "string"},
        "lookback": {"type": "string", "description": "how far back from now, default 1h"},
        "limit": {"type": "integer", "minimum": 1}
    })
}

pub(crate) fn list() -> Value {
    let read_only = json!({"readOnlyHint": true, "openWorldHint": false});
    let tool = |name: &str, title: &str, description: &str, input: Value| json!({"name": name, "title": title, "description": description, "inputSchema": input, "annotations": read_only});
    json!([
        tool("get_insights", "What changed",
            "Findings, most important first: latency, errors, new errors, N+1 queries, queue backlog, dead letters, \
             throughput drops, each naming the service and operation where it originates, onset, baseline vs current \
             figures, affected callers and exemplar trace ids (plus a baseline trace to compare).",
            schema(json!({
                "lookback": {"type": "string", "description": "recent window, default 2m"},
                "service": {"type": "string", "description": "only findings involving this service"},
                "limit": {"type": "integer", "minimum": 1, "maximum": 50}
            }), &[])),
        tool("list_services", "Services and operations",
            "Every service with its operations (span names) and span kinds.",
            schema(json!({"service": {"type": "string"}}), &[])),
        tool("search_traces", "Search traces",
            "Recent traces with a span matching every condition, newest first (at most 50): root, duration, span and \
             error counts, services.",
            schema(search_properties(), &[])),
        tool("get_trace", "One trace",
            "A trace as a flattened tree: a summary, the critical path (where the end-to-end time went), then spans in \
             tree order with depth, parent index, duration, self time, critical-path time and errors, paged by \
             offset/limit.",
            schema(json!({
                "traceId": {"type": "string", "description": "32 hex characters"},
                "offset": {"type": "integer", "minimum": 0},
                "limit": {"type": "integer", "minimum": 1, "maximum": 500}
            }), &["traceId"])),
        tool("get_breakdown", "Where time goes",
            "Across the traces a search matches: self time and critical-path time per service and operation, and \
             attribute values over-represented in slow or failing traces.",
            schema(search_properties(), &[])),
        tool("get_service_red", "RED figures",
            "Rate, error rate and latency quantiles of a service's operations (its SERVER and CONSUMER spans) over a \
             lookback.",
            schema(json!({
                "service": {"type": "string"},
                "operation": {"type": "string"},
                "lookback": {"type": "string", "description": "default 1h"}
            }), &["service"])),
        tool("get_dependencies", "Service graph",
            "Calls between services, databases and message destinations with rate, error rate and p99.",
            schema(json!({"lookback": {"type": "string", "description": "default 1h"}}), &[])),
    ])
}

/// A tool failure the model can act on.
struct ToolError(String);

impl<E: std::fmt::Display> From<E> for ToolError {
    fn from(e: E) -> Self {
        Self(e.to_string())
    }
}

type ToolResult = Result<Value, ToolError>;

fn text_result(summary: String, data: Value) -> Value {
    let text = format!("{summary}\n{data}");
    json!({"content": [{"type": "text", "text": text}], "isError": false})
}

/// Runs a tool; `None` when no tool has that name.
pub(crate) async fn call(
    state: &ApiState,
    tenant: &TenantId,
    name: &str,
    args: &Value,
) -> Option<Value> {
    let args = args.as_object().cloned().unwrap_or_default();
    let result = match name {
        "get_insights" => insights(state, tenant, &args).await,
        "list_services" => services(state, tenant, &args).await,
        "search_traces" => search(state, tenant, &args).await,
        "get_trace" => trace(state, tenant, &args).await,
        "get_breakdown" => breakdown(state, tenant, &args).await,
        "get_service_red" => red(state, tenant, &args).await,
        "get_dependencies" => dependencies(state, tenant, &args).await,
        _ => return None,
    };
    Some(match result {
        Ok(v) => v,
        Err(ToolError(message)) => {
            json!({"content": [{"type": "text", "text": message}], "isError": true})
        }
    })
}

fn str_arg<'a>(args: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, ToolError> {
    match args.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(ToolError(format!("{key} must be a string, got {other}"))),
    }
}

fn int_arg(args: &Map<String, Value>, key: &str, default: u64, max: u64) -> Result<u64, ToolError> {
    match args.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => match v.as_u64() {
            Some(n) if n <= max => Ok(n),
            _ => Err(ToolError(format!(
                "{key} must be an integer from 0 to {max}, got {v}"
            ))),
        },
    }
}

fn duration_arg(
    args: &Map<String, Value>,
    key: &str,
    default: Duration,
) -> Result<Duration, ToolError> {
    match str_arg(args, key)? {
        None => Ok(default),
        Some(text) => parse_duration(text).map_err(|e| ToolError(format!("{key}: {e}"))),
    }
}

fn ms(nanos: f64) -> f64 {
    (nanos / 1e4).round() / 100.0
}

fn search_request(
    args: &Map<String, Value>,
    default_limit: u64,
    max_limit: u64,
) -> Result<SearchRequest, ToolError> {
    let mut req =
        SearchRequest::recent(int_arg(args, "limit", default_limit, max_limit)?.max(1) as usize);
    req.spans_per_trace = 1;
    req.service = str_arg(args, "service")?.map(str::to_owned);
    req.operation = str_arg(args, "operation")?.map(str::to_owned);
    if let Some(status) = str_arg(args, "status")? {
        req.status = Some(parse_status(status).map_err(ToolError)?);
    }
    match args.get("tags") {
        None | Some(Value::Null) => {}
        Some(Value::Array(tags)) => {
            for t in tags {
                let t = t
                    .as_str()
                    .ok_or_else(|| ToolError("tags must be strings".into()))?;
                req.attributes.push(
                    AttrCondition::parse(t).map_err(|e| ToolError(format!("tag {t:?}: {e}")))?,
                );
            }
        }
        Some(other) => {
            return Err(ToolError(format!(
                "tags must be an array of strings, got {other}"
            )))
        }
    }
    for (key, slot) in [
        ("minDuration", &mut req.min_duration_nano),
        ("maxDuration", &mut req.max_duration_nano),
    ] {
        if str_arg(args, key)?.is_some() {
            *slot = Some(duration_arg(args, key, Duration::ZERO)?.as_nanos() as u64);
        }
    }
    let range = TimeRange::last(duration_arg(args, "lookback", Duration::from_secs(3600))?);
    req.start_unix_nano = Some(range.start_unix_nano);
    req.end_unix_nano = Some(range.end_unix_nano);
    Ok(req)
}

async fn insights(state: &ApiState, tenant: &TenantId, args: &Map<String, Value>) -> ToolResult {
    let mut req = state.query.insights_request();
    req.window = duration_arg(args, "lookback", req.window)?;
    req.service = str_arg(args, "service")?.map(str::to_owned);
    req.limit = int_arg(args, "limit", 10, 50)?.max(1) as usize;
    let result = state.query.insights(tenant, &req).await?;
    let findings: Vec<Value> = result
        .findings
        .iter()
        .map(|f| {
            json!({
                "kind": f.kind, "service": f.service, "operation": f.operation, "score": f.score,
                "since": format_rfc3339(f.since), "summary": f.summary,
                "baseline": f.baseline, "current": f.current,
                "affected": f.affected.iter().map(|a| format!("{} {}", a.service, a.operation)).collect::<Vec<_>>(),
                "exemplarTraces": f.exemplars.traces.iter().take(3).map(|t| t.to_hex()).collect::<Vec<_>>(),
                "baselineTrace": f.exemplars.baseline.map(|t| t.to_hex()),
                "details": f.details,
            })
        })
        .collect();
    let summary = match result.findings.first() {
        None => format!(
            "Nothing unusual: {} operations analysed over the last {}s.",
            result.analyzed.operations,
            req.window.as_secs()
        ),
        Some(top) => format!(
            "{} finding(s). Most important: {}",
            findings.len(),
            top.summary
        ),
    };
    Ok(text_result(summary, json!({"findings": findings})))
}

async fn services(state: &ApiState, tenant: &TenantId, args: &Map<String, Value>) -> ToolResult {
    let ops = state
        .query
        .operations(tenant, str_arg(args, "service")?, None)
        .await?;
    let mut by_service: std::collections::BTreeMap<&str, Vec<Value>> = Default::default();
    for o in &ops {
        let list = by_service.entry(o.service.as_str()).or_default();
        if list.len() < 100 {
            list.push(json!(format!(
                "{} ({})",
                o.name,
                o.kind.map(|k| k.as_str()).unwrap_or("?")
            )));
        }
    }
    let services: Vec<Value> = by_service
        .iter()
        .map(|(s, ops)| json!({"service": s, "operations": ops}))
        .collect();
    Ok(text_result(
        format!("{} service(s), {} operation(s).", services.len(), ops.len()),
        json!({"services": services}),
    ))
}

async fn search(state: &ApiState, tenant: &TenantId, args: &Map<String, Value>) -> ToolResult {
    let req = search_request(args, 10, 50)?;
    let found = state.query.search(tenant, &req).await?;
    let traces: Vec<Value> = found
        .traces
        .iter()
        .map(|t| {
            json!({
                "traceId": t.trace_id.to_hex(),
                "root": format!("{} {}", t.root_service.as_deref().unwrap_or("?"), t.root_operation.as_deref().unwrap_or("?")),
                "start": format_rfc3339(t.start_unix_nano),
                "durationMs": ms(t.duration_nano as f64),
                "spans": t.span_count, "errors": t.error_count,
                "services": t.services.keys().collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(text_result(
        format!(
            "{} trace(s){}.",
            traces.len(),
            if found.limit_hit {
                ", more matched"
            } else {
                ""
            }
        ),
        json!({"traces": traces}),
    ))
}

async fn trace(state: &ApiState, tenant: &TenantId, args: &Map<String, Value>) -> ToolResult {
    let id = str_arg(args, "traceId")?.ok_or_else(|| ToolError("traceId is required".into()))?;
    let id = TraceId::parse_lenient(id).map_err(|e| ToolError(format!("traceId: {e}")))?;
    let offset = int_arg(args, "offset", 0, u64::MAX)? as usize;
    let limit = int_arg(args, "limit", 100, 500)?.max(1) as usize;
    let spans = state.query.trace(tenant, id).await?.spans;
    if spans.is_empty() {
        return Err(ToolError(format!("trace {} not found", id.to_hex())));
    }
    let shape = TraceShape::new(&spans);
    let critical = shape.critical_times();
    // Depth-first order with each span's depth and parent index (in that order).
    let mut order: Vec<(usize, usize, Option<usize>)> = Vec::with_capacity(spans.len());
    let mut stack: Vec<(usize, usize, Option<usize>)> =
        shape.roots.iter().rev().map(|&r| (r, 0, None)).collect();
    while let Some((i, depth, parent)) = stack.pop() {
        let at = order.len();
        order.push((i, depth, parent));
        for &c in shape.children(i).iter().rev() {
            stack.push((c, depth + 1, Some(at)));
        }
    }
    let (start, end) = shape.bounds();
    let errors = spans
        .iter()
        .filter(|s| s.status.code == StatusCode::Error)
        .count();
    let mut services: Vec<&str> = spans.iter().map(|s| s.service_name()).collect();
    services.sort();
    services.dedup();
    let mut on_path: Vec<(usize, u64)> = critical.iter().map(|(&i, &t)| (i, t)).collect();
    on_path.sort_by_key(|(_, t)| std::cmp::Reverse(*t));
    let path: Vec<Value> = on_path
        .iter()
        .take(10)
        .map(|(i, t)| {
            json!(format!(
                "{} {}: {} ms",
                spans[*i].service_name(),
                spans[*i].name,
                ms(*t as f64)
            ))
        })
        .collect();
    let page: Vec<Value> = order
        .iter()
        .skip(offset)
        .take(limit)
        .map(|&(i, depth, parent)| {
            let s = &spans[i];
            let mut v = json!({
                "depth": depth, "parent": parent,
                "service": s.service_name(), "name": s.name, "kind": s.kind.as_str(),
                "startMs": ms(s.start_unix_nano.saturating_sub(start) as f64),
                "durationMs": ms(s.duration_nano() as f64),
                "selfMs": ms(shape.self_time(i) as f64),
            });
            if let Some(t) = critical.get(&i).filter(|t| **t > 0) {
                v["criticalMs"] = json!(ms(*t as f64));
            }
            if s.status.code == StatusCode::Error {
                v["error"] = json!(if s.status.message.is_empty() {
                    "error"
                } else {
                    s.status.message.as_str()
                });
            }
            v
        })
        .collect();
    let root = shape
        .first_root()
        .map(|r| format!("{} {}", spans[r].service_name(), spans[r].name));
    let next = (offset + limit < order.len()).then_some(offset + limit);
    Ok(text_result(
        format!(
            "Trace {}: {} spans, {} services, {} ms, {} error span(s), root {}. Spans {}–{} of {} below{}.",
            id.to_hex(),
            spans.len(),
            services.len(),
            ms(end.saturating_sub(start) as f64),
            errors,
            root.as_deref().unwrap_or("missing"),
            offset.min(order.len()),
            (offset + limit).min(order.len()),
            order.len(),
            next.map(|n| format!("; call again with offset {n} for more")).unwrap_or_default(),
        ),
        json!({"services": services, "criticalPath": path, "spans": page, "nextOffset": next}),
    ))
}

async fn breakdown(state: &ApiState, tenant: &TenantId, args: &Map<String, Value>) -> ToolResult {
    let req = search_request(args, 200, 1000)?;
    let b = state.query.breakdown(tenant, &req).await?;
    let top = b.operations.first().map(|o| {
        format!(
            " Most self time: {} {} ({:.0}%).",
            o.service,
            o.operation,
            o.self_time_share * 100.0
        )
    });
    Ok(text_result(
        format!(
            "{} trace(s) read, {} slow (≥ {} ms), {} with errors.{}",
            b.traces,
            b.slow_traces,
            b.slow_threshold_ms,
            b.error_traces,
            top.unwrap_or_default()
        ),
        json!({
            "operations": b.operations.iter().take(15).collect::<Vec<_>>(),
            "attributes": b.attributes.iter().take(10).collect::<Vec<_>>(),
        }),
    ))
}

async fn red(state: &ApiState, tenant: &TenantId, args: &Map<String, Value>) -> ToolResult {
    let service =
        str_arg(args, "service")?.ok_or_else(|| ToolError("service is required".into()))?;
    let range = TimeRange::last(duration_arg(args, "lookback", Duration::from_secs(3600))?);
    let req = RedRequest {
        range,
        step_nano: 60_000_000_000
            * (range.end_unix_nano - range.start_unix_nano)
                .div_ceil(60_000_000_000 * 60)
                .max(1),
        service: Some(service.to_owned()),
        operation: str_arg(args, "operation")?.map(str::to_owned),
        kinds: KindSelection::Entry,
        group_by_operation: true,
        quantiles: vec![0.5, 0.9, 0.99],
    };
    let result = state.query.red(tenant, &req).await?;
    let ops: Vec<Value> = result
        .series
        .iter()
        .take(50)
        .map(|s| {
            let t = &s.total;
            let q = |i: usize| t.quantiles.get(i).copied().flatten().map(ms);
            json!({
                "operation": s.operation, "requests": t.count,
                "ratePerSecond": (t.rate_per_second * 1000.0).round() / 1000.0,
                "errorRate": (t.error_rate * 10000.0).round() / 10000.0,
                "p50Ms": q(0), "p90Ms": q(1), "p99Ms": q(2),
            })
        })
        .collect();
    if ops.is_empty() {
        return Err(ToolError(format!(
            "no requests of {service:?} in that time; list_services shows the names"
        )));
    }
    Ok(text_result(
        format!("{service}: {} operation(s) with requests.", ops.len()),
        json!({"operations": ops}),
    ))
}

async fn dependencies(
    state: &ApiState,
    tenant: &TenantId,
    args: &Map<String, Value>,
) -> ToolResult {
    let range = TimeRange::last(duration_arg(args, "lookback", Duration::from_secs(3600))?);
    let deps = state.query.dependencies(tenant, &range).await?;
    let edges: Vec<Value> = deps
        .iter()
        .take(200)
        .map(|d| {
            json!({
                "from": d.parent, "to": d.child, "toKind": d.child_kind.as_str(), "calls": d.calls,
                "errorRate": (d.error_rate * 10000.0).round() / 10000.0,
                "p99Ms": d.p99_nano.map(ms),
            })
        })
        .collect();
    Ok(text_result(
        format!("{} edge(s).", edges.len()),
        json!({"edges": edges}),
    ))
}
