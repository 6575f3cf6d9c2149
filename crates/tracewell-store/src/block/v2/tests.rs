//! Tests of the v2 block format: exact round trips through the logical columns, the persisted trace index, value
//! filters, parents as row offsets, and damaged files.

use std::sync::Arc;

use futures::TryStreamExt;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use tracewell_model::{AttrValue, Attribute, Span, SpanId};

use super::*;
use crate::block::v1::tests::fixtures::{realistic_spans, varied_spans, Rng};
use crate::block::{self, schema::col, BlockFormat, ScanRequest, ValueCondition, WriteOptions};

fn sorted(mut spans: Vec<Span>) -> Vec<Span> {
    spans.sort_by_key(|s| (s.trace_id, s.start_unix_nano, s.span_id));
    spans
}

/// A path of its own per block: footers and indexes are cached by path.
fn fresh_path() -> Path {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Path::from(format!("tenant/v2/01JTESTBLOCK{n:06}/data.parquet"))
}

async fn write_and_store(spans: &[Span], opts: &WriteOptions) -> (Arc<dyn ObjectStore>, Path) {
    let written = block::write(BlockFormat::V2, spans.iter().collect(), opts).expect("write");
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let path = fresh_path();
    store
        .put(&path, PutPayload::from(written.data))
        .await
        .expect("put data");
    store
        .put(
            &index_path(&path),
            PutPayload::from(written.index.expect("v2 writes an index")),
        )
        .await
        .expect("put index");
    (store, path)
}

fn small_groups() -> WriteOptions {
    WriteOptions {
        row_group_spans: 300,
        ..WriteOptions::default()
    }
}

#[tokio::test]
async fn spans_round_trip_exactly() {
    let mut input = varied_spans();
    input.extend(realistic_spans(60, 1));
    // A duplicated key, a hot key with the wrong type, a parent outside the block and a double attribute.
    let mut odd = input[3].clone();
    odd.span_id = SpanId([0xEE; 8]);
    odd.parent_span_id = Some(SpanId([0xAB; 8]));
    odd.attributes = vec![
        Attribute {
            key: "k".into(),
            value: AttrValue::Str("a".into()),
        },
        Attribute {
            key: "k".into(),
            value: AttrValue::Str("b".into()),
        },
        Attribute {
            key: "http.response.status_code".into(),
            value: AttrValue::Str("500".into()),
        },
        Attribute {
            key: "ratio".into(),
            value: AttrValue::Double(0.25),
        },
    ];
    input.push(odd);
    input.reverse();
    let (store, path) = write_and_store(&input, &small_groups()).await;
    let read = read_all(store, &path, None).await.expect("read_all");
    let expected = sorted(input);
    assert_eq!(read.len(), expected.len());
    for (got, want) in read.iter().zip(&expected) {
        assert_eq!(got, want);
    }
}

#[tokio::test]
async fn traces_are_found_by_the_persisted_index() {
    let input = realistic_spans(400, 2);
    let (store, path) = write_and_store(&input, &small_groups()).await;
    let expected = sorted(input);
    let index = block::trace_index(&store, &path)
        .await
        .expect("index")
        .expect("v2 has an index");
    assert_eq!(index.ids.len(), 400);
    // Callers share the cached index instead of copying it.
    let again = block::trace_index(&store, &path).await.unwrap().unwrap();
    assert!(Arc::ptr_eq(&index, &again));
    for pick in [0, 299, 300, expected.len() / 2, expected.len() - 1] {
        let id = expected[pick].trace_id;
        let want: Vec<Span> = expected
            .iter()
            .filter(|s| s.trace_id == id)
            .cloned()
            .collect();
        let got = block::read_trace(Arc::clone(&store), &path, None, id)
            .await
            .expect("read");
        assert_eq!(got, want, "trace {id}");
        let pos = index.position(&id).expect("indexed");
        assert_eq!(index.spans[pos] as usize, want.len());
        assert_eq!(
            index.start[pos],
            want.iter().map(|s| s.start_unix_nano).min().unwrap()
        );
        assert_eq!(
            index.end[pos],
            want.iter().map(|s| s.end_unix_nano).max().unwrap()
        );
        let root = want.iter().find(|s| s.parent_span_id.is_none());
        assert_eq!(
            index.string(index.root_name[pos]),
            root.map(|s| s.name.as_str())
        );
    }
    let absent = Rng(99).trace_id();
    assert!(block::read_trace(store, &path, None, absent)
        .await
        .expect("absent")
        .is_empty());
}

#[tokio::test]
async fn value_filters_rule_out_row_groups_without_the_value() {
    let mut input = realistic_spans(300, 3);
    let marked = input[0].trace_id;
    for s in input.iter_mut().filter(|s| s.trace_id == marked) {
        s.attributes.push(Attribute {
            key: "order.id".into(),
            value: AttrValue::Str("o-777".into()),
        });
        s.attributes.push(Attribute {
            key: "retries".into(),
            value: AttrValue::Int(7),
        });
    }
    let (store, path) = write_and_store(&input, &small_groups()).await;
    let holding = |key: &str, text: &str| ValueCondition {
        key: key.into(),
        texts: vec![text.into()],
    };
    let groups = |conditions: Vec<ValueCondition>| {
        let (store, path) = (Arc::clone(&store), path.clone());
        async move {
            block::row_groups_holding(&store, &path, &conditions)
                .await
                .expect("filters")
                .expect("v2 has filters")
        }
    };
    let all = groups(vec![]).await;
    assert!(all.len() >= 5, "{all:?}");
    let present = groups(vec![holding("order.id", "o-777"), holding("retries", "7")]).await;
    assert!(
        !present.is_empty() && present.len() < all.len(),
        "{present:?}"
    );
    let absent = groups(vec![holding("order.id", "o-778")]).await;
    assert!(
        absent.len() < all.len() / 2,
        "1% false positives at most, got {absent:?}"
    );
    let service = input[0].service_name().to_owned();
    assert_eq!(
        groups(vec![holding("service.name", &service)]).await.len(),
        all.len()
    );
    let name = input[0].name.clone();
    assert!(!groups(vec![holding("", &name)]).await.is_empty());
}

#[tokio::test]
async fn scans_return_logical_columns_in_the_requested_order() {
    let input = realistic_spans(50, 4);
    let (store, path) = write_and_store(&input, &small_groups()).await;
    let expected = sorted(input);
    let columns = [
        col::RESOURCE_ATTRIBUTES,
        col::SPAN_ID,
        col::PARENT_SPAN_ID,
        col::SERVICE_NAME,
    ];
    let request = ScanRequest {
        columns: &columns,
        start_range: None,
        batch_rows: 7,
        filter: None,
        row_groups: None,
    };
    let batches: Vec<_> = block::scan(store, &path, None, request)
        .await
        .expect("scan")
        .try_collect()
        .await
        .expect("batches");
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, expected.len());
    let batch = &batches[0];
    let schema = batch.schema();
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, columns);
    let parents = batch
        .column(2)
        .as_any()
        .downcast_ref::<arrow::array::FixedSizeBinaryArray>()
        .expect("parents");
    for (row, span) in expected.iter().take(batch.num_rows()).enumerate() {
        let got = arrow::array::Array::is_valid(parents, row).then(|| parents.value(row).to_vec());
        assert_eq!(got, span.parent_span_id.map(|p| p.0.to_vec()), "row {row}");
    }
}

#[tokio::test]
async fn realistic_spans_take_fewer_bytes_than_v1() {
    let input = realistic_spans(2000, 5);
    let opts = WriteOptions::default();
    let v1 = block::write(BlockFormat::V1, input.iter().collect(), &opts).expect("v1");
    let v2 = block::write(BlockFormat::V2, input.iter().collect(), &opts).expect("v2");
    assert!(
        (v2.total_bytes() as f64) < v1.total_bytes() as f64 * 0.95,
        "v2 {} bytes vs v1 {}",
        v2.total_bytes(),
        v1.total_bytes()
    );
    assert_eq!(v1.stats, v2.stats);
}

#[tokio::test]
async fn damaged_indexes_and_data_are_errors_not_panics() {
    let input = realistic_spans(100, 6);
    let written = block::write(
        BlockFormat::V2,
        input.iter().collect(),
        &WriteOptions::default(),
    )
    .expect("write");
    let id = input[0].trace_id;
    let index = written.index.clone().expect("index");
    let step = (index.len() / 31).max(1);
    let mut cases: Vec<(Vec<u8>, Vec<u8>)> = (0..index.len())
        .step_by(step)
        .map(|at| {
            let mut damaged = index.to_vec();
            damaged[at] ^= 0x5A;
            (written.data.to_vec(), damaged)
        })
        .collect();
    cases.push((written.data.to_vec(), Vec::new()));
    cases.push((written.data.to_vec(), index[..index.len() / 2].to_vec()));
    let data_step = (written.data.len() / 31).max(1);
    cases.extend((0..written.data.len()).step_by(data_step).map(|at| {
        let mut damaged = written.data.to_vec();
        damaged[at] ^= 0x5A;
        (damaged, index.to_vec())
    }));
    for (n, (data, index)) in cases.into_iter().enumerate() {
        // A fresh path per case: indexes and footers are cached by path.
        let path = Path::from(format!("tenant/v2/01JDAMAGED{n:04}/data.parquet"));
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        store.put(&path, PutPayload::from(data)).await.expect("put");
        store
            .put(&index_path(&path), PutPayload::from(index))
            .await
            .expect("put");
        let _ = read_all(Arc::clone(&store), &path, None).await;
        let _ = block::read_trace(store, &path, None, id).await;
    }
    let unknown = Path::from("tenant/v9/01J/data.parquet");
    assert!(block::format_of(&unknown).is_err());
}

#[tokio::test]
async fn sparse_and_incompressible_columns_are_stored_uncompressed() {
    use parquet::basic::Compression;
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let mut spans = realistic_spans(200, 3);
    // One span in a hundred has these attributes.
    for s in spans.iter_mut().step_by(100) {
        s.attributes
            .push(Attribute::new("rare.text", AttrValue::Str("on".into())));
        s.attributes
            .push(Attribute::new("rare.count", AttrValue::Int(7)));
    }
    let written = block::write(BlockFormat::V2, spans.iter().collect(), &small_groups()).unwrap();
    let file = SerializedFileReader::new(written.data.clone()).unwrap();
    let metadata = file.metadata();
    let compression = |name: &str| -> Vec<Compression> {
        (0..metadata.num_row_groups())
            .flat_map(|g| {
                metadata
                    .row_group(g)
                    .columns()
                    .iter()
                    .filter(|c| c.column_path().string() == name)
                    .map(|c| c.compression())
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let all = |name: &str, expected: &str| {
        let found = compression(name);
        assert!(
            !found.is_empty()
                && found.iter().all(|c| match c {
                    Compression::ZSTD(_) => expected == "zstd",
                    Compression::LZ4_RAW => expected == "lz4",
                    Compression::UNCOMPRESSED => expected == "plain",
                    _ => false,
                }),
            "{name}: {found:?}"
        );
    };
    all(col::SPAN_ID, "plain");
    all(col::PARENT_SPAN_ID, "plain");
    all("links.list.item.trace_id", "plain");
    all(col::TRACE_ID, "zstd");
    all(col::NAME, "zstd");
    all(col::START, "zstd");
    // Sparse numbers are mostly definition levels; sparse strings still shrink.
    all("attr.i.rare.count", "plain");
    all("attr.s.rare.text", "lz4");
    // The spans read back whole.
    let (store, path) = write_and_store(&spans, &small_groups()).await;
    let back = block::read_all(store, &path, None).await.unwrap();
    assert_eq!(back, sorted(spans));
}
