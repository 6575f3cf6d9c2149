//! The logs block: one Parquet file per flushed head holding its log records, newest data findable by name.
//!
//! Objects are `<tenant>/logs/<min time>-<max time>-<ulid>.parquet` (times in unix nanoseconds, zero-padded to
//! 20 digits), so a listing alone tells which blocks a time range needs, with no catalog to keep in step.
//! Rows are sorted by time (the record's time, else its observed time). Columns: `time` (as sent, 0 when absent), `observed_time`, `severity_number`, `severity_text`, `service`,
//! `body_text` (the body as text, for search), `trace_id` and `span_id` (fixed-size binary, null when absent,
//! with a Bloom filter on `trace_id`), `flags`, `event_name`, `dropped_attributes_count`, and the lossless
//! parts as OTLP protobuf: `body` (`AnyValue`), `attributes` (`KeyValueList`), `resource` (`Resource`) and
//! `scope` (`InstrumentationScope`) — dictionary-encoded, so a block's few resources are stored once.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BinaryArray, BinaryBuilder, FixedSizeBinaryArray, FixedSizeBinaryBuilder,
    Int32Array, RecordBatch, StringArray, StringBuilder, UInt32Array, UInt64Array,
};
use arrow::datatypes::{DataType, Field, Schema};
use bytes::Bytes;
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::ObjectStore;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValueList};
use opentelemetry_proto::tonic::resource::v1::Resource as OtlpResource;
use parquet::arrow::async_reader::ParquetRecordBatchStreamBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;
use prost::Message;
use tracewell_model::otlp::{attrs_from_otlp, attrs_to_otlp, value_from_otlp, value_to_otlp};
use tracewell_model::{LogRecord, Origins, Resource, Scope, SpanId, TenantId, TraceId};

use crate::error::{Result, StoreError};

/// A logs block as listed: where it is and the time range of its records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogBlock {
    pub path: Path,
    pub min_time: u64,
    pub max_time: u64,
    pub size_bytes: u64,
}

impl LogBlock {
    /// The name a new block of records between `min_time` and `max_time` gets.
    pub fn path_for(tenant: &TenantId, min_time: u64, max_time: u64) -> Path {
        Path::from(format!(
            "{}/logs/{min_time:020}-{max_time:020}-{}.parquet",
            tenant.as_str(),
            ulid::Ulid::new()
        ))
    }

    /// Reads a block's time range from its object name; `None` for objects that are not logs blocks.
    pub fn from_listing(path: Path, size_bytes: u64) -> Option<Self> {
        let name = path.filename()?.strip_suffix(".parquet")?;
        let mut parts = name.splitn(3, '-');
        let min_time = parts.next()?.parse().ok()?;
        let max_time = parts.next()?.parse().ok()?;
        parts.next()?;
        Some(Self {
            path,
            min_time,
            max_time,
            size_bytes,
        })
    }

    /// The prefix under which a tenant's logs blocks are listed.
    pub fn prefix(tenant: &TenantId) -> Path {
        Path::from(format!("{}/logs", tenant.as_str()))
    }

    pub fn overlaps(&self, start: u64, end: u64) -> bool {
        self.min_time <= end && self.max_time >= start
    }
}

mod col {
    pub const TIME: &str = "time";
    pub const OBSERVED_TIME: &str = "observed_time";
    pub const SEVERITY_NUMBER: &str = "severity_number";
    pub const SEVERITY_TEXT: &str = "severity_text";
    pub const SERVICE: &str = "service";
    pub const BODY_TEXT: &str = "body_text";
    pub const BODY: &str = "body";
    pub const ATTRIBUTES: &str = "attributes";
    pub const TRACE_ID: &str = "trace_id";
    pub const SPAN_ID: &str = "span_id";
    pub const FLAGS: &str = "flags";
    pub const EVENT_NAME: &str = "event_name";
    pub const DROPPED_ATTRIBUTES: &str = "dropped_attributes_count";
    pub const RESOURCE: &str = "resource";
    pub const SCOPE: &str = "scope";
}

fn schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new(col::TIME, DataType::UInt64, false),
        Field::new(col::OBSERVED_TIME, DataType::UInt64, false),
        Field::new(col::SEVERITY_NUMBER, DataType::Int32, false),
        Field::new(col::SEVERITY_TEXT, DataType::Utf8, false),
        Field::new(col::SERVICE, DataType::Utf8, false),
        Field::new(col::BODY_TEXT, DataType::Utf8, false),
        Field::new(col::BODY, DataType::Binary, false),
        Field::new(col::ATTRIBUTES, DataType::Binary, false),
        Field::new(col::TRACE_ID, DataType::FixedSizeBinary(16), true),
        Field::new(col::SPAN_ID, DataType::FixedSizeBinary(8), true),
        Field::new(col::FLAGS, DataType::UInt32, false),
        Field::new(col::EVENT_NAME, DataType::Utf8, false),
        Field::new(col::DROPPED_ATTRIBUTES, DataType::UInt32, false),
        Field::new(col::RESOURCE, DataType::Binary, false),
        Field::new(col::SCOPE, DataType::Binary, false),
    ]))
}

fn encode_resource(r: &Resource) -> Vec<u8> {
    OtlpResource {
        attributes: attrs_to_otlp(&r.attributes),
        dropped_attributes_count: r.dropped_attributes_count,
        entity_refs: Vec::new(),
    }
    .encode_to_vec()
}

fn encode_scope(s: &Scope) -> Vec<u8> {
    InstrumentationScope {
        name: s.name.clone(),
        version: s.version.clone(),
        attributes: attrs_to_otlp(&s.attributes),
        dropped_attributes_count: s.dropped_attributes_count,
    }
    .encode_to_vec()
}

/// Encodes records (any order) as a logs block; returns the Parquet bytes and the records' time range.
pub fn write(mut records: Vec<&LogRecord>, zstd_level: i32) -> Result<(Bytes, u64, u64)> {
    records.sort_by_key(|r| r.time());
    let min_time = records.first().map_or(0, |r| r.time());
    let max_time = records.last().map_or(0, |r| r.time());
    let n = records.len();
    let mut severity_text = StringBuilder::with_capacity(n, n * 5);
    let mut service = StringBuilder::with_capacity(n, n * 8);
    let mut body_text = StringBuilder::with_capacity(n, n * 64);
    let mut event_name = StringBuilder::with_capacity(n, 0);
    let mut body = BinaryBuilder::with_capacity(n, n * 64);
    let mut attributes = BinaryBuilder::with_capacity(n, n * 64);
    let mut resource = BinaryBuilder::with_capacity(n, 0);
    let mut scope = BinaryBuilder::with_capacity(n, 0);
    let mut trace_id = FixedSizeBinaryBuilder::with_capacity(n, 16);
    let mut span_id = FixedSizeBinaryBuilder::with_capacity(n, 8);
    // Resources and scopes are shared between records: encode each distinct one once.
    let mut last_resource: Option<(*const Resource, Vec<u8>)> = None;
    let mut last_scope: Option<(*const Scope, Vec<u8>)> = None;
    for r in &records {
        severity_text.append_value(&r.severity_text);
        service.append_value(r.service_name());
        body_text.append_value(r.body_text());
        event_name.append_value(&r.event_name);
        body.append_value(value_to_otlp(&r.body).encode_to_vec());
        attributes.append_value(
            KeyValueList {
                values: attrs_to_otlp(&r.attributes),
            }
            .encode_to_vec(),
        );
        let rp = Arc::as_ptr(&r.resource);
        if last_resource.as_ref().is_none_or(|(p, _)| *p != rp) {
            last_resource = Some((rp, encode_resource(&r.resource)));
        }
        resource.append_value(&last_resource.as_ref().expect("set above").1);
        let sp = Arc::as_ptr(&r.scope);
        if last_scope.as_ref().is_none_or(|(p, _)| *p != sp) {
            last_scope = Some((sp, encode_scope(&r.scope)));
        }
        scope.append_value(&last_scope.as_ref().expect("set above").1);
        match r.trace_id {
            Some(t) => trace_id.append_value(t.0)?,
            None => trace_id.append_null(),
        }
        match r.span_id {
            Some(s) => span_id.append_value(s.0)?,
            None => span_id.append_null(),
        }
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(UInt64Array::from_iter_values(
            records.iter().map(|r| r.time_unix_nano),
        )),
        Arc::new(UInt64Array::from_iter_values(
            records.iter().map(|r| r.observed_time_unix_nano),
        )),
        Arc::new(Int32Array::from_iter_values(
            records.iter().map(|r| r.severity_number),
        )),
        Arc::new(severity_text.finish()),
        Arc::new(service.finish()),
        Arc::new(body_text.finish()),
        Arc::new(body.finish()),
        Arc::new(attributes.finish()),
        Arc::new(trace_id.finish()),
        Arc::new(span_id.finish()),
        Arc::new(UInt32Array::from_iter_values(
            records.iter().map(|r| r.flags),
        )),
        Arc::new(event_name.finish()),
        Arc::new(UInt32Array::from_iter_values(
            records.iter().map(|r| r.dropped_attributes_count),
        )),
        Arc::new(resource.finish()),
        Arc::new(scope.finish()),
    ];
    let batch = RecordBatch::try_new(schema(), columns)?;
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(zstd_level)?))
        .set_dictionary_enabled(true)
        .set_column_bloom_filter_enabled(ColumnPath::from(col::TRACE_ID), true)
        .build();
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, batch.schema(), Some(props))?;
    writer.write(&batch)?;
    writer.close()?;
    Ok((Bytes::from(out), min_time, max_time))
}

fn column<'a, T: 'static>(batch: &'a RecordBatch, name: &str) -> Result<&'a T> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<T>())
        .ok_or_else(|| StoreError::Internal(format!("logs block lacks column {name}")))
}

fn corrupt(what: &str, e: prost::DecodeError) -> StoreError {
    StoreError::Internal(format!("logs block: undecodable {what}: {e}"))
}

/// Reads a logs block from object storage, keeping the records `keep` accepts (in time order). With a trace id,
/// row groups whose `trace_id` Bloom filter rules the trace out are not read at all.
pub async fn read(
    objects: Arc<dyn ObjectStore>,
    block: &LogBlock,
    trace_id: Option<TraceId>,
    origins: &mut Origins,
    mut keep: impl FnMut(&LogRecord) -> bool,
) -> Result<Vec<LogRecord>> {
    let reader = crate::block::BlockReader {
        store: objects,
        path: block.path.clone(),
        size: block.size_bytes,
    };
    let mut builder = ParquetRecordBatchStreamBuilder::new(reader).await?;
    if let Some(trace_id) = trace_id {
        let leaf = builder
            .parquet_schema()
            .columns()
            .iter()
            .position(|c| c.name() == col::TRACE_ID)
            .ok_or_else(|| StoreError::Internal("logs block lacks column trace_id".into()))?;
        let mut groups = Vec::new();
        for rg in 0..builder.metadata().num_row_groups() {
            let bloom = builder.get_row_group_column_bloom_filter(rg, leaf).await?;
            if bloom.is_none_or(|b| b.check(&trace_id.0[..])) {
                groups.push(rg);
            }
        }
        if groups.is_empty() {
            return Ok(Vec::new());
        }
        builder = builder.with_row_groups(groups);
    }
    let mut stream = builder.build()?;
    let mut out = Vec::new();
    while let Some(batch) = stream.try_next().await? {
        decode_batch(&batch, origins, &mut keep, &mut out)?;
    }
    Ok(out)
}

/// Decodes the rows of one batch, appending those `keep` accepts to `out`.
fn decode_batch(
    batch: &RecordBatch,
    origins: &mut Origins,
    keep: &mut impl FnMut(&LogRecord) -> bool,
    out: &mut Vec<LogRecord>,
) -> Result<()> {
    let time = column::<UInt64Array>(batch, col::TIME)?;
    let observed = column::<UInt64Array>(batch, col::OBSERVED_TIME)?;
    let severity = column::<Int32Array>(batch, col::SEVERITY_NUMBER)?;
    let severity_text = column::<StringArray>(batch, col::SEVERITY_TEXT)?;
    let body = column::<BinaryArray>(batch, col::BODY)?;
    let attributes = column::<BinaryArray>(batch, col::ATTRIBUTES)?;
    let trace_id = column::<FixedSizeBinaryArray>(batch, col::TRACE_ID)?;
    let span_id = column::<FixedSizeBinaryArray>(batch, col::SPAN_ID)?;
    let flags = column::<UInt32Array>(batch, col::FLAGS)?;
    let event_name = column::<StringArray>(batch, col::EVENT_NAME)?;
    let dropped = column::<UInt32Array>(batch, col::DROPPED_ATTRIBUTES)?;
    let resource = column::<BinaryArray>(batch, col::RESOURCE)?;
    let scope = column::<BinaryArray>(batch, col::SCOPE)?;
    for i in 0..batch.num_rows() {
        let r = OtlpResource::decode(resource.value(i)).map_err(|e| corrupt("resource", e))?;
        let s = InstrumentationScope::decode(scope.value(i)).map_err(|e| corrupt("scope", e))?;
        let record = LogRecord {
            time_unix_nano: time.value(i),
            observed_time_unix_nano: observed.value(i),
            severity_number: severity.value(i),
            severity_text: severity_text.value(i).to_owned(),
            body: value_from_otlp(Some(
                AnyValue::decode(body.value(i)).map_err(|e| corrupt("body", e))?,
            )),
            attributes: attrs_from_otlp(
                KeyValueList::decode(attributes.value(i))
                    .map_err(|e| corrupt("attributes", e))?
                    .values,
            ),
            dropped_attributes_count: dropped.value(i),
            flags: flags.value(i),
            trace_id: (!trace_id.is_null(i))
                .then(|| TraceId::from_slice(trace_id.value(i)))
                .flatten(),
            span_id: (!span_id.is_null(i))
                .then(|| SpanId::from_slice(span_id.value(i)))
                .flatten(),
            event_name: event_name.value(i).to_owned(),
            resource: origins.resources.share(Resource::new(
                attrs_from_otlp(r.attributes),
                r.dropped_attributes_count,
                String::new(),
            )),
            scope: origins.scopes.share(Scope {
                name: s.name,
                version: s.version,
                attributes: attrs_from_otlp(s.attributes),
                dropped_attributes_count: s.dropped_attributes_count,
                schema_url: String::new(),
            }),
        };
        if keep(&record) {
            out.push(record);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use object_store::memory::InMemory;
    use object_store::ObjectStoreExt;
    use tracewell_model::{AttrValue, Attribute};

    use super::*;

    fn record(trace: u8, time: u64, body: &str) -> LogRecord {
        LogRecord {
            time_unix_nano: time,
            observed_time_unix_nano: time + 1,
            severity_number: 9,
            severity_text: "INFO".into(),
            body: AttrValue::Str(body.into()),
            attributes: vec![Attribute::new("n", AttrValue::Int(i64::from(trace)))],
            trace_id: Some(TraceId([trace; 16])),
            span_id: Some(SpanId([trace; 8])),
            resource: Arc::new(Resource::new(
                vec![Attribute::str("service.name", "shop")],
                0,
                String::new(),
            )),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn blocks_round_trip_and_a_trace_outside_the_bloom_filter_reads_nothing() {
        let records = [record(1, 30, "c"), record(2, 10, "a"), record(1, 20, "b")];
        let (data, min, max) = write(records.iter().collect(), 3).unwrap();
        assert_eq!((min, max), (10, 30));
        let tenant = TenantId::new("t").unwrap();
        let path = LogBlock::path_for(&tenant, min, max);
        let objects: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let size = data.len() as u64;
        objects.put(&path, data.into()).await.unwrap();
        let block = LogBlock::from_listing(path, size).unwrap();
        assert_eq!((block.min_time, block.max_time), (10, 30));

        let mut origins = Origins::default();
        let all = read(Arc::clone(&objects), &block, None, &mut origins, |_| true)
            .await
            .unwrap();
        let bodies: Vec<String> = all.iter().map(LogRecord::body_text).collect();
        assert_eq!(bodies, ["a", "b", "c"], "sorted by time");
        assert_eq!(all[0], records[1]);
        let one = read(
            Arc::clone(&objects),
            &block,
            Some(TraceId([1; 16])),
            &mut origins,
            |r| r.trace_id == Some(TraceId([1; 16])),
        )
        .await
        .unwrap();
        assert_eq!(one.len(), 2);
        let absent = read(
            objects,
            &block,
            Some(TraceId([9; 16])),
            &mut origins,
            |_| true,
        )
        .await
        .unwrap();
        assert!(absent.is_empty(), "the Bloom filter rules trace 9 out");
    }

    #[test]
    fn listings_that_are_not_logs_blocks_are_ignored() {
        assert!(LogBlock::from_listing(Path::from("t/logs/readme.txt"), 1).is_none());
        assert!(LogBlock::from_listing(Path::from("t/logs/1-2.parquet"), 1).is_none());
        assert!(LogBlock::from_listing(Path::from("t/logs/x-2-u.parquet"), 1).is_none());
    }
}
