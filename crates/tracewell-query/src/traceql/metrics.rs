//! TraceQL metrics queries (`{ ... } | rate() by (...)`, `quantile_over_time`, ...) over every span of a range:
//! the heads' traces, then each block overlapping the range, read trace by trace in chunks (bounded memory). The
//! query's spanset pipeline selects spans per trace (a trace split across blocks is evaluated per part, as each
//! part is read); the selected spans that start in the range feed the language crate's aggregator, one series per
//! `by()` group and a value per step. `compare()` walks the same spans: each is also tested against the selection
//! filter (one pass over the trace's structure for all of them) and feeds the language crate's compare aggregator,
//! which counts spans per attribute value for the selection and the baseline.

use tracewell_model::{Span, TenantId};
use tracewell_store::block::{BlockTraces, MergeInput};
use tracewell_traceql::ast::{MetricsPipeline, Root, SpansetFilter};
use tracewell_traceql::compare::{selection_filter, CompareAggregator};
use tracewell_traceql::metrics::{apply_second_stages, MetricsAggregator, Series};
use tracewell_traceql::view::TraceView;
use tracewell_traceql::Evaluator;

use super::metrics_columns::{self, ColumnPlan};
use super::{compile, view};
use crate::error::{QueryError, Result};
use crate::QueryService;

/// Spans read from a block at a time: a v2 row group of the default size (`WriteOptions::row_group_spans`), so
/// that chunks follow row groups and none is decoded twice.
const CHUNK_SPANS: usize = 16_384;

/// A TraceQL metrics query over `[start, end)` in steps of `step` (all unix nanoseconds).
#[derive(Debug, Clone)]
pub struct TraceqlMetricsRequest {
    pub query: String,
    pub start_unix_nano: u64,
    pub end_unix_nano: u64,
    pub step_nano: u64,
}

/// Series of a metrics query.
#[derive(Debug, Clone, Default)]
pub struct TraceqlMetricsResult {
    pub series: Vec<Series>,
    /// Spans read (heads and blocks in the range).
    pub inspected_spans: u64,
    pub inspected_blocks: u32,
    /// Blocks that could not be read (the series may be low), and what `compare()` left out to bound memory.
    pub warnings: Vec<String>,
}

/// Whether a query is a metrics query (it parses; errors are the caller's to report).
pub fn is_metrics_query(text: &str) -> bool {
    tracewell_traceql::parse(text).is_ok_and(|q| matches!(q.root, Root::Metrics(_)))
}

impl QueryService {
    /// Runs a TraceQL metrics query, traced for self-tracing.
    pub async fn traceql_metrics(
        &self,
        tenant: &TenantId,
        req: &TraceqlMetricsRequest,
    ) -> Result<TraceqlMetricsResult> {
        let work = crate::query_work("traceql metrics", tenant);
        work.set("tracewell.query", req.query.clone());
        let result = self.traceql_metrics_inner(tenant, req).await;
        work.finish(&result, |w, found| {
            w.set("tracewell.series", found.series.len() as i64);
            w.set("tracewell.inspected_spans", found.inspected_spans as i64);
        });
        result
    }

    /// Runs a TraceQL metrics query under the query timeout.
    async fn traceql_metrics_inner(
        &self,
        tenant: &TenantId,
        req: &TraceqlMetricsRequest,
    ) -> Result<TraceqlMetricsResult> {
        let query = compile(&req.query)?;
        let Root::Metrics(metrics) = &query.root else {
            return Err(QueryError::bad(
                "TraceQL: not a metrics query; add a metrics function such as | rate() or | count_over_time()",
            ));
        };
        let pipeline: &MetricsPipeline = match metrics.expr.pipelines()[..] {
            [single] => single,
            _ => {
                return Err(QueryError::bad(
                    "TraceQL: arithmetic between metrics queries is not supported",
                ))
            }
        };
        if req.step_nano == 0 || req.end_unix_nano <= req.start_unix_nano {
            return Err(QueryError::bad(
                "metrics need start before end and a positive step",
            ));
        }
        self.check_range(&crate::TimeRange {
            start_unix_nano: req.start_unix_nano,
            end_unix_nano: req.end_unix_nano,
        })?;
        let as_i64 = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let (start, end, step) = (
            as_i64(req.start_unix_nano),
            as_i64(req.end_unix_nano),
            as_i64(req.step_nano),
        );
        let aggregator = match selection_filter(&pipeline.function) {
            Some(filter) => {
                CompareAggregator::new(&pipeline.function, start, end, step).map(|aggregator| {
                    Aggregator::Compare {
                        aggregator: Box::new(aggregator),
                        filter,
                    }
                })
            }
            None => MetricsAggregator::new(&pipeline.function, start, end, step)
                .map(Aggregator::Samples),
        }
        .map_err(|e| QueryError::bad(format!("TraceQL: {e}")))?;
        let evaluator =
            Evaluator::new(&query).map_err(|e| QueryError::bad(format!("TraceQL: {e}")))?;
        let plan = match &aggregator {
            Aggregator::Samples(samples) => {
                let search = super::pushdown(&query.conditions());
                metrics_columns::plan(&evaluator, pipeline, samples, search)
            }
            Aggregator::Compare { .. } => None,
        };
        let mut run = Run {
            evaluator: &evaluator,
            aggregator,
            start: req.start_unix_nano,
            end: req.end_unix_nano,
            result: TraceqlMetricsResult::default(),
        };
        self.limited(self.metrics_over_range(tenant, &mut run, plan.as_ref()))
            .await?;
        let Run {
            aggregator,
            mut result,
            ..
        } = run;
        let series = match aggregator {
            Aggregator::Samples(aggregator) => aggregator.finish(),
            Aggregator::Compare { aggregator, .. } => {
                result.warnings.extend(aggregator.warnings());
                aggregator.finish()
            }
        };
        let series = apply_second_stages(series, &pipeline.stages);
        result.series = apply_second_stages(series, &metrics.stages);
        Ok(result)
    }

    /// Feeds the spans of the range to the run's aggregator: the heads' trace by trace, the blocks' from their
    /// columns when the query has a column plan, else trace by trace.
    async fn metrics_over_range(
        &self,
        tenant: &TenantId,
        run: &mut Run<'_, '_>,
        plan: Option<&ColumnPlan<'_>>,
    ) -> Result<()> {
        for head in self.store.heads(tenant) {
            head.visit_traces(|_, spans| run.trace(spans));
        }
        let objects = self.store.objects();
        for meta in self.store.blocks(tenant) {
            let stats = &meta.stats;
            if stats.max_end_unix_nano < run.start || stats.min_start_unix_nano >= run.end {
                continue;
            }
            run.result.inspected_blocks += 1;
            let input = MergeInput {
                path: meta.data_path(),
                size: Some(meta.size_bytes),
                rows: usize::try_from(stats.span_count).unwrap_or(usize::MAX),
            };
            let read = async {
                if let (Some(plan), Aggregator::Samples(aggregator)) = (plan, &mut run.aggregator) {
                    run.result.inspected_spans += self
                        .metrics_from_columns(&meta, plan, aggregator, run.start, run.end)
                        .await?;
                    return Ok(());
                }
                let mut traces = BlockTraces::open(&objects, &input, CHUNK_SPANS).await?;
                while let Some(spans) = traces.next_trace().await? {
                    run.trace(&spans);
                }
                Ok::<_, QueryError>(())
            };
            if let Err(e) = read.await {
                self.store.record_block_read_error();
                tracing::warn!(block = %meta.id, error = %e, "metrics query skipped an unreadable block");
                run.result
                    .warnings
                    .push(format!("block {} could not be read: {e}", meta.id));
            }
        }
        Ok(())
    }
}

/// What the selected spans feed.
enum Aggregator<'q> {
    /// `rate()`, `count_over_time()`, `quantile_over_time()`, ...
    Samples(MetricsAggregator),
    /// `compare()`, with its selection filter (boxed: its two groups' state is large).
    Compare {
        aggregator: Box<CompareAggregator>,
        filter: &'q SpansetFilter,
    },
}

/// The state of one metrics query.
struct Run<'e, 'q> {
    evaluator: &'e Evaluator<'q>,
    aggregator: Aggregator<'q>,
    start: u64,
    end: u64,
    result: TraceqlMetricsResult,
}

impl Run<'_, '_> {
    /// Selects the trace's spans and feeds those starting in the range to the aggregator.
    fn trace(&mut self, spans: &[Span]) {
        self.result.inspected_spans += spans.len() as u64;
        if !spans
            .iter()
            .any(|s| s.start_unix_nano >= self.start && s.start_unix_nano < self.end)
        {
            return;
        }
        let holder = view::TraceHolder::new(spans);
        let trace = holder.view(spans);
        let selected = self.evaluator.metrics_spans(&trace);
        let in_range: Vec<(usize, i64)> = selected
            .into_iter()
            .flatten()
            .filter_map(|index| {
                let start = trace.span(index)?.span.start_unix_nano;
                (start >= self.start && start < self.end)
                    .then(|| (index, i64::try_from(start).unwrap_or(i64::MAX)))
            })
            .collect();
        match &mut self.aggregator {
            Aggregator::Samples(aggregator) => {
                for (index, start) in in_range {
                    if let Some(span) = trace.span(index) {
                        aggregator.observe(start, span);
                    }
                }
            }
            Aggregator::Compare { aggregator, filter } => {
                // Only spans in the selection window can be selected: the filter is not evaluated for the others.
                let candidates: Vec<usize> = in_range
                    .iter()
                    .filter(|(_, start)| aggregator.in_selection_window(*start))
                    .map(|(index, _)| *index)
                    .collect();
                // One answer per candidate, in the order of `in_range`.
                let mut matches = self
                    .evaluator
                    .spans_matching(filter, &trace, &candidates)
                    .into_iter();
                for (index, start) in in_range {
                    let matches_filter =
                        aggregator.in_selection_window(start) && matches.next().unwrap_or(false);
                    if let Some(span) = trace.span(index) {
                        aggregator.observe(start, span, matches_filter);
                    }
                }
            }
        }
    }
}
