//! Encoding spans into a v2 block: `data.parquet` and `index.bin`.

use std::borrow::Borrow;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, FixedSizeBinaryArray, Float64Builder, Int64Builder, RecordBatch,
    StringArray, StringBuilder, UInt32Array, UInt64Array, UInt8Array,
};
use arrow::datatypes::SchemaRef;
use bytes::Bytes;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::bloom_filter::Sbbf;
use parquet::file::metadata::{KeyValue, SortingColumn};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use prost::Message;

use crate::fast_hash::FastHashMap as HashMap;
use tracewell_model::otlp::attrs_to_otlp;
use tracewell_model::{AttrValue, Attribute, Resource, Scope, Span, SpanId, StatusCode, TraceId};

use super::index::{
    filter_entry, filter_entry_key, BlockIndex, Placement, RowGroupEntry, NAME_KEY,
};
use super::schema::{col2, physical_schema, DynType, FORMAT_KEY, START_LEAF, TRACE_ID_LEAF};
use super::FORMAT_VERSION;
use crate::block::stats::KeySet;
use crate::block::trace_index::{IndexedSpan, TraceIndexBuilder};
use crate::block::v1::attrs::AttrListBuilder;
use crate::block::v1::encode::{EventListBuilder, LinkListBuilder};
use crate::block::v1::schema::{col, hot_slot, HotType, HOT_ATTRS, PAGE_ROWS};
use crate::block::{BlockFormat, StatsBuilder, WriteOptions, WrittenBlock};
use crate::error::{Result, StoreError};

/// Most dynamic attribute columns a block gets.
pub const MAX_DYNAMIC_COLUMNS: usize = 64;
/// A `(key, type)` gets a dynamic column when at least this share of the block's spans carry it (and at least one).
const DYNAMIC_MIN_SHARE: f64 = 0.005;

/// Sorts spans by `(trace_id, start, span_id)` and encodes them as a v2 block. Row groups end at trace
/// boundaries, so a trace is always within one row group.
pub fn write_block_refs(spans: Vec<&Span>, opts: &WriteOptions) -> Result<WrittenBlock> {
    let spans = sorted_for_block(spans);
    let mut writer = BlockWriter::new(choose_dynamic_columns(&spans), opts)?;
    for trace in spans.chunk_by(|a, b| a.trace_id == b.trace_id) {
        writer.push_trace(trace.to_vec())?;
    }
    writer.finish()
}

/// `spans` in block order: by `(trace_id, start, span_id)`. The keys are read once into a contiguous vector
/// and compared as integers (big-endian ids order as their bytes do), instead of following two span pointers
/// and comparing byte arrays at every comparison.
fn sorted_for_block(spans: Vec<&Span>) -> Vec<&Span> {
    let mut keyed: Vec<(u128, u64, u64, &Span)> = spans
        .into_iter()
        .map(|s| {
            (
                u128::from_be_bytes(s.trace_id.0),
                s.start_unix_nano,
                u64::from_be_bytes(s.span_id.0),
                s,
            )
        })
        .collect();
    keyed.sort_by_key(|k| (k.0, k.1, k.2));
    keyed.into_iter().map(|k| k.3).collect()
}

/// Writes a v2 block trace by trace, holding at most one row group of spans: a flush hands it a head's spans,
/// a compaction the merged spans of its inputs as they are read.
pub struct BlockWriter<S: Borrow<Span>> {
    opts: WriteOptions,
    schema: SchemaRef,
    dynamic: Vec<(String, DynType)>,
    /// Made with the first row group, whose leaf densities choose each column's compression.
    writer: Option<ArrowWriter<Vec<u8>>>,
    tables: Tables,
    row_groups: Vec<RowGroupEntry>,
    rows: u64,
    /// Whole traces not yet encoded, in block order.
    pending: Vec<S>,
    traces: TraceIndexBuilder,
    stats: StatsBuilder,
    last_trace: Option<TraceId>,
}

impl<S: Borrow<Span>> BlockWriter<S> {
    /// A writer giving the `(key, type)` pairs of `dynamic` their own columns (at most
    /// [`MAX_DYNAMIC_COLUMNS`]; the rest are dropped from the list).
    pub fn new(mut dynamic: Vec<(String, DynType)>, opts: &WriteOptions) -> Result<Self> {
        opts.validate()?;
        dynamic.truncate(MAX_DYNAMIC_COLUMNS);
        let schema = physical_schema(&dynamic);
        Ok(Self {
            opts: opts.clone(),
            schema,
            tables: Tables::new(&dynamic),
            dynamic,
            writer: None,
            row_groups: Vec::new(),
            rows: 0,
            pending: Vec::new(),
            traces: TraceIndexBuilder::default(),
            stats: StatsBuilder::default(),
            last_trace: None,
        })
    }

    /// Adds one whole trace: its spans sorted by `(start, span_id)`, its id greater than every earlier trace's.
    pub fn push_trace(&mut self, spans: Vec<S>) -> Result<()> {
        let Some(first) = spans.first() else {
            return Ok(());
        };
        let trace_id = first.borrow().trace_id;
        if self.last_trace.is_some_and(|last| last >= trace_id)
            || spans.iter().any(|s| s.borrow().trace_id != trace_id)
        {
            return Err(StoreError::Internal(format!(
                "block writer: trace {} is out of order or mixed with other traces",
                trace_id.to_hex()
            )));
        }
        self.last_trace = Some(trace_id);
        for s in &spans {
            let s = s.borrow();
            self.stats.push_except_span_keys(s);
            self.traces.push(IndexedSpan {
                trace_id: s.trace_id,
                start: s.start_unix_nano,
                end: s.end_unix_nano.max(s.start_unix_nano),
                error: s.status.code == StatusCode::Error,
                service: s.service_name(),
                root_name: s.parent_span_id.is_none().then_some(s.name.as_str()),
            });
        }
        self.pending.extend(spans);
        if self.pending.len() >= self.opts.row_group_spans {
            self.write_group()?;
        }
        Ok(())
    }

    /// Encodes the pending traces as one row group.
    fn write_group(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let group: Vec<&Span> = self.pending.iter().map(Borrow::borrow).collect();
        let (batch, filter) =
            self.tables
                .encode_group(&self.schema, &group, self.opts.bloom_fpp)?;
        let writer = match &mut self.writer {
            Some(writer) => writer,
            None => self.writer.insert(ArrowWriter::try_new(
                Vec::new(),
                Arc::clone(&self.schema),
                Some(properties(&self.opts, Some(&batch))?),
            )?),
        };
        writer.write(&batch)?;
        writer.flush()?;
        self.row_groups.push(RowGroupEntry {
            first_row: self.rows,
            rows: group.len() as u64,
            min_start: group.iter().map(|s| s.start_unix_nano).min().unwrap_or(0),
            max_start: group.iter().map(|s| s.start_unix_nano).max().unwrap_or(0),
            values: Some(filter),
        });
        self.rows += group.len() as u64;
        self.pending.clear();
        Ok(())
    }

    /// Bytes of encoded data so far (row groups written).
    pub fn data_bytes(&self) -> usize {
        self.writer.as_ref().map_or(0, ArrowWriter::bytes_written)
    }

    /// Writes the last row group and the footer; returns the block's files and stats.
    pub fn finish(mut self) -> Result<WrittenBlock> {
        self.write_group()?;
        let writer = match self.writer {
            Some(writer) => writer,
            None => ArrowWriter::try_new(
                Vec::new(),
                Arc::clone(&self.schema),
                Some(properties(&self.opts, None)?),
            )?,
        };
        let data = Bytes::from(writer.into_inner()?);
        let span_keys = self.tables.span_keys(&self.dynamic);
        let index = BlockIndex {
            resources: self.tables.resources,
            scopes: self.tables.scopes,
            shapes: self.tables.shapes,
            dynamic: self.dynamic,
            traces: self.traces.finish(),
            row_groups: self.row_groups,
        };
        let index = index
            .encode(self.opts.zstd_level)
            .map_err(|e| StoreError::Internal(format!("encoding a block index: {e}")))?;
        Ok(WrittenBlock {
            format: BlockFormat::V2,
            data,
            index: Some(index),
            stats: self.stats.finish_with_span_keys(span_keys),
        })
    }
}

/// Leaves with fewer non-null values per row than this in a block's first row group are sparse: not worth a zstd
/// context (see [`cheap_codecs`]).
const SPARSE_LEAF_DENSITY: f64 = 1.0 / 20.0;

/// Columns stored uncompressed whatever their values: random ids, which zstd cannot shrink.
const INCOMPRESSIBLE: [&str; 1] = [col::SPAN_ID];

/// What the first row group holds in one Parquet leaf column.
struct LeafFill {
    /// Non-null values.
    values: usize,
    /// Entries at the leaf's level (rows for a top-level column, items for a list's).
    entries: usize,
    top_level: bool,
    /// Numbers and booleans: no strings or bytes.
    fixed_width: bool,
}

/// Per Parquet leaf column of an array (depth-first, as Parquet numbers them): what it holds.
fn leaf_fill(array: &dyn arrow::array::Array, top_level: bool, out: &mut Vec<LeafFill>) {
    use arrow::array::AsArray;
    use arrow::datatypes::DataType;
    match array.data_type() {
        DataType::Struct(_) => {
            for child in array.as_struct().columns() {
                leaf_fill(child.as_ref(), top_level, out);
            }
        }
        DataType::List(_) => leaf_fill(array.as_list::<i32>().values().as_ref(), false, out),
        other => out.push(LeafFill {
            values: array.len() - array.null_count(),
            entries: array.len(),
            top_level,
            fixed_width: other.is_primitive() || matches!(other, DataType::Boolean),
        }),
    }
}

/// The leaf columns not compressed with zstd, with their codec, judged on a block's first row group. Each
/// zstd-compressed column chunk a read opens costs a zstd context, whose creation runs `cpuid`, which traps in
/// virtual machines (5 µs each, three per context, here); leaves zstd barely shrinks are better without it
/// (measured per column on otlp-blast blocks):
/// - uncompressed: random ids (`span_id`: 8.017 B/span with zstd, 8.012 plain); leaves holding nothing (a null
///   top-level column is one run of definition levels, a list without items such as links has no entries; zstd's
///   frame made them bigger); sparse top-level numbers and booleans (mostly definition levels, ±0.03 B/span each);
/// - LZ4: the other sparse leaves (strings on a few spans, event attributes), which zstd shrinks but whose few
///   kilobytes per row group do not pay for its context; LZ4 keeps most of the gain and needs no context.
fn cheap_codecs(batch: &arrow::array::RecordBatch) -> Result<Vec<(ColumnPath, Compression)>> {
    let parquet = parquet::arrow::ArrowSchemaConverter::new().convert(&batch.schema())?;
    let mut leaves = Vec::with_capacity(parquet.num_columns());
    for column in batch.columns() {
        leaf_fill(column.as_ref(), true, &mut leaves);
    }
    if leaves.len() != parquet.num_columns() {
        // The walk above does not know this layout: zstd everywhere.
        return Ok(Vec::new());
    }
    let rows = batch.num_rows().max(1) as f64;
    Ok(parquet
        .columns()
        .iter()
        .zip(leaves)
        .filter_map(|(leaf, fill)| {
            let empty = fill.values == 0 && (fill.top_level || fill.entries == 0);
            let sparse = (fill.values as f64) < rows * SPARSE_LEAF_DENSITY;
            let codec = if empty
                || (sparse && fill.top_level && fill.fixed_width)
                || INCOMPRESSIBLE.contains(&leaf.path().string().as_str())
            {
                Compression::UNCOMPRESSED
            } else if sparse {
                Compression::LZ4_RAW
            } else {
                return None;
            };
            Some((leaf.path().clone(), codec))
        })
        .collect())
}

/// Writer properties; `first` is the block's first row group, which picks the columns not compressed with zstd.
fn properties(
    opts: &WriteOptions,
    first: Option<&arrow::array::RecordBatch>,
) -> Result<WriterProperties> {
    let sort = |leaf: usize| SortingColumn {
        column_idx: leaf as i32,
        descending: false,
        nulls_first: false,
    };
    let plain = [col::SPAN_ID, col::START, col::DURATION];
    // v2 readers find rows through the block's own index (trace rows, row-group time ranges, value filters), not
    // through Parquet's min/max statistics; computing them for every string column cost ~2% of ingest CPU. The
    // columns a reader or tool may still prune on keep them.
    let with_statistics = [
        col::TRACE_ID,
        col::START,
        col::DURATION,
        col::SERVICE_NAME,
        col::NAME,
    ];
    let mut builder = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(opts.zstd_level)?))
        .set_dictionary_enabled(true)
        .set_column_encoding(ColumnPath::from(col::START), Encoding::BYTE_STREAM_SPLIT)
        .set_column_encoding(ColumnPath::from(col::DURATION), Encoding::BYTE_STREAM_SPLIT)
        .set_statistics_enabled(EnabledStatistics::None)
        // Row groups are cut by the writer, at trace boundaries.
        .set_max_row_group_row_count(None)
        .set_data_page_row_count_limit(PAGE_ROWS)
        .set_write_batch_size(PAGE_ROWS)
        .set_sorting_columns(Some(vec![sort(TRACE_ID_LEAF), sort(START_LEAF)]))
        .set_key_value_metadata(Some(vec![KeyValue::new(
            FORMAT_KEY.to_owned(),
            FORMAT_VERSION.to_owned(),
        )]));
    for name in plain {
        builder = builder.set_column_dictionary_enabled(ColumnPath::from(name), false);
    }
    for (path, codec) in first.map(cheap_codecs).transpose()?.unwrap_or_default() {
        builder = builder.set_column_compression(path, codec);
    }
    for name in with_statistics {
        builder =
            builder.set_column_statistics_enabled(ColumnPath::from(name), EnabledStatistics::Page);
    }
    Ok(builder.build())
}

fn dyn_type(value: &AttrValue) -> Option<DynType> {
    Some(match value {
        AttrValue::Str(_) => DynType::Str,
        AttrValue::Int(_) => DynType::Int,
        AttrValue::Double(_) => DynType::Double,
        AttrValue::Bool(_) => DynType::Bool,
        _ => return None,
    })
}

/// Spans [`choose_dynamic_columns`] counts at most: larger blocks are sampled evenly.
const DYNAMIC_SAMPLE_SPANS: usize = 16_384;

/// The `(key, type)` pairs that get a column: frequent, typed, without a dedicated column; most frequent first.
/// Frequencies are counted on an even sample of at most [`DYNAMIC_SAMPLE_SPANS`] spans: which keys get a column
/// only changes the block's size, never what it holds.
fn choose_dynamic_columns(spans: &[&Span]) -> Vec<(String, DynType)> {
    let stride = (spans.len() / DYNAMIC_SAMPLE_SPANS).max(1);
    let sampled = spans.len().div_ceil(stride);
    let mut counts: HashMap<(&str, DynType), usize> = HashMap::default();
    for s in spans.iter().step_by(stride) {
        for a in &s.attributes {
            if hot_slot(&a.key, &a.value).is_none() {
                if let Some(ty) = dyn_type(&a.value) {
                    *counts.entry((a.key.as_str(), ty)).or_default() += 1;
                }
            }
        }
    }
    let min = ((sampled as f64 * DYNAMIC_MIN_SHARE) as usize).max(1);
    let mut chosen: Vec<((&str, DynType), usize)> =
        counts.into_iter().filter(|(_, n)| *n >= min).collect();
    chosen.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    chosen.truncate(MAX_DYNAMIC_COLUMNS);
    chosen
        .into_iter()
        .map(|((k, ty), _)| (k.to_owned(), ty))
        .collect()
}

/// Resources (and scopes) remembered by address before the address map is emptied; the map by value stays.
const MAX_REMEMBERED_ADDRESSES: usize = 4096;

/// The block's resource, scope and shape tables, filled while row groups are encoded.
struct Tables {
    /// Dynamic column of each key, by [`DynType`] number.
    dynamic: HashMap<String, [Option<usize>; 4]>,
    dynamic_types: Vec<DynType>,
    resources: Vec<Arc<Resource>>,
    /// Resources already numbered, by address; each entry holds its `Arc` so that the address cannot be reused
    /// by another resource while the entry exists (spans are dropped row group by row group).
    resource_by_ptr: HashMap<*const Resource, (Arc<Resource>, u32)>,
    resource_by_value: HashMap<Vec<u8>, u32>,
    scopes: Vec<Arc<Scope>>,
    /// As `resource_by_ptr`.
    scope_by_ptr: HashMap<*const Scope, (Arc<Scope>, u32)>,
    scope_by_value: HashMap<Vec<u8>, u32>,
    shapes: Vec<Vec<Placement>>,
    shape_ids: HashMap<Vec<Placement>, u32>,
    /// Span attribute keys seen so far, for the block's stats: a dedicated or dynamic column's key once any span
    /// placed a value there, the others key by key.
    hot_seen: [bool; HOT_ATTRS.len()],
    dynamic_seen: Vec<bool>,
    other_keys: KeySet,
}

impl Tables {
    fn new(dynamic: &[(String, DynType)]) -> Self {
        Self {
            dynamic: {
                let mut by_key: HashMap<String, [Option<usize>; 4]> = HashMap::default();
                for (i, (k, ty)) in dynamic.iter().enumerate() {
                    by_key.entry(k.clone()).or_default()[*ty as usize] = Some(i);
                }
                by_key
            },
            dynamic_types: dynamic.iter().map(|(_, ty)| *ty).collect(),
            resources: Vec::new(),
            resource_by_ptr: HashMap::default(),
            resource_by_value: HashMap::default(),
            scopes: Vec::new(),
            scope_by_ptr: HashMap::default(),
            scope_by_value: HashMap::default(),
            shapes: Vec::new(),
            shape_ids: HashMap::default(),
            hot_seen: [false; HOT_ATTRS.len()],
            dynamic_seen: vec![false; dynamic.len()],
            other_keys: KeySet::default(),
        }
    }

    /// The span attribute keys of the spans encoded so far (`dynamic`: the block's dynamic columns).
    fn span_keys(&mut self, dynamic: &[(String, DynType)]) -> KeySet {
        let mut keys = std::mem::take(&mut self.other_keys);
        let hot = HOT_ATTRS
            .iter()
            .zip(self.hot_seen)
            .filter(|(_, seen)| *seen);
        for (h, _) in hot {
            keys.add_key(h.key);
        }
        for ((key, _), _) in dynamic
            .iter()
            .zip(&self.dynamic_seen)
            .filter(|(_, seen)| **seen)
        {
            keys.add_key(key);
        }
        keys
    }

    fn resource(&mut self, r: &Arc<Resource>) -> u32 {
        if let Some((_, id)) = self.resource_by_ptr.get(&Arc::as_ptr(r)) {
            return *id;
        }
        if self.resource_by_ptr.len() >= MAX_REMEMBERED_ADDRESSES {
            self.resource_by_ptr.clear();
        }
        let mut key = attrs_to_otlp(&r.attributes).encode_to_vec_list();
        key.extend_from_slice(&r.dropped_attributes_count.to_le_bytes());
        key.extend_from_slice(r.schema_url.as_bytes());
        let next = self.resources.len() as u32;
        let id = *self.resource_by_value.entry(key).or_insert(next);
        if id == next {
            self.resources.push(Arc::clone(r));
        }
        self.resource_by_ptr
            .insert(Arc::as_ptr(r), (Arc::clone(r), id));
        id
    }

    fn scope(&mut self, s: &Arc<Scope>) -> u32 {
        if let Some((_, id)) = self.scope_by_ptr.get(&Arc::as_ptr(s)) {
            return *id;
        }
        if self.scope_by_ptr.len() >= MAX_REMEMBERED_ADDRESSES {
            self.scope_by_ptr.clear();
        }
        let mut key = attrs_to_otlp(&s.attributes).encode_to_vec_list();
        for part in [&s.name, &s.version, &s.schema_url] {
            key.extend_from_slice(&(part.len() as u64).to_le_bytes());
            key.extend_from_slice(part.as_bytes());
        }
        key.extend_from_slice(&s.dropped_attributes_count.to_le_bytes());
        let next = self.scopes.len() as u32;
        let id = *self.scope_by_value.entry(key).or_insert(next);
        if id == next {
            self.scopes.push(Arc::clone(s));
        }
        self.scope_by_ptr
            .insert(Arc::as_ptr(s), (Arc::clone(s), id));
        id
    }

    fn shape(&mut self, placements: &[Placement]) -> u32 {
        if let Some(&id) = self.shape_ids.get(placements) {
            return id;
        }
        let id = self.shapes.len() as u32;
        self.shapes.push(placements.to_vec());
        self.shape_ids.insert(placements.to_vec(), id);
        id
    }

    /// Encodes one row group (whole traces, sorted) and its value filter.
    fn encode_group(
        &mut self,
        schema: &SchemaRef,
        spans: &[&Span],
        fpp: f64,
    ) -> Result<(RecordBatch, Sbbf)> {
        let n = spans.len();
        let parents = parent_rows(spans);
        let mut hot = HotBuilders::new(n);
        let mut dynamic: Vec<DynBuilder> = self
            .dynamic_types
            .iter()
            .map(|ty| DynBuilder::new(*ty, n))
            .collect();
        let mut other = AttrListBuilder::new();
        let (mut events, mut links) = (EventListBuilder::new(), LinkListBuilder::new());
        let (mut resources, mut scopes, mut shapes) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        let attribute_values: usize = spans.iter().map(|s| filtered_values(s)).sum();
        let mut filter = Sbbf::new_with_ndv_fpp(attribute_values.max(64) as u64, fpp)?;
        let mut entry = Vec::new();
        let mut filtered_resources = crate::fast_hash::FastHashSet::default();
        let mut filtered_scopes = crate::fast_hash::FastHashSet::default();
        let mut placements = Vec::new();
        let mut hot_row: [Option<&AttrValue>; HOT_ATTRS.len()] = [None; HOT_ATTRS.len()];
        let mut dyn_row: Vec<Option<&AttrValue>> = vec![None; dynamic.len()];
        for s in spans {
            placements.clear();
            hot_row.fill(None);
            dyn_row.fill(None);
            for a in &s.attributes {
                let placement = match hot_slot(&a.key, &a.value) {
                    Some(i) if hot_row[i].is_none() => {
                        hot_row[i] = Some(&a.value);
                        self.hot_seen[i] = true;
                        Placement::Hot(i)
                    }
                    _ => match dyn_type(&a.value)
                        .and_then(|ty| self.dynamic.get(a.key.as_str())?[ty as usize])
                    {
                        Some(j) if dyn_row[j].is_none() => {
                            dyn_row[j] = Some(&a.value);
                            self.dynamic_seen[j] = true;
                            Placement::Dynamic(j)
                        }
                        _ => {
                            self.other_keys.add_key(&a.key);
                            other.append(&a.key, Some(&a.value));
                            Placement::Other
                        }
                    },
                };
                placements.push(placement);
                add_to_filter(&mut filter, &mut entry, a);
            }
            other.close_row()?;
            hot.append(&hot_row);
            for (builder, value) in dynamic.iter_mut().zip(&dyn_row) {
                builder.append(*value);
            }
            shapes.push(self.shape(&placements));
            let resource = self.resource(&s.resource);
            if filtered_resources.insert(resource) {
                for a in &s.resource.attributes {
                    add_to_filter(&mut filter, &mut entry, a);
                }
            }
            resources.push(resource);
            let scope = self.scope(&s.scope);
            if filtered_scopes.insert(scope) {
                for a in &s.scope.attributes {
                    add_to_filter(&mut filter, &mut entry, a);
                }
            }
            scopes.push(scope);
            for a in s.events.iter().flat_map(|e| &e.attributes) {
                add_to_filter(&mut filter, &mut entry, a);
            }
            for a in s.links.iter().flat_map(|l| &l.attributes) {
                add_to_filter(&mut filter, &mut entry, a);
            }
            filter_entry(NAME_KEY, &s.name, &mut entry);
            filter.insert(entry.as_slice());
            events.push(&s.events)?;
            links.push(&s.links)?;
        }
        filter.fold_to_target_fpp(fpp);
        let strings = |f: fn(&Span) -> &str| -> ArrayRef {
            Arc::new(StringArray::from_iter_values(spans.iter().map(|s| f(s))))
        };
        let u32s = |f: fn(&Span) -> u32| -> ArrayRef {
            Arc::new(UInt32Array::from_iter_values(spans.iter().map(|s| f(s))))
        };
        let u8s = |f: fn(&Span) -> u8| -> ArrayRef {
            Arc::new(UInt8Array::from_iter_values(spans.iter().map(|s| f(s))))
        };
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(FixedSizeBinaryArray::try_from_sparse_iter_with_size(
                spans.iter().map(|s| Some(s.trace_id.0)),
                16,
            )?),
            Arc::new(FixedSizeBinaryArray::try_from_sparse_iter_with_size(
                spans.iter().map(|s| Some(s.span_id.0)),
                8,
            )?),
            Arc::new(UInt32Array::from_iter_values(parents.iter().map(|p| p.0))),
            Arc::new(FixedSizeBinaryArray::try_from_sparse_iter_with_size(
                parents.iter().map(|p| p.1.map(|id| id.0)),
                8,
            )?),
            strings(|s| &s.trace_state),
            u32s(|s| s.flags),
            strings(|s| &s.name),
            u8s(|s| s.kind as u8),
            Arc::new(UInt64Array::from_iter_values(
                spans.iter().map(|s| s.start_unix_nano),
            )),
            Arc::new(UInt64Array::from_iter_values(
                spans.iter().map(|s| s.duration_nano()),
            )),
            u8s(|s| s.status.code as u8),
            strings(|s| &s.status.message),
            strings(|s| s.service_name()),
            Arc::new(UInt32Array::from(resources)),
            Arc::new(UInt32Array::from(scopes)),
            Arc::new(UInt32Array::from(shapes)),
        ];
        columns.extend(hot.finish());
        columns.extend([
            other.finish()?,
            u32s(|s| s.dropped_attributes_count),
            events.finish()?,
            u32s(|s| s.dropped_events_count),
            links.finish()?,
            u32s(|s| s.dropped_links_count),
        ]);
        columns.extend(dynamic.into_iter().map(DynBuilder::finish));
        debug_assert_eq!(schema.field(2).name(), col2::PARENT_ROW);
        Ok((RecordBatch::try_new(Arc::clone(schema), columns)?, filter))
    }
}

/// Entries a span adds to its row group's value filter at most: its name and the attributes of the span, its
/// events and its links (resource and scope attributes are added once per row group and come on top).
fn filtered_values(s: &Span) -> usize {
    let events: usize = s.events.iter().map(|e| e.attributes.len()).sum();
    let links: usize = s.links.iter().map(|l| l.attributes.len()).sum();
    s.attributes.len() + events + links + 1
}

/// Adds an attribute's `(key, value as text)` to a value filter (typed scalar values only). The value filter of a
/// row group holds the values of every place a search condition can match: span, resource, event, link and scope
/// attributes, so that a search may skip a row group whose filter lacks a condition's value. A double is written
/// as Rust formats it (`72.5`, `1`, `-0`), which readers ask for (see `tracewell-query`'s matcher).
fn add_to_filter(filter: &mut Sbbf, entry: &mut Vec<u8>, a: &Attribute) {
    use std::io::Write;
    // The bytes of `filter_entry(key, text)`, with numbers formatted straight into the entry.
    filter_entry_key(&a.key, entry);
    match &a.value {
        AttrValue::Str(s) => entry.extend_from_slice(s.as_bytes()),
        // Writing into a Vec cannot fail.
        AttrValue::Int(i) => drop(write!(entry, "{i}")),
        AttrValue::Double(d) => drop(write!(entry, "{d}")),
        AttrValue::Bool(true) => entry.extend_from_slice(b"true"),
        AttrValue::Bool(false) => entry.extend_from_slice(b"false"),
        _ => return,
    }
    filter.insert(entry.as_slice());
}

/// For each span of whole sorted traces: `(parent_row, external parent)` (see [`col2::PARENT_ROW`]).
fn parent_rows(spans: &[&Span]) -> Vec<(u32, Option<SpanId>)> {
    let mut out = Vec::with_capacity(spans.len());
    let mut rows_of: HashMap<SpanId, u32> = HashMap::default();
    for trace in spans.chunk_by(|a, b| a.trace_id == b.trace_id) {
        rows_of.clear();
        for (i, s) in trace.iter().enumerate() {
            rows_of.entry(s.span_id).or_insert(i as u32);
        }
        for s in trace {
            out.push(match s.parent_span_id {
                Some(p) => match rows_of.get(&p) {
                    Some(&row) => (row + 1, None),
                    None => (0, Some(p)),
                },
                None => (0, None),
            });
        }
    }
    out
}

/// Builders of the dedicated attribute columns, in [`HOT_ATTRS`] order.
struct HotBuilders(Vec<DynBuilder>);

impl HotBuilders {
    fn new(rows: usize) -> Self {
        Self(
            HOT_ATTRS
                .iter()
                .map(|h| {
                    DynBuilder::new(
                        match h.ty {
                            HotType::Str => DynType::Str,
                            HotType::Int => DynType::Int,
                        },
                        rows,
                    )
                })
                .collect(),
        )
    }

    fn append(&mut self, values: &[Option<&AttrValue>]) {
        for (b, v) in self.0.iter_mut().zip(values) {
            b.append(*v);
        }
    }

    fn finish(self) -> Vec<ArrayRef> {
        self.0.into_iter().map(DynBuilder::finish).collect()
    }
}

/// A nullable typed attribute column under construction.
enum DynBuilder {
    Str(StringBuilder),
    Int(Int64Builder),
    Double(Float64Builder),
    Bool(BooleanBuilder),
}

impl DynBuilder {
    fn new(ty: DynType, rows: usize) -> Self {
        match ty {
            DynType::Str => DynBuilder::Str(StringBuilder::with_capacity(rows, 0)),
            DynType::Int => DynBuilder::Int(Int64Builder::with_capacity(rows)),
            DynType::Double => DynBuilder::Double(Float64Builder::with_capacity(rows)),
            DynType::Bool => DynBuilder::Bool(BooleanBuilder::with_capacity(rows)),
        }
    }

    /// Appends `value` (placed here only when its type is the column's) or a null.
    fn append(&mut self, value: Option<&AttrValue>) {
        match (self, value) {
            (DynBuilder::Str(b), Some(AttrValue::Str(s))) => b.append_value(s),
            (DynBuilder::Str(b), _) => b.append_null(),
            (DynBuilder::Int(b), Some(AttrValue::Int(i))) => b.append_value(*i),
            (DynBuilder::Int(b), _) => b.append_null(),
            (DynBuilder::Double(b), Some(AttrValue::Double(d))) => b.append_value(*d),
            (DynBuilder::Double(b), _) => b.append_null(),
            (DynBuilder::Bool(b), Some(AttrValue::Bool(v))) => b.append_value(*v),
            (DynBuilder::Bool(b), _) => b.append_null(),
        }
    }

    fn finish(self) -> ArrayRef {
        match self {
            DynBuilder::Str(mut b) => Arc::new(b.finish()),
            DynBuilder::Int(mut b) => Arc::new(b.finish()),
            DynBuilder::Double(mut b) => Arc::new(b.finish()),
            DynBuilder::Bool(mut b) => Arc::new(b.finish()),
        }
    }
}

/// Protobuf bytes of an attribute list, as a dedupe key.
trait EncodeList {
    fn encode_to_vec_list(&self) -> Vec<u8>;
}

impl EncodeList for Vec<opentelemetry_proto::tonic::common::v1::KeyValue> {
    fn encode_to_vec_list(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for kv in self {
            // Encoding into a Vec cannot run out of space.
            let _ = kv.encode_length_delimited(&mut out);
        }
        out
    }
}
