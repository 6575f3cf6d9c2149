//! Streaming k-way merge of blocks (any format, each sorted by trace id) into one block, trace by trace, dropping
//! spans a retrying client sent twice. Memory stays bounded whatever the block sizes: each input holds one chunk
//! of about [`MergeLimits::chunk_spans`] spans (whole traces for v2; v1 chunks may cut a trace, which is then
//! completed from the next chunk), and the v2 writer holds one row group of output plus the encoded bytes.
//!
//! Runs on a blocking thread (encoding is CPU-bound) and reads through the runtime `handle` it is given.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

use object_store::path::Path;
use object_store::ObjectStore;
use tokio::runtime::Handle;
use tracewell_model::{Span, SpanId, TraceId};

use super::v2::schema::DynType;
use super::v2::{BlockWriter, MAX_DYNAMIC_COLUMNS};
use super::{BlockFormat, WriteOptions, WrittenBlock};
use crate::error::{Result, StoreError};

/// One block to merge.
#[derive(Debug, Clone)]
pub struct MergeInput {
    /// The block's `data.parquet`.
    pub path: Path,
    /// Size of `data.parquet` (from `meta.json`), saving a request.
    pub size: Option<u64>,
    /// Rows of the block (its span count).
    pub rows: usize,
}

/// Bounds of a merge.
#[derive(Debug, Clone, Copy)]
pub struct MergeLimits {
    /// Spans read from one input at a time.
    pub chunk_spans: usize,
}

impl Default for MergeLimits {
    fn default() -> Self {
        Self { chunk_spans: 2048 }
    }
}

/// What a merge wrote.
#[derive(Debug)]
pub struct Merged {
    pub block: WrittenBlock,
    /// Spans dropped as duplicates of a span already merged.
    pub duplicates_dropped: u64,
}

/// Merges `inputs` into one block of `format`. v2 output is written as the traces come (bounded memory); v1 output
/// (kept for comparison and tests) is collected and written at the end.
pub fn merge_blocks(
    handle: &Handle,
    objects: &Arc<dyn ObjectStore>,
    inputs: &[MergeInput],
    format: BlockFormat,
    opts: &WriteOptions,
    limits: MergeLimits,
) -> Result<Merged> {
    let mut cursors = inputs
        .iter()
        .map(|input| handle.block_on(Cursor::open(objects, input, limits.chunk_spans)))
        .collect::<Result<Vec<_>>>()?;
    let mut sink = match format {
        BlockFormat::V2 => {
            let dynamic = handle.block_on(merged_dynamic_columns(objects, inputs))?;
            Sink::V2(Box::new(BlockWriter::new(dynamic, opts)?))
        }
        BlockFormat::V1 => Sink::V1(Vec::new()),
    };
    let mut dropped = 0u64;
    let mut trace = Vec::new();
    let mut seen: HashSet<(SpanId, u8, u64)> = HashSet::new();
    loop {
        for cursor in &mut cursors {
            if cursor.buffer.is_empty() {
                handle.block_on(cursor.fill())?;
            }
        }
        let Some(next) = cursors
            .iter()
            .filter_map(|c| c.buffer.front().map(|s| s.trace_id))
            .min()
        else {
            break;
        };
        trace.clear();
        seen.clear();
        for cursor in &mut cursors {
            handle.block_on(cursor.take_trace(next, &mut trace))?;
        }
        let before = trace.len();
        trace.retain(|s: &Span| seen.insert((s.span_id, s.kind as u8, s.start_unix_nano)));
        dropped += (before - trace.len()) as u64;
        trace.sort_by_key(|s| (s.start_unix_nano, s.span_id));
        match &mut sink {
            Sink::V2(writer) => writer.push_trace(std::mem::take(&mut trace))?,
            Sink::V1(all) => all.append(&mut trace),
        }
    }
    let block = match sink {
        Sink::V2(writer) => writer.finish()?,
        Sink::V1(all) => super::write(BlockFormat::V1, all.iter().collect(), opts)?,
    };
    Ok(Merged {
        block,
        duplicates_dropped: dropped,
    })
}

enum Sink {
    V2(Box<BlockWriter<Span>>),
    V1(Vec<Span>),
}

/// The dynamic columns of the merged block: those of the v2 inputs, the ones most inputs have first.
async fn merged_dynamic_columns(
    objects: &Arc<dyn ObjectStore>,
    inputs: &[MergeInput],
) -> Result<Vec<(String, DynType)>> {
    let mut counts: Vec<((String, DynType), usize)> = Vec::new();
    for input in inputs {
        if super::format_of(&input.path)? != BlockFormat::V2 {
            continue;
        }
        for column in super::v2::dynamic_columns(objects, &input.path).await? {
            match counts.iter_mut().find(|(c, _)| *c == column) {
                Some((_, n)) => *n += 1,
                None => counts.push((column, 1)),
            }
        }
    }
    // Stable: among equals, the first input's order.
    counts.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    counts.truncate(MAX_DYNAMIC_COLUMNS);
    Ok(counts.into_iter().map(|(c, _)| c).collect())
}

/// The traces of one block in block order, whole, reading a chunk of about `chunk_spans` spans at a time (for
/// reads that must see every span of a range with bounded memory, such as metrics).
pub struct BlockTraces {
    cursor: Cursor,
}

impl BlockTraces {
    pub async fn open(
        objects: &Arc<dyn ObjectStore>,
        input: &MergeInput,
        chunk_spans: usize,
    ) -> Result<Self> {
        Ok(Self {
            cursor: Cursor::open(objects, input, chunk_spans).await?,
        })
    }

    /// The next trace's spans (in block order), or `None` after the last.
    pub async fn next_trace(&mut self) -> Result<Option<Vec<Span>>> {
        if self.cursor.buffer.is_empty() && !self.cursor.fill().await? {
            return Ok(None);
        }
        let Some(id) = self.cursor.buffer.front().map(|s| s.trace_id) else {
            return Ok(None);
        };
        let mut spans = Vec::new();
        self.cursor.take_trace(id, &mut spans).await?;
        Ok(Some(spans))
    }
}

/// Reads one input in block order, a chunk at a time.
struct Cursor {
    objects: Arc<dyn ObjectStore>,
    input: MergeInput,
    chunk_spans: usize,
    /// Block rows where chunks may start (trace boundaries, v2), or `None` when any row may (v1 stores parents
    /// as ids, so a chunk may cut a trace).
    boundaries: Option<Vec<u32>>,
    next_row: usize,
    buffer: VecDeque<Span>,
}

impl Cursor {
    async fn open(
        objects: &Arc<dyn ObjectStore>,
        input: &MergeInput,
        chunk_spans: usize,
    ) -> Result<Self> {
        let boundaries = super::trace_index(objects, &input.path)
            .await?
            .map(|index| index.first_row.clone());
        Ok(Self {
            objects: Arc::clone(objects),
            input: input.clone(),
            chunk_spans: chunk_spans.max(1),
            boundaries,
            next_row: 0,
            buffer: VecDeque::new(),
        })
    }

    /// The end of the chunk starting at `next_row`.
    fn chunk_end(&self) -> usize {
        let wanted = (self.next_row + self.chunk_spans).min(self.input.rows);
        match &self.boundaries {
            None => wanted,
            Some(starts) => {
                let after = starts.partition_point(|&row| (row as usize) < wanted);
                starts
                    .get(after)
                    .map_or(self.input.rows, |&row| row as usize)
            }
        }
    }

    /// Reads the next chunk into the buffer; false when the block is exhausted.
    async fn fill(&mut self) -> Result<bool> {
        if self.next_row >= self.input.rows {
            return Ok(false);
        }
        let end = self.chunk_end();
        let spans = super::read_rows(
            Arc::clone(&self.objects),
            &self.input.path,
            self.input.size,
            self.next_row..end,
        )
        .await?;
        if spans.len() != end - self.next_row {
            return Err(StoreError::CorruptBlock {
                block: self.input.path.to_string(),
                reason: format!(
                    "rows {}..{} gave {} spans; the block's meta says it holds {} rows",
                    self.next_row,
                    end,
                    spans.len(),
                    self.input.rows
                ),
            });
        }
        self.next_row = end;
        self.buffer.extend(spans);
        Ok(true)
    }

    /// Moves the spans of trace `id` at the front of the block into `out`, reading on while the trace continues.
    async fn take_trace(&mut self, id: TraceId, out: &mut Vec<Span>) -> Result<()> {
        loop {
            while self.buffer.front().is_some_and(|s| s.trace_id == id) {
                out.extend(self.buffer.pop_front());
            }
            if !self.buffer.is_empty() || !self.fill().await? {
                return Ok(());
            }
        }
    }
}
