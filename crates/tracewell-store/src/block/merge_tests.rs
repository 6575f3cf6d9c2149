//! Tests of the streaming merge: inputs of both formats, traces split across inputs and across chunks,
//! duplicates, and that the merged block reads back as the deduplicated union of its inputs.

use std::sync::Arc;

use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use tracewell_model::{Span, SpanId};

use super::v1::tests::fixtures::{realistic_spans, varied_spans};
use super::{merge_blocks, BlockFormat, MergeInput, MergeLimits, WriteOptions};
use crate::compaction::dedupe;

/// Panics naming the first span that differs (whole span lists are too long to print).
fn assert_same_spans(got: &[Span], want: &[Span]) {
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        if g != w {
            let (g, w) = (format!("{g:?}"), format!("{w:?}"));
            let at = g.bytes().zip(w.bytes()).take_while(|(a, b)| a == b).count();
            let from = at.saturating_sub(80);
            panic!(
                "span {i} of {} differs at byte {at}:\n got: ...{}\nwant: ...{}",
                want.len(),
                &g[from..(at + 120).min(g.len())],
                &w[from..(at + 120).min(w.len())]
            );
        }
    }
    assert_eq!(got.len(), want.len(), "span counts differ");
}

fn sorted(mut spans: Vec<Span>) -> Vec<Span> {
    spans.sort_by_key(|s| (s.trace_id, s.start_unix_nano, s.span_id));
    spans
}

async fn put_block(
    store: &Arc<dyn ObjectStore>,
    format: BlockFormat,
    spans: &[Span],
    opts: &WriteOptions,
) -> MergeInput {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = Path::from(format!(
        "tenant/{}/01JMERGEINPUT{n:06}/data.parquet",
        format.as_str()
    ));
    let written = super::write(format, spans.iter().collect(), opts).expect("write");
    let size = written.data.len() as u64;
    store
        .put(&path, PutPayload::from(written.data))
        .await
        .expect("put data");
    if let (Some(index), Some(side)) = (written.index, super::side_files(format, &path).first()) {
        store
            .put(side, PutPayload::from(index))
            .await
            .expect("put index");
    }
    MergeInput {
        path,
        size: Some(size),
        rows: spans.len(),
    }
}

async fn merge_and_read(
    store: &Arc<dyn ObjectStore>,
    inputs: &[MergeInput],
    format: BlockFormat,
    opts: &WriteOptions,
    limits: MergeLimits,
) -> (Vec<Span>, super::Merged) {
    let handle = tokio::runtime::Handle::current();
    let merged = {
        let (store, inputs, opts) = (Arc::clone(store), inputs.to_vec(), opts.clone());
        tokio::task::spawn_blocking(move || {
            merge_blocks(&handle, &store, &inputs, format, &opts, limits)
        })
        .await
        .expect("merge thread")
        .expect("merge")
    };
    let out = put_block_bytes(store, &merged.block).await;
    let spans = super::read_all(Arc::clone(store), &out, None)
        .await
        .expect("read merged block");
    (spans, merged)
}

async fn put_block_bytes(store: &Arc<dyn ObjectStore>, block: &super::WrittenBlock) -> Path {
    let path = Path::from(format!(
        "tenant/{}/01JMERGEOUTPUT{:06}/data.parquet",
        block.format.as_str(),
        block.data.len()
    ));
    store
        .put(&path, PutPayload::from(block.data.clone()))
        .await
        .expect("put merged data");
    if let (Some(index), Some(side)) =
        (&block.index, super::side_files(block.format, &path).first())
    {
        store
            .put(side, PutPayload::from(index.clone()))
            .await
            .expect("put merged index");
    }
    path
}

/// Splits spans across three inputs so that most traces are in two or three blocks, and repeats some spans in
/// two blocks as a retrying client would.
fn split_three_ways(spans: &[Span]) -> [Vec<Span>; 3] {
    let mut parts: [Vec<Span>; 3] = Default::default();
    for (i, s) in spans.iter().enumerate() {
        parts[i % 3].push(s.clone());
        if i % 7 == 0 {
            parts[(i + 1) % 3].push(s.clone());
        }
    }
    parts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merging_v2_blocks_in_small_chunks_gives_the_deduplicated_union() {
    let all = realistic_spans(120, 7);
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let opts = WriteOptions {
        row_group_spans: 64,
        ..WriteOptions::default()
    };
    let mut inputs = Vec::new();
    for part in split_three_ways(&all) {
        inputs.push(put_block(&store, BlockFormat::V2, &part, &opts).await);
    }
    let limits = MergeLimits { chunk_spans: 5 };
    let (read, merged) = merge_and_read(&store, &inputs, BlockFormat::V2, &opts, limits).await;

    let expected = sorted(dedupe(all.clone()));
    assert_same_spans(&read, &expected);
    let repeated = all.iter().enumerate().filter(|(i, _)| i % 7 == 0).count() as u64;
    assert_eq!(merged.duplicates_dropped, repeated);
    let stats = &merged.block.stats;
    assert_eq!(stats.span_count, expected.len() as u64);
    let traces = expected.chunk_by(|a, b| a.trace_id == b.trace_id).count();
    assert_eq!(stats.trace_count, traces as u64);
    // Parents resolve across what were separate blocks: every parent id of the input is kept.
    let parents = |spans: &[Span]| -> Vec<Option<SpanId>> {
        spans.iter().map(|s| s.parent_span_id).collect()
    };
    assert_eq!(parents(&read), parents(&expected));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_and_v2_inputs_merge_into_one_v2_block_even_when_chunks_cut_traces() {
    let mut all = varied_spans();
    all.extend(realistic_spans(40, 3));
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let opts = WriteOptions {
        row_group_spans: 32,
        ..WriteOptions::default()
    };
    let [a, b, c] = split_three_ways(&all);
    let inputs = vec![
        put_block(&store, BlockFormat::V1, &a, &opts).await,
        put_block(&store, BlockFormat::V2, &b, &opts).await,
        put_block(&store, BlockFormat::V1, &c, &opts).await,
    ];
    // Chunks of 3 rows cut most traces of the v1 inputs.
    let limits = MergeLimits { chunk_spans: 3 };
    let (read, merged) = merge_and_read(&store, &inputs, BlockFormat::V2, &opts, limits).await;
    assert_eq!(merged.block.format, BlockFormat::V2);
    assert_same_spans(&read, &sorted(dedupe(all)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_whose_meta_claims_more_rows_is_refused_as_corrupt() {
    let spans = realistic_spans(10, 5);
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let opts = WriteOptions::default();
    let mut input = put_block(&store, BlockFormat::V1, &spans, &opts).await;
    input.rows += 10;
    let handle = tokio::runtime::Handle::current();
    let result = tokio::task::spawn_blocking(move || {
        merge_blocks(
            &handle,
            &store,
            &[input],
            BlockFormat::V2,
            &opts,
            MergeLimits::default(),
        )
    })
    .await
    .expect("merge thread");
    match result {
        Err(crate::StoreError::CorruptBlock { reason, .. }) => {
            assert!(reason.contains("holds"), "{reason}")
        }
        other => panic!("expected CorruptBlock, got {other:?}"),
    }
}
