//! Reading v2 blocks: the footer (cached, shared with v1) and `index.bin` (cached), then spans or scanned columns
//! through the logical adapter (`logical.rs`).

use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, OnceLock};

use arrow::datatypes::{DataType, Field, Schema};
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::arrow::arrow_reader::{
    ArrowPredicateFn, ArrowReaderMetadata, ArrowReaderOptions, RowFilter, RowSelection, RowSelector,
};
use parquet::arrow::async_reader::{ParquetRecordBatchStream, ParquetRecordBatchStreamBuilder};
use parquet::arrow::{parquet_to_arrow_schema, ProjectionMask};
use parquet::file::metadata::PageIndexPolicy;
use parquet::file::metadata::ParquetMetaData;
use tracewell_model::{Span, TraceId};

use super::index::BlockIndex;
use super::logical::{logical_batch, physical_columns, LoadedIndex};
use super::FORMAT_VERSION;
use crate::block::v1::decode::{Corrupt, Decoder};
use crate::block::v1::read::{
    check_format, corrupt_block, guarded, metadata_cache, BlockReader, METADATA_CACHE_BLOCKS,
};
use crate::block::v1::scan::ScanRequest;
use crate::block::v1::schema::{block_schema, col};
use crate::error::{Result, StoreError};

type Builder = ParquetRecordBatchStreamBuilder<BlockReader>;

/// Largest decompressed `index.bin` accepted.
const MAX_INDEX_BYTES: usize = 1 << 30;
/// Memory the decoded indexes kept for reuse may take (blocks never change once written); the cache is emptied
/// when an index would take it past this.
const INDEX_CACHE_BYTES: usize = 256 * 1024 * 1024;

#[derive(Default)]
struct IndexCache {
    entries: HashMap<String, Arc<LoadedIndex>>,
    bytes: usize,
}

/// The path of a block's `index.bin`, beside its `data.parquet`.
pub fn index_path(data_path: &Path) -> Path {
    let data = data_path.as_ref();
    let dir = data.rsplit_once('/').map_or("", |(dir, _)| dir);
    Path::from(format!("{dir}/index.bin"))
}

fn index_cache() -> &'static parking_lot::Mutex<IndexCache> {
    static CACHE: OnceLock<parking_lot::Mutex<IndexCache>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// The block's `index.bin`, decoded and checked (cached).
pub(crate) async fn load_index(
    store: &Arc<dyn ObjectStore>,
    data_path: &Path,
) -> Result<Arc<LoadedIndex>> {
    let path = index_path(data_path);
    let key = path.to_string();
    if let Some(found) = index_cache().lock().entries.get(&key) {
        return Ok(Arc::clone(found));
    }
    let bytes = store.get(&path).await?.bytes().await?;
    let index = BlockIndex::decode(&bytes, MAX_INDEX_BYTES)
        .map_err(|reason| corrupt_block(&path, reason))?;
    let loaded = Arc::new(LoadedIndex::new(index)?);
    let size = loaded.approx_bytes();
    let mut cache = index_cache().lock();
    if cache.bytes + size > INDEX_CACHE_BYTES {
        cache.entries.clear();
        cache.bytes = 0;
    }
    if size <= INDEX_CACHE_BYTES && !cache.entries.contains_key(&key) {
        cache.bytes += size;
        cache.entries.insert(key, Arc::clone(&loaded));
    }
    Ok(loaded)
}

/// The trace index persisted with a v2 block.
pub async fn trace_index(
    store: &Arc<dyn ObjectStore>,
    data_path: &Path,
) -> Result<Arc<crate::block::TraceIndex>> {
    Ok(Arc::clone(&load_index(store, data_path).await?.traces))
}

/// Opens the data file: footer (cached) and its format marker; `string_dictionaries` asks for `name` and
/// `service_name` as dictionaries (cheap to compare in scans).
async fn open(
    store: Arc<dyn ObjectStore>,
    path: &Path,
    size: Option<u64>,
    string_dictionaries: bool,
) -> Result<Builder> {
    let size = match size {
        Some(size) => size,
        None => store.head(path).await?.size,
    };
    let mut reader = BlockReader {
        store,
        path: path.clone(),
        size,
    };
    let key = format!("{path}#{size}");
    let cached = metadata_cache().lock().get(&key).cloned();
    let metadata: Arc<ParquetMetaData> = match cached {
        Some(metadata) => metadata,
        None => {
            let options =
                ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Optional);
            let loaded = ArrowReaderMetadata::load_async(&mut reader, options).await?;
            check_format(loaded.metadata(), FORMAT_VERSION)
                .map_err(|reason| corrupt_block(path, reason))?;
            let mut cache = metadata_cache().lock();
            if cache.len() >= METADATA_CACHE_BLOCKS {
                cache.clear();
            }
            cache.insert(key, Arc::clone(loaded.metadata()));
            Arc::clone(loaded.metadata())
        }
    };
    let mut options = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Optional);
    if string_dictionaries {
        let file = metadata.file_metadata();
        let schema = parquet_to_arrow_schema(file.schema_descr(), file.key_value_metadata())?;
        let fields: Vec<Field> = schema
            .fields()
            .iter()
            .map(|f| match f.name().as_str() {
                col::SERVICE_NAME | col::NAME => Field::new(
                    f.name(),
                    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
                    f.is_nullable(),
                ),
                _ => f.as_ref().clone(),
            })
            .collect();
        options = options.with_schema(Arc::new(Schema::new(fields)));
    }
    let metadata = ArrowReaderMetadata::try_new(metadata, options)?;
    Ok(ParquetRecordBatchStreamBuilder::new_with_metadata(
        reader, metadata,
    ))
}

/// The projection of the named physical columns.
fn projection(builder: &Builder, path: &Path, names: &[String]) -> Result<ProjectionMask> {
    let schema = builder.schema();
    let roots = names
        .iter()
        .map(|name| {
            schema
                .index_of(name)
                .map_err(|_| corrupt_block(path, format!("column {name} is missing")))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(ProjectionMask::roots(builder.parquet_schema(), roots))
}

/// Rows of the largest row group: batches this large hold whole traces (row groups end at trace boundaries).
fn whole_group_rows(metadata: &ParquetMetaData) -> usize {
    metadata
        .row_groups()
        .iter()
        .map(|g| usize::try_from(g.num_rows()).unwrap_or(0))
        .max()
        .unwrap_or(1)
        .max(1)
}

/// Reads every span of a block, in block order.
pub async fn read_all(
    store: Arc<dyn ObjectStore>,
    path: &Path,
    size: Option<u64>,
) -> Result<Vec<Span>> {
    guarded(path, async {
        let index = load_index(&store, path).await?;
        let builder = open(store, path, size, false).await?;
        let rows = whole_group_rows(builder.metadata());
        decode_spans(builder.with_batch_size(rows), path, &index, None).await
    })
    .await
}

/// Reads the spans in rows `rows` of a block (whole traces, as the trace index records them).
pub async fn read_rows(
    store: Arc<dyn ObjectStore>,
    path: &Path,
    size: Option<u64>,
    rows: Range<usize>,
) -> Result<Vec<Span>> {
    guarded(path, async {
        let index = load_index(&store, path).await?;
        let builder = open(store, path, size, false).await?;
        decode_spans(builder, path, &index, Some(rows)).await
    })
    .await
}

/// Reads the spans of one trace: the trace index gives its rows, so only the pages holding them are fetched.
pub async fn read_trace(
    store: Arc<dyn ObjectStore>,
    path: &Path,
    size: Option<u64>,
    trace_id: TraceId,
) -> Result<Vec<Span>> {
    let index = guarded(path, load_index(&store, path)).await?;
    match index.traces.rows(&trace_id) {
        Some(rows) => read_rows(store, path, size, rows).await,
        None => Ok(Vec::new()),
    }
}

async fn decode_spans(
    builder: Builder,
    path: &Path,
    index: &LoadedIndex,
    rows: Option<Range<usize>>,
) -> Result<Vec<Span>> {
    let logical = block_schema();
    let wanted: Vec<&str> = logical.fields().iter().map(|f| f.name().as_str()).collect();
    let mask = projection(&builder, path, &physical_columns(&wanted, &index.index))?;
    let mut builder = builder.with_projection(mask);
    if let Some(rows) = rows {
        let (groups, selectors) = select_rows(builder.metadata(), rows);
        if groups.is_empty() {
            return Ok(Vec::new());
        }
        let batch = selectors
            .iter()
            .filter(|s| !s.skip)
            .map(|s| s.row_count)
            .sum::<usize>();
        builder = builder
            .with_row_groups(groups)
            .with_row_selection(RowSelection::from(selectors))
            .with_batch_size(batch.max(1));
    }
    let stream: ParquetRecordBatchStream<BlockReader> = builder.build()?;
    let mut stream = stream.map_err(StoreError::from);
    let mut decoder = Decoder::default();
    let mut spans = Vec::new();
    while let Some(batch) = stream.try_next().await? {
        let logical = logical_batch(&batch, index, &wanted)
            .and_then(|b| decoder.decode(&b, &mut spans).map(|()| b));
        logical.map_err(|Corrupt(reason)| corrupt_block(path, reason))?;
    }
    Ok(spans)
}

/// Row groups and the row selection (over those groups) of block rows `rows`.
fn select_rows(metadata: &ParquetMetaData, rows: Range<usize>) -> (Vec<usize>, Vec<RowSelector>) {
    let mut groups = Vec::new();
    let mut selectors = Vec::new();
    let mut first = 0usize;
    for rg in 0..metadata.num_row_groups() {
        let len = usize::try_from(metadata.row_group(rg).num_rows()).unwrap_or(0);
        let end = first + len;
        if rows.start < end && first < rows.end {
            let (from, to) = (rows.start.max(first) - first, rows.end.min(end) - first);
            groups.push(rg);
            if from > 0 {
                selectors.push(RowSelector::skip(from));
            }
            selectors.push(RowSelector::select(to - from));
            if to < len {
                selectors.push(RowSelector::skip(len - to));
            }
        }
        first = end;
    }
    (groups, selectors)
}

/// Streams logical columns of a block (see [`crate::block::scan`]). Row groups are pruned by the start range and
/// by `row_groups`; asking for `parent_span_id` reads whole row groups per batch and allows no row filter.
pub async fn scan(
    store: Arc<dyn ObjectStore>,
    path: &Path,
    size: Option<u64>,
    request: ScanRequest<'_>,
) -> Result<BoxStream<'static, Result<arrow::array::RecordBatch>>> {
    let index = guarded(path, load_index(&store, path)).await?;
    let builder = open(store, path, size, true).await?;
    let wanted: Vec<String> = request.columns.iter().map(|c| (*c).to_owned()).collect();
    let with_parents = request.columns.contains(&col::PARENT_SPAN_ID);
    if with_parents && request.filter.is_some() {
        return Err(StoreError::Internal(
            "a v2 scan resolves parent_span_id over whole traces and takes no row filter".into(),
        ));
    }
    let mask = projection(
        &builder,
        path,
        &physical_columns(request.columns, &index.index),
    )?;
    let groups: Vec<usize> = index
        .index
        .row_groups
        .iter()
        .enumerate()
        .filter(|(i, g)| {
            request
                .start_range
                .is_none_or(|(from, to)| g.max_start >= from && g.min_start <= to)
                && request
                    .row_groups
                    .as_ref()
                    .is_none_or(|keep| keep.contains(i))
        })
        .map(|(i, _)| i)
        .filter(|&i| i < builder.metadata().num_row_groups())
        .collect();
    let batch_rows = match with_parents {
        true => whole_group_rows(builder.metadata()),
        false => request.batch_rows.max(1),
    };
    let builder = match request.filter {
        Some(filter) => {
            let names: Vec<String> = filter.columns.iter().map(|c| (*c).to_owned()).collect();
            let filter_mask = projection(&builder, path, &names)?;
            let mut keep = filter.keep;
            let predicate = ArrowPredicateFn::new(filter_mask, move |batch| keep(&batch));
            builder.with_row_filter(RowFilter::new(vec![Box::new(predicate)]))
        }
        None => builder,
    };
    let stream = builder
        .with_projection(mask)
        .with_row_groups(groups)
        .with_batch_size(batch_rows)
        .build()?;
    let (path, panic_path) = (path.clone(), path.to_string());
    let logical = stream.map(move |item| {
        let batch = item.map_err(StoreError::from)?;
        let wanted: Vec<&str> = wanted.iter().map(String::as_str).collect();
        logical_batch(&batch, &index, &wanted)
            .map_err(|Corrupt(reason)| corrupt_block(&path, reason))
    });
    Ok(std::panic::AssertUnwindSafe(logical)
        .catch_unwind()
        .map(move |item| match item {
            Ok(result) => result,
            Err(_) => Err(StoreError::CorruptBlock {
                block: panic_path.clone(),
                reason: "decoder panicked".into(),
            }),
        })
        .boxed())
}

/// Row groups whose value filters admit every condition.
pub async fn row_groups_holding(
    store: &Arc<dyn ObjectStore>,
    path: &Path,
    conditions: &[crate::block::ValueCondition],
) -> Result<Vec<usize>> {
    let index = guarded(path, load_index(store, path)).await?;
    Ok(index
        .index
        .row_groups
        .iter()
        .enumerate()
        .filter(|(_, g)| conditions.iter().all(|c| g.may_hold(&c.key, &c.texts)))
        .map(|(i, _)| i)
        .collect())
}

/// The block's dynamic attribute columns, `(key, type)` in column order.
pub async fn dynamic_columns(
    store: &Arc<dyn ObjectStore>,
    data_path: &Path,
) -> Result<Vec<(String, super::schema::DynType)>> {
    let index = guarded(data_path, load_index(store, data_path)).await?;
    Ok(index.index.dynamic.clone())
}
