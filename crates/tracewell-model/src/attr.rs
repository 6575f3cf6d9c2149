//! Attribute values: the typed values spans, resources, scopes, events and links carry.

/// A typed attribute value, mirroring OTLP's `AnyValue`.
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    Str(String),
    Bool(bool),
    Int(i64),
    Double(f64),
    Bytes(Vec<u8>),
    Array(Vec<AttrValue>),
    Map(Vec<Attribute>),
    /// A key present without a value (OTLP allows it).
    Empty,
}

/// One key/value pair.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribute {
    pub key: String,
    pub value: AttrValue,
}

impl Attribute {
    pub fn new(key: impl Into<String>, value: AttrValue) -> Self {
        Self {
            key: key.into(),
            value,
        }
    }

    pub fn str(key: impl Into<String>, value: impl Into<String>) -> Self {
        Self::new(key, AttrValue::Str(value.into()))
    }
}

impl AttrValue {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            AttrValue::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            AttrValue::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// Approximate heap plus inline size, for memory accounting.
    pub fn approx_size(&self) -> usize {
        let inline = std::mem::size_of::<AttrValue>();
        inline
            + match self {
                AttrValue::Str(s) => s.len(),
                AttrValue::Bytes(b) => b.len(),
                AttrValue::Array(items) => items.iter().map(AttrValue::approx_size).sum(),
                AttrValue::Map(kvs) => attrs_size(kvs),
                AttrValue::Bool(_)
                | AttrValue::Int(_)
                | AttrValue::Double(_)
                | AttrValue::Empty => 0,
            }
    }
}

/// Approximate size of an attribute list.
pub(crate) fn attrs_size(attrs: &[Attribute]) -> usize {
    attrs
        .iter()
        .map(|a| a.key.len() + a.value.approx_size())
        .sum()
}

/// Finds an attribute by key.
pub fn find<'a>(attrs: &'a [Attribute], key: &str) -> Option<&'a AttrValue> {
    attrs.iter().find(|a| a.key == key).map(|a| &a.value)
}
