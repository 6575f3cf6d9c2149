//! One evaluation of one rule: threshold rules read RED figures from the rollups (entry spans of the service or
//! the one operation, over the rule's window); finding rules read the insights engine. Both pick exemplar traces
//! when the condition holds.

use std::time::Duration;

use tracewell_model::{StatusCode, TenantId, TraceId};
use tracewell_query::{
    Finding, InsightsResult, KindSelection, QueryService, RedRequest, SearchRequest, TimeRange,
};

use crate::rules::{Condition, Metric, Rule};

/// What one evaluation saw.
#[derive(Debug, Clone, Default)]
pub struct Observation {
    pub holds: bool,
    pub value: Option<f64>,
    pub summary: String,
    pub exemplars: Vec<TraceId>,
    pub finding: Option<Finding>,
}

const MINUTE_NANO: u64 = 60_000_000_000;
/// The baseline a `rate_drop` rule compares against.
const RATE_BASELINE: Duration = Duration::from_secs(30 * 60);

/// Count, error rate, quantiles (ms) and rate of a service or operation over `range`.
struct Figures {
    count: u64,
    error_rate: f64,
    quantiles_ms: [Option<f64>; 3],
    rate: f64,
}

async fn figures(
    query: &QueryService,
    tenant: &TenantId,
    service: &str,
    operation: Option<&str>,
    range: TimeRange,
) -> Result<Figures, tracewell_query::QueryError> {
    let req = RedRequest {
        range,
        step_nano: MINUTE_NANO,
        service: Some(service.to_owned()),
        operation: operation.map(str::to_owned),
        kinds: KindSelection::Entry,
        group_by_operation: false,
        quantiles: vec![0.5, 0.9, 0.99],
    };
    let result = query.red(tenant, &req).await?;
    let total = result.series.into_iter().next().map(|s| s.total);
    Ok(match total {
        None => Figures {
            count: 0,
            error_rate: 0.0,
            quantiles_ms: [None; 3],
            rate: 0.0,
        },
        Some(t) => Figures {
            count: t.count,
            error_rate: t.error_rate,
            quantiles_ms: [0, 1, 2].map(|i| t.quantiles.get(i).copied().flatten().map(|n| n / 1e6)),
            rate: t.rate_per_second,
        },
    })
}

fn range_ending(now: u64, length: Duration) -> TimeRange {
    TimeRange {
        start_unix_nano: now.saturating_sub(length.as_nanos() as u64),
        end_unix_nano: now,
    }
}

fn fmt_value(metric: Metric, v: f64) -> String {
    match metric {
        Metric::ErrorRate | Metric::RateDrop => format!("{:.1}%", v * 100.0),
        Metric::P50 | Metric::P90 | Metric::P99 => format!("{v:.1} ms"),
        Metric::Rate => format!("{v:.2}/s"),
    }
}

pub async fn threshold(
    query: &QueryService,
    rule: &Rule,
    now: u64,
) -> Result<Observation, tracewell_query::QueryError> {
    let Condition::Threshold {
        service,
        operation,
        metric,
        above,
        value: threshold,
        window,
        min_requests,
    } = &rule.condition
    else {
        return Ok(Observation::default());
    };
    let range = range_ending(now, *window);
    let cur = figures(query, &rule.tenant, service, operation.as_deref(), range).await?;
    let target = format!(
        "{service}{}",
        operation
            .as_deref()
            .map(|o| format!(" {o}"))
            .unwrap_or_default()
    );
    let value = match metric {
        Metric::RateDrop => {
            let base_range = range_ending(range.start_unix_nano, RATE_BASELINE);
            let base = figures(
                query,
                &rule.tenant,
                service,
                operation.as_deref(),
                base_range,
            )
            .await?;
            (base.count >= *min_requests && base.rate > 0.0).then(|| 1.0 - cur.rate / base.rate)
        }
        _ if cur.count < *min_requests => None,
        Metric::ErrorRate => Some(cur.error_rate),
        Metric::P50 => cur.quantiles_ms[0],
        Metric::P90 => cur.quantiles_ms[1],
        Metric::P99 => cur.quantiles_ms[2],
        Metric::Rate => Some(cur.rate),
    };
    let holds = value.is_some_and(|v| {
        if *above {
            v > *threshold
        } else {
            v < *threshold
        }
    });
    let summary = match value {
        None => format!(
            "{target}: too few requests to judge ({} in the window)",
            cur.count
        ),
        Some(v) => format!(
            "{} of {target} is {} ({} threshold {})",
            metric.as_str(),
            fmt_value(*metric, v),
            if *above { "above" } else { "below" },
            fmt_value(*metric, *threshold),
        ),
    };
    let mut exemplars = Vec::new();
    if holds {
        let mut req = SearchRequest {
            service: Some(service.clone()),
            operation: operation.clone(),
            start_unix_nano: Some(range.start_unix_nano),
            end_unix_nano: Some(range.end_unix_nano),
            limit: 3,
            spans_per_trace: 1,
            ..Default::default()
        };
        match metric {
            Metric::ErrorRate => req.status = Some(StatusCode::Error),
            Metric::P50 | Metric::P90 | Metric::P99 if *above => {
                req.min_duration_nano = Some((threshold * 1e6) as u64)
            }
            _ => {}
        }
        if let Ok(found) = query.search(&rule.tenant, &req).await {
            exemplars = found.traces.iter().map(|t| t.trace_id).collect();
        }
    }
    Ok(Observation {
        holds,
        value,
        summary,
        exemplars,
        finding: None,
    })
}

/// A finding rule against an insights answer for its tenant.
pub fn finding(rule: &Rule, insights: &InsightsResult) -> Observation {
    let Condition::Finding {
        kind,
        service,
        min_score,
    } = &rule.condition
    else {
        return Observation::default();
    };
    let best = insights
        .findings
        .iter()
        .filter(|f| kind.is_none_or(|k| k == f.kind))
        .filter(|f| service.as_deref().is_none_or(|s| f.involves(s)))
        .max_by(|a, b| a.score.total_cmp(&b.score));
    match best {
        Some(f) if f.score >= *min_score => Observation {
            holds: true,
            value: Some(f.score),
            summary: f.summary.clone(),
            exemplars: f.exemplars.traces.iter().take(3).copied().collect(),
            finding: Some(f.clone()),
        },
        Some(f) => Observation {
            holds: false,
            value: Some(f.score),
            summary: format!("highest matching finding scores {:.0}", f.score),
            ..Default::default()
        },
        None => Observation {
            summary: "no matching finding".into(),
            ..Default::default()
        },
    }
}
