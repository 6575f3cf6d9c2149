//! Search: traces with at least one span meeting every condition, most recent first.
//!
//! 1. Heads are checked span by span.
//! 2. Blocks whose time range, services and operations (from `meta.json`) admit the conditions are scanned
//!    newest first, reading only the columns the conditions need. Once `limit` traces are found and the next
//!    block ends before the `limit`-th most recent of them started, older blocks cannot change the answer and
//!    are skipped.
//! 3. The chosen traces are summarized whole, from the heads and every block's trace index.

use std::collections::HashMap;
use std::sync::Arc;

use futures::TryStreamExt;
use tracewell_model::{Span, SpanId, TenantId, TraceId};
use tracewell_store::block::{self, schema::col, ScanRequest};
use tracewell_store::BlockMeta;

use crate::columns::{fixed, u64s, u8s};
use crate::error::{QueryError, Result};
use crate::matcher::{BatchMatcher, SpanMatcher};
use crate::request::{DurationScope, SearchOrder, SearchRequest};
use crate::summary::{MatchedSpan, TraceSummary};
use crate::{query_work, QueryService};

/// What a search did, for the response and for tuning.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchMetrics {
    /// Spans checked against the conditions.
    pub inspected_spans: u64,
    /// Blocks scanned.
    pub inspected_blocks: u32,
    /// Blocks left out by their `meta.json` (time range, services, operations) or by early termination.
    pub skipped_blocks: u32,
    pub total_blocks: u32,
}

/// Search results.
#[derive(Debug, Clone, Default)]
pub struct SearchResult {
    /// Most recent first.
    pub traces: Vec<TraceSummary>,
    /// More traces matched than `limit`: the answer is cut.
    pub limit_hit: bool,
    pub metrics: SearchMetrics,
    /// Blocks that could not be read, so results may be incomplete.
    pub warnings: Vec<String>,
}

/// A trace found by phase 1.
struct Candidate {
    /// Start of the trace as far as the sources that matched know it.
    start: u64,
    /// Duration of its longest matching span.
    longest: u64,
    matched: Vec<MatchedSpan>,
    matched_count: u32,
}

impl Candidate {
    fn new(start: u64) -> Self {
        Self {
            start,
            longest: 0,
            matched: Vec::new(),
            matched_count: 0,
        }
    }

    fn add(&mut self, span: MatchedSpan, keep: usize) {
        self.matched_count += 1;
        self.longest = self.longest.max(span.duration_nano);
        if self.matched.len() < keep {
            self.matched.push(span);
        }
    }
}

impl QueryService {
    /// The largest search `limit` `tenant` may ask for: its `query_max_limit` override, else `max_limit`.
    pub fn max_limit(&self, tenant: &TenantId) -> usize {
        self.store
            .config()
            .overrides
            .tenant(tenant.as_str())
            .query_max_limit
            .unwrap_or(self.config.max_limit)
    }

    /// Checks a search request's bounds.
    pub fn validate_search(&self, tenant: &TenantId, req: &SearchRequest) -> Result<()> {
        if req.limit == 0 {
            return Err(QueryError::bad("limit must be at least 1"));
        }
        let max_limit = self.max_limit(tenant);
        if req.limit > max_limit {
            return Err(QueryError::bad(format!(
                "limit {} exceeds the maximum of {max_limit}",
                req.limit
            )));
        }
        if let (Some(min), Some(max)) = (req.min_duration_nano, req.max_duration_nano) {
            if min > max {
                return Err(QueryError::bad("minDuration is greater than maxDuration"));
            }
        }
        if let (Some(start), Some(end)) = (req.start_unix_nano, req.end_unix_nano) {
            self.check_range(&crate::TimeRange {
                start_unix_nano: start,
                end_unix_nano: end,
            })?;
        }
        Ok(())
    }

    /// Runs a search under the query timeout.
    pub async fn search(&self, tenant: &TenantId, req: &SearchRequest) -> Result<SearchResult> {
        self.validate_search(tenant, req)?;
        let work = query_work("search", tenant);
        let result = self.limited(self.search_unbounded(tenant, req)).await;
        work.finish(&result, |w, found| {
            let m = &found.metrics;
            w.set("tracewell.traces", found.traces.len() as i64);
            w.set("tracewell.inspected_spans", m.inspected_spans as i64);
            w.set("tracewell.inspected_blocks", i64::from(m.inspected_blocks));
            w.set("tracewell.skipped_blocks", i64::from(m.skipped_blocks));
            w.set("tracewell.limit_hit", found.limit_hit);
        });
        result
    }

    pub(crate) async fn search_unbounded(
        &self,
        tenant: &TenantId,
        req: &SearchRequest,
    ) -> Result<SearchResult> {
        let mut result = SearchResult::default();
        let found = self.candidates(tenant, req, &mut result, None).await?;
        self.choose(tenant, req, found, result).await
    }

    /// Phase 1: traces with a matching span, and what was inspected. `sink` sees every matching span's start and
    /// duration (and then no block is skipped early).
    async fn candidates(
        &self,
        tenant: &TenantId,
        req: &SearchRequest,
        result: &mut SearchResult,
        mut sink: Option<&mut (dyn FnMut(u64, u64) + Send)>,
    ) -> Result<HashMap<TraceId, Candidate>> {
        let matcher = SpanMatcher::new(req);
        let keep = req.spans_per_trace;
        let mut found: HashMap<TraceId, Candidate> = HashMap::new();

        // Heads whose block is already written are read from the block below: visiting both would count their
        // spans twice in a heatmap.
        for head in self
            .store
            .heads(tenant)
            .into_iter()
            .filter(|h| !h.block_written())
        {
            head.visit_traces(|id, spans| {
                result.metrics.inspected_spans += spans.len() as u64;
                for span in spans.iter().filter(|s| matcher.matches(s)) {
                    let start = spans.iter().map(|s| s.start_unix_nano).min().unwrap_or(0);
                    let c = found.entry(*id).or_insert_with(|| Candidate::new(start));
                    c.start = c.start.min(start);
                    let span = MatchedSpan::of(span);
                    if let Some(sink) = sink.as_mut() {
                        sink(span.start_unix_nano, span.duration_nano);
                    }
                    c.add(span, keep);
                }
            });
        }

        let mut blocks = self.store.blocks(tenant);
        result.metrics.total_blocks = blocks.len() as u32;
        blocks.retain(|b| block_admits(b, &matcher));
        blocks.sort_by_key(|b| std::cmp::Reverse(b.stats.max_end_unix_nano));
        let early_stop = req.duration_scope == DurationScope::Span
            && req.order == SearchOrder::Recent
            && sink.is_none();
        for meta in &blocks {
            if early_stop && found.len() >= req.limit {
                let kth = kth_latest_start(&found, req.limit);
                if meta.stats.max_end_unix_nano < kth {
                    result.limit_hit = true;
                    continue;
                }
            }
            match self
                .scan_block(meta, &matcher, keep, &mut found, sink.as_deref_mut())
                .await
            {
                Ok(spans) => {
                    result.metrics.inspected_blocks += 1;
                    result.metrics.inspected_spans += spans;
                }
                Err(error) => {
                    tracing::warn!(tenant = %tenant, block = %meta.id, %error, "search skipped an unreadable block");
                    result
                        .warnings
                        .push(format!("block {} unreadable: {error}", meta.id));
                }
            }
        }
        result.metrics.skipped_blocks =
            result.metrics.total_blocks - result.metrics.inspected_blocks;
        Ok(found)
    }

    /// Phase 2: the `limit` traces to return, in the order asked for, summarized whole.
    async fn choose(
        &self,
        tenant: &TenantId,
        req: &SearchRequest,
        found: HashMap<TraceId, Candidate>,
        mut result: SearchResult,
    ) -> Result<SearchResult> {
        let mut candidates: Vec<(TraceId, Candidate)> = found.into_iter().collect();
        match req.order {
            SearchOrder::Recent => {
                candidates.sort_by(|a, b| b.1.start.cmp(&a.1.start).then(a.0.cmp(&b.0)))
            }
            SearchOrder::Duration => {
                candidates.sort_by(|a, b| b.1.longest.cmp(&a.1.longest).then(a.0.cmp(&b.0)))
            }
        }
        let all_blocks = self.store.blocks(tenant);
        for (id, candidate) in candidates {
            if result.traces.len() == req.limit {
                result.limit_hit = true;
                break;
            }
            let mut summary = self.summarize(tenant, &all_blocks, id).await?;
            summary.matched = candidate.matched;
            summary.matched_count = candidate.matched_count;
            if req.duration_scope == DurationScope::Trace {
                let d = summary.duration_nano;
                if req.min_duration_nano.is_some_and(|min| d < min)
                    || req.max_duration_nano.is_some_and(|max| d > max)
                {
                    continue;
                }
            }
            result.traces.push(summary);
        }
        match req.order {
            SearchOrder::Recent => result.traces.sort_by(|a, b| {
                b.start_unix_nano
                    .cmp(&a.start_unix_nano)
                    .then(a.trace_id.cmp(&b.trace_id))
            }),
            SearchOrder::Duration => result.traces.sort_by(|a, b| {
                b.duration_nano
                    .cmp(&a.duration_nano)
                    .then(a.trace_id.cmp(&b.trace_id))
            }),
        }
        Ok(result)
    }

    /// Counts of matching spans per time bucket and duration bucket over the search's range (every block in
    /// range is read: no early stop).
    pub async fn heatmap(
        &self,
        tenant: &TenantId,
        req: &SearchRequest,
        time_buckets: usize,
    ) -> Result<crate::heatmap::Heatmap> {
        self.validate_search(tenant, req)?;
        let (Some(start), Some(end)) = (req.start_unix_nano, req.end_unix_nano) else {
            return Err(QueryError::bad("a heatmap needs a time range"));
        };
        let mut heat = crate::heatmap::Heatmap::new(start, end, time_buckets)?;
        self.limited(async {
            let mut result = SearchResult::default();
            let mut add = |s: u64, d: u64| heat.add(s, d);
            self.candidates(tenant, req, &mut result, Some(&mut add))
                .await?;
            heat.inspected_spans = result.metrics.inspected_spans;
            Ok(())
        })
        .await?;
        Ok(heat)
    }

    /// Scans one block, adding matching spans to `found`; returns the spans inspected.
    async fn scan_block<F: FnMut(u64, u64) + ?Sized>(
        &self,
        meta: &Arc<BlockMeta>,
        matcher: &SpanMatcher<'_>,
        keep: usize,
        found: &mut HashMap<TraceId, Candidate>,
        mut sink: Option<&mut F>,
    ) -> Result<u64> {
        let lists = matcher.lists_for(&meta.stats);
        let columns = matcher.columns(lists);
        let inspected = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let conditions = matcher.value_conditions();
        let row_groups = match conditions.is_empty() {
            true => None,
            false => {
                let path = meta.data_path();
                block::row_groups_holding(&self.store.objects(), &path, &conditions).await?
            }
        };
        if row_groups.as_ref().is_some_and(Vec::is_empty) {
            // The block's value filters rule every row group out.
            return Ok(0);
        }
        let request = ScanRequest {
            columns: &columns,
            start_range: Some((matcher.from, matcher.to)),
            row_groups,
            batch_rows: 8192,
            filter: Some(crate::matcher::row_predicate(
                matcher.req,
                Arc::clone(&inspected),
                matcher.elsewhere(&meta.stats),
            )),
        };
        let mut stream = block::scan(
            self.store.objects(),
            &meta.data_path(),
            Some(meta.size_bytes),
            request,
        )
        .await?;
        let mut matched_here: Vec<TraceId> = Vec::new();
        while let Some(batch) = stream.try_next().await? {
            let rows = BatchMatcher::new(matcher, &batch, lists)?;
            let ids = fixed(&batch, col::TRACE_ID)?;
            let span_ids = fixed(&batch, col::SPAN_ID)?;
            let starts = u64s(&batch, col::START)?;
            let durations = u64s(&batch, col::DURATION)?;
            let statuses = u8s(&batch, col::STATUS_CODE)?;
            for row in (0..batch.num_rows()).filter(|&r| rows.matches(r)) {
                let id = TraceId(ids.value(row).try_into().unwrap_or([0; 16]));
                let span = MatchedSpan {
                    span_id: SpanId(span_ids.value(row).try_into().unwrap_or([0; 8])),
                    service: rows.service(row).to_owned(),
                    name: rows.name(row).to_owned(),
                    start_unix_nano: starts.value(row),
                    duration_nano: durations.value(row),
                    status: tracewell_model::StatusCode::from_i32(i32::from(statuses.value(row))),
                };
                if matched_here.last() != Some(&id) {
                    matched_here.push(id);
                }
                let c = found
                    .entry(id)
                    .or_insert_with(|| Candidate::new(span.start_unix_nano));
                c.start = c.start.min(span.start_unix_nano);
                if let Some(sink) = sink.as_mut() {
                    sink(span.start_unix_nano, span.duration_nano);
                }
                c.add(span, keep);
            }
        }
        // The trace's start within this block is known from its index; it is closer to the true start than the
        // matching spans' starts.
        if !matched_here.is_empty() {
            if let Ok(index) = self.indexes.get(&self.store, meta).await {
                for id in matched_here {
                    if let (Some(pos), Some(c)) = (index.position(&id), found.get_mut(&id)) {
                        c.start = c
                            .start
                            .min(crate::index::summary(&index, pos).start_unix_nano);
                    }
                }
            }
        }
        Ok(inspected.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// The whole trace's summary, from the heads and every block's index.
    pub(crate) async fn summarize(
        &self,
        tenant: &TenantId,
        blocks: &[Arc<BlockMeta>],
        id: TraceId,
    ) -> Result<TraceSummary> {
        let mut summary = TraceSummary::new(id);
        for head in self.store.heads(tenant) {
            let mut part = TraceSummary::new(id);
            for span in head.trace(&id) {
                add_span(&mut part, &span);
            }
            summary.merge(part, 0);
        }
        for meta in blocks {
            if !meta.may_contain(&id) {
                continue;
            }
            match self.indexes.get(&self.store, meta).await {
                Ok(index) => {
                    if let Some(pos) = index.position(&id) {
                        summary.merge(crate::index::summary(&index, pos), 0);
                    }
                }
                Err(error) => {
                    tracing::warn!(block = %meta.id, %error, "trace index unavailable; summary may be partial")
                }
            }
        }
        Ok(summary)
    }
}

pub(crate) fn add_span(summary: &mut TraceSummary, span: &Span) {
    summary.add_span(
        span.service_name(),
        &span.name,
        span.parent_span_id.is_none(),
        span.start_unix_nano,
        span.duration_nano(),
        span.status.code == tracewell_model::StatusCode::Error,
    );
}

/// Whether a block's `meta.json` admits the search: time overlap, the service, the operation.
fn block_admits(meta: &BlockMeta, m: &SpanMatcher<'_>) -> bool {
    let s = &meta.stats;
    if s.max_end_unix_nano < m.from || s.min_start_unix_nano > m.to || !m.block_may_match(s) {
        return false;
    }
    if let Some(service) = m.req.service.as_deref() {
        if s.services
            .binary_search_by(|x| x.as_str().cmp(service))
            .is_err()
        {
            return false;
        }
        if let Some(op) = m.req.operation.as_deref() {
            return s.operations.iter().any(|(sv, o)| sv == service && o == op);
        }
    } else if let Some(op) = m.req.operation.as_deref() {
        return s.operations.iter().any(|(_, o)| o == op);
    }
    true
}

/// The `k`-th most recent candidate start (`found.len() >= k`).
fn kth_latest_start(found: &HashMap<TraceId, Candidate>, k: usize) -> u64 {
    let mut starts: Vec<u64> = found.values().map(|c| c.start).collect();
    starts.sort_unstable_by(|a, b| b.cmp(a));
    starts[k - 1]
}
