//! A small allocation-free protobuf writer that serialises generated spans
//! straight into OTLP `Span` wire format, so the load generator never builds
//! (or re-encodes) full prost message trees on its hot path.

use super::builder::{Attr, GeneratedSpan, Val};

const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LEN: u8 = 2;
const FIXED32: u8 = 5;

/// Encoded size of `v` as a varint.
pub fn varint_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

pub fn put_varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

fn put_tag(buf: &mut Vec<u8>, field: u32, wire: u8) {
    put_varint(buf, u64::from(field << 3 | u32::from(wire)));
}

/// Writes a length-delimited field (string, bytes or pre-encoded message).
pub fn put_bytes(buf: &mut Vec<u8>, field: u32, data: &[u8]) {
    put_len_prefix(buf, field, data.len());
    buf.extend_from_slice(data);
}

/// Writes the tag and length of a length-delimited field of `len` bytes.
pub fn put_len_prefix(buf: &mut Vec<u8>, field: u32, len: usize) {
    put_tag(buf, field, LEN);
    put_varint(buf, len as u64);
}

/// Size of a length-delimited field with a one-byte tag.
pub fn field_len(len: usize) -> usize {
    1 + varint_len(len as u64) + len
}

fn put_fixed64(buf: &mut Vec<u8>, field: u32, v: u64) {
    put_tag(buf, field, FIXED64);
    buf.extend_from_slice(&v.to_le_bytes());
}

fn put_fixed32(buf: &mut Vec<u8>, field: u32, v: u32) {
    put_tag(buf, field, FIXED32);
    buf.extend_from_slice(&v.to_le_bytes());
}

fn put_uint(buf: &mut Vec<u8>, field: u32, v: u64) {
    put_tag(buf, field, VARINT);
    put_varint(buf, v);
}

/// Encoded size of the `AnyValue` message holding `val`.
fn any_value_len(val: &Val) -> usize {
    match val {
        Val::Str(s) => field_len(s.len()),
        Val::String(s) => field_len(s.len()),
        Val::Int(i) => 1 + varint_len(*i as u64),
    }
}

/// Writes one `KeyValue` as repeated field `field`.
fn put_attr(buf: &mut Vec<u8>, field: u32, attr: &Attr) {
    let value_len = any_value_len(&attr.val);
    put_len_prefix(buf, field, field_len(attr.key.len()) + field_len(value_len));
    put_bytes(buf, 1, attr.key.as_bytes());
    put_len_prefix(buf, 2, value_len);
    match &attr.val {
        Val::Str(s) => put_bytes(buf, 1, s.as_bytes()),
        Val::String(s) => put_bytes(buf, 1, s.as_bytes()),
        Val::Int(i) => put_uint(buf, 3, *i as u64),
    }
}

fn attrs_len(attrs: &[Attr]) -> usize {
    attrs
        .iter()
        .map(|a| field_len(field_len(a.key.len()) + field_len(any_value_len(&a.val))))
        .sum()
}

/// Writes the body (no tag/length) of an OTLP `Span` message.
pub fn encode_span(buf: &mut Vec<u8>, trace_id: &[u8; 16], span: &GeneratedSpan) {
    put_bytes(buf, 1, trace_id);
    put_bytes(buf, 2, &span.span_id);
    if let Some(parent) = &span.parent_span_id {
        put_bytes(buf, 4, parent);
    }
    put_bytes(buf, 5, span.name.as_bytes());
    put_uint(buf, 6, span.kind as u64);
    put_fixed64(buf, 7, span.start_time_unix_nano);
    put_fixed64(buf, 8, span.end_time_unix_nano);
    for attr in &span.attributes {
        put_attr(buf, 9, attr);
    }
    if let Some(err) = &span.error {
        if let Some(exc) = &err.exception {
            let name = "exception";
            put_len_prefix(buf, 11, 9 + field_len(name.len()) + attrs_len(exc));
            put_fixed64(buf, 1, span.end_time_unix_nano);
            put_bytes(buf, 2, name.as_bytes());
            for attr in exc {
                put_attr(buf, 3, attr);
            }
        }
        let message_len = if err.message.is_empty() {
            0
        } else {
            field_len(err.message.len())
        };
        put_len_prefix(buf, 15, message_len + 2);
        if !err.message.is_empty() {
            put_bytes(buf, 2, err.message.as_bytes());
        }
        put_uint(buf, 3, 2); // STATUS_CODE_ERROR
    }
    put_fixed32(buf, 16, span.flags);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_lengths() {
        let cases = [
            (0u64, 1),
            (1, 1),
            (127, 1),
            (128, 2),
            (16_383, 2),
            (16_384, 3),
            (u64::MAX, 10),
        ];
        for (v, want) in cases {
            assert_eq!(varint_len(v), want, "{v}");
            let mut buf = Vec::new();
            put_varint(&mut buf, v);
            assert_eq!(buf.len(), want, "{v}");
        }
    }
}
