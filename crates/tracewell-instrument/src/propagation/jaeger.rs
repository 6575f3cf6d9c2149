//! Jaeger propagation (<https://www.jaegertracing.io/docs/latest/client-libraries/#propagation-format>):
//! the `uber-trace-id` header and `uberctx-{key}` baggage headers, through [`JaegerPropagator`].

use opentelemetry::baggage::{Baggage, BaggageExt};
use opentelemetry::propagation::text_map_propagator::FieldIter;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry::Context;

use super::ids::{parse_hex, parse_hex_u64, HexCase, OWS};

/// The trace context header name.
pub const UBER_TRACE_ID_HEADER: &str = "uber-trace-id";
/// The prefix of baggage header names.
pub const UBER_BAGGAGE_PREFIX: &str = "uberctx-";

/// Jaeger flag bits.
const FLAG_SAMPLED: u8 = 0x01;
const FLAG_DEBUG: u8 = 0x02;

/// Jaeger propagator.
///
/// Extraction reads `uber-trace-id: {trace-id}:{span-id}:{parent-span-id}:{flags}`, percent-encoded
/// or not: a trace id of 1 to 32 hex digits and a span id of 1 to 16 (left-padded with zeros, not all
/// zero, either case), a parent span id of 1 to 16 hex digits (ignored; `0` for none) and flags of
/// 1 or 2 hex digits where sampled (bit 0) or debug (bit 1) means sampled. Baggage comes from
/// `uberctx-{key}` headers (values percent-decoded, `+` read as a space) and is added to the
/// context's baggage, whether or not `uber-trace-id` is valid. When nothing valid is found the
/// context is returned unchanged.
///
/// Injection writes `{32 hex}:{16 hex}:0:{01|00}` (nothing for an invalid span context) and one
/// `uberctx-{key}` header per baggage entry, value percent-encoded.
#[derive(Clone, Debug)]
pub struct JaegerPropagator {
    fields: [String; 1],
}

impl JaegerPropagator {
    pub fn new() -> Self {
        Self {
            fields: [UBER_TRACE_ID_HEADER.to_string()],
        }
    }
}

impl Default for JaegerPropagator {
    fn default() -> Self {
        Self::new()
    }
}

impl TextMapPropagator for JaegerPropagator {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        let span = cx.span();
        let span_context = span.span_context();
        if span_context.is_valid() {
            let flags = if span_context.is_sampled() {
                "01"
            } else {
                "00"
            };
            injector.set(
                UBER_TRACE_ID_HEADER,
                format!(
                    "{}:{}:0:{flags}",
                    span_context.trace_id(),
                    span_context.span_id()
                ),
            );
        }
        for (key, (value, _metadata)) in cx.baggage() {
            injector.set(
                &format!("{UBER_BAGGAGE_PREFIX}{}", key.as_str()),
                percent_encode(value.as_str()),
            );
        }
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        let span_context = extractor
            .get(UBER_TRACE_ID_HEADER)
            .and_then(parse_uber_trace_id);
        let entries = baggage_entries(extractor);
        if span_context.is_none() && entries.is_empty() {
            return cx.clone();
        }
        let mut extracted = match span_context {
            Some(span_context) => cx.with_remote_span_context(span_context),
            None => cx.clone(),
        };
        if !entries.is_empty() {
            let mut baggage = Baggage::new();
            for (key, (value, metadata)) in cx.baggage() {
                baggage.insert_with_metadata(key.clone(), value.clone(), metadata.clone());
            }
            for (key, value) in entries {
                baggage.insert(key, value);
            }
            extracted = extracted.with_baggage(baggage);
        }
        extracted
    }

    fn fields(&self) -> FieldIter<'_> {
        FieldIter::new(&self.fields)
    }
}

/// Parses an `uber-trace-id` value; `None` when invalid.
fn parse_uber_trace_id(value: &str) -> Option<SpanContext> {
    let value = value.trim_matches(OWS);
    let decoded = if value.contains('%') {
        percent_decode(value)?
    } else {
        value.to_string()
    };
    let mut parts = decoded.split(':');
    let trace_id = parse_hex(parts.next()?.as_bytes(), HexCase::Any).filter(|&id| id != 0)?;
    let span_id = parse_hex_u64(parts.next()?.as_bytes(), HexCase::Any).filter(|&id| id != 0)?;
    parse_hex_u64(parts.next()?.as_bytes(), HexCase::Any)?;
    let flags_digits = parts.next()?;
    if flags_digits.len() > 2 || parts.next().is_some() {
        return None;
    }
    let flags = parse_hex(flags_digits.as_bytes(), HexCase::Any)?;
    let sampled = flags & u128::from(FLAG_SAMPLED | FLAG_DEBUG) != 0;
    let flags = if sampled {
        TraceFlags::SAMPLED
    } else {
        TraceFlags::NOT_SAMPLED
    };
    Some(SpanContext::new(
        TraceId::from(trace_id),
        SpanId::from(span_id),
        flags,
        true,
        TraceState::NONE,
    ))
}

/// `(key, value)` of every `uberctx-{key}` header with a non-empty key and a decodable value.
fn baggage_entries(extractor: &dyn Extractor) -> Vec<(String, String)> {
    let prefix_len = UBER_BAGGAGE_PREFIX.len();
    extractor
        .keys()
        .into_iter()
        .filter_map(|name| {
            let prefix = name.get(..prefix_len)?;
            let key = name.get(prefix_len..).filter(|key| !key.is_empty())?;
            if !prefix.eq_ignore_ascii_case(UBER_BAGGAGE_PREFIX) {
                return None;
            }
            let value = percent_decode(extractor.get(name)?.trim_matches(OWS))?;
            Some((key.to_ascii_lowercase(), value))
        })
        .collect()
}

/// Decodes `%XX` escapes and `+` (a space, as Jaeger clients encode it); `None` for a malformed
/// escape or a result that is not UTF-8.
fn percent_decode(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        match byte {
            b'%' => {
                let escaped = parse_hex(bytes.get(i + 1..i + 3)?, HexCase::Any)?;
                decoded.push(u8::try_from(escaped).ok()?);
                i += 3;
            }
            b'+' => {
                decoded.push(b' ');
                i += 1;
            }
            _ => {
                decoded.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(decoded).ok()
}

/// Percent-encodes everything but ASCII letters, digits, `-`, `.`, `_` and `~`.
fn percent_encode(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding() {
        let rows: &[(&str, Option<&str>)] = &[
            ("plain", Some("plain")),
            ("a%3Ab", Some("a:b")),
            ("a%3ab", Some("a:b")),
            ("a+b", Some("a b")),
            ("a%2Bb", Some("a+b")),
            ("caf%C3%A9", Some("caf\u{e9}")),
            ("%", None),
            ("%4", None),
            ("%zz", None),
            ("%FF", None),
        ];
        for (input, expected) in rows {
            assert_eq!(percent_decode(input).as_deref(), *expected, "{input:?}");
        }
    }

    #[test]
    fn percent_encoding_round_trips() {
        for value in ["plain", "a b", "a+b", "x:y/z?", "caf\u{e9}", "100%", ""] {
            let encoded = percent_encode(value);
            assert!(encoded.bytes().all(|b| b.is_ascii_graphic()), "{encoded}");
            assert_eq!(percent_decode(&encoded).as_deref(), Some(value));
        }
        assert_eq!(percent_encode("a b+c"), "a%20b%2Bc");
    }
}
