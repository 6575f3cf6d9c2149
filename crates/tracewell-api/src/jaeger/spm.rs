//! Jaeger's service performance monitoring endpoints, `/api/metrics/latencies|calls|errors`, answered from
//! Tracewell's RED rollups as a Jaeger `MetricFamily` of gauges (not wrapped in the envelope).
//!
//! Parameters as Jaeger takes them: `service` (repeated, at least one), `quantile` (latencies only),
//! `groupByOperation`, `spanKind` (repeated, default `server`), `endTs`, `lookback`, `step`, `ratePer` (all
//! milliseconds). Rollups are per minute, so `step` is rounded up to whole minutes; rates are per second over
//! each step. With several span kinds, calls and errors are summed across kinds and the latency is the largest
//! of the kinds' quantiles.

use std::collections::BTreeMap;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};
use tracewell_model::SpanKind;
use tracewell_query::{RedRequest, TimeRange};

use super::response::{json_response, V1Error};
use crate::native::{now_nanos, Params};
use crate::params::{bad, format_rfc3339, number, tenant, unix_time};
use crate::{ApiError, ApiState};

const MILLIS: u64 = 1_000_000;
const MINUTE_MS: u64 = 60_000;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Metric {
    Latencies,
    Calls,
    Errors,
}

struct Query {
    services: Vec<String>,
    quantile: Option<f64>,
    group_by_operation: bool,
    kinds: Vec<SpanKind>,
    range: TimeRange,
    step_nano: u64,
}

fn parse_bool(param: &str, raw: &str) -> Result<bool, ApiError> {
    match raw {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(bad(param, format!("{raw:?} is not a boolean"))),
    }
}

fn parse_query(params: &Params, metric: Metric) -> Result<Query, ApiError> {
    let services: Vec<String> = params
        .all("service")
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if services.is_empty() {
        return Err(bad("service", "please provide at least one service name"));
    }
    let quantile = match params.get("quantile").filter(|q| !q.is_empty()) {
        None if metric == Metric::Latencies => {
            return Err(bad("quantile", "is required for latencies"))
        }
        None => None,
        Some(text) => match text.parse::<f64>() {
            Ok(q) if q > 0.0 && q <= 1.0 => Some(q),
            _ => {
                return Err(bad(
                    "quantile",
                    format!("{text:?} is not a number in (0, 1]"),
                ))
            }
        },
    };
    let group_by_operation = match params.get("groupByOperation").filter(|g| !g.is_empty()) {
        None => false,
        Some(raw) => parse_bool("groupByOperation", raw)?,
    };
    let mut kinds = Vec::new();
    for raw in params.all("spanKind").filter(|k| !k.is_empty()) {
        let kind = match raw {
            "unspecified" => SpanKind::Unspecified,
            "internal" => SpanKind::Internal,
            "server" => SpanKind::Server,
            "client" => SpanKind::Client,
            "producer" => SpanKind::Producer,
            "consumer" => SpanKind::Consumer,
            _ => return Err(bad("spanKind", format!("unsupported span kind {raw:?}"))),
        };
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    if kinds.is_empty() {
        kinds.push(SpanKind::Server);
    }
    let end = unix_time("endTs", params.get("endTs"), MILLIS)?.unwrap_or_else(now_nanos);
    let lookback = number("lookback", params.get("lookback"))?.unwrap_or(3_600_000);
    let step_ms = number("step", params.get("step"))?.unwrap_or(5_000);
    if step_ms == 0 {
        return Err(bad("step", "must be positive"));
    }
    if number("ratePer", params.get("ratePer"))? == Some(0) {
        return Err(bad("ratePer", "must be positive"));
    }
    let step_minutes = step_ms.div_ceil(MINUTE_MS).max(1);
    Ok(Query {
        services,
        quantile,
        group_by_operation,
        kinds,
        range: TimeRange {
            start_unix_nano: end.saturating_sub(lookback.saturating_mul(MILLIS)),
            end_unix_nano: end,
        },
        step_nano: step_minutes * MINUTE_MS * MILLIS,
    })
}

/// One merged point: time, spans, errors, largest latency quantile (ns).
#[derive(Clone, Copy, Default)]
struct Point {
    time: u64,
    count: u64,
    errors: u64,
    latency: Option<f64>,
}

pub(crate) async fn handle(
    state: ApiState,
    headers: HeaderMap,
    query: Option<String>,
    metric: Metric,
) -> Result<Response, V1Error> {
    let tenant = tenant(&headers, &state.allowed_tenants)?;
    let params = Params::parse(query)?;
    let q = parse_query(&params, metric)?;
    let mut series: BTreeMap<(String, Option<String>), Vec<Point>> = BTreeMap::new();
    for kind in &q.kinds {
        let req = RedRequest {
            range: q.range,
            step_nano: q.step_nano,
            service: None,
            operation: None,
            kinds: tracewell_query::KindSelection::Only(*kind),
            group_by_operation: q.group_by_operation,
            quantiles: q.quantile.into_iter().collect(),
        };
        let result = state.query.red(&tenant, &req).await?;
        for s in result
            .series
            .into_iter()
            .filter(|s| q.services.contains(&s.service))
        {
            let merged = series
                .entry((s.service, s.operation))
                .or_insert_with(|| vec![Point::default(); s.points.len()]);
            for (m, p) in merged.iter_mut().zip(&s.points) {
                m.time = p.time_unix_nano;
                m.count += p.count;
                m.errors += p.errors;
                let latency = p.quantiles.first().copied().flatten();
                m.latency = match (m.latency, latency) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    (a, b) => a.or(b),
                };
            }
        }
    }
    let step_seconds = q.step_nano as f64 / 1e9;
    let metrics: Vec<Value> = series
        .into_iter()
        .map(|((service, operation), points)| {
            let mut labels = vec![json!({"name": "service_name", "value": service})];
            if let Some(op) = operation {
                labels.push(json!({"name": "operation", "value": op}));
            }
            let values = points.iter().filter_map(|p| {
                let value = match metric {
                    Metric::Latencies => p.latency? / 1e6,
                    Metric::Calls => p.count as f64 / step_seconds,
                    Metric::Errors if p.count == 0 => return None,
                    Metric::Errors => p.errors as f64 / p.count as f64,
                };
                Some(json!({
                    "gaugeValue": {"doubleValue": crate::tempo::otlp_json::float(value)},
                    "timestamp": format_rfc3339(p.time),
                }))
            });
            json!({"labels": labels, "metricPoints": values.collect::<Vec<_>>()})
        })
        .collect();
    let (name, help) = match metric {
        Metric::Latencies => (
            "latencies",
            format!(
                "{:.2}th quantile latency, grouped by service",
                q.quantile.unwrap_or(0.0)
            ),
        ),
        Metric::Calls => ("call_rate", "calls/sec, grouped by service".to_owned()),
        Metric::Errors => (
            "error_rate",
            "error rate, computed as a fraction of errors/sec over calls/sec, grouped by service"
                .to_owned(),
        ),
    };
    let (name, help) = if q.group_by_operation {
        (
            format!("service_operation_{name}"),
            format!("{help} & operation"),
        )
    } else {
        (format!("service_{name}"), help)
    };
    let body = json!({"name": name, "type": "GAUGE", "help": help, "metrics": metrics});
    Ok(json_response(StatusCode::OK, &body, false))
}

pub(crate) async fn latencies(
    State(state): State<ApiState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, V1Error> {
    handle(state, headers, query, Metric::Latencies).await
}

pub(crate) async fn calls(
    State(state): State<ApiState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, V1Error> {
    handle(state, headers, query, Metric::Calls).await
}

pub(crate) async fn errors(
    State(state): State<ApiState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, V1Error> {
    handle(state, headers, query, Metric::Errors).await
}
