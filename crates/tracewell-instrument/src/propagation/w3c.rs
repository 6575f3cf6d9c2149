//! W3C Trace Context Level 2 (<https://www.w3.org/TR/trace-context-2/>): the `traceparent` and
//! `tracestate` request headers, the [`W3cTraceContextPropagator`] that reads and writes them, and
//! the `traceresponse` response header.
//!
//! Parsing follows the specification's grammar rather than [`TraceState`]'s own parser, which
//! accepts some invalid lists (more than 32 members, values with control characters) and refuses
//! some valid keys (a second `@`, more than 13 characters after an `@`, `_`, `-`, `*` or `/` right
//! after an `@`). Members that [`TraceState`] cannot hold are still propagated: the propagator keeps
//! the list as received beside the remote span context and writes it back on injection, together
//! with the random trace-id flag received, for every span of the same trace.

use http::HeaderValue;
use opentelemetry::propagation::text_map_propagator::FieldIter;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry::Context;

use super::ids::{parse_hex, parse_hex_u64, HexCase, OWS};

/// The `traceparent` header name.
pub const TRACEPARENT_HEADER: &str = "traceparent";
/// The `tracestate` header name.
pub const TRACESTATE_HEADER: &str = "tracestate";
/// The `traceresponse` header name.
pub const TRACERESPONSE_HEADER: &str = "traceresponse";

/// Sampled flag (bit 0 of trace-flags).
const FLAG_SAMPLED: u8 = 0x01;
/// Random trace-id flag (bit 1 of trace-flags, Level 2).
const FLAG_RANDOM: u8 = 0x02;
/// The version this implementation writes.
const VERSION: &str = "00";
/// Length of a version `00` value; the minimum length of any version.
const VALUE_LEN: usize = 55;
/// Most list members a `tracestate` may have.
const MAX_MEMBERS: usize = 32;
/// Longest `tracestate` key and value.
const MAX_KEY_LEN: usize = 256;
const MAX_VALUE_LEN: usize = 256;

/// What is wrong with a `traceparent` (or `traceresponse`) value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TraceparentError {
    #[error("version is not two lowercase hex digits followed by '-'")]
    Version,
    #[error("version ff is forbidden")]
    ForbiddenVersion,
    #[error("value has {0} characters, at least 55 are required")]
    TooShort(usize),
    #[error("trace-id is not 32 lowercase hex digits followed by '-'")]
    TraceId,
    #[error("trace-id is all zeros")]
    ZeroTraceId,
    #[error("parent-id is not 16 lowercase hex digits followed by '-'")]
    ParentId,
    #[error("parent-id is all zeros")]
    ZeroParentId,
    #[error("trace-flags are not 2 lowercase hex digits")]
    Flags,
    #[error("a version 00 value has exactly 55 characters, this one has {0}")]
    Version00Length(usize),
    #[error(
        "trace-flags of a future version are followed by neither '-' nor the end of the value"
    )]
    FutureVersionFields,
}

/// What is wrong with a `tracestate` list; any of these discards the whole list.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TracestateError {
    #[error("tracestate has {0} list members, at most 32 are allowed")]
    TooManyMembers(usize),
    #[error("tracestate list member {0:?} is not key=value")]
    Member(String),
    #[error("invalid tracestate key {0:?}")]
    Key(String),
    #[error("invalid tracestate value {value:?} for key {key:?}")]
    Value { key: String, value: String },
    #[error("tracestate key {0:?} is valid but opentelemetry's TraceState cannot hold it")]
    Unrepresentable(String),
}

/// Parses one `traceparent` value (surrounding spaces and tabs allowed) into a remote span context
/// with every trace-flags bit received and an empty trace state.
///
/// Version `00` must be exactly 55 characters. A higher version (not `ff`) is read from its first
/// 55 characters, which must be followed by `-` or nothing; its further fields are ignored.
pub fn parse_traceparent(value: &str) -> Result<SpanContext, TraceparentError> {
    let bytes = value.trim_matches(OWS).as_bytes();
    let version = bytes.get(..2).ok_or(TraceparentError::Version)?;
    if bytes.get(2) != Some(&b'-') || parse_hex(version, HexCase::Lower).is_none() {
        return Err(TraceparentError::Version);
    }
    if version == b"ff" {
        return Err(TraceparentError::ForbiddenVersion);
    }
    if bytes.len() < VALUE_LEN {
        return Err(TraceparentError::TooShort(bytes.len()));
    }
    let trace_id = field(bytes, 3, 32)
        .and_then(|digits| parse_hex(digits, HexCase::Lower))
        .ok_or(TraceparentError::TraceId)?;
    let parent_id = field(bytes, 36, 16)
        .and_then(|digits| parse_hex_u64(digits, HexCase::Lower))
        .ok_or(TraceparentError::ParentId)?;
    let flags = bytes
        .get(53..55)
        .and_then(|digits| parse_hex(digits, HexCase::Lower))
        .and_then(|flags| u8::try_from(flags).ok())
        .ok_or(TraceparentError::Flags)?;
    if version == b"00" {
        if bytes.len() != VALUE_LEN {
            return Err(TraceparentError::Version00Length(bytes.len()));
        }
    } else if bytes.len() > VALUE_LEN && bytes[VALUE_LEN] != b'-' {
        return Err(TraceparentError::FutureVersionFields);
    }
    if trace_id == 0 {
        return Err(TraceparentError::ZeroTraceId);
    }
    if parent_id == 0 {
        return Err(TraceparentError::ZeroParentId);
    }
    Ok(SpanContext::new(
        TraceId::from(trace_id),
        SpanId::from(parent_id),
        TraceFlags::new(flags),
        true,
        TraceState::NONE,
    ))
}

/// The `len` digits starting at `start`, if a `-` follows them.
fn field(bytes: &[u8], start: usize, len: usize) -> Option<&[u8]> {
    let end = start + len;
    if bytes.get(end) != Some(&b'-') {
        return None;
    }
    bytes.get(start..end)
}

/// Parses the values of every `tracestate` header, combined in order, into a [`TraceState`].
///
/// Returns [`TracestateError::Unrepresentable`] for a valid list holding a key that [`TraceState`]
/// refuses; [`parse_tracestate_members`] returns such lists in full.
pub fn parse_tracestate(values: &[&str]) -> Result<TraceState, TracestateError> {
    let members = parse_tracestate_members(values)?;
    if let Some((key, _)) = members
        .iter()
        .find(|(key, value)| !trace_state_holds(key, value))
    {
        return Err(TracestateError::Unrepresentable(key.clone()));
    }
    TraceState::from_key_value(members)
        .map_err(|error| TracestateError::Unrepresentable(error.to_string()))
}

/// Parses the values of every `tracestate` header, combined in order, into its `(key, value)` list
/// members.
///
/// Spaces and tabs around members are ignored and empty members skipped. Keys follow
/// `( lcalpha / DIGIT ) 0*255( lcalpha / DIGIT / "_" / "-" / "*" / "/" / "@" )`; values are 1 to 256
/// printable ASCII characters other than `,` and `=`, not ending in a space. At most 32 members.
/// When a key occurs more than once, its first (left-most, most recent) member is kept.
pub fn parse_tracestate_members(values: &[&str]) -> Result<Vec<(String, String)>, TracestateError> {
    let members: Vec<&str> = values
        .iter()
        .flat_map(|value| value.split(','))
        .map(|member| member.trim_matches(OWS))
        .filter(|member| !member.is_empty())
        .collect();
    if members.len() > MAX_MEMBERS {
        return Err(TracestateError::TooManyMembers(members.len()));
    }
    let mut list: Vec<(String, String)> = Vec::with_capacity(members.len());
    for member in members {
        let (key, value) = member
            .split_once('=')
            .ok_or_else(|| TracestateError::Member(member.to_string()))?;
        if !valid_key(key) {
            return Err(TracestateError::Key(key.to_string()));
        }
        if !valid_value(value) {
            return Err(TracestateError::Value {
                key: key.to_string(),
                value: value.to_string(),
            });
        }
        if !list.iter().any(|(seen, _)| seen == key) {
            list.push((key.to_string(), value.to_string()));
        }
    }
    Ok(list)
}

fn valid_key(key: &str) -> bool {
    let Some((first, rest)) = key.as_bytes().split_first() else {
        return false;
    };
    (first.is_ascii_lowercase() || first.is_ascii_digit())
        && rest.len() < MAX_KEY_LEN
        && rest.iter().all(|&byte| {
            byte.is_ascii_lowercase()
                || byte.is_ascii_digit()
                || matches!(byte, b'_' | b'-' | b'*' | b'/' | b'@')
        })
}

fn valid_value(value: &str) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_VALUE_LEN
        && bytes.last() != Some(&b' ')
        && bytes
            .iter()
            .all(|&byte| (0x20..=0x7e).contains(&byte) && byte != b',' && byte != b'=')
}

/// Whether [`TraceState`] accepts this member.
fn trace_state_holds(key: &str, value: &str) -> bool {
    TraceState::NONE.insert(key, value).is_ok()
}

/// Formats `version-traceid-spanid-flags` with version `00`, writing only the sampled and random
/// flags.
fn format_value(trace_id: TraceId, span_id: SpanId, flags: TraceFlags) -> String {
    let flags = flags.to_u8() & (FLAG_SAMPLED | FLAG_RANDOM);
    // Written by hand: `format!` with hex formatting costs thousands of instructions per request.
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = Vec::with_capacity(55);
    out.extend_from_slice(VERSION.as_bytes());
    out.push(b'-');
    for byte in trace_id.to_bytes() {
        out.push(HEX[usize::from(byte >> 4)]);
        out.push(HEX[usize::from(byte & 0x0f)]);
    }
    out.push(b'-');
    for byte in span_id.to_bytes() {
        out.push(HEX[usize::from(byte >> 4)]);
        out.push(HEX[usize::from(byte & 0x0f)]);
    }
    out.push(b'-');
    out.push(HEX[usize::from(flags >> 4)]);
    out.push(HEX[usize::from(flags & 0x0f)]);
    // Only ASCII hex digits and dashes were written.
    String::from_utf8(out).unwrap_or_default()
}

/// The `traceresponse` header for a server span: `00-traceid-spanid-flags` with the sampled and
/// random flags, or `None` for an invalid span context.
pub fn traceresponse_header(cx: &SpanContext) -> Option<HeaderValue> {
    if !cx.is_valid() {
        return None;
    }
    // The formatted bytes become the header's storage as they are: no second copy per response.
    let value = format_value(cx.trace_id(), cx.span_id(), cx.trace_flags());
    HeaderValue::from_maybe_shared(bytes::Bytes::from(value.into_bytes())).ok()
}

/// Parses a `traceresponse` value with the same rules as `traceparent`; `None` when invalid.
pub fn parse_traceresponse(value: &str) -> Option<SpanContext> {
    parse_traceparent(value).ok()
}

/// The trace context received with a valid `traceparent`, kept in the extracted [`Context`] so that
/// injection for any span of the same trace can write back what [`SpanContext`] does not carry.
#[derive(Debug)]
struct Received {
    trace_id: TraceId,
    flags: TraceFlags,
    /// The `tracestate` list as received (after validation), in order.
    tracestate: Vec<Member>,
}

#[derive(Debug)]
struct Member {
    key: String,
    value: String,
    /// Whether the member is also in the remote span context's [`TraceState`].
    in_trace_state: bool,
}

impl Received {
    /// The outgoing `tracestate` members: those of `current` (the injected span's trace state) that
    /// were added or changed locally first, then the received members in their order, without those
    /// deleted or changed locally.
    fn tracestate<'a>(&'a self, current: &'a TraceState) -> Vec<(&'a str, &'a str)> {
        let received_unchanged = |key: &str, value: &str| {
            self.tracestate
                .iter()
                .any(|m| m.in_trace_state && m.key == key && m.value == value)
        };
        let mut members: Vec<(&str, &str)> = current
            .into_iter()
            .filter(|(key, value)| !received_unchanged(key, value))
            .collect();
        members.extend(
            self.tracestate
                .iter()
                .filter(|m| !m.in_trace_state || current.get(&m.key) == Some(m.value.as_str()))
                .map(|m| (m.key.as_str(), m.value.as_str())),
        );
        members
    }
}

/// Formats members as a `tracestate` value, leaving out invalid members and repeated keys and
/// keeping at most the 32 left-most members.
fn format_tracestate<'a>(members: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut written: Vec<(&str, &str)> = Vec::new();
    for (key, value) in members {
        if written.len() == MAX_MEMBERS {
            break;
        }
        if valid_key(key) && valid_value(value) && !written.iter().any(|(seen, _)| *seen == key) {
            written.push((key, value));
        }
    }
    written
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// W3C Trace Context Level 2 propagator: fields `traceparent` and `tracestate`.
///
/// Extraction: a missing, repeated or invalid `traceparent` leaves the context unchanged (the trace
/// restarts) and `tracestate` is then ignored. An invalid `tracestate` is discarded as a whole; the
/// `traceparent` is kept. All 8 trace-flags bits received are kept in the span context.
///
/// Injection: nothing for an invalid span context; otherwise version `00` with the sampled flag of
/// the span context and its random flag, which for a trace received through this propagator is the
/// random flag received (the specification requires it to be kept for the same trace-id). Other
/// flag bits are written as zero. `tracestate` is written when not empty.
#[derive(Clone, Debug)]
pub struct W3cTraceContextPropagator {
    fields: [String; 2],
}

impl W3cTraceContextPropagator {
    pub fn new() -> Self {
        Self {
            fields: [
                TRACEPARENT_HEADER.to_string(),
                TRACESTATE_HEADER.to_string(),
            ],
        }
    }
}

impl Default for W3cTraceContextPropagator {
    fn default() -> Self {
        Self::new()
    }
}

impl TextMapPropagator for W3cTraceContextPropagator {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        let span = cx.span();
        let span_context = span.span_context();
        if !span_context.is_valid() {
            return;
        }
        let received = cx
            .get::<Received>()
            .filter(|received| received.trace_id == span_context.trace_id());
        let mut flags = span_context.trace_flags().to_u8() & FLAG_SAMPLED;
        flags |= received
            .map_or(span_context.trace_flags(), |r| r.flags)
            .to_u8()
            & FLAG_RANDOM;
        injector.set(
            TRACEPARENT_HEADER,
            format_value(
                span_context.trace_id(),
                span_context.span_id(),
                TraceFlags::new(flags),
            ),
        );
        let trace_state = span_context.trace_state();
        let tracestate = match received {
            Some(received) => format_tracestate(received.tracestate(trace_state)),
            None => format_tracestate(trace_state),
        };
        if !tracestate.is_empty() {
            injector.set(TRACESTATE_HEADER, tracestate);
        }
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        let Some(values) = extractor.get_all(TRACEPARENT_HEADER) else {
            return cx.clone();
        };
        let [value] = values.as_slice() else {
            return cx.clone();
        };
        let Ok(parent) = parse_traceparent(value) else {
            return cx.clone();
        };
        let members = extractor
            .get_all(TRACESTATE_HEADER)
            .and_then(|values| parse_tracestate_members(&values).ok())
            .unwrap_or_default();
        let tracestate: Vec<Member> = members
            .into_iter()
            .map(|(key, value)| Member {
                in_trace_state: trace_state_holds(&key, &value),
                key,
                value,
            })
            .collect();
        let trace_state = TraceState::from_key_value(
            tracestate
                .iter()
                .filter(|m| m.in_trace_state)
                .map(|m| (m.key.as_str(), m.value.as_str())),
        )
        .unwrap_or_default();
        let received = Received {
            trace_id: parent.trace_id(),
            flags: parent.trace_flags(),
            tracestate,
        };
        let span_context = SpanContext::new(
            parent.trace_id(),
            parent.span_id(),
            parent.trace_flags(),
            true,
            trace_state,
        );
        cx.with_remote_span_context(span_context)
            .with_value(received)
    }

    fn fields(&self) -> FieldIter<'_> {
        FieldIter::new(&self.fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_grammar() {
        let max = format!("a{}", "b".repeat(255));
        let rows: &[(&str, bool)] = &[
            ("a", true),
            ("0", true),
            ("a0_-*/@", true),
            ("tenant@system", true),
            ("foo@", true),
            ("a@@b", true),
            (&max, true),
            ("", false),
            ("@a", false),
            ("_a", false),
            ("A", false),
            ("aB", false),
            ("a.b", false),
            ("a b", false),
            ("a=", false),
            ("caf\u{e9}", false),
        ];
        for (key, valid) in rows {
            assert_eq!(valid_key(key), *valid, "{key:?}");
        }
        assert!(!valid_key(&format!("{max}c")));
    }

    #[test]
    fn value_grammar() {
        let rows: &[(&str, bool)] = &[
            ("v", true),
            (" v", true),
            ("a b", true),
            ("!\"#$%&'()*+-./:;<>?@[\\]^_`{|}~", true),
            ("", false),
            ("v ", false),
            (" ", false),
            ("a,b", false),
            ("a=b", false),
            ("a\tb", false),
            ("a\u{7f}", false),
            ("caf\u{e9}", false),
        ];
        for (value, valid) in rows {
            assert_eq!(valid_value(value), *valid, "{value:?}");
        }
        assert!(valid_value(&"v".repeat(256)));
        assert!(!valid_value(&"v".repeat(257)));
    }

    #[test]
    fn trace_state_refuses_some_valid_keys() {
        // Keys the specification allows but opentelemetry 0.33's TraceState refuses; the
        // propagator carries them beside the span context.
        for key in ["a@@b", "a@b@c", "t@abcdefghijklmn", "t@_x"] {
            assert!(valid_key(key), "{key}");
            assert!(!trace_state_holds(key, "1"), "{key}");
        }
        assert!(trace_state_holds("t@abcdefghijklm", "1"));
    }

    #[test]
    fn received_tracestate_merges_local_changes() {
        let received = Received {
            trace_id: TraceId::from(1u128),
            flags: TraceFlags::new(0),
            tracestate: vec![
                Member {
                    key: "a".into(),
                    value: "1".into(),
                    in_trace_state: true,
                },
                Member {
                    key: "x@y@z".into(),
                    value: "2".into(),
                    in_trace_state: false,
                },
                Member {
                    key: "b".into(),
                    value: "3".into(),
                    in_trace_state: true,
                },
                Member {
                    key: "c".into(),
                    value: "4".into(),
                    in_trace_state: true,
                },
            ],
        };
        let unchanged = TraceState::from_key_value([("a", "1"), ("b", "3"), ("c", "4")])
            .expect("valid trace state");
        assert_eq!(
            format_tracestate(received.tracestate(&unchanged)),
            "a=1,x@y@z=2,b=3,c=4"
        );
        // A vendor updates b (moved to the front), adds n and deletes c.
        let changed = unchanged
            .insert("b", "9")
            .and_then(|ts| ts.insert("n", "5"))
            .and_then(|ts| ts.delete("c"))
            .expect("valid trace state");
        assert_eq!(
            format_tracestate(received.tracestate(&changed)),
            "n=5,b=9,a=1,x@y@z=2"
        );
    }

    #[test]
    fn outgoing_tracestate_keeps_32_members() {
        let members: Vec<(String, String)> =
            (0..40).map(|i| (format!("k{i}"), i.to_string())).collect();
        let header = format_tracestate(members.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        assert_eq!(header.split(',').count(), 32);
        assert!(header.starts_with("k0=0,k1=1,"));
        assert!(header.ends_with(",k31=31"));
    }
}
