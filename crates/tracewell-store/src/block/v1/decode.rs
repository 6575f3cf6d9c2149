//! Decoding record batches of a v1 block back into spans. Every access to file contents is checked: a malformed
//! batch is a [`Corrupt`] error, never a panic.

use std::ops::Range;
use std::sync::Arc;

use arrow::array::{
    Array, AsArray, FixedSizeBinaryArray, ListArray, RecordBatch, StringArray, StructArray,
    UInt32Array, UInt64Array, UInt8Array,
};
use tracewell_model::{
    Event, Link, Recent, Resource, Scope, Span, SpanId, SpanKind, Status, StatusCode, TraceId,
};

use super::attrs::{Attrs, Hot};
use super::schema::col;

/// Why a block's contents could not be decoded.
#[derive(Debug)]
pub(in crate::block) struct Corrupt(pub String);

pub(in crate::block) type Dec<T> = std::result::Result<T, Corrupt>;

pub(in crate::block) fn corrupt<T>(reason: impl Into<String>) -> Dec<T> {
    Err(Corrupt(reason.into()))
}

fn typed<'a, T: 'static>(array: &'a dyn Array, name: &str) -> Dec<&'a T> {
    match array.as_any().downcast_ref::<T>() {
        Some(a) => Ok(a),
        None => corrupt(format!("column {name} has type {}", array.data_type())),
    }
}

pub(in crate::block) fn column<'a, T: 'static>(batch: &'a RecordBatch, name: &str) -> Dec<&'a T> {
    match batch.column_by_name(name) {
        Some(a) => typed(a.as_ref(), name),
        None => corrupt(format!("column {name} is missing")),
    }
}

pub(in crate::block) fn child<'a, T: 'static>(s: &'a StructArray, name: &str) -> Dec<&'a T> {
    match s.column_by_name(name) {
        Some(a) => typed(a.as_ref(), name),
        None => corrupt(format!("field {name} is missing")),
    }
}

/// A list column with its offsets checked against its values.
pub(in crate::block) struct List<'a> {
    list: &'a ListArray,
    pub(in crate::block) values: &'a StructArray,
}

impl<'a> List<'a> {
    pub(in crate::block) fn new(list: &'a ListArray, name: &str) -> Dec<Self> {
        match list.values().as_struct_opt() {
            Some(values) => Ok(Self { list, values }),
            None => corrupt(format!("list {name} does not hold structs")),
        }
    }

    pub(in crate::block) fn range(&self, row: usize) -> Dec<Range<usize>> {
        let offsets = self.list.value_offsets();
        let (Some(&start), Some(&end)) = (offsets.get(row), offsets.get(row + 1)) else {
            return corrupt(format!("list row {row} out of range"));
        };
        let (start, end) = (
            usize::try_from(start).unwrap_or(usize::MAX),
            usize::try_from(end).unwrap_or(0),
        );
        if start > end || end > self.values.len() {
            return corrupt(format!("list row {row} has invalid offsets"));
        }
        Ok(start..end)
    }
}

fn fixed_id<T>(
    a: &FixedSizeBinaryArray,
    i: usize,
    parse: fn(&[u8]) -> Option<T>,
    what: &str,
) -> Dec<T> {
    parse(a.value(i))
        .ok_or_else(|| Corrupt(format!("{what} of row {i} has {} bytes", a.value_length())))
}

struct Events<'a> {
    list: List<'a>,
    times: &'a UInt64Array,
    names: &'a StringArray,
    attrs: Attrs<'a>,
    dropped: &'a UInt32Array,
}

impl<'a> Events<'a> {
    fn of(batch: &'a RecordBatch) -> Dec<Self> {
        let list = List::new(column(batch, col::EVENTS)?, col::EVENTS)?;
        let v = list.values;
        Ok(Self {
            times: child(v, "time_unix_nano")?,
            names: child(v, "name")?,
            attrs: Attrs::new(child(v, col::ATTRIBUTES)?, "event attributes")?,
            dropped: child(v, col::DROPPED_ATTRIBUTES)?,
            list,
        })
    }

    fn decode(&self, row: usize) -> Dec<Vec<Event>> {
        let event = |i: usize| {
            Ok(Event {
                time_unix_nano: self.times.value(i),
                name: self.names.value(i).to_owned(),
                attributes: self.attrs.decode(i, None)?,
                dropped_attributes_count: self.dropped.value(i),
            })
        };
        self.list.range(row)?.map(event).collect()
    }
}

struct Links<'a> {
    list: List<'a>,
    trace_ids: &'a FixedSizeBinaryArray,
    span_ids: &'a FixedSizeBinaryArray,
    trace_states: &'a StringArray,
    flags: &'a UInt32Array,
    attrs: Attrs<'a>,
    dropped: &'a UInt32Array,
}

impl<'a> Links<'a> {
    fn of(batch: &'a RecordBatch) -> Dec<Self> {
        let list = List::new(column(batch, col::LINKS)?, col::LINKS)?;
        let v = list.values;
        Ok(Self {
            trace_ids: child(v, col::TRACE_ID)?,
            span_ids: child(v, col::SPAN_ID)?,
            trace_states: child(v, col::TRACE_STATE)?,
            flags: child(v, col::FLAGS)?,
            attrs: Attrs::new(child(v, col::ATTRIBUTES)?, "link attributes")?,
            dropped: child(v, col::DROPPED_ATTRIBUTES)?,
            list,
        })
    }

    fn decode(&self, row: usize) -> Dec<Vec<Link>> {
        let link = |i: usize| {
            Ok(Link {
                trace_id: fixed_id(self.trace_ids, i, TraceId::from_slice, "link trace id")?,
                span_id: fixed_id(self.span_ids, i, SpanId::from_slice, "link span id")?,
                trace_state: self.trace_states.value(i).to_owned(),
                attributes: self.attrs.decode(i, None)?,
                dropped_attributes_count: self.dropped.value(i),
                flags: self.flags.value(i),
            })
        };
        self.list.range(row)?.map(link).collect()
    }
}

/// Turns batches into spans, sharing one `Arc` between spans with equal resources (or scopes) among the most
/// recently seen ones: spans of a trace alternate between services, and every span holding its own copy of its
/// resource would multiply the memory of decoded spans.
#[derive(Default)]
pub(in crate::block) struct Decoder {
    resources: Recent<Resource>,
    scopes: Recent<Scope>,
}

impl Decoder {
    pub(in crate::block) fn decode(&mut self, batch: &RecordBatch, out: &mut Vec<Span>) -> Dec<()> {
        let c = Columns::of(batch)?;
        out.reserve(batch.num_rows());
        for row in 0..batch.num_rows() {
            let resource = self.resources.share(c.resource(row)?);
            let scope = self.scopes.share(c.scope(row)?);
            out.push(c.span(row, resource, scope)?);
        }
        Ok(())
    }
}

/// The columns of one batch, typed.
struct Columns<'a> {
    trace_id: &'a FixedSizeBinaryArray,
    span_id: &'a FixedSizeBinaryArray,
    parent: &'a FixedSizeBinaryArray,
    trace_state: &'a StringArray,
    flags: &'a UInt32Array,
    name: &'a StringArray,
    kind: &'a UInt8Array,
    start: &'a UInt64Array,
    duration: &'a UInt64Array,
    status_code: &'a UInt8Array,
    status_message: &'a StringArray,
    service_name: &'a StringArray,
    hot: Hot<'a>,
    attributes: Attrs<'a>,
    dropped_attributes: &'a UInt32Array,
    events: Events<'a>,
    dropped_events: &'a UInt32Array,
    links: Links<'a>,
    dropped_links: &'a UInt32Array,
    resource_attributes: Attrs<'a>,
    resource_dropped: &'a UInt32Array,
    resource_schema_url: &'a StringArray,
    scope_name: &'a StringArray,
    scope_version: &'a StringArray,
    scope_attributes: Attrs<'a>,
    scope_dropped: &'a UInt32Array,
    scope_schema_url: &'a StringArray,
}

fn string(a: &StringArray, row: usize) -> String {
    a.value(row).to_owned()
}

impl<'a> Columns<'a> {
    fn of(b: &'a RecordBatch) -> Dec<Self> {
        Ok(Self {
            trace_id: column(b, col::TRACE_ID)?,
            span_id: column(b, col::SPAN_ID)?,
            parent: column(b, col::PARENT_SPAN_ID)?,
            trace_state: column(b, col::TRACE_STATE)?,
            flags: column(b, col::FLAGS)?,
            name: column(b, col::NAME)?,
            kind: column(b, col::KIND)?,
            start: column(b, col::START)?,
            duration: column(b, col::DURATION)?,
            status_code: column(b, col::STATUS_CODE)?,
            status_message: column(b, col::STATUS_MESSAGE)?,
            service_name: column(b, col::SERVICE_NAME)?,
            hot: Hot::of(b)?,
            attributes: Attrs::of(b, col::ATTRIBUTES)?,
            dropped_attributes: column(b, col::DROPPED_ATTRIBUTES)?,
            events: Events::of(b)?,
            dropped_events: column(b, col::DROPPED_EVENTS)?,
            links: Links::of(b)?,
            dropped_links: column(b, col::DROPPED_LINKS)?,
            resource_attributes: Attrs::of(b, col::RESOURCE_ATTRIBUTES)?,
            resource_dropped: column(b, col::RESOURCE_DROPPED)?,
            resource_schema_url: column(b, col::RESOURCE_SCHEMA_URL)?,
            scope_name: column(b, col::SCOPE_NAME)?,
            scope_version: column(b, col::SCOPE_VERSION)?,
            scope_attributes: Attrs::of(b, col::SCOPE_ATTRIBUTES)?,
            scope_dropped: column(b, col::SCOPE_DROPPED)?,
            scope_schema_url: column(b, col::SCOPE_SCHEMA_URL)?,
        })
    }

    fn resource(&self, row: usize) -> Dec<Resource> {
        Ok(Resource {
            service_name: string(self.service_name, row),
            attributes: self.resource_attributes.decode(row, None)?,
            dropped_attributes_count: self.resource_dropped.value(row),
            schema_url: string(self.resource_schema_url, row),
        })
    }

    fn scope(&self, row: usize) -> Dec<Scope> {
        Ok(Scope {
            name: string(self.scope_name, row),
            version: string(self.scope_version, row),
            attributes: self.scope_attributes.decode(row, None)?,
            dropped_attributes_count: self.scope_dropped.value(row),
            schema_url: string(self.scope_schema_url, row),
        })
    }

    fn span(&self, row: usize, resource: Arc<Resource>, scope: Arc<Scope>) -> Dec<Span> {
        let start = self.start.value(row);
        let parent_span_id = match self.parent.is_valid(row) {
            true => Some(fixed_id(
                self.parent,
                row,
                SpanId::from_slice,
                "parent span id",
            )?),
            false => None,
        };
        Ok(Span {
            trace_id: fixed_id(self.trace_id, row, TraceId::from_slice, "trace id")?,
            span_id: fixed_id(self.span_id, row, SpanId::from_slice, "span id")?,
            parent_span_id,
            trace_state: string(self.trace_state, row),
            flags: self.flags.value(row),
            name: string(self.name, row),
            kind: SpanKind::from_i32(i32::from(self.kind.value(row))),
            start_unix_nano: start,
            end_unix_nano: start.saturating_add(self.duration.value(row)),
            attributes: self.attributes.decode(row, Some((&self.hot, row)))?,
            dropped_attributes_count: self.dropped_attributes.value(row),
            events: self.events.decode(row)?,
            dropped_events_count: self.dropped_events.value(row),
            links: self.links.decode(row)?,
            dropped_links_count: self.dropped_links.value(row),
            status: Status {
                code: StatusCode::from_i32(i32::from(self.status_code.value(row))),
                message: string(self.status_message, row),
            },
            resource,
            scope,
        })
    }
}
