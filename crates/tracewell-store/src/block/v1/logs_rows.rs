//! Log records as rows of the SQL `logs` table: the same attribute representation as the `spans` table
//! (lists of key/type/value structs), so queries over both read alike.

use std::sync::{Arc, OnceLock};

use arrow::array::{
    ArrayRef, FixedSizeBinaryBuilder, Int32Array, RecordBatch, StringBuilder, UInt32Array,
    UInt64Array,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use tracewell_model::LogRecord;

use super::attrs::AttrListBuilder;
use super::schema::attr_list_type;
use crate::error::Result;

/// Columns of the `logs` table.
pub mod log_col {
    pub const TIME: &str = "time_unix_nano";
    pub const OBSERVED_TIME: &str = "observed_time_unix_nano";
    pub const SEVERITY_NUMBER: &str = "severity_number";
    pub const SEVERITY_TEXT: &str = "severity_text";
    pub const SERVICE_NAME: &str = "service_name";
    pub const BODY: &str = "body";
    pub const TRACE_ID: &str = "trace_id";
    pub const SPAN_ID: &str = "span_id";
    pub const FLAGS: &str = "flags";
    pub const EVENT_NAME: &str = "event_name";
    pub const ATTRIBUTES: &str = "attributes";
    pub const RESOURCE_ATTRIBUTES: &str = "resource_attributes";
    pub const SCOPE_NAME: &str = "scope_name";
}

/// The `logs` table's schema, built once.
pub fn logs_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    Arc::clone(SCHEMA.get_or_init(|| {
        use log_col::*;
        Arc::new(Schema::new(vec![
            Field::new(TIME, DataType::UInt64, false),
            Field::new(OBSERVED_TIME, DataType::UInt64, false),
            Field::new(SEVERITY_NUMBER, DataType::Int32, false),
            Field::new(SEVERITY_TEXT, DataType::Utf8, false),
            Field::new(SERVICE_NAME, DataType::Utf8, false),
            Field::new(BODY, DataType::Utf8, false),
            Field::new(TRACE_ID, DataType::FixedSizeBinary(16), true),
            Field::new(SPAN_ID, DataType::FixedSizeBinary(8), true),
            Field::new(FLAGS, DataType::UInt32, false),
            Field::new(EVENT_NAME, DataType::Utf8, false),
            Field::new(ATTRIBUTES, attr_list_type(), false),
            Field::new(RESOURCE_ATTRIBUTES, attr_list_type(), false),
            Field::new(SCOPE_NAME, DataType::Utf8, false),
        ]))
    }))
}

/// Log records as one batch of the `logs` table. `time_unix_nano` is the record's time, else its observed time.
pub fn logs_to_batch(records: &[&LogRecord]) -> Result<RecordBatch> {
    let n = records.len();
    let mut severity_text = StringBuilder::with_capacity(n, n * 5);
    let mut service = StringBuilder::with_capacity(n, n * 8);
    let mut body = StringBuilder::with_capacity(n, n * 64);
    let mut event_name = StringBuilder::with_capacity(n, 0);
    let mut scope = StringBuilder::with_capacity(n, n * 8);
    let mut trace_id = FixedSizeBinaryBuilder::with_capacity(n, 16);
    let mut span_id = FixedSizeBinaryBuilder::with_capacity(n, 8);
    let mut attributes = AttrListBuilder::new();
    let mut resource = AttrListBuilder::new();
    for r in records {
        severity_text.append_value(&r.severity_text);
        service.append_value(r.service_name());
        body.append_value(r.body_text());
        event_name.append_value(&r.event_name);
        scope.append_value(&r.scope.name);
        match r.trace_id {
            Some(t) => trace_id.append_value(t.0)?,
            None => trace_id.append_null(),
        }
        match r.span_id {
            Some(s) => span_id.append_value(s.0)?,
            None => span_id.append_null(),
        }
        attributes.push_all(&r.attributes)?;
        resource.push_all(&r.resource.attributes)?;
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(UInt64Array::from_iter_values(
            records.iter().map(|r| r.time()),
        )),
        Arc::new(UInt64Array::from_iter_values(
            records.iter().map(|r| r.observed_time_unix_nano),
        )),
        Arc::new(Int32Array::from_iter_values(
            records.iter().map(|r| r.severity_number),
        )),
        Arc::new(severity_text.finish()),
        Arc::new(service.finish()),
        Arc::new(body.finish()),
        Arc::new(trace_id.finish()),
        Arc::new(span_id.finish()),
        Arc::new(UInt32Array::from_iter_values(
            records.iter().map(|r| r.flags),
        )),
        Arc::new(event_name.finish()),
        attributes.finish()?,
        resource.finish()?,
        Arc::new(scope.finish()),
    ];
    Ok(RecordBatch::try_new(logs_schema(), columns)?)
}
