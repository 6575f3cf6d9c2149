//! The physical schema of a v2 block's `data.parquet`: the v1 span columns without the repeated resource and scope
//! columns (they are tables in `index.bin`, referenced by number), the parent as a row offset within the trace, and
//! span attributes split into typed per-key columns plus a list for the rest.
//!
//! The fixed columns come first; then the block's dynamic attribute columns (named by [`dynamic_name`], chosen per
//! block by frequency). See `FORMAT.md` next to this file.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use crate::block::v1::schema::{attr_list_type, col, event_fields, link_fields, list_item};
use crate::block::v1::schema::{HotType, HOT_ATTRS};

/// Parquet key/value metadata key naming the block format; its value is [`super::FORMAT_VERSION`].
pub use crate::block::v1::schema::FORMAT_KEY;

/// Columns that exist only in v2.
pub mod col2 {
    /// 0: no parent in this trace's rows (root, or see `parent_span_id`); k: the parent is the trace's row k-1.
    pub const PARENT_ROW: &str = "parent_row";
    /// The parent span id, only where the parent is not among the trace's rows.
    pub const EXTERNAL_PARENT: &str = "parent_span_id";
    /// Number of the span's resource in the block's resource table.
    pub const RESOURCE: &str = "resource";
    /// Number of the span's scope in the block's scope table.
    pub const SCOPE: &str = "scope";
    /// Number of the span's attribute shape (ordered attribute placements) in the block's shape table.
    pub const SHAPE: &str = "attribute_shape";
    /// Span attributes that have neither a dedicated nor a dynamic column, in the v1 attribute encoding.
    pub const OTHER_ATTRIBUTES: &str = "other_attributes";
}

/// The value type of a dynamic attribute column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DynType {
    Str,
    Int,
    Double,
    Bool,
}

impl DynType {
    fn letter(self) -> char {
        match self {
            DynType::Str => 's',
            DynType::Int => 'i',
            DynType::Double => 'd',
            DynType::Bool => 'b',
        }
    }

    fn of_letter(c: char) -> Option<Self> {
        Some(match c {
            's' => DynType::Str,
            'i' => DynType::Int,
            'd' => DynType::Double,
            'b' => DynType::Bool,
            _ => return None,
        })
    }

    pub fn data_type(self) -> DataType {
        match self {
            DynType::Str => DataType::Utf8,
            DynType::Int => DataType::Int64,
            DynType::Double => DataType::Float64,
            DynType::Bool => DataType::Boolean,
        }
    }
}

/// The column name of a dynamic attribute column: `attr.<type letter>.<key>`.
pub fn dynamic_name(key: &str, ty: DynType) -> String {
    format!("attr.{}.{key}", ty.letter())
}

/// Key and type of a dynamic attribute column name.
pub fn parse_dynamic_name(name: &str) -> Option<(&str, DynType)> {
    let rest = name.strip_prefix("attr.")?;
    let mut chars = rest.chars();
    let ty = DynType::of_letter(chars.next()?)?;
    let key = chars.as_str().strip_prefix('.')?;
    Some((key, ty))
}

/// The fixed columns of a v2 block, in file order.
pub fn fixed_fields() -> Vec<Field> {
    use DataType::{FixedSizeBinary, UInt32, UInt64, UInt8, Utf8};
    let req = |name: &str, ty: DataType| Field::new(name, ty, false);
    let mut fields = vec![
        req(col::TRACE_ID, FixedSizeBinary(16)),
        req(col::SPAN_ID, FixedSizeBinary(8)),
        req(col2::PARENT_ROW, UInt32),
        Field::new(col2::EXTERNAL_PARENT, FixedSizeBinary(8), true),
        req(col::TRACE_STATE, Utf8),
        req(col::FLAGS, UInt32),
        req(col::NAME, Utf8),
        req(col::KIND, UInt8),
        req(col::START, UInt64),
        req(col::DURATION, UInt64),
        req(col::STATUS_CODE, UInt8),
        req(col::STATUS_MESSAGE, Utf8),
        req(col::SERVICE_NAME, Utf8),
        req(col2::RESOURCE, UInt32),
        req(col2::SCOPE, UInt32),
        req(col2::SHAPE, UInt32),
    ];
    fields.extend(HOT_ATTRS.iter().map(|h| {
        let ty = match h.ty {
            HotType::Str => Utf8,
            HotType::Int => DataType::Int64,
        };
        Field::new(h.column, ty, true)
    }));
    fields.extend([
        req(col2::OTHER_ATTRIBUTES, attr_list_type()),
        req(col::DROPPED_ATTRIBUTES, UInt32),
        req(col::EVENTS, DataType::List(list_item(event_fields()))),
        req(col::DROPPED_EVENTS, UInt32),
        req(col::LINKS, DataType::List(list_item(link_fields()))),
        req(col::DROPPED_LINKS, UInt32),
    ]);
    fields
}

/// The schema of a block with these dynamic columns (`(key, type)`, in column order).
pub fn physical_schema(dynamic: &[(String, DynType)]) -> SchemaRef {
    let mut fields = fixed_fields();
    fields.extend(
        dynamic
            .iter()
            .map(|(key, ty)| Field::new(dynamic_name(key, *ty), ty.data_type(), true)),
    );
    Arc::new(Schema::new(fields))
}

/// Leaf indexes of the sort key (every fixed column before them is primitive, so leaf index = field index).
pub const TRACE_ID_LEAF: usize = 0;
pub const START_LEAF: usize = 8;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_key_leaves_match_the_schema() {
        let fields = fixed_fields();
        assert_eq!(fields[TRACE_ID_LEAF].name(), col::TRACE_ID);
        assert_eq!(fields[START_LEAF].name(), col::START);
        assert!(fields[..START_LEAF]
            .iter()
            .all(|f| !matches!(f.data_type(), DataType::List(_) | DataType::Struct(_))));
    }

    #[test]
    fn dynamic_names_round_trip_with_dots_in_keys() {
        let name = dynamic_name("app.user.id", DynType::Int);
        assert_eq!(name, "attr.i.app.user.id");
        assert_eq!(
            parse_dynamic_name(&name),
            Some(("app.user.id", DynType::Int))
        );
        assert_eq!(parse_dynamic_name("attr.x.k"), None);
        assert_eq!(parse_dynamic_name("http_route"), None);
    }
}
