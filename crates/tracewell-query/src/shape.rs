//! The shape of one trace, for analysis: the span tree, each span's self time (its duration minus the time its
//! children cover), the critical path below any span, error origins, N+1 call patterns and messaging lag.
//! Everything here is pure computation over the spans of a trace.

use std::collections::HashMap;

use tracewell_model::{Span, SpanId, SpanKind, StatusCode};

use crate::normalize::statement_key;

/// One trace's spans with their tree.
pub struct TraceShape<'a> {
    pub spans: &'a [Span],
    /// Children of each span (indexes), sorted by start.
    children: Vec<Vec<usize>>,
    /// Parent of each span within this trace.
    parents: Vec<Option<usize>>,
    /// Span id → index.
    by_id: HashMap<SpanId, usize>,
    /// Spans without a parent in this trace.
    pub roots: Vec<usize>,
}

/// A parent with many sequential calls of the same statement or route.
#[derive(Debug, Clone, PartialEq)]
pub struct RepeatedCalls {
    /// Index of the parent span.
    pub parent: usize,
    /// The normalised statement, route or span name the calls share.
    pub statement: String,
    pub count: usize,
    /// Sum of the calls' durations.
    pub total_nano: u64,
}

/// Time from a message's publish to the start of its processing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MessageLag {
    pub producer: usize,
    pub consumer: usize,
    pub lag_nano: u64,
}

impl<'a> TraceShape<'a> {
    pub fn new(spans: &'a [Span]) -> Self {
        let by_id: HashMap<_, usize> = spans
            .iter()
            .enumerate()
            .map(|(i, s)| (s.span_id, i))
            .collect();
        let mut children = vec![Vec::new(); spans.len()];
        let mut parents = vec![None; spans.len()];
        let mut roots = Vec::new();
        for (i, span) in spans.iter().enumerate() {
            match span.parent_span_id.and_then(|p| by_id.get(&p)) {
                Some(&parent) if parent != i => {
                    children[parent].push(i);
                    parents[i] = Some(parent);
                }
                _ => roots.push(i),
            }
        }
        for list in &mut children {
            list.sort_by_key(|&c| spans[c].start_unix_nano);
        }
        Self {
            spans,
            children,
            parents,
            by_id,
            roots,
        }
    }

    /// Whether `pred` holds for span `i` or one of its ancestors.
    pub fn at_or_below(&self, mut i: usize, pred: impl Fn(&Span) -> bool) -> bool {
        // Bounded by the span count, so a cycle of parent ids cannot loop forever.
        for _ in 0..self.spans.len() {
            if pred(&self.spans[i]) {
                return true;
            }
            match self.parents[i] {
                Some(p) => i = p,
                None => return false,
            }
        }
        false
    }

    pub fn children(&self, i: usize) -> &[usize] {
        &self.children[i]
    }

    /// The span's duration not covered by any child (children clipped to the span).
    pub fn self_time(&self, i: usize) -> u64 {
        let span = &self.spans[i];
        let (start, end) = (
            span.start_unix_nano,
            span.end_unix_nano.max(span.start_unix_nano),
        );
        let mut covered = 0u64;
        let mut cursor = start;
        for &c in &self.children[i] {
            let child = &self.spans[c];
            let (cs, ce) = (
                child.start_unix_nano.max(cursor),
                child.end_unix_nano.min(end),
            );
            if ce > cs {
                covered += ce - cs;
                cursor = ce;
            }
        }
        (end - start).saturating_sub(covered)
    }

    /// Self time of every span.
    pub fn self_times(&self) -> Vec<u64> {
        (0..self.spans.len()).map(|i| self.self_time(i)).collect()
    }

    /// Time each span spends on the critical path below `root` (the chain of work that decides when `root`
    /// ends): walking back from the end, the last child to finish owns the time it covers, recursively; the
    /// rest is the span's own.
    pub fn critical_path(&self, root: usize) -> HashMap<usize, u64> {
        let mut out = HashMap::new();
        let end = self.spans[root].end_unix_nano;
        self.critical_below(root, end, &mut out, 0);
        out
    }

    /// Critical-path time of every span over the whole trace (the critical paths below each root, summed).
    pub fn critical_times(&self) -> HashMap<usize, u64> {
        let mut out = HashMap::new();
        for &root in &self.roots {
            for (i, t) in self.critical_path(root) {
                *out.entry(i).or_default() += t;
            }
        }
        out
    }

    fn critical_below(&self, i: usize, upto: u64, out: &mut HashMap<usize, u64>, depth: usize) {
        let span = &self.spans[i];
        let start = span.start_unix_nano;
        let mut cursor = span.end_unix_nano.min(upto);
        if cursor <= start {
            return;
        }
        if depth < 512 {
            let mut by_end = self.children[i].clone();
            by_end.sort_by_key(|&c| std::cmp::Reverse(self.spans[c].end_unix_nano));
            for c in by_end {
                let child = &self.spans[c];
                if child.start_unix_nano >= cursor || child.end_unix_nano <= start {
                    continue;
                }
                let child_end = child.end_unix_nano.min(cursor);
                *out.entry(i).or_default() += cursor - child_end;
                self.critical_below(c, child_end, out, depth + 1);
                cursor = child.start_unix_nano.max(start);
                if cursor <= start {
                    break;
                }
            }
        }
        *out.entry(i).or_default() += cursor.saturating_sub(start);
    }

    /// Spans with error status none of whose children failed: where errors start.
    pub fn error_origins(&self) -> Vec<usize> {
        (0..self.spans.len())
            .filter(|&i| self.spans[i].status.code == StatusCode::Error)
            .filter(|&i| {
                !self.children[i]
                    .iter()
                    .any(|&c| self.spans[c].status.code == StatusCode::Error)
            })
            .collect()
    }

    /// Parents with at least `min_count` CLIENT children sharing a normalised statement (or HTTP route, or
    /// name) that ran mostly one after another.
    pub fn repeated_calls(&self, min_count: usize) -> Vec<RepeatedCalls> {
        let mut found = Vec::new();
        for (parent, kids) in self.children.iter().enumerate() {
            if kids.len() < min_count {
                continue;
            }
            let mut groups: HashMap<String, Vec<usize>> = HashMap::new();
            for &c in kids {
                let child = &self.spans[c];
                if child.kind == SpanKind::Client {
                    groups.entry(statement_key(child)).or_default().push(c);
                }
            }
            for (statement, calls) in groups {
                if calls.len() >= min_count && self.mostly_sequential(&calls) {
                    found.push(RepeatedCalls {
                        parent,
                        statement,
                        count: calls.len(),
                        total_nano: calls.iter().map(|&c| self.spans[c].duration_nano()).sum(),
                    });
                }
            }
        }
        found.sort_by_key(|r| std::cmp::Reverse(r.count));
        found
    }

    /// Whether at least 80% of consecutive calls (by start) begin after the previous one ended.
    fn mostly_sequential(&self, calls: &[usize]) -> bool {
        let mut sorted: Vec<&Span> = calls.iter().map(|&c| &self.spans[c]).collect();
        sorted.sort_by_key(|s| s.start_unix_nano);
        let sequential = sorted
            .windows(2)
            .filter(|w| w[1].start_unix_nano >= w[0].end_unix_nano)
            .count();
        sequential * 5 >= (sorted.len() - 1) * 4
    }

    /// For each CONSUMER span whose parent (or linked span) is a PRODUCER in this trace: the wait between the
    /// publish ending and the processing starting.
    pub fn message_lags(&self) -> Vec<MessageLag> {
        let mut lags = Vec::new();
        for (i, span) in self.spans.iter().enumerate() {
            if span.kind != SpanKind::Consumer {
                continue;
            }
            let producer = span
                .parent_span_id
                .into_iter()
                .chain(span.links.iter().map(|l| l.span_id))
                .filter_map(|id| self.by_id.get(&id).copied())
                .find(|&p| self.spans[p].kind == SpanKind::Producer);
            if let Some(p) = producer {
                let lag = span
                    .start_unix_nano
                    .saturating_sub(self.spans[p].end_unix_nano);
                lags.push(MessageLag {
                    producer: p,
                    consumer: i,
                    lag_nano: lag,
                });
            }
        }
        lags
    }

    /// Start of the earliest span and end of the latest.
    pub fn bounds(&self) -> (u64, u64) {
        let start = self.spans.iter().map(|s| s.start_unix_nano).min();
        let end = self.spans.iter().map(|s| s.end_unix_nano).max();
        (start.unwrap_or(0), end.unwrap_or(0))
    }

    /// The root that starts first (the request's entry), if any.
    pub fn first_root(&self) -> Option<usize> {
        self.roots
            .iter()
            .copied()
            .min_by_key(|&r| self.spans[r].start_unix_nano)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Arc;

    use tracewell_model::{Attribute, Resource, SpanId, Status, TraceId};

    use super::*;

    /// A span of `service` from `start` to `end` milliseconds.
    pub(crate) fn span(
        service: &str,
        name: &str,
        id: u64,
        parent: Option<u64>,
        kind: SpanKind,
        (start, end): (u64, u64),
    ) -> Span {
        Span {
            trace_id: TraceId([1; 16]),
            span_id: SpanId(id.to_be_bytes()),
            parent_span_id: parent.map(|p| SpanId(p.to_be_bytes())),
            name: name.into(),
            kind,
            start_unix_nano: start * 1_000_000,
            end_unix_nano: end * 1_000_000,
            resource: Arc::new(Resource::new(
                vec![Attribute::str("service.name", service)],
                0,
                String::new(),
            )),
            ..Default::default()
        }
    }

    pub(crate) fn failed(mut span: Span, message: &str) -> Span {
        span.status = Status {
            code: StatusCode::Error,
            message: message.into(),
        };
        span
    }

    const MS: u64 = 1_000_000;

    #[test]
    fn self_time_subtracts_the_union_of_children() {
        let spans = vec![
            span("a", "root", 1, None, SpanKind::Server, (0, 100)),
            span("a", "x", 2, Some(1), SpanKind::Client, (10, 40)),
            span("a", "y", 3, Some(1), SpanKind::Client, (30, 60)),
            span("a", "late", 4, Some(1), SpanKind::Client, (90, 150)),
        ];
        let shape = TraceShape::new(&spans);
        assert_eq!(shape.self_time(0), 40 * MS);
        assert_eq!(shape.self_time(1), 30 * MS);
    }

    #[test]
    fn critical_path_follows_the_last_finishing_child() {
        // root 0..100 calls fast 10..20 and slow 15..90 in parallel; slow calls db 20..80. Walking back from
        // the end, the slow call owns 15..90 and the fast one only what is left before it.
        let spans = vec![
            span("gw", "root", 1, None, SpanKind::Server, (0, 100)),
            span("gw", "fast", 2, Some(1), SpanKind::Client, (10, 20)),
            span("gw", "slow", 3, Some(1), SpanKind::Client, (15, 90)),
            span("db", "query", 4, Some(3), SpanKind::Client, (20, 80)),
        ];
        let shape = TraceShape::new(&spans);
        let cp = shape.critical_path(0);
        assert_eq!(cp[&0], 20 * MS, "0..10 and 90..100");
        assert_eq!(
            cp[&1],
            5 * MS,
            "10..15: the fast call only until the slow one starts"
        );
        assert_eq!(cp[&2], 15 * MS, "15..20 and 80..90");
        assert_eq!(cp[&3], 60 * MS);
        assert_eq!(cp.values().sum::<u64>(), 100 * MS);
    }

    #[test]
    fn error_origin_is_the_deepest_failing_span() {
        let spans = vec![
            failed(
                span("gw", "GET /", 1, None, SpanKind::Server, (0, 100)),
                "500",
            ),
            failed(
                span("gw", "call", 2, Some(1), SpanKind::Client, (5, 95)),
                "500",
            ),
            failed(
                span(
                    "pay",
                    "POST /charges",
                    3,
                    Some(2),
                    SpanKind::Server,
                    (10, 90),
                ),
                "boom",
            ),
            span("pay", "SELECT", 4, Some(3), SpanKind::Client, (20, 30)),
        ];
        let shape = TraceShape::new(&spans);
        assert_eq!(shape.error_origins(), vec![2]);
    }

    #[test]
    fn repeated_sequential_statements_are_found_and_parallel_ones_are_not() {
        let mut spans = vec![span(
            "cat",
            "GET /products",
            1,
            None,
            SpanKind::Server,
            (0, 200),
        )];
        for i in 0..8u64 {
            let mut s = span(
                "cat",
                "SELECT",
                10 + i,
                Some(1),
                SpanKind::Client,
                (10 + i * 10, 18 + i * 10),
            );
            s.attributes.push(Attribute::str(
                "db.query.text",
                format!("SELECT * FROM products WHERE id = {i}"),
            ));
            spans.push(s);
        }
        let shape = TraceShape::new(&spans);
        let found = shape.repeated_calls(5);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].count, 8);
        assert_eq!(found[0].statement, "SELECT * FROM products WHERE id = ?");
        assert_eq!(found[0].total_nano, 64 * MS);

        let parallel: Vec<Span> = spans
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let mut s = s.clone();
                if i > 0 {
                    s.start_unix_nano = 10 * MS;
                    s.end_unix_nano = 50 * MS;
                }
                s
            })
            .collect();
        assert!(TraceShape::new(&parallel).repeated_calls(5).is_empty());
    }

    #[test]
    fn message_lag_is_consumer_start_minus_producer_end() {
        let spans = vec![
            span("orders", "publish", 1, None, SpanKind::Producer, (0, 5)),
            span(
                "worker",
                "process",
                2,
                Some(1),
                SpanKind::Consumer,
                (305, 400),
            ),
        ];
        let lags = TraceShape::new(&spans).message_lags();
        assert_eq!(
            lags,
            vec![MessageLag {
                producer: 0,
                consumer: 1,
                lag_nano: 300 * MS
            }]
        );
    }
}
