//! The Arrow schema of a v1 block, and the names and tags its writer and reader share.
//!
//! See `FORMAT.md` next to this file for why the layout is what it is.

use std::sync::{Arc, OnceLock};

use arrow::datatypes::{DataType, Field, FieldRef, Fields, Schema, SchemaRef};
use tracewell_model::AttrValue;

/// Parquet key/value metadata key naming the block format; its value is [`super::FORMAT_VERSION`].
pub const FORMAT_KEY: &str = "tracewell.block.format";

/// Rows per data page (best effort): the page index narrows a trace read to the pages holding it. Smaller pages
/// cost size (measured on realistic spans: 1024 rows +20%, 2048 rows +10% over unbounded pages).
pub const PAGE_ROWS: usize = 2048;

/// Top-level column names.
pub mod col {
    pub const TRACE_ID: &str = "trace_id";
    pub const SPAN_ID: &str = "span_id";
    pub const PARENT_SPAN_ID: &str = "parent_span_id";
    pub const TRACE_STATE: &str = "trace_state";
    pub const FLAGS: &str = "flags";
    pub const NAME: &str = "name";
    pub const KIND: &str = "kind";
    pub const START: &str = "start_time_unix_nano";
    pub const DURATION: &str = "duration_nano";
    pub const STATUS_CODE: &str = "status_code";
    pub const STATUS_MESSAGE: &str = "status_message";
    pub const SERVICE_NAME: &str = "service_name";
    pub const ATTRIBUTES: &str = "attributes";
    pub const DROPPED_ATTRIBUTES: &str = "dropped_attributes_count";
    pub const EVENTS: &str = "events";
    pub const DROPPED_EVENTS: &str = "dropped_events_count";
    pub const LINKS: &str = "links";
    pub const DROPPED_LINKS: &str = "dropped_links_count";
    pub const RESOURCE_ATTRIBUTES: &str = "resource_attributes";
    pub const RESOURCE_DROPPED: &str = "resource_dropped_attributes_count";
    pub const RESOURCE_SCHEMA_URL: &str = "resource_schema_url";
    pub const SCOPE_NAME: &str = "scope_name";
    pub const SCOPE_VERSION: &str = "scope_version";
    pub const SCOPE_ATTRIBUTES: &str = "scope_attributes";
    pub const SCOPE_DROPPED: &str = "scope_dropped_attributes_count";
    pub const SCOPE_SCHEMA_URL: &str = "scope_schema_url";
}

/// Leaf (Parquet column) indexes of the sort key; every column before them is a primitive, so leaf index equals
/// field index. Checked by a test.
pub const TRACE_ID_LEAF: usize = 0;
pub const START_LEAF: usize = 7;

/// Type tags of the generic attribute encoding (`type` field of an attribute struct).
pub mod tag {
    pub const EMPTY: u8 = 0;
    pub const STR: u8 = 1;
    pub const BOOL: u8 = 2;
    pub const INT: u8 = 3;
    pub const DOUBLE: u8 = 4;
    /// Raw bytes in the `bytes` field.
    pub const BYTES: u8 = 5;
    /// An OTLP `AnyValue` (protobuf) in the `bytes` field.
    pub const ARRAY: u8 = 6;
    /// An OTLP `AnyValue` (protobuf) in the `bytes` field.
    pub const MAP: u8 = 7;
    /// The value lives in the span's dedicated column for this key; the entry only keeps the attribute's position.
    pub const DEDICATED: u8 = 8;
}

/// Value type of a dedicated attribute column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HotType {
    Str,
    Int,
}

/// A hot semantic-convention span attribute with its own nullable column.
#[derive(Debug, Clone, Copy)]
pub struct HotAttr {
    pub key: &'static str,
    pub column: &'static str,
    pub ty: HotType,
}

const fn hot(key: &'static str, column: &'static str, ty: HotType) -> HotAttr {
    HotAttr { key, column, ty }
}

/// Span attributes stored in dedicated columns (when their value has the column's type).
pub const HOT_ATTRS: [HotAttr; 13] = [
    hot("http.request.method", "http_request_method", HotType::Str),
    hot(
        "http.response.status_code",
        "http_response_status_code",
        HotType::Int,
    ),
    hot("http.route", "http_route", HotType::Str),
    hot("url.path", "url_path", HotType::Str),
    hot("db.system", "db_system", HotType::Str),
    hot("db.query.text", "db_query_text", HotType::Str),
    hot("db.operation.name", "db_operation_name", HotType::Str),
    hot("messaging.system", "messaging_system", HotType::Str),
    hot(
        "messaging.destination.name",
        "messaging_destination_name",
        HotType::Str,
    ),
    hot("rpc.service", "rpc_service", HotType::Str),
    hot("rpc.method", "rpc_method", HotType::Str),
    hot("peer.service", "peer_service", HotType::Str),
    hot("server.address", "server_address", HotType::Str),
];

/// The dedicated column `value` belongs in under `key`, if any.
pub fn hot_slot(key: &str, value: &AttrValue) -> Option<usize> {
    let i = hot_index(key)?;
    let fits = matches!(
        (HOT_ATTRS[i].ty, value),
        (HotType::Str, AttrValue::Str(_)) | (HotType::Int, AttrValue::Int(_))
    );
    fits.then_some(i)
}

/// Index of `key` in [`HOT_ATTRS`].
pub fn hot_index(key: &str) -> Option<usize> {
    // Asked for every attribute of every span written. The keys' lengths nearly tell them apart, so most keys
    // are refused by their length alone, without reading their bytes (a hash map lookup hashed every key).
    // `hot_index_follows_hot_attrs` keeps this in step with HOT_ATTRS.
    let candidate = |i: usize| (HOT_ATTRS[i].key == key).then_some(i);
    match key.len() {
        8 => candidate(3),
        9 => candidate(4),
        10 => candidate(2).or_else(|| candidate(10)),
        11 => candidate(9),
        12 => candidate(11),
        13 => candidate(5),
        14 => candidate(12),
        16 => candidate(7),
        17 => candidate(6),
        19 => candidate(0),
        25 => candidate(1),
        26 => candidate(8),
        _ => None,
    }
}

/// Fields of one attribute: key, type tag, and one nullable field per value kind.
pub fn attr_fields() -> Fields {
    Fields::from(vec![
        Field::new("key", DataType::Utf8, false),
        Field::new("type", DataType::UInt8, false),
        Field::new("str", DataType::Utf8, true),
        Field::new("int", DataType::Int64, true),
        Field::new("double", DataType::Float64, true),
        Field::new("bool", DataType::Boolean, true),
        Field::new("bytes", DataType::Binary, true),
    ])
}

pub fn event_fields() -> Fields {
    Fields::from(vec![
        Field::new("time_unix_nano", DataType::UInt64, false),
        Field::new("name", DataType::Utf8, false),
        Field::new(col::ATTRIBUTES, attr_list_type(), false),
        Field::new(col::DROPPED_ATTRIBUTES, DataType::UInt32, false),
    ])
}

pub fn link_fields() -> Fields {
    Fields::from(vec![
        Field::new(col::TRACE_ID, DataType::FixedSizeBinary(16), false),
        Field::new(col::SPAN_ID, DataType::FixedSizeBinary(8), false),
        Field::new(col::TRACE_STATE, DataType::Utf8, false),
        Field::new(col::FLAGS, DataType::UInt32, false),
        Field::new(col::ATTRIBUTES, attr_list_type(), false),
        Field::new(col::DROPPED_ATTRIBUTES, DataType::UInt32, false),
    ])
}

/// The element field of a non-null list of non-null structs.
pub fn list_item(fields: Fields) -> FieldRef {
    Arc::new(Field::new_list_field(DataType::Struct(fields), false))
}

pub fn attr_list_type() -> DataType {
    DataType::List(list_item(attr_fields()))
}

/// The block schema, built once.
pub fn block_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    Arc::clone(SCHEMA.get_or_init(build_schema))
}

fn build_schema() -> SchemaRef {
    use DataType::{FixedSizeBinary, UInt32, UInt64, UInt8, Utf8};
    let req = |name: &str, ty: DataType| Field::new(name, ty, false);
    let mut fields = vec![
        req(col::TRACE_ID, FixedSizeBinary(16)),
        req(col::SPAN_ID, FixedSizeBinary(8)),
        Field::new(col::PARENT_SPAN_ID, FixedSizeBinary(8), true),
        req(col::TRACE_STATE, Utf8),
        req(col::FLAGS, UInt32),
        req(col::NAME, Utf8),
        req(col::KIND, UInt8),
        req(col::START, UInt64),
        req(col::DURATION, UInt64),
        req(col::STATUS_CODE, UInt8),
        req(col::STATUS_MESSAGE, Utf8),
        req(col::SERVICE_NAME, Utf8),
    ];
    fields.extend(HOT_ATTRS.iter().map(|h| {
        let ty = match h.ty {
            HotType::Str => Utf8,
            HotType::Int => DataType::Int64,
        };
        Field::new(h.column, ty, true)
    }));
    fields.extend([
        req(col::ATTRIBUTES, attr_list_type()),
        req(col::DROPPED_ATTRIBUTES, UInt32),
        req(col::EVENTS, DataType::List(list_item(event_fields()))),
        req(col::DROPPED_EVENTS, UInt32),
        req(col::LINKS, DataType::List(list_item(link_fields()))),
        req(col::DROPPED_LINKS, UInt32),
        req(col::RESOURCE_ATTRIBUTES, attr_list_type()),
        req(col::RESOURCE_DROPPED, UInt32),
        req(col::RESOURCE_SCHEMA_URL, Utf8),
        req(col::SCOPE_NAME, Utf8),
        req(col::SCOPE_VERSION, Utf8),
        req(col::SCOPE_ATTRIBUTES, attr_list_type()),
        req(col::SCOPE_DROPPED, UInt32),
        req(col::SCOPE_SCHEMA_URL, Utf8),
    ]);
    Arc::new(Schema::new(fields))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_key_leaf_indexes_match_the_schema() {
        let schema = block_schema();
        assert_eq!(schema.field(TRACE_ID_LEAF).name(), col::TRACE_ID);
        assert_eq!(schema.field(START_LEAF).name(), col::START);
        assert!(schema.fields()[..START_LEAF]
            .iter()
            .all(|f| f.data_type().is_primitive()
                || matches!(f.data_type(), DataType::Utf8 | DataType::FixedSizeBinary(_))));
    }

    #[test]
    fn hot_attributes_move_only_with_their_column_type() {
        assert_eq!(
            hot_slot("http.route", &AttrValue::Str("/a".into())),
            Some(2)
        );
        assert_eq!(hot_slot("http.route", &AttrValue::Int(1)), None);
        assert_eq!(
            hot_slot("http.response.status_code", &AttrValue::Int(200)),
            Some(1)
        );
        assert_eq!(
            hot_slot("http.response.status_code", &AttrValue::Str("200".into())),
            None
        );
        assert_eq!(hot_slot("custom", &AttrValue::Str("x".into())), None);
    }

    #[test]
    fn hot_index_follows_hot_attrs() {
        for (i, h) in HOT_ATTRS.iter().enumerate() {
            assert_eq!(hot_index(h.key), Some(i), "{}", h.key);
        }
        assert_eq!(hot_index("http.request"), None);
        assert_eq!(hot_index(""), None);
    }
}
