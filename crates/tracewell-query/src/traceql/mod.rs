//! TraceQL search over stored traces.
//!
//! 1. The query is compiled by `tracewell-traceql` (parse errors and invalid queries are `BadRequest` with the
//!    position and what was expected).
//! 2. Its pushdown conditions (comparisons every returned span satisfies) become a span search
//!    ([`SearchRequest`]: service, span name, status, kind, duration bounds, attribute conditions), so heads and
//!    blocks are scanned with the same pruning as any search (block metadata, value filters, columns). Conditions
//!    that have no such form are left to step 3; a query without any (e.g. only structural operators) takes every
//!    trace of the range as a candidate.
//! 3. Candidates are read whole, newest first, and evaluated (structure, aggregates, `by`, `select`) until
//!    `limit` traces matched. At most [`QueryConfig::traceql_max_traces`](crate::QueryConfig) candidates are
//!    read; the result says when that cut the answer.
//!
//! Metrics queries (`| rate()`, ...) read every span of their range instead (`metrics.rs`).

mod metrics;
mod metrics_columns;
mod values;
mod view;

use futures::StreamExt;
use tracewell_model::{Span, TenantId};
use tracewell_traceql::ast::{AttributeScope, BinaryOp, Field, Intrinsic, Root};
use tracewell_traceql::conditions::Condition;
use tracewell_traceql::value::{Kind, Status, Value};
use tracewell_traceql::{Evaluator, Query};

use crate::error::{QueryError, Result};
use crate::request::{AttrCondition, DurationScope, MatchOp, SearchRequest};
use crate::search::SearchMetrics;
use crate::summary::{MatchedSpan, TraceSummary};
use crate::QueryService;

pub use metrics::{is_metrics_query, TraceqlMetricsRequest, TraceqlMetricsResult};
pub use values::tag_field;
pub use view::{field_value, to_value};

/// Candidate traces read at once.
const CONCURRENT_READS: usize = 8;

/// A TraceQL search.
#[derive(Debug, Clone)]
pub struct TraceqlRequest {
    pub query: String,
    /// Unix nanoseconds; traces with a span starting in `[start, end]` qualify. `None`: unbounded.
    pub start_unix_nano: Option<u64>,
    pub end_unix_nano: Option<u64>,
    /// Most traces returned.
    pub limit: usize,
    /// Spans returned per span set.
    pub spans_per_set: usize,
}

/// A span of a span set, with the values `select()` asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct SpansetSpan {
    pub span: MatchedSpan,
    /// `(field as written canonically, value)`.
    pub attributes: Vec<(String, Value)>,
}

/// One span set of a trace.
#[derive(Debug, Clone, PartialEq)]
pub struct SpansetResult {
    /// At most `spans_per_set`, earliest first.
    pub spans: Vec<SpansetSpan>,
    /// Spans in the set.
    pub matched: u32,
    /// Grouping keys (`by`) and aggregate values, by their canonical text.
    pub attributes: Vec<(String, Value)>,
}

/// One matching trace.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceqlTrace {
    /// The whole trace's summary; `matched` holds the spans of the first span set.
    pub summary: TraceSummary,
    pub span_sets: Vec<SpansetResult>,
}

/// The answer to a TraceQL search.
#[derive(Debug, Clone, Default)]
pub struct TraceqlResult {
    /// Newest first.
    pub traces: Vec<TraceqlTrace>,
    pub metrics: SearchMetrics,
    /// Candidate traces read and evaluated.
    pub inspected_traces: u64,
    /// `limit` traces matched before every candidate was evaluated: more may match.
    pub limit_hit: bool,
    /// Why the answer may be incomplete (candidate bound reached, unreadable blocks), if it may be.
    pub cut: Option<String>,
}

/// Compiles a query, as a `BadRequest` naming the position when it is not valid TraceQL.
pub fn compile(text: &str) -> Result<Query> {
    tracewell_traceql::compile(text).map_err(|e| QueryError::bad(format!("TraceQL: {e}")))
}

impl QueryService {
    /// Runs a TraceQL search under the query timeout, traced for self-tracing.
    pub async fn traceql_search(
        &self,
        tenant: &TenantId,
        req: &TraceqlRequest,
    ) -> Result<TraceqlResult> {
        let work = crate::query_work("traceql search", tenant);
        work.set("tracewell.query", req.query.clone());
        let result = self.traceql_search_inner(tenant, req).await;
        work.finish(&result, |w, found| {
            w.set("tracewell.traces", found.traces.len() as i64);
            w.set("tracewell.inspected_traces", found.inspected_traces as i64);
            w.set(
                "tracewell.inspected_spans",
                found.metrics.inspected_spans as i64,
            );
        });
        result
    }

    /// Runs a TraceQL search under the query timeout.
    async fn traceql_search_inner(
        &self,
        tenant: &TenantId,
        req: &TraceqlRequest,
    ) -> Result<TraceqlResult> {
        let query = compile(&req.query)?;
        if matches!(query.root, Root::Metrics(_)) {
            return Err(QueryError::bad(
                "TraceQL: a metrics query (rate, count_over_time, ...) is answered by the metrics endpoints, not by search",
            ));
        }
        let max_limit = self.max_limit(tenant);
        if req.limit == 0 || req.limit > max_limit {
            return Err(QueryError::bad(format!(
                "limit must be between 1 and {max_limit}"
            )));
        }
        let evaluator =
            Evaluator::new(&query).map_err(|e| QueryError::bad(format!("TraceQL: {e}")))?;
        let Some(search) = candidate_search(
            &query,
            req.start_unix_nano,
            req.end_unix_nano,
            self.config.traceql_max_traces,
        ) else {
            // Contradictory bounds: nothing can match.
            return Ok(TraceqlResult::default());
        };
        self.validate_search(
            tenant,
            &SearchRequest {
                limit: 1,
                ..search.clone()
            },
        )?;
        self.limited(self.traceql_unbounded(tenant, req, &evaluator, &search))
            .await
    }

    async fn traceql_unbounded(
        &self,
        tenant: &TenantId,
        req: &TraceqlRequest,
        evaluator: &Evaluator<'_>,
        search: &SearchRequest,
    ) -> Result<TraceqlResult> {
        let candidates = self.search_unbounded(tenant, search).await?;
        let mut result = TraceqlResult {
            metrics: candidates.metrics.clone(),
            ..Default::default()
        };
        let mut unreadable = candidates.warnings.len();
        let mut reads = self.read_candidates(tenant, candidates.traces);
        while let Some((candidate, trace)) = reads.next().await {
            if result.traces.len() == req.limit {
                result.limit_hit = true;
                return Ok(result);
            }
            let trace = trace?;
            unreadable += trace.unreadable_blocks.len();
            result.inspected_traces += 1;
            if let Some(found) = evaluate(evaluator, candidate, &trace.spans, req.spans_per_set) {
                result.traces.push(found);
            }
        }
        if candidates.limit_hit {
            result.cut = Some(format!(
                "more than {} traces in the range had spans meeting the query's span conditions; only the newest {} were evaluated",
                search.limit, search.limit
            ));
        } else if unreadable > 0 {
            result.cut = Some(format!(
                "{unreadable} block read(s) failed; results may be incomplete"
            ));
        }
        Ok(result)
    }
}

impl QueryService {
    /// The candidates' whole traces, in candidate order; reads run a few at a time ahead of the consumer.
    pub(crate) fn read_candidates<'a>(
        &'a self,
        tenant: &'a TenantId,
        candidates: Vec<TraceSummary>,
    ) -> impl futures::Stream<Item = (TraceSummary, Result<crate::TraceResult>)> + 'a {
        futures::stream::iter(candidates)
            .map(move |candidate| async move {
                let trace = self.trace(tenant, candidate.trace_id).await;
                (candidate, trace)
            })
            .buffered(CONCURRENT_READS)
    }
}

/// The span search for a query's candidate traces in a range (at most `max_traces`), or `None` when its
/// conditions contradict each other.
pub(crate) fn candidate_search(
    query: &Query,
    start_unix_nano: Option<u64>,
    end_unix_nano: Option<u64>,
    max_traces: usize,
) -> Option<SearchRequest> {
    let mut search = pushdown(&query.conditions())?;
    search.start_unix_nano = start_unix_nano;
    search.end_unix_nano = end_unix_nano;
    search.limit = max_traces.max(1);
    search.spans_per_trace = 1;
    Some(search)
}

/// Evaluates one candidate trace; `None` when no span set matched.
fn evaluate(
    evaluator: &Evaluator<'_>,
    mut summary: TraceSummary,
    spans: &[Span],
    spans_per_set: usize,
) -> Option<TraceqlTrace> {
    let holder = view::TraceHolder::new(spans);
    let trace = holder.view(spans);
    let sets = evaluator.evaluate(&trace);
    if sets.is_empty() {
        return None;
    }
    let span_sets: Vec<SpansetResult> = sets
        .iter()
        .map(|set| {
            let mut members: Vec<usize> = set.spans.clone();
            members.sort_by_key(|&i| spans.get(i).map_or(0, |s| s.start_unix_nano));
            let shown = members
                .iter()
                .filter_map(|&i| Some((i, spans.get(i)?)))
                .take(spans_per_set.max(1))
                .map(|(i, span)| SpansetSpan {
                    span: MatchedSpan::of(span),
                    attributes: match tracewell_traceql::view::TraceView::span(&trace, i) {
                        Some(view) => set
                            .selected
                            .iter()
                            .filter_map(|f| Some((f.to_string(), field_value(view, f)?)))
                            .collect(),
                        None => Vec::new(),
                    },
                })
                .collect();
            SpansetResult {
                spans: shown,
                matched: u32::try_from(set.spans.len()).unwrap_or(u32::MAX),
                attributes: set.attributes.clone(),
            }
        })
        .collect();
    summary.matched = span_sets
        .first()
        .map(|s| s.spans.iter().map(|m| m.span.clone()).collect())
        .unwrap_or_default();
    summary.matched_count = span_sets.first().map_or(0, |s| s.matched);
    Some(TraceqlTrace { summary, span_sets })
}

/// The span search that every span a query returns satisfies (a superset of the answer), or `None` when the
/// conditions contradict each other.
pub(crate) fn pushdown(conditions: &[Condition]) -> Option<SearchRequest> {
    let mut req = SearchRequest {
        duration_scope: DurationScope::Span,
        ..SearchRequest::default()
    };
    for c in conditions {
        match (&c.field, c.op, &c.value) {
            (Field::Intrinsic(Intrinsic::Name), BinaryOp::Eq, Value::Str(name)) => {
                req.operation = Some(name.clone())
            }
            (Field::Intrinsic(Intrinsic::Status), BinaryOp::Eq, Value::Status(s)) => {
                req.status = Some(match s {
                    Status::Unset => tracewell_model::StatusCode::Unset,
                    Status::Ok => tracewell_model::StatusCode::Ok,
                    Status::Error => tracewell_model::StatusCode::Error,
                })
            }
            (Field::Intrinsic(Intrinsic::Kind), BinaryOp::Eq, Value::Kind(k)) => {
                req.kind = Some(match k {
                    Kind::Unspecified => tracewell_model::SpanKind::Unspecified,
                    Kind::Internal => tracewell_model::SpanKind::Internal,
                    Kind::Server => tracewell_model::SpanKind::Server,
                    Kind::Client => tracewell_model::SpanKind::Client,
                    Kind::Producer => tracewell_model::SpanKind::Producer,
                    Kind::Consumer => tracewell_model::SpanKind::Consumer,
                })
            }
            (Field::Intrinsic(Intrinsic::Duration), op, Value::Duration(d)) => {
                let d = u64::try_from(*d).unwrap_or(0);
                match op {
                    BinaryOp::Gt | BinaryOp::Gte => {
                        req.min_duration_nano = Some(req.min_duration_nano.unwrap_or(0).max(d))
                    }
                    BinaryOp::Lt | BinaryOp::Lte => {
                        req.max_duration_nano =
                            Some(req.max_duration_nano.unwrap_or(u64::MAX).min(d))
                    }
                    _ => {}
                }
            }
            (Field::Attribute(a), op, value) if !a.parent => {
                let service = a.name == "service.name"
                    && matches!(a.scope, AttributeScope::Resource | AttributeScope::Unscoped);
                match (op, value) {
                    (BinaryOp::Eq, Value::Str(v)) if service => req.service = Some(v.clone()),
                    _ if !matches!(a.scope, AttributeScope::Span | AttributeScope::Unscoped) => {}
                    (BinaryOp::Eq, Value::Str(v)) => {
                        let escaped = v.replace('\\', "\\\\").replace('|', "\\|");
                        req.attributes
                            .extend(AttrCondition::new(&a.name, MatchOp::Eq, &escaped).ok());
                    }
                    (BinaryOp::Eq, Value::Int(i)) => req
                        .attributes
                        .extend(AttrCondition::new(&a.name, MatchOp::Eq, &i.to_string()).ok()),
                    (BinaryOp::Eq, Value::Bool(b)) => req
                        .attributes
                        .extend(AttrCondition::new(&a.name, MatchOp::Eq, &b.to_string()).ok()),
                    (BinaryOp::Regex, Value::Str(pattern)) => req
                        .attributes
                        .extend(AttrCondition::new(&a.name, MatchOp::Regex, pattern).ok()),
                    _ => {}
                }
            }
            _ => {}
        }
    }
    if let (Some(min), Some(max)) = (req.min_duration_nano, req.max_duration_nano) {
        if min > max {
            return None;
        }
    }
    Some(req)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pushed(q: &str) -> SearchRequest {
        pushdown(&compile(q).unwrap().conditions()).expect("consistent")
    }

    #[test]
    fn span_conditions_become_a_search() {
        let req = pushed(
            r#"{ resource.service.name = "checkout" && name = "GET /cart" && status = error && kind = server && duration > 100ms && span.http.response.status_code = 500 && .user =~ "u-.*" }"#,
        );
        assert_eq!(req.service.as_deref(), Some("checkout"));
        assert_eq!(req.operation.as_deref(), Some("GET /cart"));
        assert_eq!(req.status, Some(tracewell_model::StatusCode::Error));
        assert_eq!(req.kind, Some(tracewell_model::SpanKind::Server));
        assert_eq!(req.min_duration_nano, Some(100_000_000));
        assert_eq!(req.attributes.len(), 2);
        assert_eq!(req.attributes[1].op, MatchOp::Regex);
    }

    #[test]
    fn conditions_without_a_search_form_widen_the_candidates() {
        // Structural queries, disjunctions and resource attributes other than the service are left to evaluation.
        for q in [
            r#"{ .a = "x" } >> { .b = "y" }"#,
            r#"{ .a = "x" || .b = "y" }"#,
            r#"{ resource.k8s.pod.name = "p" }"#,
            r#"{ span.ratio > 0.5 }"#,
        ] {
            let req = pushed(q);
            assert!(
                req.attributes.is_empty() && req.service.is_none(),
                "{q}: {req:?}"
            );
        }
    }

    #[test]
    fn contradictory_duration_bounds_match_nothing() {
        let q = compile("{ duration > 2s && duration < 1s }").unwrap();
        assert!(pushdown(&q.conditions()).is_none());
    }
}
