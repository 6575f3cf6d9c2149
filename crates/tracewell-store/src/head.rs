//! The head block: recent spans in memory, indexed by trace id, and recent log records, until a flush turns them
//! into a Parquet block and a logs block.
//!
//! A head is written to by appenders that registered with it before it was sealed (see `tenant.rs`); the flush
//! waits for those appenders with [`Head::wait_idle`] before reading it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use parking_lot::RwLock;
use tokio::sync::Notify;
use tracewell_model::{LogRecord, Span, TraceId};

use crate::block::{self, BlockFormat, WriteOptions, WrittenBlock};
use crate::error::Result;
use crate::fast_hash::{FastHashMap, FastHashSet};

#[derive(Default)]
struct HeadData {
    traces: FastHashMap<TraceId, Vec<Span>>,
    logs: Vec<LogRecord>,
    bytes: usize,
    spans: usize,
    first_insert: Option<Instant>,
}

/// One tenant's in-memory block.
pub struct Head {
    data: RwLock<HeadData>,
    /// RED statistics and edges contributed by this head's spans; persisted when the head is flushed.
    pub rollup: parking_lot::Mutex<crate::rollup::Rollup>,
    /// Set once a flush made this head's block durable, so a retried flush (e.g. after the rollup write failed)
    /// does not write the block twice.
    pub(crate) block_written: std::sync::atomic::AtomicBool,
    /// Set once this head's log records are in a durable logs block (readers then skip them here).
    pub(crate) logs_written: std::sync::atomic::AtomicBool,
    inflight: AtomicUsize,
    idle: Notify,
}

/// Result of inserting a batch.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Inserted {
    pub spans: usize,
    pub bytes: usize,
    /// Spans refused because their trace already holds `max_spans_per_trace` spans.
    pub over_trace_limit: usize,
}

impl Head {
    pub fn new() -> Self {
        Self {
            data: RwLock::new(HeadData::default()),
            rollup: Default::default(),
            block_written: Default::default(),
            logs_written: Default::default(),
            inflight: AtomicUsize::new(0),
            idle: Notify::new(),
        }
    }

    /// Inserts spans, keeping at most `max_spans_per_trace` per trace.
    pub fn insert(&self, spans: Vec<Span>, max_spans_per_trace: usize) -> Inserted {
        let mut out = Inserted::default();
        let mut data = self.data.write();
        data.first_insert.get_or_insert_with(Instant::now);
        for span in spans {
            let size = span.approx_size();
            let trace = data.traces.entry(span.trace_id).or_default();
            if trace.len() >= max_spans_per_trace {
                out.over_trace_limit += 1;
                continue;
            }
            trace.push(span);
            out.spans += 1;
            out.bytes += size;
        }
        data.bytes += out.bytes;
        data.spans += out.spans;
        out
    }

    /// Inserts log records; returns the bytes they hold.
    pub fn insert_logs(&self, records: Vec<LogRecord>) -> usize {
        let bytes: usize = records.iter().map(LogRecord::approx_size).sum();
        let mut data = self.data.write();
        data.first_insert.get_or_insert_with(Instant::now);
        data.logs.extend(records);
        data.bytes += bytes;
        bytes
    }

    /// Calls `f` with every log record held here, unless they are already in a durable logs block.
    pub fn visit_logs(&self, mut f: impl FnMut(&LogRecord)) {
        if self.logs_written.load(Ordering::Acquire) {
            return;
        }
        self.data.read().logs.iter().for_each(&mut f);
    }

    pub fn log_count(&self) -> usize {
        self.data.read().logs.len()
    }

    /// Encodes the log records as a logs block: Parquet bytes and their time range.
    pub fn encode_logs(&self, zstd_level: i32) -> Result<(bytes::Bytes, u64, u64)> {
        let data = self.data.read();
        crate::logs::block::write(data.logs.iter().collect(), zstd_level)
    }

    /// The spans of one trace held here.
    pub fn trace(&self, trace_id: &TraceId) -> Vec<Span> {
        self.data
            .read()
            .traces
            .get(trace_id)
            .cloned()
            .unwrap_or_default()
    }

    /// Whether this head's block is already durable (its spans are then read from the block).
    pub fn block_written(&self) -> bool {
        self.block_written.load(Ordering::Acquire)
    }

    /// Calls `f` with every trace held here, under the head's read lock (inserts wait meanwhile).
    pub fn visit_traces(&self, mut f: impl FnMut(&TraceId, &[Span])) {
        for (id, spans) in &self.data.read().traces {
            f(id, spans);
        }
    }

    /// Encodes every span as a block without copying them, leaving out the traces in `skip` (tail sampling);
    /// the head stays readable meanwhile.
    pub fn encode_block(
        &self,
        format: BlockFormat,
        opts: &WriteOptions,
        skip: &FastHashSet<TraceId>,
    ) -> Result<WrittenBlock> {
        let data = self.data.read();
        let spans: Vec<&Span> = data
            .traces
            .iter()
            .filter(|(id, _)| !skip.contains(*id))
            .flat_map(|(_, spans)| spans)
            .collect();
        block::write(format, spans, opts)
    }

    pub fn bytes(&self) -> usize {
        self.data.read().bytes
    }

    pub fn trace_count(&self) -> usize {
        self.data.read().traces.len()
    }

    pub fn span_count(&self) -> usize {
        self.data.read().spans
    }

    /// Whether the head holds neither spans nor log records.
    pub fn is_empty(&self) -> bool {
        let data = self.data.read();
        data.spans == 0 && data.logs.is_empty()
    }

    /// Age of the oldest data, if any.
    pub fn age(&self) -> Option<std::time::Duration> {
        self.data.read().first_insert.map(|t| t.elapsed())
    }

    /// Marks an appender as writing to this head.
    pub(crate) fn enter(&self) {
        self.inflight.fetch_add(1, Ordering::SeqCst);
    }

    /// Marks an appender as done with this head.
    pub(crate) fn leave(&self) {
        if self.inflight.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.idle.notify_waiters();
        }
    }

    /// Waits until no appender is writing to this head.
    pub async fn wait_idle(&self) {
        loop {
            let notified = self.idle.notified();
            if self.inflight.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }
}

impl Default for Head {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracewell_model::SpanId;

    fn span(trace: u8, id: u8) -> Span {
        Span {
            trace_id: TraceId([trace; 16]),
            span_id: SpanId([id; 8]),
            ..Default::default()
        }
    }

    #[test]
    fn spans_are_grouped_by_trace_and_capped_per_trace() {
        let head = Head::new();
        let inserted = head.insert(vec![span(1, 1), span(1, 2), span(1, 3), span(2, 1)], 2);
        assert_eq!(inserted.spans, 3);
        assert_eq!(inserted.over_trace_limit, 1);
        assert_eq!(head.trace(&TraceId([1; 16])).len(), 2);
        assert_eq!(head.trace(&TraceId([2; 16])).len(), 1);
        assert_eq!(head.span_count(), 3);
        assert!(head.bytes() > 0);
    }

    #[tokio::test]
    async fn wait_idle_returns_once_every_appender_left() {
        let head = std::sync::Arc::new(Head::new());
        head.enter();
        let waiter = tokio::spawn({
            let head = head.clone();
            async move { head.wait_idle().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        head.leave();
        waiter.await.unwrap();
    }
}
