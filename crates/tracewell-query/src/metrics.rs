//! RED metrics (rate, errors, duration quantiles) and the service dependency graph, answered from the store's
//! per-minute rollups for any range, never by rescanning spans. The graph comes in two shapes: the native one
//! with queue and database nodes ([`QueryService::dependencies`]), and Jaeger's, services only
//! ([`QueryService::service_dependencies`]).

use std::collections::BTreeMap;

use tracewell_model::{SpanKind, TenantId};
use tracewell_store::rollup::{NodeKind, Rollup, Stats, MINUTE_NANO};

use crate::error::{QueryError, Result};
use crate::{QueryService, TimeRange};

/// Most points a RED series may have.
pub const MAX_POINTS: u64 = 11_000;

/// A RED query.
#[derive(Debug, Clone, PartialEq)]
pub struct RedRequest {
    pub range: TimeRange,
    /// Point width; a whole number of minutes (rollups are per minute).
    pub step_nano: u64,
    pub service: Option<String>,
    pub operation: Option<String>,
    pub kinds: KindSelection,
    /// One series per (service, operation) instead of one per service.
    pub group_by_operation: bool,
    /// Quantiles to report, each in `[0, 1]`.
    pub quantiles: Vec<f64>,
}

/// Which span kinds a RED query counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KindSelection {
    /// A service's requests: its SERVER and CONSUMER spans; services without any count all their spans.
    #[default]
    Entry,
    All,
    Only(SpanKind),
}

impl KindSelection {
    /// `entry`, `all`, or a span kind name.
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        match text {
            "entry" => Ok(Self::Entry),
            "all" => Ok(Self::All),
            other => crate::parse_kind(other).map(Self::Only),
        }
    }
}

fn is_entry(kind: u8) -> bool {
    kind == SpanKind::Server as u8 || kind == SpanKind::Consumer as u8
}

/// One point of a RED series, over `[time, time + step)`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RedPoint {
    pub time_unix_nano: u64,
    pub count: u64,
    pub errors: u64,
    /// Spans per second over the time the point covers.
    pub rate_per_second: f64,
    /// Seconds the point covers: its width, or less for the running minute (up to now) and, for totals, from the
    /// first minute with data.
    pub covered_seconds: f64,
    /// `errors / count`, 0 without spans.
    pub error_rate: f64,
    /// Mean duration in nanoseconds.
    pub mean_nano: Option<f64>,
    /// Duration quantiles in nanoseconds, in the order requested; `None` without spans.
    pub quantiles: Vec<Option<f64>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RedSeries {
    pub service: String,
    pub operation: Option<String>,
    pub points: Vec<RedPoint>,
    /// The whole range as one point.
    pub total: RedPoint,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RedResult {
    pub step_nano: u64,
    pub series: Vec<RedSeries>,
}

/// One edge of the dependency graph over a range.
#[derive(Debug, Clone, PartialEq)]
pub struct Dependency {
    pub parent: String,
    pub parent_kind: NodeKind,
    pub child: String,
    pub child_kind: NodeKind,
    pub calls: u64,
    pub errors: u64,
    pub rate_per_second: f64,
    pub error_rate: f64,
    /// Duration quantiles of the child spans, in nanoseconds.
    pub p50_nano: Option<f64>,
    pub p90_nano: Option<f64>,
    pub p99_nano: Option<f64>,
}

/// Seconds of `[start, start + width)` that have passed by `now` (at least one, so rates stay finite).
fn covered(start: u64, width_nano: u64, now: u64) -> f64 {
    let end = start.saturating_add(width_nano).min(now.max(start));
    ((end - start) as f64 / 1e9).max(1.0)
}

pub(crate) fn point(time: u64, seconds: f64, stats: &Stats, quantiles: &[f64]) -> RedPoint {
    RedPoint {
        time_unix_nano: time,
        count: stats.count,
        errors: stats.errors,
        covered_seconds: seconds,
        rate_per_second: if seconds > 0.0 {
            stats.count as f64 / seconds
        } else {
            0.0
        },
        error_rate: if stats.count > 0 {
            stats.errors as f64 / stats.count as f64
        } else {
            0.0
        },
        mean_nano: (stats.count > 0).then(|| stats.sum_nano as f64 / stats.count as f64),
        quantiles: quantiles
            .iter()
            .map(|&q| stats.histogram.quantile(q))
            .collect(),
    }
}

/// Minute-aligned bounds of a range: first minute, last minute (inclusive).
fn minutes(range: &TimeRange) -> (u64, u64) {
    (
        range.start_unix_nano / MINUTE_NANO,
        range.end_unix_nano / MINUTE_NANO,
    )
}

impl QueryService {
    async fn rollup_for(&self, tenant: &TenantId, range: &TimeRange) -> Result<Rollup> {
        self.check_range(range)?;
        let range = *range;
        self.bounded(async move {
            Ok(self
                .store
                .rollups(tenant, range.start_unix_nano, range.end_unix_nano)
                .await?)
        })
        .await
    }

    /// RED series from rollups.
    pub async fn red(&self, tenant: &TenantId, req: &RedRequest) -> Result<RedResult> {
        if req.step_nano < MINUTE_NANO || !req.step_nano.is_multiple_of(MINUTE_NANO) {
            return Err(QueryError::bad(
                "step must be a whole number of minutes (at least 60s)",
            ));
        }
        if let Some(q) = req.quantiles.iter().find(|q| !(0.0..=1.0).contains(*q)) {
            return Err(QueryError::bad(format!("quantile {q} is outside [0, 1]")));
        }
        let (first, last) = minutes(&req.range);
        let step_minutes = req.step_nano / MINUTE_NANO;
        let points = (last - first) / step_minutes + 1;
        if points > MAX_POINTS {
            return Err(QueryError::bad(format!(
                "{points} points requested; widen the step or narrow the range (limit {MAX_POINTS})"
            )));
        }
        let rollup = self.rollup_for(tenant, &req.range).await?;
        let with_entries: std::collections::HashSet<&str> = rollup
            .red()
            .filter(|(k, _)| is_entry(k.kind))
            .map(|(k, _)| k.service.as_str())
            .collect();
        let kind_ok = |service: &str, kind: u8| match req.kinds {
            KindSelection::All => true,
            KindSelection::Only(k) => k as u8 == kind,
            KindSelection::Entry => is_entry(kind) || !with_entries.contains(service),
        };
        // (service, operation) → per point index → stats.
        let mut grouped: BTreeMap<(String, Option<String>), Vec<Stats>> = BTreeMap::new();
        for (key, stats) in rollup.red() {
            if req.service.as_deref().is_some_and(|s| s != key.service)
                || req.operation.as_deref().is_some_and(|o| o != key.operation)
                || !kind_ok(&key.service, key.kind)
            {
                continue;
            }
            let op = req.group_by_operation.then(|| key.operation.clone());
            let series = grouped
                .entry((key.service.clone(), op))
                .or_insert_with(|| vec![Stats::default(); points as usize]);
            let at = ((key.minute - first) / step_minutes) as usize;
            series[at].merge(stats);
        }
        let now = crate::now_unix_nano();
        let range_end = (last + 1) * MINUTE_NANO;
        let series = grouped
            .into_iter()
            .map(|((service, operation), stats)| {
                let mut total = Stats::default();
                let points = stats
                    .iter()
                    .enumerate()
                    .map(|(i, s)| {
                        total.merge(s);
                        let time = (first + i as u64 * step_minutes) * MINUTE_NANO;
                        point(time, covered(time, req.step_nano, now), s, &req.quantiles)
                    })
                    .collect();
                // The total rate is over the time the series has data for, not the whole range asked.
                let since = stats
                    .iter()
                    .position(|s| s.count > 0)
                    .map_or(first, |i| first + i as u64 * step_minutes)
                    * MINUTE_NANO;
                let seconds = covered(since, range_end - since, now);
                RedSeries {
                    service,
                    operation,
                    points,
                    total: point(since, seconds, &total, &req.quantiles),
                }
            })
            .collect();
        Ok(RedResult {
            step_nano: req.step_nano,
            series,
        })
    }

    /// The dependency graph over services only, as Jaeger draws it: a message through a queue
    /// (`producer service → queue → consumer service`) becomes `producer → consumer` with the consumer side's
    /// figures (split between the queue's producers by their share of the messages produced); edges to databases
    /// and other nodes that are not services are left out.
    pub async fn service_dependencies(
        &self,
        tenant: &TenantId,
        range: &TimeRange,
    ) -> Result<Vec<Dependency>> {
        Ok(service_edges(self.dependencies(tenant, range).await?))
    }

    /// The dependency graph over a range, from rollups, with its queue and database nodes.
    pub async fn dependencies(
        &self,
        tenant: &TenantId,
        range: &TimeRange,
    ) -> Result<Vec<Dependency>> {
        let rollup = self.rollup_for(tenant, range).await?;
        let (first, last) = minutes(range);
        // Rates over the time the graph has data for, up to now.
        let since = rollup
            .edges()
            .map(|(k, _)| k.minute)
            .min()
            .unwrap_or(first)
            .max(first)
            * MINUTE_NANO;
        let end = (last + 1) * MINUTE_NANO;
        let seconds = covered(since, end.saturating_sub(since), crate::now_unix_nano());
        let mut edges: BTreeMap<(String, NodeKind, String, NodeKind), Stats> = BTreeMap::new();
        for (key, stats) in rollup.edges() {
            edges
                .entry((
                    key.parent.clone(),
                    key.parent_kind,
                    key.child.clone(),
                    key.child_kind,
                ))
                .or_default()
                .merge(stats);
        }
        Ok(edges
            .into_iter()
            .map(|((parent, parent_kind, child, child_kind), s)| {
                let q = |p: f64| s.histogram.quantile(p);
                Dependency {
                    parent,
                    parent_kind,
                    child,
                    child_kind,
                    calls: s.count,
                    errors: s.errors,
                    rate_per_second: s.count as f64 / seconds,
                    error_rate: if s.count > 0 {
                        s.errors as f64 / s.count as f64
                    } else {
                        0.0
                    },
                    p50_nano: q(0.5),
                    p90_nano: q(0.9),
                    p99_nano: q(0.99),
                }
            })
            .collect())
    }
}

/// Service → service edges of a graph: direct calls as they are, and each `producer → queue → consumer` path as
/// `producer → consumer`; see [`QueryService::service_dependencies`].
fn service_edges(graph: Vec<Dependency>) -> Vec<Dependency> {
    let mut out = Vec::new();
    // Per queue: its producers and the messages each produced.
    let mut producers: BTreeMap<String, Vec<(String, u64)>> = BTreeMap::new();
    let mut consumed = Vec::new();
    for d in graph {
        match (d.parent_kind, d.child_kind) {
            (NodeKind::Service, NodeKind::Service) => out.push(d),
            (NodeKind::Service, NodeKind::Messaging) => producers
                .entry(d.child)
                .or_default()
                .push((d.parent, d.calls)),
            (NodeKind::Messaging, NodeKind::Service) => consumed.push(d),
            _ => {}
        }
    }
    for consumer in consumed {
        let Some(from) = producers.get(&consumer.parent) else {
            continue;
        };
        out.extend(through_queue(from, &consumer));
    }
    out
}

/// The `producer → consumer` edges of one consumer edge `queue → consumer`, given the queue's producers.
fn through_queue(producers: &[(String, u64)], consumer: &Dependency) -> Vec<Dependency> {
    let produced: u64 = producers.iter().map(|(_, n)| n).sum();
    producers
        .iter()
        .filter(|(service, _)| *service != consumer.child)
        .filter_map(|(service, n)| {
            let share = if produced == 0 {
                1.0 / producers.len() as f64
            } else {
                *n as f64 / produced as f64
            };
            let part = |count: u64| (count as f64 * share).round() as u64;
            let calls = part(consumer.calls);
            (calls > 0).then(|| Dependency {
                parent: service.clone(),
                parent_kind: NodeKind::Service,
                calls,
                errors: part(consumer.errors),
                rate_per_second: consumer.rate_per_second * share,
                ..consumer.clone()
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge(parent: (&str, NodeKind), child: (&str, NodeKind), calls: u64) -> Dependency {
        Dependency {
            parent: parent.0.into(),
            parent_kind: parent.1,
            child: child.0.into(),
            child_kind: child.1,
            calls,
            errors: calls / 10,
            rate_per_second: calls as f64,
            error_rate: 0.1,
            p50_nano: Some(1.0),
            p90_nano: Some(2.0),
            p99_nano: Some(3.0),
        }
    }

    #[test]
    fn queues_collapse_into_producer_consumer_edges_and_databases_go() {
        use NodeKind::{Database, Messaging, Service};
        let graph = vec![
            edge(("web", Service), ("api", Service), 7),
            edge(("api", Service), ("postgres", Database), 9),
            edge(("api", Service), ("orders", Messaging), 30),
            edge(("billing", Service), ("orders", Messaging), 10),
            edge(("orders", Messaging), ("worker", Service), 40),
            edge(("orphans", Messaging), ("worker", Service), 5),
        ];
        let got: Vec<(String, String, u64, u64)> = service_edges(graph)
            .into_iter()
            .map(|d| {
                assert_eq!((d.parent_kind, d.child_kind), (Service, Service));
                (d.parent, d.child, d.calls, d.errors)
            })
            .collect();
        let want = [
            ("web", "api", 7, 0),
            ("api", "worker", 30, 3),
            ("billing", "worker", 10, 1),
        ];
        let want: Vec<(String, String, u64, u64)> = want
            .iter()
            .map(|(p, c, n, e)| (p.to_string(), c.to_string(), *n, *e))
            .collect();
        assert_eq!(got, want);
    }
}
