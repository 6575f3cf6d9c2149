//! The generic attribute encoding shared by span, event, link, resource and scope attributes: a list of
//! `Struct<key, type, str, int, double, bool, bytes>`, where `type` is a [`tag`] saying which field holds the
//! value. Span attributes may also point at a dedicated column ([`tag::DEDICATED`]).

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BinaryArray, BinaryBuilder, BooleanArray, BooleanBuilder, Float64Array,
    Float64Builder, Int64Array, Int64Builder, ListArray, RecordBatch, StringArray, StringBuilder,
    StructArray, UInt8Array,
};
use opentelemetry_proto::tonic::common::v1::AnyValue;
use prost::Message;
use tracewell_model::otlp::{value_from_otlp, value_to_otlp};
use tracewell_model::{AttrValue, Attribute};

use super::decode::{child, column, corrupt, Corrupt, Dec, List};
use super::encode::Offsets;
use super::schema::{attr_fields, hot_index, hot_slot, tag, HotType, HOT_ATTRS};
use crate::error::Result;

/// Hot attribute values of one span, by [`HOT_ATTRS`] index.
pub(in crate::block) type HotValues<'a> = [Option<&'a AttrValue>; HOT_ATTRS.len()];

/// The type tag of a value.
fn tag_of(value: &AttrValue) -> u8 {
    match value {
        AttrValue::Empty => tag::EMPTY,
        AttrValue::Str(_) => tag::STR,
        AttrValue::Bool(_) => tag::BOOL,
        AttrValue::Int(_) => tag::INT,
        AttrValue::Double(_) => tag::DOUBLE,
        AttrValue::Bytes(_) => tag::BYTES,
        AttrValue::Array(_) => tag::ARRAY,
        AttrValue::Map(_) => tag::MAP,
    }
}

/// Builds a `List<Struct<key, type, str, int, double, bool, bytes>>` column.
pub(in crate::block) struct AttrListBuilder {
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
    pub(in crate::block) fn new() -> Self {
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
    pub(in crate::block) fn push_all(&mut self, attrs: &[Attribute]) -> Result<()> {
        for a in attrs {
            self.append(&a.key, Some(&a.value));
        }
        self.offsets.close_list(self.tags.len())
    }

    /// Appends one row of span attributes, leaving a [`tag::DEDICATED`] entry (key and position only) for the first
    /// attribute of each hot key whose value has its column's type; returns those values for the hot columns.
    pub(in crate::block) fn push_span_attrs<'a>(
        &mut self,
        attrs: &'a [Attribute],
    ) -> Result<HotValues<'a>> {
        let mut hot: HotValues<'a> = [None; HOT_ATTRS.len()];
        for a in attrs {
            match hot_slot(&a.key, &a.value) {
                Some(i) if hot[i].is_none() => {
                    hot[i] = Some(&a.value);
                    self.append(&a.key, None);
                }
                _ => self.append(&a.key, Some(&a.value)),
            }
        }
        self.offsets.close_list(self.tags.len())?;
        Ok(hot)
    }

    /// Appends one entry: `value` in the field of its type, or (for `None`) a [`tag::DEDICATED`] entry.
    pub(in crate::block) fn append(&mut self, key: &str, value: Option<&AttrValue>) {
        self.keys.append_value(key);
        self.tags.push(value.map_or(tag::DEDICATED, tag_of));
        let value = value.unwrap_or(&AttrValue::Empty);
        self.strs.append_option(value.as_str());
        self.ints.append_option(value.as_int());
        self.doubles.append_option(match value {
            AttrValue::Double(d) => Some(*d),
            _ => None,
        });
        self.bools.append_option(match value {
            AttrValue::Bool(b) => Some(*b),
            _ => None,
        });
        match value {
            AttrValue::Bytes(b) => self.bytes.append_value(b),
            AttrValue::Array(_) | AttrValue::Map(_) => self
                .bytes
                .append_value(value_to_otlp(value).encode_to_vec()),
            _ => self.bytes.append_null(),
        }
    }

    /// Ends the current row after entries added with [`AttrListBuilder::append`].
    pub(in crate::block) fn close_row(&mut self) -> Result<()> {
        self.offsets.close_list(self.tags.len())
    }

    pub(in crate::block) fn finish(&mut self) -> Result<ArrayRef> {
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

pub(in crate::block) fn opt_str(a: &StringArray, i: usize) -> Option<&str> {
    a.is_valid(i).then(|| a.value(i))
}

pub(in crate::block) fn opt<T: arrow::datatypes::ArrowPrimitiveType>(
    a: &arrow::array::PrimitiveArray<T>,
    i: usize,
) -> Option<T::Native> {
    a.is_valid(i).then(|| a.value(i))
}

/// An attribute list column.
pub(in crate::block) struct Attrs<'a> {
    pub(in crate::block) list: List<'a>,
    keys: &'a StringArray,
    tags: &'a UInt8Array,
    strs: &'a StringArray,
    ints: &'a Int64Array,
    doubles: &'a Float64Array,
    bools: &'a BooleanArray,
    bytes: &'a BinaryArray,
}

impl<'a> Attrs<'a> {
    pub(in crate::block) fn new(list: &'a ListArray, name: &str) -> Dec<Self> {
        let list = List::new(list, name)?;
        let v = list.values;
        Ok(Self {
            keys: child(v, "key")?,
            tags: child(v, "type")?,
            strs: child(v, "str")?,
            ints: child(v, "int")?,
            doubles: child(v, "double")?,
            bools: child(v, "bool")?,
            bytes: child(v, "bytes")?,
            list,
        })
    }

    pub(in crate::block) fn of(batch: &'a RecordBatch, name: &str) -> Dec<Self> {
        Self::new(column(batch, name)?, name)
    }

    /// The attributes of `row`; `hot` supplies values of [`tag::DEDICATED`] entries.
    pub(in crate::block) fn decode(
        &self,
        row: usize,
        hot: Option<(&Hot<'_>, usize)>,
    ) -> Dec<Vec<Attribute>> {
        self.list.range(row)?.map(|i| self.attr(i, hot)).collect()
    }

    pub(in crate::block) fn attr(
        &self,
        i: usize,
        hot: Option<(&Hot<'_>, usize)>,
    ) -> Dec<Attribute> {
        let key = self.keys.value(i);
        let missing = || {
            Corrupt(format!(
                "attribute {key:?} of type {} has no value",
                self.tags.value(i)
            ))
        };
        let bytes = || opt_bytes(self.bytes, i).ok_or_else(missing);
        let value = match self.tags.value(i) {
            tag::EMPTY => AttrValue::Empty,
            tag::STR => AttrValue::Str(opt_str(self.strs, i).ok_or_else(missing)?.to_owned()),
            tag::BOOL => AttrValue::Bool(opt_bool(self.bools, i).ok_or_else(missing)?),
            tag::INT => AttrValue::Int(opt(self.ints, i).ok_or_else(missing)?),
            tag::DOUBLE => AttrValue::Double(opt(self.doubles, i).ok_or_else(missing)?),
            tag::BYTES => AttrValue::Bytes(bytes()?.to_vec()),
            tag::ARRAY | tag::MAP => match AnyValue::decode(bytes()?) {
                Ok(v) => value_from_otlp(Some(v)),
                Err(e) => return corrupt(format!("attribute {key:?}: {e}")),
            },
            tag::DEDICATED => match hot {
                Some((hot, row)) => hot.value(key, row)?,
                None => {
                    return corrupt(format!(
                        "attribute {key:?} refers to a dedicated column here"
                    ))
                }
            },
            other => return corrupt(format!("attribute {key:?} has unknown type {other}")),
        };
        Ok(Attribute {
            key: key.to_owned(),
            value,
        })
    }
}

fn opt_bytes(a: &BinaryArray, i: usize) -> Option<&[u8]> {
    a.is_valid(i).then(|| a.value(i))
}

fn opt_bool(a: &BooleanArray, i: usize) -> Option<bool> {
    a.is_valid(i).then(|| a.value(i))
}

enum HotCol<'a> {
    Str(&'a StringArray),
    Int(&'a Int64Array),
}

/// The dedicated attribute columns, in [`HOT_ATTRS`] order.
pub(in crate::block) struct Hot<'a>(Vec<HotCol<'a>>);

impl<'a> Hot<'a> {
    pub(in crate::block) fn of(batch: &'a RecordBatch) -> Dec<Self> {
        let cols = HOT_ATTRS.iter().map(|h| match h.ty {
            HotType::Str => column(batch, h.column).map(HotCol::Str),
            HotType::Int => column(batch, h.column).map(HotCol::Int),
        });
        Ok(Self(cols.collect::<Dec<_>>()?))
    }

    fn value(&self, key: &str, row: usize) -> Dec<AttrValue> {
        let value = match hot_index(key).and_then(|i| self.0.get(i)) {
            Some(HotCol::Str(a)) => opt_str(a, row).map(|s| AttrValue::Str(s.to_owned())),
            Some(HotCol::Int(a)) => opt(a, row).map(AttrValue::Int),
            None => return corrupt(format!("attribute {key:?} has no dedicated column")),
        };
        value.ok_or_else(|| {
            Corrupt(format!(
                "dedicated column of {key:?} is null where the attribute refers to it"
            ))
        })
    }
}
