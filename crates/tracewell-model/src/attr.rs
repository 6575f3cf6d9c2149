//! Attribute values: the typed values spans, resources, scopes, events and links carry.

/// A typed attribute value, mirroring OTLP's `AnyValue`.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum AttrValue {
    Str(String),
    Bool(bool),
    Int(i64),
    Double(f64),
    Bytes(Vec<u8>),
    Array(Vec<AttrValue>),
    Map(Vec<Attribute>),
    /// A key present without a value (OTLP allows it).
    #[default]
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

    /// Approximate heap plus inline size, for memory accounting. Each heap allocation is charged
    /// [`ALLOC_OVERHEAD`] on top of its bytes, which is what an allocator really spends on small objects.
    /// The value as plain JSON: strings, numbers, booleans, arrays and objects; bytes as base64-free hex
    /// strings; an empty value as null.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            AttrValue::Str(s) => Value::String(s.clone()),
            AttrValue::Bool(b) => Value::Bool(*b),
            AttrValue::Int(i) => Value::from(*i),
            AttrValue::Double(d) => {
                serde_json::Number::from_f64(*d).map_or(Value::Null, Value::Number)
            }
            AttrValue::Bytes(b) => Value::String(hex::encode(b)),
            AttrValue::Array(items) => Value::Array(items.iter().map(AttrValue::to_json).collect()),
            AttrValue::Map(kvs) => Value::Object(
                kvs.iter()
                    .map(|a| (a.key.clone(), a.value.to_json()))
                    .collect(),
            ),
            AttrValue::Empty => Value::Null,
        }
    }

    /// The value as text: strings as they are, anything else as its JSON.
    pub fn to_text(&self) -> String {
        match self {
            AttrValue::Str(s) => s.clone(),
            other => other.to_json().to_string(),
        }
    }

    pub fn approx_size(&self) -> usize {
        let inline = std::mem::size_of::<AttrValue>();
        inline
            + match self {
                AttrValue::Str(s) => heap(s.capacity()),
                AttrValue::Bytes(b) => heap(b.capacity()),
                AttrValue::Array(items) => {
                    ALLOC_OVERHEAD + items.iter().map(AttrValue::approx_size).sum::<usize>()
                }
                AttrValue::Map(kvs) => ALLOC_OVERHEAD + attrs_size(kvs),
                AttrValue::Bool(_)
                | AttrValue::Int(_)
                | AttrValue::Double(_)
                | AttrValue::Empty => 0,
            }
    }
}

/// Bytes an allocator spends per heap allocation beyond the requested size (header and rounding).
pub(crate) const ALLOC_OVERHEAD: usize = 16;

/// Cost of a heap buffer of `capacity` bytes (nothing when empty: no allocation).
pub(crate) fn heap(capacity: usize) -> usize {
    if capacity == 0 {
        0
    } else {
        capacity + ALLOC_OVERHEAD
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
