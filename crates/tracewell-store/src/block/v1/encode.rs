//! Column builders for the nested columns of a block: attribute lists, events and links.

use std::borrow::Cow;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BinaryBuilder, BooleanBuilder, FixedSizeBinaryBuilder, Float64Builder, Int64Builder,
    ListArray, StringBuilder, StructArray, UInt32Array, UInt64Array, UInt8Array,
};
use arrow::buffer::{OffsetBuffer, ScalarBuffer};
use arrow::datatypes::Fields;
use prost::Message;
use tracewell_model::otlp::value_to_otlp;
use tracewell_model::{AttrValue, Attribute, Event, Link};

use super::schema::{attr_fields, event_fields, hot_slot, link_fields, list_item, tag, HOT_ATTRS};
use crate::error::{Result, StoreError};

/// Hot attribute values of one span, by [`HOT_ATTRS`] index.
pub(super) type HotValues<'a> = [Option<&'a AttrValue>; HOT_ATTRS.len()];

/// Offsets of a list column; starts with the leading 0.
#[derive(Debug)]
struct Offsets(Vec<i32>);

impl Offsets {
    fn new() -> Self {
        Self(vec![0])
    }

    /// Ends the current list, which ends at child row `len`.
    fn close_list(&mut self, len: usize) -> Result<()> {
        let end = i32::try_from(len).map_err(|_| {
            StoreError::Internal("a row group's list column exceeds i32 offsets".into())
        })?;
        self.0.push(end);
        Ok(())
    }

    /// Wraps `values` into a list array. Offsets are monotonic by construction.
    fn finish(&mut self, fields: Fields, values: ArrayRef) -> Result<ArrayRef> {
        let offsets =
            OffsetBuffer::new(ScalarBuffer::from(std::mem::replace(&mut self.0, vec![0])));
        let list = ListArray::try_new(list_item(fields), offsets, values, None)?;
        Ok(Arc::new(list))
    }
}

/// One attribute as stored: a type tag and at most one value field set.
#[derive(Default)]
struct Cell<'a> {
    tag: u8,
    str: Option<&'a str>,
    int: Option<i64>,
    double: Option<f64>,
    bool: Option<bool>,
    bytes: Option<Cow<'a, [u8]>>,
}

impl<'a> Cell<'a> {
    fn of(value: &'a AttrValue) -> Self {
        let d = Cell::default();
        match value {
            AttrValue::Empty => Cell {
                tag: tag::EMPTY,
                ..d
            },
            AttrValue::Str(s) => Cell {
                tag: tag::STR,
                str: Some(s),
                ..d
            },
            AttrValue::Bool(b) => Cell {
                tag: tag::BOOL,
                bool: Some(*b),
                ..d
            },
            AttrValue::Int(i) => Cell {
                tag: tag::INT,
                int: Some(*i),
                ..d
            },
            AttrValue::Double(x) => Cell {
                tag: tag::DOUBLE,
                double: Some(*x),
                ..d
            },
            AttrValue::Bytes(b) => Cell {
                tag: tag::BYTES,
                bytes: Some(Cow::Borrowed(b)),
                ..d
            },
            AttrValue::Array(_) => Cell {
                tag: tag::ARRAY,
                bytes: Some(Cow::Owned(proto(value))),
                ..d
            },
            AttrValue::Map(_) => Cell {
                tag: tag::MAP,
                bytes: Some(Cow::Owned(proto(value))),
                ..d
            },
        }
    }
}

fn proto(value: &AttrValue) -> Vec<u8> {
    value_to_otlp(value).encode_to_vec()
}

/// Builds a `List<Struct<key, type, str, int, double, bool, bytes>>` column.
pub(super) struct AttrListBuilder {
    offsets: Offsets,
    keys: StringBuilder,
    tags: Vec<u8>,
    strs: StringBuilder,
    ints: Int64Builder,
    doubles: Float64Builder,
    bools: BooleanBuilder,
    bytes: BinaryBuilder,
}

impl AttrListBuilder {
    pub(super) fn new() -> Self {
        Self {
            offsets: Offsets::new(),
            keys: StringBuilder::new(),
            tags: Vec::new(),
            strs: StringBuilder::new(),
            ints: Int64Builder::new(),
            doubles: Float64Builder::new(),
            bools: BooleanBuilder::new(),
            bytes: BinaryBuilder::new(),
        }
    }

    /// Appends one row holding `attrs` as they are.
    pub(super) fn push_all(&mut self, attrs: &[Attribute]) -> Result<()> {
        for a in attrs {
            self.append(&a.key, Cell::of(&a.value));
        }
        self.offsets.close_list(self.tags.len())
    }

    /// Appends one row of span attributes, leaving a [`tag::DEDICATED`] entry (key and position only) for the first
    /// attribute of each hot key whose value has its column's type; returns those values for the hot columns.
    pub(super) fn push_span_attrs<'a>(&mut self, attrs: &'a [Attribute]) -> Result<HotValues<'a>> {
        let mut hot: HotValues<'a> = [None; HOT_ATTRS.len()];
        for a in attrs {
            match hot_slot(&a.key, &a.value) {
                Some(i) if hot[i].is_none() => {
                    hot[i] = Some(&a.value);
                    self.append(
                        &a.key,
                        Cell {
                            tag: tag::DEDICATED,
                            ..Cell::default()
                        },
                    );
                }
                _ => self.append(&a.key, Cell::of(&a.value)),
            }
        }
        self.offsets.close_list(self.tags.len())?;
        Ok(hot)
    }

    fn append(&mut self, key: &str, cell: Cell<'_>) {
        self.keys.append_value(key);
        self.tags.push(cell.tag);
        self.strs.append_option(cell.str);
        self.ints.append_option(cell.int);
        self.doubles.append_option(cell.double);
        self.bools.append_option(cell.bool);
        self.bytes.append_option(cell.bytes);
    }

    pub(super) fn finish(&mut self) -> Result<ArrayRef> {
        let children: Vec<ArrayRef> = vec![
            Arc::new(self.keys.finish()),
            Arc::new(UInt8Array::from(std::mem::take(&mut self.tags))),
            Arc::new(self.strs.finish()),
            Arc::new(self.ints.finish()),
            Arc::new(self.doubles.finish()),
            Arc::new(self.bools.finish()),
            Arc::new(self.bytes.finish()),
        ];
        let values = StructArray::try_new(attr_fields(), children, None)?;
        self.offsets.finish(attr_fields(), Arc::new(values))
    }
}

/// Builds the `events` column.
pub(super) struct EventListBuilder {
    offsets: Offsets,
    times: Vec<u64>,
    names: StringBuilder,
    attrs: AttrListBuilder,
    dropped: Vec<u32>,
}

impl EventListBuilder {
    pub(super) fn new() -> Self {
        Self {
            offsets: Offsets::new(),
            times: Vec::new(),
            names: StringBuilder::new(),
            attrs: AttrListBuilder::new(),
            dropped: Vec::new(),
        }
    }

    pub(super) fn push(&mut self, events: &[Event]) -> Result<()> {
        for e in events {
            self.times.push(e.time_unix_nano);
            self.names.append_value(&e.name);
            self.attrs.push_all(&e.attributes)?;
            self.dropped.push(e.dropped_attributes_count);
        }
        self.offsets.close_list(self.times.len())
    }

    pub(super) fn finish(&mut self) -> Result<ArrayRef> {
        let children: Vec<ArrayRef> = vec![
            Arc::new(UInt64Array::from(std::mem::take(&mut self.times))),
            Arc::new(self.names.finish()),
            self.attrs.finish()?,
            Arc::new(UInt32Array::from(std::mem::take(&mut self.dropped))),
        ];
        let values = StructArray::try_new(event_fields(), children, None)?;
        self.offsets.finish(event_fields(), Arc::new(values))
    }
}

/// Builds the `links` column.
pub(super) struct LinkListBuilder {
    offsets: Offsets,
    trace_ids: FixedSizeBinaryBuilder,
    span_ids: FixedSizeBinaryBuilder,
    trace_states: StringBuilder,
    flags: Vec<u32>,
    attrs: AttrListBuilder,
    dropped: Vec<u32>,
}

impl LinkListBuilder {
    pub(super) fn new() -> Self {
        Self {
            offsets: Offsets::new(),
            trace_ids: FixedSizeBinaryBuilder::new(16),
            span_ids: FixedSizeBinaryBuilder::new(8),
            trace_states: StringBuilder::new(),
            flags: Vec::new(),
            attrs: AttrListBuilder::new(),
            dropped: Vec::new(),
        }
    }

    pub(super) fn push(&mut self, links: &[Link]) -> Result<()> {
        for l in links {
            self.trace_ids.append_value(l.trace_id.0)?;
            self.span_ids.append_value(l.span_id.0)?;
            self.trace_states.append_value(&l.trace_state);
            self.flags.push(l.flags);
            self.attrs.push_all(&l.attributes)?;
            self.dropped.push(l.dropped_attributes_count);
        }
        self.offsets.close_list(self.flags.len())
    }

    pub(super) fn finish(&mut self) -> Result<ArrayRef> {
        let children: Vec<ArrayRef> = vec![
            Arc::new(self.trace_ids.finish()),
            Arc::new(self.span_ids.finish()),
            Arc::new(self.trace_states.finish()),
            Arc::new(UInt32Array::from(std::mem::take(&mut self.flags))),
            self.attrs.finish()?,
            Arc::new(UInt32Array::from(std::mem::take(&mut self.dropped))),
        ];
        let values = StructArray::try_new(link_fields(), children, None)?;
        self.offsets.finish(link_fields(), Arc::new(values))
    }
}
