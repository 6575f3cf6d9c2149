//! Reading v1 blocks from an object store: every span, or the spans of one trace.

use std::future::Future;
use std::ops::Range;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use arrow::array::{Array, BooleanArray, FixedSizeBinaryArray, RecordBatch};
use arrow::datatypes::{DataType, Schema};
use arrow::error::ArrowError;
use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{FutureExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::arrow::arrow_reader::{
    ArrowPredicateFn, ArrowReaderMetadata, ArrowReaderOptions, RowFilter, RowSelection, RowSelector,
};
use parquet::arrow::async_reader::{
    AsyncFileReader, ParquetRecordBatchStream, ParquetRecordBatchStreamBuilder,
};
use parquet::arrow::ProjectionMask;
use parquet::errors::ParquetError;
use parquet::file::metadata::{PageIndexPolicy, ParquetMetaData, ParquetMetaDataReader};
use parquet::file::page_index::column_index::ColumnIndexMetaData;
use parquet::file::page_index::offset_index::PageLocation;
use tracewell_model::{Span, TraceId};

use super::decode::{Corrupt, Decoder};
use super::schema::{block_schema, FORMAT_KEY, TRACE_ID_LEAF};
use super::FORMAT_VERSION;
use crate::error::{Result, StoreError};

pub(in crate::block) type Builder = ParquetRecordBatchStreamBuilder<BlockReader>;

/// Reads every span of a block, in block order. Consecutive spans with equal resources (or scopes) share one `Arc`.
pub async fn read_all(store: Arc<dyn ObjectStore>, path: &Path) -> Result<Vec<Span>> {
    read_all_sized(store, path, None).await
}

/// [`read_all`] when the file size is known (from `meta.json`), saving a metadata request.
pub async fn read_all_sized(
    store: Arc<dyn ObjectStore>,
    path: &Path,
    size: Option<u64>,
) -> Result<Vec<Span>> {
    guarded(path, async {
        let builder = open(store, path, size).await?;
        decode_stream(builder.build()?, path).await
    })
    .await
}

/// Reads the spans of one trace (empty when the block does not hold it). Row groups whose `trace_id` statistics
/// exclude the trace, or whose bloom filter says it is absent, are skipped; within the others only the pages the
/// page index admits are fetched, and a row filter on `trace_id` decodes the other columns only for its rows.
pub async fn read_trace(
    store: Arc<dyn ObjectStore>,
    path: &Path,
    trace_id: TraceId,
) -> Result<Vec<Span>> {
    read_trace_sized(store, path, None, trace_id).await
}

/// [`read_trace`] when the file size is known (from `meta.json`), saving a metadata request.
pub async fn read_trace_sized(
    store: Arc<dyn ObjectStore>,
    path: &Path,
    size: Option<u64>,
    trace_id: TraceId,
) -> Result<Vec<Span>> {
    guarded(path, read_trace_unguarded(store, path, size, trace_id)).await
}

async fn read_trace_unguarded(
    store: Arc<dyn ObjectStore>,
    path: &Path,
    size: Option<u64>,
    trace_id: TraceId,
) -> Result<Vec<Span>> {
    let mut builder = open(store, path, size).await?;
    let (groups, selectors) = plan_trace_read(&mut builder, path, &trace_id).await?;
    if groups.is_empty() {
        return Ok(Vec::new());
    }
    let mask = ProjectionMask::leaves(builder.parquet_schema(), [TRACE_ID_LEAF]);
    let predicate = ArrowPredicateFn::new(mask, move |batch: RecordBatch| {
        rows_of_trace(&batch, &trace_id)
    });
    let stream = builder
        .with_row_groups(groups)
        .with_row_selection(RowSelection::from(selectors))
        .with_row_filter(RowFilter::new(vec![Box::new(predicate)]))
        .build()?;
    decode_stream(stream, path).await
}

/// Runs a read, turning a panic of the Parquet decoder (it asserts on some malformed pages, and v1 pages carry no
/// checksum) into a [`StoreError::CorruptBlock`]. The read's state is all local, so nothing outlives the panic.
pub(in crate::block) async fn guarded<T>(
    path: &Path,
    read: impl Future<Output = Result<T>>,
) -> Result<T> {
    match AssertUnwindSafe(read).catch_unwind().await {
        Ok(result) => result,
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            tracing::warn!(block = %path, %message, "parquet decoder panicked on a block");
            Err(corrupt_block(path, format!("decoder panicked: {message}")))
        }
    }
}

pub(in crate::block) fn corrupt_block(path: &Path, reason: impl Into<String>) -> StoreError {
    StoreError::CorruptBlock {
        block: path.to_string(),
        reason: reason.into(),
    }
}

/// Opens a block: reads its footer and page index, and checks its format marker and schema.
async fn open(store: Arc<dyn ObjectStore>, path: &Path, size: Option<u64>) -> Result<Builder> {
    let options = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Optional);
    open_with(store, path, size, options).await
}

/// [`open`] with reader options (e.g. a schema hint).
pub(in crate::block) async fn open_with(
    store: Arc<dyn ObjectStore>,
    path: &Path,
    size: Option<u64>,
    options: ArrowReaderOptions,
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
    let options = options.with_page_index_policy(PageIndexPolicy::Optional);
    let key = format!("{path}#{size}");
    let cached = metadata_cache().lock().get(&key).cloned();
    let metadata = match cached {
        Some(metadata) => ArrowReaderMetadata::try_new(metadata, options)?,
        None => {
            let loaded = ArrowReaderMetadata::load_async(&mut reader, options).await?;
            check_format(loaded.metadata(), FORMAT_VERSION)
                .map_err(|reason| corrupt_block(path, reason))?;
            let mut cache = metadata_cache().lock();
            if cache.len() >= METADATA_CACHE_BLOCKS {
                cache.clear();
            }
            cache.insert(key, Arc::clone(loaded.metadata()));
            loaded
        }
    };
    let builder = ParquetRecordBatchStreamBuilder::new_with_metadata(reader, metadata);
    check_schema(builder.schema()).map_err(|reason| corrupt_block(path, reason))?;
    Ok(builder)
}

/// Footers (with page indexes) of blocks read lately, by path and size: blocks never change once written, and
/// parsing a footer costs more than reading one trace. Emptied when it holds this many blocks.
pub(in crate::block) const METADATA_CACHE_BLOCKS: usize = 1024;

pub(in crate::block) fn metadata_cache(
) -> &'static parking_lot::Mutex<std::collections::HashMap<String, Arc<ParquetMetaData>>> {
    static CACHE: std::sync::OnceLock<
        parking_lot::Mutex<std::collections::HashMap<String, Arc<ParquetMetaData>>>,
    > = std::sync::OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// Reads the spans in rows `rows` of a block (a trace's rows, as a trace index records them): only the pages
/// holding those rows are fetched.
pub async fn read_rows(
    store: Arc<dyn ObjectStore>,
    path: &Path,
    size: Option<u64>,
    rows: Range<usize>,
) -> Result<Vec<Span>> {
    guarded(path, async {
        let builder = open(store, path, size).await?;
        let metadata = Arc::clone(builder.metadata());
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
        if groups.is_empty() {
            return Ok(Vec::new());
        }
        let stream = builder
            .with_row_groups(groups)
            .with_row_selection(RowSelection::from(selectors))
            .build()?;
        decode_stream(stream, path).await
    })
    .await
}

/// Checks the format marker in a block's key/value metadata.
pub(in crate::block) fn check_format(
    metadata: &ParquetMetaData,
    expected: &str,
) -> std::result::Result<(), String> {
    let kvs = metadata.file_metadata().key_value_metadata();
    let format = kvs.and_then(|kvs| kvs.iter().find(|kv| kv.key == FORMAT_KEY));
    match format.and_then(|kv| kv.value.as_deref()) {
        Some(found) if found == expected => Ok(()),
        other => Err(format!("{FORMAT_KEY} is {other:?}, expected {expected:?}")),
    }
}

/// Every v1 column must be present with its exact type (extra columns are ignored); a string column may arrive as a
/// dictionary when the reader asked for one.
fn check_schema(schema: &Schema) -> std::result::Result<(), String> {
    for want in block_schema().fields() {
        let Ok(found) = schema.field_with_name(want.name()) else {
            return Err(format!("column {} is missing", want.name()));
        };
        let same_type = match (found.data_type(), want.data_type()) {
            (DataType::Dictionary(_, value), DataType::Utf8) => **value == DataType::Utf8,
            (found, want) => found == want,
        };
        if !same_type || found.is_nullable() != want.is_nullable() {
            let (name, got, expected) = (want.name(), found.data_type(), want.data_type());
            return Err(format!("column {name} is {got}, expected {expected}"));
        }
    }
    Ok(())
}

async fn decode_stream(
    mut stream: ParquetRecordBatchStream<BlockReader>,
    path: &Path,
) -> Result<Vec<Span>> {
    let mut decoder = Decoder::default();
    let mut spans = Vec::new();
    while let Some(batch) = stream.try_next().await? {
        decoder
            .decode(&batch, &mut spans)
            .map_err(|Corrupt(reason)| corrupt_block(path, reason))?;
    }
    Ok(spans)
}

/// The row filter: rows whose `trace_id` (the only projected column) equals `trace_id`.
fn rows_of_trace(
    batch: &RecordBatch,
    trace_id: &TraceId,
) -> std::result::Result<BooleanArray, ArrowError> {
    let ids = batch
        .columns()
        .first()
        .and_then(|c| c.as_any().downcast_ref::<FixedSizeBinaryArray>())
        .ok_or_else(|| {
            ArrowError::SchemaError("trace_id is not a fixed-size binary column".into())
        })?;
    Ok((0..ids.len())
        .map(|i| Some(ids.is_valid(i) && ids.value(i) == trace_id.0))
        .collect())
}

/// Row groups that may hold the trace, and the row selection (over those groups, concatenated) of the pages whose
/// `trace_id` range includes it.
async fn plan_trace_read(
    builder: &mut Builder,
    path: &Path,
    trace_id: &TraceId,
) -> Result<(Vec<usize>, Vec<RowSelector>)> {
    let metadata = Arc::clone(builder.metadata());
    let mut groups = Vec::new();
    let mut selectors = Vec::new();
    for rg in 0..metadata.num_row_groups() {
        if !stats_admit(&metadata, rg, trace_id) {
            continue;
        }
        let bloom = builder
            .get_row_group_column_bloom_filter(rg, TRACE_ID_LEAF)
            .await?;
        if bloom.is_some_and(|b| !b.check(&trace_id.0[..])) {
            continue;
        }
        let pages = page_selection(&metadata, rg, trace_id)
            .map_err(|reason| corrupt_block(path, reason))?;
        if pages.iter().any(|s| !s.skip) {
            groups.push(rg);
            selectors.extend(pages);
        }
    }
    Ok((groups, selectors))
}

/// Whether a row group's `trace_id` min/max statistics admit the trace (true when they are absent).
fn stats_admit(metadata: &ParquetMetaData, rg: usize, trace_id: &TraceId) -> bool {
    let Some(stats) = metadata
        .row_group(rg)
        .columns()
        .get(TRACE_ID_LEAF)
        .and_then(|c| c.statistics())
    else {
        return true;
    };
    let id = &trace_id.0[..];
    stats.min_bytes_opt().is_none_or(|min| min <= id)
        && stats.max_bytes_opt().is_none_or(|max| id <= max)
}

/// Selectors covering all rows of row group `rg`: selected for the pages whose `trace_id` range admits the trace
/// (or that have no usable statistics), skipped for the others.
fn page_selection(
    metadata: &ParquetMetaData,
    rg: usize,
    trace_id: &TraceId,
) -> Result<Vec<RowSelector>, String> {
    let rows = usize::try_from(metadata.row_group(rg).num_rows())
        .map_err(|_| format!("row group {rg} has a negative row count"))?;
    let index = metadata
        .column_index()
        .and_then(|c| c.get(rg)?.get(TRACE_ID_LEAF));
    let offsets = metadata
        .offset_index()
        .and_then(|o| o.get(rg)?.get(TRACE_ID_LEAF));
    let (Some(ColumnIndexMetaData::FIXED_LEN_BYTE_ARRAY(index)), Some(offsets)) = (index, offsets)
    else {
        return Ok(vec![RowSelector::select(rows)]);
    };
    let pages =
        page_rows(offsets.page_locations(), rows).map_err(|e| format!("row group {rg}: {e}"))?;
    if pages.len() as u64 != index.num_pages() {
        return Err(format!(
            "row group {rg}: page and offset indexes disagree on the page count"
        ));
    }
    let id = &trace_id.0[..];
    let bounds = index.min_values_iter().zip(index.max_values_iter());
    let selectors = pages.into_iter().zip(bounds).map(|(len, (min, max))| {
        match min.is_none_or(|min| min <= id) && max.is_none_or(|max| id <= max) {
            true => RowSelector::select(len),
            false => RowSelector::skip(len),
        }
    });
    Ok(selectors.collect())
}

/// Row counts of a column chunk's pages, checked to tile the row group's `rows` rows.
fn page_rows(locations: &[PageLocation], rows: usize) -> Result<Vec<usize>, String> {
    let mut starts = Vec::with_capacity(locations.len() + 1);
    for location in locations {
        starts.push(usize::try_from(location.first_row_index).map_err(|_| "negative first row")?);
    }
    starts.push(rows);
    if rows > 0 && starts.first() != Some(&0) {
        return Err("pages do not start at row 0".into());
    }
    starts
        .windows(2)
        .map(|w| {
            w[1].checked_sub(w[0])
                .ok_or_else(|| "pages are out of order".to_owned())
        })
        .collect()
}

/// Bytes of a block in an object store, for the async Parquet reader. The prefetch hint usually brings the footer
/// and the page index in with one request. (The size comes from a `head` request: parquet 59 misplaces the page
/// index when the footer is found with a suffix request, so the size must be known.)
pub(crate) struct BlockReader {
    pub(crate) store: Arc<dyn ObjectStore>,
    pub(crate) path: Path,
    pub(crate) size: u64,
}

const FOOTER_PREFETCH: usize = 64 * 1024;

fn external(e: object_store::Error) -> ParquetError {
    ParquetError::External(Box::new(e))
}

impl AsyncFileReader for BlockReader {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        async move {
            self.store
                .get_range(&self.path, range)
                .await
                .map_err(external)
        }
        .boxed()
    }

    fn get_byte_ranges(
        &mut self,
        ranges: Vec<Range<u64>>,
    ) -> BoxFuture<'_, parquet::errors::Result<Vec<Bytes>>> {
        async move {
            self.store
                .get_ranges(&self.path, &ranges)
                .await
                .map_err(external)
        }
        .boxed()
    }

    fn get_metadata<'a>(
        &'a mut self,
        options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, parquet::errors::Result<Arc<ParquetMetaData>>> {
        let size = self.size;
        async move {
            let metadata = ParquetMetaDataReader::new()
                .with_arrow_reader_options(options)
                .with_prefetch_hint(Some(FOOTER_PREFETCH))
                .load_and_finish(self, size)
                .await?;
            Ok(Arc::new(metadata))
        }
        .boxed()
    }
}

/// The row groups and the number of rows [`read_trace`] would decode before its row filter.
#[cfg(test)]
pub(in crate::block) async fn plan_trace_read_for_test(
    store: Arc<dyn ObjectStore>,
    path: &Path,
    trace_id: TraceId,
) -> (Vec<usize>, usize) {
    let mut builder = open(store, path, None).await.expect("open");
    let (groups, selectors) = plan_trace_read(&mut builder, path, &trace_id)
        .await
        .expect("plan");
    (
        groups,
        selectors
            .iter()
            .filter(|s| !s.skip)
            .map(|s| s.row_count)
            .sum(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(first_rows: &[i64]) -> Vec<PageLocation> {
        let page = |&first_row_index: &i64| PageLocation {
            offset: 0,
            compressed_page_size: 0,
            first_row_index,
        };
        first_rows.iter().map(page).collect()
    }

    /// First row of each page, rows of the row group, and the page row counts (`None`: refused).
    type Case = (&'static [i64], usize, Option<Vec<usize>>);

    #[test]
    fn page_rows_must_tile_the_row_group() {
        let cases: [Case; 7] = [
            (&[0, 2048, 4096], 5000, Some(vec![2048, 2048, 904])),
            (&[0], 10, Some(vec![10])),
            (&[], 0, Some(vec![])),
            (&[], 10, None),
            (&[5, 10], 20, None),
            (&[0, 30], 20, None),
            (&[0, -1], 20, None),
        ];
        for (firsts, rows, want) in cases {
            let got = page_rows(&at(firsts), rows).ok();
            assert_eq!(got, want, "{firsts:?} of {rows} rows");
        }
    }
}
