//! Column scans over a v1 block, for search and indexing: a projection of top-level columns, row groups pruned by
//! the start-time statistics, `service_name` and `name` decoded as dictionaries (cheap to compare).

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use arrow::array::{BooleanArray, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::error::ArrowError;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::ObjectStore;
use parquet::arrow::arrow_reader::{ArrowPredicateFn, ArrowReaderOptions, RowFilter};
use parquet::arrow::ProjectionMask;

use super::read::{corrupt_block, open_with};
use super::schema::{block_schema, col, START_LEAF};
use crate::error::{Result, StoreError};

/// What to read from a block.
pub struct ScanRequest<'a> {
    /// Top-level column names (see [`super::schema::col`] and the hot attribute columns).
    pub columns: &'a [&'a str],
    /// Only row groups whose spans may start in `[from, to]` (unix nanoseconds) are read.
    pub start_range: Option<(u64, u64)>,
    pub batch_rows: usize,
    /// Decides which rows to keep from a few (cheap) columns before the other columns are decoded.
    pub filter: Option<RowPredicate>,
    /// Only these row groups are read (e.g. those whose value filters admit a search); `None`: all.
    pub row_groups: Option<Vec<usize>>,
}

/// Decides, per batch of a filter's columns, which rows to keep.
pub type KeepRows =
    Box<dyn FnMut(&RecordBatch) -> Result<BooleanArray, ArrowError> + Send + 'static>;

/// A row filter of a scan: the columns it looks at, and the decision per batch of those columns.
pub struct RowPredicate {
    pub columns: Vec<&'static str>,
    pub keep: KeepRows,
}

/// The type a scanned column arrives as: `service_name` and `name` as `Dictionary(Int32, Utf8)`, the others as in
/// [`block_schema`].
pub fn scan_type(name: &str) -> Option<DataType> {
    let field = block_schema().field_with_name(name).ok()?.clone();
    Some(match name {
        col::SERVICE_NAME | col::NAME => dictionary_utf8(),
        _ => field.data_type().clone(),
    })
}

fn dictionary_utf8() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}

fn hinted_schema() -> Arc<Schema> {
    let fields: Vec<Field> = block_schema()
        .fields()
        .iter()
        .map(|f| match f.name().as_str() {
            col::SERVICE_NAME | col::NAME => {
                Field::new(f.name(), dictionary_utf8(), f.is_nullable())
            }
            _ => f.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// Streams the requested columns of a block. Batches carry the columns in block-schema order. A decoder panic
/// (malformed page) ends the stream with [`StoreError::CorruptBlock`].
pub async fn scan(
    store: Arc<dyn ObjectStore>,
    path: &Path,
    size: Option<u64>,
    request: ScanRequest<'_>,
) -> Result<BoxStream<'static, Result<RecordBatch>>> {
    let options = ArrowReaderOptions::new().with_schema(hinted_schema());
    let builder = open_with(store, path, size, options).await?;
    let schema = block_schema();
    let roots = |names: &[&str]| -> Result<Vec<usize>> {
        names
            .iter()
            .map(|name| {
                schema
                    .index_of(name)
                    .map_err(|_| StoreError::Internal(format!("no block column named {name}")))
            })
            .collect()
    };
    let mask = ProjectionMask::roots(builder.parquet_schema(), roots(request.columns)?);
    let metadata = Arc::clone(builder.metadata());
    let groups: Vec<usize> = (0..metadata.num_row_groups())
        .filter(|&rg| match request.start_range {
            None => true,
            Some((from, to)) => {
                let stats = metadata
                    .row_group(rg)
                    .columns()
                    .get(START_LEAF)
                    .and_then(|c| c.statistics());
                let min = stats.and_then(|s| s.min_bytes_opt()).and_then(le_u64);
                let max = stats.and_then(|s| s.max_bytes_opt()).and_then(le_u64);
                max.is_none_or(|max| max >= from) && min.is_none_or(|min| min <= to)
            }
        })
        .filter(|rg| {
            request
                .row_groups
                .as_ref()
                .is_none_or(|keep| keep.contains(rg))
        })
        .collect();
    let builder = match request.filter {
        Some(filter) => {
            let filter_mask =
                ProjectionMask::roots(builder.parquet_schema(), roots(&filter.columns)?);
            let mut keep = filter.keep;
            let predicate =
                ArrowPredicateFn::new(filter_mask, move |batch: RecordBatch| keep(&batch));
            builder.with_row_filter(RowFilter::new(vec![Box::new(predicate)]))
        }
        None => builder,
    };
    let stream = builder
        .with_projection(mask)
        .with_row_groups(groups)
        .with_batch_size(request.batch_rows.max(1))
        .build()?;
    let path = path.clone();
    let guarded = AssertUnwindSafe(stream.map_err(StoreError::from))
        .catch_unwind()
        .map(move |item| match item {
            Ok(result) => result,
            Err(_) => Err(corrupt_block(&path, "decoder panicked")),
        });
    Ok(guarded.boxed())
}

fn le_u64(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?))
}
