//! Typed access to the columns of a scanned block batch.

use arrow::array::{
    ArrayRef, AsArray, DictionaryArray, FixedSizeBinaryArray, Int64Array, ListArray, RecordBatch,
    StringArray, StructArray, UInt64Array, UInt8Array,
};
use arrow::datatypes::{Int32Type, UInt64Type, UInt8Type};

use crate::error::{QueryError, Result};

fn column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a ArrayRef> {
    batch
        .column_by_name(name)
        .ok_or_else(|| QueryError::Internal(format!("scan did not return column {name}")))
}

fn wrong(name: &str) -> QueryError {
    QueryError::Internal(format!("block column {name} has an unexpected type"))
}

pub(crate) fn fixed<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a FixedSizeBinaryArray> {
    column(batch, name)?
        .as_fixed_size_binary_opt()
        .ok_or_else(|| wrong(name))
}

pub(crate) fn u64s<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a UInt64Array> {
    column(batch, name)?
        .as_primitive_opt::<UInt64Type>()
        .ok_or_else(|| wrong(name))
}

pub(crate) fn u8s<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a UInt8Array> {
    column(batch, name)?
        .as_primitive_opt::<UInt8Type>()
        .ok_or_else(|| wrong(name))
}

pub(crate) fn i64s<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a Int64Array> {
    column(batch, name)?
        .as_primitive_opt::<arrow::datatypes::Int64Type>()
        .ok_or_else(|| wrong(name))
}

pub(crate) fn strings<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a StringArray> {
    column(batch, name)?
        .as_string_opt::<i32>()
        .ok_or_else(|| wrong(name))
}

pub(crate) fn lists<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a ListArray> {
    column(batch, name)?
        .as_list_opt::<i32>()
        .ok_or_else(|| wrong(name))
}

/// A dictionary-encoded string column: per-row keys into a small set of values.
pub(crate) struct Dict<'a> {
    pub keys: &'a arrow::array::Int32Array,
    pub values: &'a StringArray,
}

impl<'a> Dict<'a> {
    pub fn of(batch: &'a RecordBatch, name: &str) -> Result<Self> {
        let dict: &DictionaryArray<Int32Type> = column(batch, name)?
            .as_dictionary_opt::<Int32Type>()
            .ok_or_else(|| wrong(name))?;
        let values = dict
            .values()
            .as_string_opt::<i32>()
            .ok_or_else(|| wrong(name))?;
        Ok(Self {
            keys: dict.keys(),
            values,
        })
    }

    pub fn key(&self, row: usize) -> usize {
        self.keys.value(row) as usize
    }

    pub fn get(&self, row: usize) -> &'a str {
        self.values.value(self.key(row))
    }
}

/// The struct array of attributes (key, type, str, int, double, bool, bytes) behind a list column.
pub(crate) struct Attrs<'a> {
    pub list: &'a ListArray,
    pub keys: &'a StringArray,
    pub types: &'a UInt8Array,
    pub strs: &'a StringArray,
    pub ints: &'a Int64Array,
    pub doubles: &'a arrow::array::Float64Array,
    pub bools: &'a arrow::array::BooleanArray,
    /// Raw bytes, and arrays and maps as protobuf-encoded OTLP `AnyValue`s.
    pub bytes: &'a arrow::array::BinaryArray,
}

impl<'a> Attrs<'a> {
    pub fn of(batch: &'a RecordBatch, name: &str) -> Result<Self> {
        Self::of_list(lists(batch, name)?, name)
    }

    /// The attributes behind a list array (`name` is for errors), e.g. the `attributes` field of events.
    pub fn of_list(list: &'a ListArray, name: &str) -> Result<Self> {
        let items: &StructArray = list.values().as_struct_opt().ok_or_else(|| wrong(name))?;
        let field = |i: usize| items.column(i);
        Ok(Self {
            list,
            keys: field(0).as_string_opt::<i32>().ok_or_else(|| wrong(name))?,
            types: field(1)
                .as_primitive_opt::<UInt8Type>()
                .ok_or_else(|| wrong(name))?,
            strs: field(2).as_string_opt::<i32>().ok_or_else(|| wrong(name))?,
            ints: field(3)
                .as_primitive_opt::<arrow::datatypes::Int64Type>()
                .ok_or_else(|| wrong(name))?,
            doubles: field(4)
                .as_primitive_opt::<arrow::datatypes::Float64Type>()
                .ok_or_else(|| wrong(name))?,
            bools: field(5).as_boolean_opt().ok_or_else(|| wrong(name))?,
            bytes: field(6).as_binary_opt::<i32>().ok_or_else(|| wrong(name))?,
        })
    }

    /// Entry indexes of the row's attributes.
    pub fn range(&self, row: usize) -> std::ops::Range<usize> {
        let offsets = self.list.value_offsets();
        offsets[row] as usize..offsets[row + 1] as usize
    }
}
