//! Tests of the v1 block format: exact round trips, trace lookups with pruning, statistics and corrupt files.

use std::sync::Arc;

use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use tracewell_model::{Span, TraceId};

use super::read::plan_trace_read_for_test;
use super::schema::PAGE_ROWS;
use super::*;
use crate::error::StoreError;
use fixtures::{realistic_spans, varied_spans, Rng};

pub(in crate::block) mod fixtures;

fn sorted(mut spans: Vec<Span>) -> Vec<Span> {
    spans.sort_by_key(|s| (s.trace_id, s.start_unix_nano, s.span_id));
    spans
}

async fn stored(bytes: bytes::Bytes) -> (Arc<dyn ObjectStore>, Path) {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let path = Path::from("tenant/blocks/v1/01JTESTBLOCK/data.parquet");
    store
        .put(&path, PutPayload::from(bytes))
        .await
        .expect("put");
    (store, path)
}

async fn write_and_store(
    spans: Vec<Span>,
    opts: &WriteOptions,
) -> (Arc<dyn ObjectStore>, Path, BlockStats) {
    let (bytes, stats) = write_block(spans, opts).expect("write_block");
    let (store, path) = stored(bytes).await;
    (store, path, stats)
}

#[tokio::test]
async fn spans_round_trip_exactly() {
    let mut input = varied_spans();
    input.extend(realistic_spans(40, 1));
    input.reverse();
    let opts = WriteOptions {
        row_group_spans: 64,
        ..WriteOptions::default()
    };
    let (store, path, _) = write_and_store(input.clone(), &opts).await;
    let read = read_all(store, &path).await.expect("read_all");
    let expected = sorted(input);
    assert_eq!(read.len(), expected.len());
    for (got, want) in read.iter().zip(&expected) {
        assert_eq!(got, want);
    }
    for pair in read.windows(2) {
        if pair[0].resource == pair[1].resource {
            assert!(
                Arc::ptr_eq(&pair[0].resource, &pair[1].resource),
                "equal consecutive resources share an Arc"
            );
        }
        if pair[0].scope == pair[1].scope {
            assert!(
                Arc::ptr_eq(&pair[0].scope, &pair[1].scope),
                "equal consecutive scopes share an Arc"
            );
        }
    }
}

/// Spans of `id`, in block order.
fn trace_of(sorted: &[Span], id: TraceId) -> Vec<Span> {
    sorted
        .iter()
        .filter(|s| s.trace_id == id)
        .cloned()
        .collect()
}

#[tokio::test]
async fn read_trace_returns_exactly_one_trace() {
    let input = realistic_spans(500, 2);
    assert!(input.len() > 4000, "{} spans", input.len());
    let opts = WriteOptions {
        row_group_spans: 1000,
        ..WriteOptions::default()
    };
    let (store, path, _) = write_and_store(input.clone(), &opts).await;
    let expected = sorted(input);
    for pick in [0, 999, 1000, 2500, expected.len() - 1] {
        let id = expected[pick].trace_id;
        let got = read_trace(Arc::clone(&store), &path, id)
            .await
            .expect("read_trace");
        assert_eq!(got, trace_of(&expected, id), "trace {id}");
        let (groups, _) = plan_trace_read_for_test(Arc::clone(&store), &path, id).await;
        assert!(
            groups.len() <= 2,
            "statistics and bloom filters leave one or two row groups: {groups:?}"
        );
    }
    let absent = Rng(99).trace_id();
    assert!(read_trace(Arc::clone(&store), &path, absent)
        .await
        .expect("absent")
        .is_empty());
    let (groups, _) = plan_trace_read_for_test(Arc::clone(&store), &path, absent).await;
    assert!(
        groups.len() <= 1,
        "statistics or bloom filters prune an absent trace: {groups:?}"
    );
}

#[tokio::test]
async fn page_index_narrows_a_trace_read_to_its_pages() {
    let input = realistic_spans(800, 9);
    let opts = WriteOptions {
        row_group_spans: 4 * PAGE_ROWS,
        ..WriteOptions::default()
    };
    let (store, path, _) = write_and_store(input.clone(), &opts).await;
    let expected = sorted(input);
    for pick in [10, PAGE_ROWS, 3 * PAGE_ROWS + 5] {
        let id = expected[pick].trace_id;
        let (groups, selected) = plan_trace_read_for_test(Arc::clone(&store), &path, id).await;
        assert_eq!(groups.len(), 1, "{groups:?}");
        assert!(
            selected <= 2 * PAGE_ROWS,
            "{selected} of {} rows selected",
            4 * PAGE_ROWS
        );
        let got = read_trace(Arc::clone(&store), &path, id)
            .await
            .expect("read_trace");
        assert_eq!(got, trace_of(&expected, id), "trace {id}");
    }
}

#[tokio::test]
async fn stats_describe_the_block() {
    let input = realistic_spans(30, 3);
    let (_, stats) = write_block(input.clone(), &WriteOptions::default()).expect("write");
    let expected = sorted(input.clone());
    assert_eq!(stats.span_count, input.len() as u64);
    assert_eq!(stats.trace_count, 30);
    assert_eq!(
        stats.min_start_unix_nano,
        input.iter().map(|s| s.start_unix_nano).min().unwrap()
    );
    assert_eq!(
        stats.max_end_unix_nano,
        input.iter().map(|s| s.end_unix_nano).max().unwrap()
    );
    assert_eq!(stats.min_trace_id, expected[0].trace_id.to_hex());
    assert_eq!(
        stats.max_trace_id,
        expected[expected.len() - 1].trace_id.to_hex()
    );
    let mut services: Vec<String> = input.iter().map(|s| s.service_name().to_owned()).collect();
    services.sort();
    services.dedup();
    assert_eq!(stats.services, services);
    assert!(
        stats
            .operations
            .contains(&("frontend".into(), "GET /health".into()))
            || stats.operations.len() > 3
    );
    assert!(
        stats.operations.windows(2).all(|w| w[0] < w[1]),
        "sorted and distinct"
    );
    let all_ops: std::collections::BTreeSet<_> = input
        .iter()
        .map(|s| (s.service_name().to_owned(), s.name.clone()))
        .collect();
    assert_eq!(stats.operations, all_ops.into_iter().collect::<Vec<_>>());
}

#[tokio::test]
async fn empty_blocks_are_valid() {
    let (store, path, stats) = write_and_store(Vec::new(), &WriteOptions::default()).await;
    assert_eq!(stats, BlockStats::default());
    assert!(read_all(Arc::clone(&store), &path)
        .await
        .expect("read_all")
        .is_empty());
    assert!(read_trace(store, &path, Rng(1).trace_id())
        .await
        .expect("read_trace")
        .is_empty());
}

#[tokio::test]
async fn truncated_or_garbage_files_are_errors_not_panics() {
    let (bytes, _) = write_block(realistic_spans(100, 4), &WriteOptions::default()).expect("write");
    let id = realistic_spans(1, 4)[0].trace_id;
    let mut garbage = vec![0xA5u8; 4096];
    garbage[4092..].copy_from_slice(b"PAR1");
    let cases = [
        Vec::new(),
        b"not a parquet file".to_vec(),
        garbage,
        bytes[..bytes.len() / 2].to_vec(),
        bytes[..bytes.len() - 9].to_vec(),
        bytes[8..].to_vec(),
    ];
    for case in cases {
        let (store, path) = stored(case.into()).await;
        assert!(read_all(Arc::clone(&store), &path).await.is_err());
        assert!(read_trace(store, &path, id).await.is_err());
    }
}

#[tokio::test]
async fn flipped_bytes_never_panic() {
    let (bytes, _) = write_block(realistic_spans(100, 5), &WriteOptions::default()).expect("write");
    let id = realistic_spans(1, 5)[0].trace_id;
    let step = (bytes.len() / 41).max(1);
    for at in (0..bytes.len()).step_by(step) {
        let mut damaged = bytes.to_vec();
        damaged[at] ^= 0x5A;
        let (store, path) = stored(damaged.into()).await;
        let _ = read_all(Arc::clone(&store), &path).await;
        let _ = read_trace(store, &path, id).await;
    }
}

#[tokio::test]
async fn files_of_another_shape_are_corrupt_blocks() {
    use arrow::array::{Int32Array, RecordBatch};
    use arrow::datatypes::{DataType, Field, Schema};
    use parquet::arrow::ArrowWriter;
    use parquet::file::metadata::KeyValue;
    use parquet::file::properties::WriterProperties;

    let tagged = WriterProperties::builder()
        .set_key_value_metadata(Some(vec![KeyValue::new(
            schema::FORMAT_KEY.into(),
            FORMAT_VERSION.to_owned(),
        )]))
        .build();
    let wrong = Arc::new(Schema::new(vec![Field::new(
        "trace_id",
        DataType::Int32,
        false,
    )]));
    let batch = RecordBatch::try_new(
        Arc::clone(&wrong),
        vec![Arc::new(Int32Array::from(vec![1, 2]))],
    )
    .unwrap();
    let mut writer = ArrowWriter::try_new(Vec::new(), wrong, Some(tagged)).unwrap();
    writer.write(&batch).unwrap();
    let wrong_types = writer.into_inner().unwrap();

    let block = schema::block_schema();
    let writer = ArrowWriter::try_new(Vec::new(), block, None).unwrap();
    let untagged = writer.into_inner().unwrap();

    for (bytes, reason) in [
        (wrong_types, "column trace_id"),
        (untagged, "tracewell.block.format"),
    ] {
        let (store, path) = stored(bytes.into()).await;
        match read_all(store, &path).await {
            Err(StoreError::CorruptBlock { block, reason: got }) => {
                assert_eq!(block, path.to_string());
                assert!(got.contains(reason), "{got}");
            }
            other => panic!("expected a corrupt block, got {other:?}"),
        }
    }
}

#[test]
fn invalid_options_are_refused() {
    for opts in [
        WriteOptions {
            row_group_spans: 0,
            ..WriteOptions::default()
        },
        WriteOptions {
            bloom_fpp: 1.0,
            ..WriteOptions::default()
        },
        WriteOptions {
            zstd_level: 99,
            ..WriteOptions::default()
        },
    ] {
        assert!(
            write_block(realistic_spans(2, 6), &opts).is_err(),
            "{opts:?}"
        );
    }
}

#[test]
fn realistic_spans_take_few_bytes() {
    let input = realistic_spans(2000, 8);
    let spans = input.len();
    let (bytes, _) = write_block(input, &WriteOptions::default()).expect("write");
    let per_span = bytes.len() as f64 / spans as f64;
    println!(
        "{spans} spans: {} bytes, {per_span:.1} bytes/span",
        bytes.len()
    );
    assert!(per_span < 120.0, "{per_span:.1} bytes/span");
}

#[tokio::test]
async fn blocks_read_back_from_the_local_file_system() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn ObjectStore> = Arc::new(
        object_store::local::LocalFileSystem::new_with_prefix(dir.path()).expect("local store"),
    );
    let input = realistic_spans(20, 10);
    let (bytes, _) = write_block(input.clone(), &WriteOptions::default()).expect("write");
    let path = Path::from("single-tenant/blocks/v1/01JTESTBLOCK/data.parquet");
    store
        .put(&path, PutPayload::from(bytes))
        .await
        .expect("put");
    let expected = sorted(input);
    assert_eq!(
        read_all(Arc::clone(&store), &path).await.expect("read_all"),
        expected
    );
    let id = expected[0].trace_id;
    assert_eq!(
        read_trace(store, &path, id).await.expect("read_trace"),
        trace_of(&expected, id)
    );
}

/// A v1 block written by the release before v2 (`tests/fixtures/v1/data.parquet`, spans of
/// `realistic_spans(150, 7)`) reads back identically, through the version dispatch as the store reads it.
/// `TRACEWELL_WRITE_V1_FIXTURE=1` rewrites the file (only ever with the v1 writer).
#[tokio::test]
async fn committed_v1_blocks_read_back_identically() {
    let file =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1/data.parquet");
    let spans = realistic_spans(150, 7);
    if std::env::var_os("TRACEWELL_WRITE_V1_FIXTURE").is_some() {
        let (bytes, _) = write_block(spans.clone(), &WriteOptions::default()).expect("write");
        std::fs::create_dir_all(file.parent().unwrap()).expect("mkdir");
        std::fs::write(&file, &bytes).expect("write fixture");
    }
    let bytes = std::fs::read(&file).expect("the committed v1 fixture");
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let path = Path::from("tenant/v1/01JV1FIXTURE/data.parquet");
    store
        .put(&path, PutPayload::from(bytes))
        .await
        .expect("put");
    let read = crate::block::read_all(Arc::clone(&store), &path, None)
        .await
        .expect("read");
    assert_eq!(read, sorted(spans.clone()));
    let id = spans[10].trace_id;
    let trace = crate::block::read_trace(store, &path, None, id)
        .await
        .expect("trace");
    assert_eq!(trace, trace_of(&sorted(spans), id));
}
