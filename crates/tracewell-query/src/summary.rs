//! Trace summaries: what a search returns per trace (root service and operation, start, duration, span and error
//! counts, services involved, a few matching spans), and how partial summaries from head and blocks merge.

use std::collections::BTreeMap;

use tracewell_model::{SpanId, StatusCode, TraceId};

/// A span that met the search conditions.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchedSpan {
    pub span_id: SpanId,
    pub service: String,
    pub name: String,
    pub start_unix_nano: u64,
    pub duration_nano: u64,
    pub status: StatusCode,
}

impl MatchedSpan {
    pub fn of(span: &tracewell_model::Span) -> Self {
        Self {
            span_id: span.span_id,
            service: span.service_name().to_owned(),
            name: span.name.clone(),
            start_unix_nano: span.start_unix_nano,
            duration_nano: span.duration_nano(),
            status: span.status.code,
        }
    }
}

/// Spans and errors of one service within a trace.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServiceStats {
    pub spans: u32,
    pub errors: u32,
}

/// One trace in search results.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceSummary {
    pub trace_id: TraceId,
    /// Service and span name of the root span (the span without a parent); `None` while no root was received.
    pub root_service: Option<String>,
    pub root_operation: Option<String>,
    /// Earliest span start.
    pub start_unix_nano: u64,
    /// From the earliest start to the latest end.
    pub duration_nano: u64,
    pub span_count: u32,
    pub error_count: u32,
    /// Services with their span and error counts, by name.
    pub services: BTreeMap<String, ServiceStats>,
    /// Spans that met the conditions (at most the request's `spans_per_trace`), earliest first.
    pub matched: Vec<MatchedSpan>,
    /// How many spans met the conditions in all.
    pub matched_count: u32,
}

impl TraceSummary {
    pub fn new(trace_id: TraceId) -> Self {
        Self {
            trace_id,
            root_service: None,
            root_operation: None,
            start_unix_nano: u64::MAX,
            duration_nano: 0,
            span_count: 0,
            error_count: 0,
            services: BTreeMap::new(),
            matched: Vec::new(),
            matched_count: 0,
        }
    }

    pub fn end_unix_nano(&self) -> u64 {
        self.start_unix_nano.saturating_add(self.duration_nano)
    }

    /// Widens the trace's time span to cover `[start, end]` (before its counts include the new part).
    fn extend_to(&mut self, start: u64, end: u64) {
        let end = if self.span_count == 0 {
            end
        } else {
            self.end_unix_nano().max(end)
        };
        self.start_unix_nano = self.start_unix_nano.min(start);
        self.duration_nano = end.saturating_sub(self.start_unix_nano);
    }

    /// Adds one span's contribution.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn add_span(
        &mut self,
        service: &str,
        name: &str,
        is_root: bool,
        start: u64,
        duration: u64,
        error: bool,
    ) {
        self.extend_to(start, start.saturating_add(duration));
        self.span_count += 1;
        self.error_count += u32::from(error);
        let stats = match self.services.get_mut(service) {
            Some(s) => s,
            None => self.services.entry(service.to_owned()).or_default(),
        };
        stats.spans += 1;
        stats.errors += u32::from(error);
        if is_root && self.root_service.is_none() {
            self.root_service = Some(service.to_owned());
            self.root_operation = Some(name.to_owned());
        }
    }

    /// Folds in the summary of the same trace from another source (head or block).
    pub(crate) fn merge(&mut self, other: TraceSummary, spans_per_trace: usize) {
        if other.span_count > 0 {
            self.extend_to(other.start_unix_nano, other.end_unix_nano());
        }
        self.span_count += other.span_count;
        self.error_count += other.error_count;
        for (service, s) in other.services {
            let mine = self.services.entry(service).or_default();
            mine.spans += s.spans;
            mine.errors += s.errors;
        }
        if self.root_service.is_none() {
            self.root_service = other.root_service;
            self.root_operation = other.root_operation;
        }
        self.matched_count += other.matched_count;
        self.matched.extend(other.matched);
        self.matched.sort_by_key(|m| (m.start_unix_nano, m.span_id));
        self.matched.dedup_by_key(|m| m.span_id);
        self.matched.truncate(spans_per_trace);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_summaries_merge_into_the_whole_trace() {
        let id = TraceId([1; 16]);
        let mut head = TraceSummary::new(id);
        head.add_span("api", "GET /a", false, 150, 10, true);
        let mut block = TraceSummary::new(id);
        block.add_span("gateway", "GET", true, 100, 100, false);
        block.add_span("api", "db", false, 120, 5, false);
        head.merge(block, 3);
        assert_eq!(head.start_unix_nano, 100);
        assert_eq!(head.duration_nano, 100);
        assert_eq!((head.span_count, head.error_count), (3, 1));
        assert_eq!(head.root_service.as_deref(), Some("gateway"));
        assert_eq!(
            head.services["api"],
            ServiceStats {
                spans: 2,
                errors: 1
            }
        );
    }
}
