//! Turns batches of a v2 block's physical columns into batches of the logical span columns readers know (the v1
//! column set, [`crate::block::schema::block_schema`]): resources and scopes are looked up in the block's tables,
//! parents resolved from row offsets, span attributes put back together from their shape, the dedicated and
//! dynamic columns and the list of the others.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BooleanArray, FixedSizeBinaryArray, FixedSizeBinaryBuilder, Float64Array,
    Int64Array, RecordBatch, StringArray, UInt32Array,
};
use arrow::compute::take;
use arrow::datatypes::{Field, Schema};
use tracewell_model::AttrValue;

use super::index::{BlockIndex, Placement};
use super::schema::{col2, dynamic_name, DynType};
use crate::block::v1::attrs::{AttrListBuilder, Attrs};
use crate::block::v1::decode::{column, corrupt, Dec};
use crate::block::v1::schema::{block_schema, col, HOT_ATTRS};

/// A block's index with its resource and scope tables as Arrow columns (one row per table entry), ready to be
/// gathered by the `resource` and `scope` row references.
#[derive(Debug)]
pub(crate) struct LoadedIndex {
    /// The index, its trace index moved to `traces`.
    pub index: BlockIndex,
    /// The trace index, shared with callers that keep it (the query service's index cache).
    pub traces: Arc<crate::block::TraceIndex>,
    resource_attributes: ArrayRef,
    resource_dropped: ArrayRef,
    resource_schema_url: ArrayRef,
    scope_name: ArrayRef,
    scope_version: ArrayRef,
    scope_attributes: ArrayRef,
    scope_dropped: ArrayRef,
    scope_schema_url: ArrayRef,
}

impl LoadedIndex {
    pub fn new(mut index: BlockIndex) -> crate::Result<Self> {
        let traces = Arc::new(std::mem::take(&mut index.traces));
        let mut resource_attrs = AttrListBuilder::new();
        for r in &index.resources {
            resource_attrs.push_all(&r.attributes)?;
        }
        let mut scope_attrs = AttrListBuilder::new();
        for s in &index.scopes {
            scope_attrs.push_all(&s.attributes)?;
        }
        let strings = |v: Vec<&str>| -> ArrayRef { Arc::new(StringArray::from(v)) };
        let u32s = |v: Vec<u32>| -> ArrayRef { Arc::new(UInt32Array::from(v)) };
        Ok(Self {
            traces,
            resource_attributes: resource_attrs.finish()?,
            resource_dropped: u32s(
                index
                    .resources
                    .iter()
                    .map(|r| r.dropped_attributes_count)
                    .collect(),
            ),
            resource_schema_url: strings(
                index
                    .resources
                    .iter()
                    .map(|r| r.schema_url.as_str())
                    .collect(),
            ),
            scope_name: strings(index.scopes.iter().map(|s| s.name.as_str()).collect()),
            scope_version: strings(index.scopes.iter().map(|s| s.version.as_str()).collect()),
            scope_attributes: scope_attrs.finish()?,
            scope_dropped: u32s(
                index
                    .scopes
                    .iter()
                    .map(|s| s.dropped_attributes_count)
                    .collect(),
            ),
            scope_schema_url: strings(index.scopes.iter().map(|s| s.schema_url.as_str()).collect()),
            index,
        })
    }
}

impl LoadedIndex {
    /// Memory held, roughly: the trace index, the value filters and the table columns.
    pub fn approx_bytes(&self) -> usize {
        let tables: usize = [
            &self.resource_attributes,
            &self.resource_dropped,
            &self.resource_schema_url,
            &self.scope_name,
            &self.scope_version,
            &self.scope_attributes,
            &self.scope_dropped,
            &self.scope_schema_url,
        ]
        .iter()
        .map(|a| a.get_array_memory_size())
        .sum();
        let filters: usize = self
            .index
            .row_groups
            .iter()
            .map(|g| g.values.as_ref().map_or(0, |f| f.num_blocks() * 32))
            .sum();
        self.traces.approx_bytes() + filters + tables + self.index.shapes.len() * 64
    }
}

/// The physical columns needed to produce the logical columns `wanted`.
pub(crate) fn physical_columns(wanted: &[&str], index: &BlockIndex) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |name: &str| {
        if !out.iter().any(|o| o == name) {
            out.push(name.to_owned());
        }
    };
    for &name in wanted {
        match name {
            col::PARENT_SPAN_ID => {
                for c in [
                    col::TRACE_ID,
                    col::SPAN_ID,
                    col2::PARENT_ROW,
                    col2::EXTERNAL_PARENT,
                ] {
                    add(c);
                }
            }
            col::ATTRIBUTES => {
                add(col2::SHAPE);
                add(col2::OTHER_ATTRIBUTES);
                for (key, ty) in &index.dynamic {
                    add(&dynamic_name(key, *ty));
                }
            }
            col::RESOURCE_ATTRIBUTES | col::RESOURCE_DROPPED | col::RESOURCE_SCHEMA_URL => {
                add(col2::RESOURCE)
            }
            col::SCOPE_NAME
            | col::SCOPE_VERSION
            | col::SCOPE_ATTRIBUTES
            | col::SCOPE_DROPPED
            | col::SCOPE_SCHEMA_URL => add(col2::SCOPE),
            other => add(other),
        }
    }
    out
}

/// The logical columns `wanted` (in the given order) of a batch of physical columns. When `wanted` holds
/// `parent_span_id`, the batch must hold whole traces (row offsets of parents are relative to a trace's first row).
pub(crate) fn logical_batch(
    batch: &RecordBatch,
    loaded: &LoadedIndex,
    wanted: &[&str],
) -> Dec<RecordBatch> {
    let logical = block_schema();
    let mut fields = Vec::with_capacity(wanted.len());
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(wanted.len());
    for &name in wanted {
        let array = match name {
            col::PARENT_SPAN_ID => parents(batch)?,
            col::ATTRIBUTES => attributes(batch, &loaded.index)?,
            col::RESOURCE_ATTRIBUTES => gather(batch, col2::RESOURCE, &loaded.resource_attributes)?,
            col::RESOURCE_DROPPED => gather(batch, col2::RESOURCE, &loaded.resource_dropped)?,
            col::RESOURCE_SCHEMA_URL => gather(batch, col2::RESOURCE, &loaded.resource_schema_url)?,
            col::SCOPE_NAME => gather(batch, col2::SCOPE, &loaded.scope_name)?,
            col::SCOPE_VERSION => gather(batch, col2::SCOPE, &loaded.scope_version)?,
            col::SCOPE_ATTRIBUTES => gather(batch, col2::SCOPE, &loaded.scope_attributes)?,
            col::SCOPE_DROPPED => gather(batch, col2::SCOPE, &loaded.scope_dropped)?,
            col::SCOPE_SCHEMA_URL => gather(batch, col2::SCOPE, &loaded.scope_schema_url)?,
            other => match batch.column_by_name(other) {
                Some(a) => Arc::clone(a),
                None => return corrupt(format!("column {other} is missing")),
            },
        };
        let Ok(field) = logical.field_with_name(name) else {
            return corrupt(format!("no logical column {name}"));
        };
        // Scans may ask for dictionary-encoded strings; the field follows the array.
        fields.push(Field::new(
            name,
            array.data_type().clone(),
            field.is_nullable(),
        ));
        columns.push(array);
    }
    let schema = Arc::new(Schema::new(fields));
    let options = arrow::array::RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    RecordBatch::try_new_with_options(schema, columns, &options)
        .or_else(|e| corrupt(format!("logical batch: {e}")))
}

/// `table` gathered by the row references in column `refs`, checked to be in range.
fn gather(batch: &RecordBatch, refs: &str, table: &ArrayRef) -> Dec<ArrayRef> {
    let refs: &UInt32Array = column(batch, refs)?;
    let len = table.len() as u32;
    if refs.values().iter().any(|&r| r >= len) {
        return corrupt(format!(
            "a row refers to entry {len} or later of a {len}-entry table"
        ));
    }
    take(table.as_ref(), refs, None).or_else(|e| corrupt(format!("gathering a table: {e}")))
}

/// Parent span ids from row offsets (whole traces) and external parents.
fn parents(batch: &RecordBatch) -> Dec<ArrayRef> {
    let traces: &FixedSizeBinaryArray = column(batch, col::TRACE_ID)?;
    let spans: &FixedSizeBinaryArray = column(batch, col::SPAN_ID)?;
    let rows: &UInt32Array = column(batch, col2::PARENT_ROW)?;
    let external: &FixedSizeBinaryArray = column(batch, col2::EXTERNAL_PARENT)?;
    let mut out = FixedSizeBinaryBuilder::with_capacity(batch.num_rows(), 8);
    let mut trace_start = 0;
    for r in 0..batch.num_rows() {
        if r > 0 && traces.value(r) != traces.value(r - 1) {
            trace_start = r;
        }
        let k = rows.value(r) as usize;
        let appended = if k > 0 {
            let parent = trace_start + k - 1;
            if parent >= batch.num_rows() || traces.value(parent) != traces.value(r) {
                return corrupt(format!("row {r}: parent row {k} is outside its trace"));
            }
            out.append_value(spans.value(parent))
        } else if external.is_valid(r) {
            out.append_value(external.value(r))
        } else {
            out.append_null();
            Ok(())
        };
        appended.or_else(|e| corrupt(format!("parent span id: {e}")))?;
    }
    Ok(Arc::new(out.finish()))
}

/// A dynamic column of a batch, typed.
enum DynColumn<'a> {
    Str(&'a StringArray),
    Int(&'a Int64Array),
    Double(&'a Float64Array),
    Bool(&'a BooleanArray),
}

impl DynColumn<'_> {
    fn value(&self, row: usize) -> Option<AttrValue> {
        Some(match self {
            DynColumn::Str(a) => AttrValue::Str(a.is_valid(row).then(|| a.value(row))?.to_owned()),
            DynColumn::Int(a) => AttrValue::Int(a.is_valid(row).then(|| a.value(row))?),
            DynColumn::Double(a) => AttrValue::Double(a.is_valid(row).then(|| a.value(row))?),
            DynColumn::Bool(a) => AttrValue::Bool(a.is_valid(row).then(|| a.value(row))?),
        })
    }
}

/// The logical `attributes` list: each span's attributes in their original order; attributes kept in a dedicated
/// column are entries tagged `DEDICATED`, as in v1.
fn attributes(batch: &RecordBatch, index: &BlockIndex) -> Dec<ArrayRef> {
    let shapes: &UInt32Array = column(batch, col2::SHAPE)?;
    let other = Attrs::of(batch, col2::OTHER_ATTRIBUTES)?;
    let mut dynamic = Vec::with_capacity(index.dynamic.len());
    for (key, ty) in &index.dynamic {
        let name = dynamic_name(key, *ty);
        dynamic.push(match ty {
            DynType::Str => DynColumn::Str(column(batch, &name)?),
            DynType::Int => DynColumn::Int(column(batch, &name)?),
            DynType::Double => DynColumn::Double(column(batch, &name)?),
            DynType::Bool => DynColumn::Bool(column(batch, &name)?),
        });
    }
    let mut out = AttrListBuilder::new();
    for row in 0..batch.num_rows() {
        let Some(shape) = index.shapes.get(shapes.value(row) as usize) else {
            return corrupt(format!("row {row} refers to a missing attribute shape"));
        };
        let mut others = other.list.range(row)?;
        for placement in shape {
            match *placement {
                Placement::Other => {
                    let Some(i) = others.next() else {
                        return corrupt(format!(
                            "row {row} has fewer other attributes than its shape"
                        ));
                    };
                    let a = other.attr(i, None)?;
                    out.append(&a.key, Some(&a.value));
                }
                Placement::Hot(i) => out.append(HOT_ATTRS[i].key, None),
                Placement::Dynamic(j) => {
                    let (key, _) = &index.dynamic[j];
                    match dynamic[j].value(row) {
                        Some(value) => out.append(key, Some(&value)),
                        None => {
                            return corrupt(format!("row {row}: dynamic column of {key:?} is null"))
                        }
                    }
                }
            }
        }
        if others.next().is_some() {
            return corrupt(format!(
                "row {row} has more other attributes than its shape"
            ));
        }
        out.close_row().or_else(|e| corrupt(e.to_string()))?;
    }
    out.finish().or_else(|e| corrupt(e.to_string()))
}
