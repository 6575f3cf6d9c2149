//! Column builders for the list columns of a block: list offsets, events and links (attribute lists are in
//! `attrs.rs`).

use std::sync::Arc;

use arrow::array::{
    ArrayRef, FixedSizeBinaryBuilder, ListArray, StringBuilder, StructArray, UInt32Array,
    UInt64Array,
};
use arrow::buffer::{OffsetBuffer, ScalarBuffer};
use arrow::datatypes::Fields;
use tracewell_model::{Event, Link};

use super::attrs::AttrListBuilder;
use super::schema::{event_fields, link_fields, list_item};
use crate::error::{Result, StoreError};

/// Offsets of a list column; starts with the leading 0.
#[derive(Debug)]
pub(in crate::block) struct Offsets(Vec<i32>);

impl Offsets {
    pub(in crate::block) fn new() -> Self {
        Self(vec![0])
    }

    /// Ends the current list, which ends at child row `len`.
    pub(in crate::block) fn close_list(&mut self, len: usize) -> Result<()> {
        let end = i32::try_from(len).map_err(|_| {
            StoreError::Internal("a row group's list column exceeds i32 offsets".into())
        })?;
        self.0.push(end);
        Ok(())
    }

    /// Wraps `values` into a list array. Offsets are monotonic by construction.
    pub(in crate::block) fn finish(
        &mut self,
        fields: Fields,
        values: ArrayRef,
    ) -> Result<ArrayRef> {
        let offsets =
            OffsetBuffer::new(ScalarBuffer::from(std::mem::replace(&mut self.0, vec![0])));
        let list = ListArray::try_new(list_item(fields), offsets, values, None)?;
        Ok(Arc::new(list))
    }
}

/// Builds the `events` column.
pub(in crate::block) struct EventListBuilder {
    offsets: Offsets,
    times: Vec<u64>,
    names: StringBuilder,
    attrs: AttrListBuilder,
    dropped: Vec<u32>,
}

impl EventListBuilder {
    pub(in crate::block) fn new() -> Self {
        Self {
            offsets: Offsets::new(),
            times: Vec::new(),
            names: StringBuilder::new(),
            attrs: AttrListBuilder::new(),
            dropped: Vec::new(),
        }
    }

    pub(in crate::block) fn push(&mut self, events: &[Event]) -> Result<()> {
        for e in events {
            self.times.push(e.time_unix_nano);
            self.names.append_value(&e.name);
            self.attrs.push_all(&e.attributes)?;
            self.dropped.push(e.dropped_attributes_count);
        }
        self.offsets.close_list(self.times.len())
    }

    pub(in crate::block) fn finish(&mut self) -> Result<ArrayRef> {
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
pub(in crate::block) struct LinkListBuilder {
    offsets: Offsets,
    trace_ids: FixedSizeBinaryBuilder,
    span_ids: FixedSizeBinaryBuilder,
    trace_states: StringBuilder,
    flags: Vec<u32>,
    attrs: AttrListBuilder,
    dropped: Vec<u32>,
}

impl LinkListBuilder {
    pub(in crate::block) fn new() -> Self {
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

    pub(in crate::block) fn push(&mut self, links: &[Link]) -> Result<()> {
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

    pub(in crate::block) fn finish(&mut self) -> Result<ArrayRef> {
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
