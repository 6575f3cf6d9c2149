//! Breakdown across the traces a search matches: where the time goes (self time and critical-path time per
//! service and operation), and which attribute values are over-represented in slow or failing traces compared
//! with the rest.

use std::collections::{BTreeMap, HashMap, HashSet};

use futures::StreamExt;
use tracewell_model::{AttrValue, Span, StatusCode, TenantId};

use crate::error::{QueryError, Result};
use crate::shape::TraceShape;
use crate::{QueryService, SearchRequest};

/// Most traces one breakdown reads.
pub const MAX_BREAKDOWN_TRACES: usize = 1000;

/// Time of one (service, operation) across the matched traces.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationTime {
    pub service: String,
    pub operation: String,
    pub spans: u64,
    pub self_time_ms: f64,
    pub self_time_share: f64,
    pub critical_path_ms: f64,
    pub critical_path_share: f64,
    pub mean_self_ms: f64,
}

/// An attribute value more common in a group of traces than in the rest.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttributeLift {
    pub key: String,
    pub value: String,
    /// `slow` or `error`.
    pub group: &'static str,
    pub in_group: f64,
    pub in_rest: f64,
    pub group_traces: usize,
    pub rest_traces: usize,
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Breakdown {
    pub traces: usize,
    pub slow_threshold_ms: f64,
    pub slow_traces: usize,
    pub error_traces: usize,
    pub operations: Vec<OperationTime>,
    pub attributes: Vec<AttributeLift>,
}

/// Attribute values listed per group at most.
const MAX_LIFTS: usize = 20;
/// Values longer than this are ids or payloads, not categories.
const MAX_VALUE_LEN: usize = 120;

fn value_text(v: &AttrValue) -> Option<String> {
    match v {
        AttrValue::Str(s) if s.len() <= MAX_VALUE_LEN => Some(s.clone()),
        AttrValue::Bool(b) => Some(b.to_string()),
        AttrValue::Int(i) => Some(i.to_string()),
        _ => None,
    }
}

/// The categorical attribute values of a trace (span and resource attributes).
fn trace_values(spans: &[Span]) -> HashSet<(String, String)> {
    let mut out = HashSet::new();
    for span in spans {
        for a in span
            .attributes
            .iter()
            .chain(span.resource.attributes.iter())
        {
            if let Some(v) = value_text(&a.value) {
                out.insert((a.key.clone(), v));
            }
        }
    }
    out
}

impl QueryService {
    /// Reads the traces `req` matches (up to its limit) and breaks their time down.
    pub async fn breakdown(&self, tenant: &TenantId, req: &SearchRequest) -> Result<Breakdown> {
        if req.limit > MAX_BREAKDOWN_TRACES {
            return Err(QueryError::bad(format!(
                "limit {} exceeds the maximum of {MAX_BREAKDOWN_TRACES} traces",
                req.limit
            )));
        }
        // One permit for the search and the reads of its traces.
        self.limited(async {
            let found = self.search(tenant, req).await?;
            let ids: Vec<_> = found.traces.iter().map(|t| t.trace_id).collect();
            let traces: Vec<Vec<Span>> = futures::stream::iter(ids)
                .map(|id| async move { self.trace(tenant, id).await.map(|t| t.spans) })
                .buffer_unordered(8)
                .filter_map(|r| async move { r.ok().filter(|s| !s.is_empty()) })
                .collect()
                .await;
            Ok(analyse(&traces))
        })
        .await
    }
}

/// The breakdown of whole traces.
pub fn analyse(traces: &[Vec<Span>]) -> Breakdown {
    let mut ops: BTreeMap<(String, String), (u64, u64, u64)> = BTreeMap::new();
    let mut durations = Vec::with_capacity(traces.len());
    let mut failed = Vec::with_capacity(traces.len());
    for spans in traces {
        let shape = TraceShape::new(spans);
        let critical = shape.critical_times();
        for (i, span) in spans.iter().enumerate() {
            let e = ops
                .entry((span.service_name().to_owned(), span.name.clone()))
                .or_default();
            e.0 += 1;
            e.1 += shape.self_time(i);
            e.2 += critical.get(&i).copied().unwrap_or(0);
        }
        let (start, end) = shape.bounds();
        durations.push(end.saturating_sub(start));
        failed.push(spans.iter().any(|s| s.status.code == StatusCode::Error));
    }
    let total_self: u64 = ops.values().map(|v| v.1).sum();
    let total_critical: u64 = ops.values().map(|v| v.2).sum();
    let share = |part: u64, total: u64| {
        if total == 0 {
            0.0
        } else {
            round(part as f64 / total as f64, 4)
        }
    };
    let mut operations: Vec<OperationTime> = ops
        .into_iter()
        .map(
            |((service, operation), (spans, self_ns, critical_ns))| OperationTime {
                service,
                operation,
                spans,
                self_time_ms: round(self_ns as f64 / 1e6, 3),
                self_time_share: share(self_ns, total_self),
                critical_path_ms: round(critical_ns as f64 / 1e6, 3),
                critical_path_share: share(critical_ns, total_critical),
                mean_self_ms: round(self_ns as f64 / spans.max(1) as f64 / 1e6, 3),
            },
        )
        .collect();
    operations.sort_by(|a, b| b.self_time_share.total_cmp(&a.self_time_share));

    let mut sorted = durations.clone();
    sorted.sort_unstable();
    let threshold = sorted
        .get(((sorted.len() as f64 * 0.9).ceil() as usize).saturating_sub(1))
        .copied()
        .unwrap_or(0);
    let slow: Vec<bool> = durations.iter().map(|&d| d > threshold).collect();
    let values: Vec<HashSet<(String, String)>> = traces.iter().map(|t| trace_values(t)).collect();
    let mut attributes = lifts(&values, &slow, "slow");
    attributes.extend(lifts(&values, &failed, "error"));
    Breakdown {
        traces: traces.len(),
        slow_threshold_ms: round(threshold as f64 / 1e6, 3),
        slow_traces: slow.iter().filter(|s| **s).count(),
        error_traces: failed.iter().filter(|s| **s).count(),
        operations,
        attributes,
    }
}

/// Attribute values more common in traces where `in_group` holds than in the others.
fn lifts(
    values: &[HashSet<(String, String)>],
    in_group: &[bool],
    group: &'static str,
) -> Vec<AttributeLift> {
    let group_n = in_group.iter().filter(|g| **g).count();
    let rest_n = in_group.len() - group_n;
    if group_n == 0 || rest_n == 0 {
        return Vec::new();
    }
    let mut counts: HashMap<&(String, String), (usize, usize)> = HashMap::new();
    for (set, &g) in values.iter().zip(in_group) {
        for kv in set {
            let c = counts.entry(kv).or_default();
            if g {
                c.0 += 1;
            } else {
                c.1 += 1;
            }
        }
    }
    // Keys with a different value in most traces are identifiers, not categories.
    let mut distinct: HashMap<&str, usize> = HashMap::new();
    for (k, _) in counts.keys() {
        *distinct.entry(k.as_str()).or_default() += 1;
    }
    let traces = values.len();
    let mut out: Vec<AttributeLift> = counts
        .into_iter()
        .filter(|((k, _), _)| {
            let d = distinct[k.as_str()];
            d <= 10 || d * 2 <= traces
        })
        .filter_map(|((key, value), (g, r))| {
            let in_group = g as f64 / group_n as f64;
            let in_rest = r as f64 / rest_n as f64;
            (in_group >= 0.2 && in_group - in_rest >= 0.15 && in_group >= 1.5 * in_rest).then(
                || AttributeLift {
                    key: key.clone(),
                    value: value.clone(),
                    group,
                    in_group: round(in_group, 3),
                    in_rest: round(in_rest, 3),
                    group_traces: group_n,
                    rest_traces: rest_n,
                },
            )
        })
        .collect();
    out.sort_by(|a, b| {
        (b.in_group - b.in_rest)
            .total_cmp(&(a.in_group - a.in_rest))
            .then_with(|| a.key.cmp(&b.key))
            .then_with(|| a.value.cmp(&b.value))
    });
    out.truncate(MAX_LIFTS);
    out
}

fn round(v: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (v * f).round() / f
}

#[cfg(test)]
mod tests {
    use tracewell_model::{Attribute, SpanKind, TraceId};

    use super::*;
    use crate::shape::tests::{failed, span};

    fn trace(n: u8, region: &str, slow: bool, error: bool) -> Vec<Span> {
        let mut root = span(
            "gw",
            "GET /",
            1,
            None,
            SpanKind::Server,
            (0, if slow { 150 } else { 100 }),
        );
        let mut db = span(
            "db",
            "SELECT",
            2,
            Some(1),
            SpanKind::Client,
            (10, if slow { 90 } else { 30 }),
        );
        root.attributes.push(Attribute::str("app.region", region));
        root.attributes
            .push(Attribute::str("request.id", format!("req-{n}")));
        if error {
            db = failed(db, "timeout");
        }
        let mut spans = vec![root, db];
        for s in &mut spans {
            s.trace_id = TraceId([n; 16]);
        }
        spans
    }

    #[test]
    fn time_and_over_represented_values() {
        let mut traces = Vec::new();
        for n in 0..18u8 {
            traces.push(trace(n, "us-east", false, false));
        }
        traces.push(trace(18, "eu-west", true, true));
        traces.push(trace(19, "eu-west", true, true));
        let b = analyse(&traces);
        assert_eq!(b.traces, 20);
        assert_eq!(b.slow_traces, 2);
        assert_eq!(b.error_traces, 2);
        let db = b.operations.iter().find(|o| o.service == "db").unwrap();
        // db: 18 × 20 ms + 2 × 80 ms; the root's own time 18 × 80 ms + 2 × 70 ms.
        assert_eq!(db.self_time_ms, 520.0);
        assert_eq!(db.self_time_share, 0.2476);
        assert_eq!(b.slow_threshold_ms, 100.0);
        let eu: Vec<_> = b
            .attributes
            .iter()
            .filter(|a| a.key == "app.region" && a.value == "eu-west")
            .collect();
        assert_eq!(eu.len(), 2, "{:?}", b.attributes);
        assert_eq!(eu[0].in_group, 1.0);
        assert_eq!(eu[0].in_rest, 0.0);
        assert!(
            !b.attributes.iter().any(|a| a.key == "request.id"),
            "identifiers are not categories"
        );
    }
}
