//! Zipkin B3 propagation (<https://github.com/openzipkin/b3-propagation>): the single `b3` header
//! and the multiple `X-B3-*` headers, through [`B3Propagator`].

use opentelemetry::propagation::text_map_propagator::FieldIter;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry::Context;

use super::ids::{parse_hex, parse_hex_u64, HexCase, OWS};

/// The single-header name.
pub const B3_SINGLE_HEADER: &str = "b3";
/// The multiple-header names (HTTP header names are case-insensitive; B3 writes them lowercase).
pub const B3_TRACE_ID_HEADER: &str = "x-b3-traceid";
pub const B3_SPAN_ID_HEADER: &str = "x-b3-spanid";
pub const B3_PARENT_SPAN_ID_HEADER: &str = "x-b3-parentspanid";
pub const B3_SAMPLED_HEADER: &str = "x-b3-sampled";
pub const B3_FLAGS_HEADER: &str = "x-b3-flags";

/// Which headers [`B3Propagator`] writes. Extraction always reads both encodings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum B3Encoding {
    /// `b3: {trace-id}-{span-id}-{sampled}`.
    #[default]
    SingleHeader,
    /// `X-B3-TraceId`, `X-B3-SpanId` and `X-B3-Sampled`.
    MultipleHeader,
    /// Both of the above.
    SingleAndMultiHeader,
}

/// B3 propagator.
///
/// Extraction: a well-formed `b3` header wins over the `X-B3-*` headers; a malformed one is ignored
/// and the `X-B3-*` headers are read instead. A sampling decision sent alone (`b3: 0`, `1` or `d`,
/// or `X-B3-Sampled` without ids) cannot form a span context, so nothing is extracted. Trace ids
/// are 16 or 32 lowercase hex digits (16 are left-padded with zeros), span ids 16; all-zero ids are
/// invalid. Debug (`d`, `X-B3-Flags: 1`) means sampled. `X-B3-Sampled` accepts `1`, `0`, `true` and
/// `false`; any other value makes the headers invalid. `X-B3-ParentSpanId` is ignored. When nothing
/// valid is found the context is returned unchanged.
///
/// Injection writes 32-digit trace ids and the sampled flag (`1` or `0`), nothing for an invalid
/// span context.
#[derive(Clone, Debug)]
pub struct B3Propagator {
    encoding: B3Encoding,
    fields: Vec<String>,
}

impl B3Propagator {
    /// Injects the single `b3` header.
    pub fn new() -> Self {
        Self::with_encoding(B3Encoding::SingleHeader)
    }

    pub fn with_encoding(encoding: B3Encoding) -> Self {
        let single = [B3_SINGLE_HEADER];
        let multi = [
            B3_TRACE_ID_HEADER,
            B3_SPAN_ID_HEADER,
            B3_SAMPLED_HEADER,
            B3_FLAGS_HEADER,
            B3_PARENT_SPAN_ID_HEADER,
        ];
        let fields: Vec<&str> = match encoding {
            B3Encoding::SingleHeader => single.to_vec(),
            B3Encoding::MultipleHeader => multi.to_vec(),
            B3Encoding::SingleAndMultiHeader => single.iter().chain(&multi).copied().collect(),
        };
        Self {
            encoding,
            fields: fields.into_iter().map(String::from).collect(),
        }
    }

    pub fn encoding(&self) -> B3Encoding {
        self.encoding
    }
}

impl Default for B3Propagator {
    fn default() -> Self {
        Self::new()
    }
}

impl TextMapPropagator for B3Propagator {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        let span = cx.span();
        let span_context = span.span_context();
        if !span_context.is_valid() {
            return;
        }
        let trace_id = span_context.trace_id().to_string();
        let span_id = span_context.span_id().to_string();
        let sampled = if span_context.is_sampled() { "1" } else { "0" };
        if self.encoding != B3Encoding::MultipleHeader {
            injector.set(B3_SINGLE_HEADER, format!("{trace_id}-{span_id}-{sampled}"));
        }
        if self.encoding != B3Encoding::SingleHeader {
            injector.set(B3_TRACE_ID_HEADER, trace_id);
            injector.set(B3_SPAN_ID_HEADER, span_id);
            injector.set(B3_SAMPLED_HEADER, sampled.to_string());
        }
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        match extract(extractor) {
            Some(span_context) => cx.with_remote_span_context(span_context),
            None => cx.clone(),
        }
    }

    fn fields(&self) -> FieldIter<'_> {
        FieldIter::new(&self.fields)
    }
}

/// What a well-formed `b3` header carries.
enum Single {
    Context(SpanContext),
    /// A sampling decision without ids.
    SamplingOnly,
}

fn extract(extractor: &dyn Extractor) -> Option<SpanContext> {
    match extractor.get(B3_SINGLE_HEADER).and_then(parse_single) {
        Some(Single::Context(span_context)) => Some(span_context),
        Some(Single::SamplingOnly) => None,
        None => parse_multi(extractor),
    }
}

/// `{trace-id}-{span-id}[-{sampling}[-{parent-span-id}]]` or a lone sampling state; `None` when
/// malformed.
fn parse_single(value: &str) -> Option<Single> {
    let value = value.trim_matches(OWS);
    if matches!(value, "0" | "1" | "d") {
        return Some(Single::SamplingOnly);
    }
    let mut parts = value.split('-');
    let trace_id = parse_trace_id(parts.next()?)?;
    let span_id = parse_span_id(parts.next()?)?;
    let sampled = match parts.next() {
        None | Some("0") => false,
        Some("1" | "d") => true,
        Some(_) => return None,
    };
    if let Some(parent_span_id) = parts.next() {
        parse_span_id(parent_span_id)?;
    }
    if parts.next().is_some() {
        return None;
    }
    Some(Single::Context(remote(trace_id, span_id, sampled)))
}

fn parse_multi(extractor: &dyn Extractor) -> Option<SpanContext> {
    let header = |name| extractor.get(name).map(|value| value.trim_matches(OWS));
    let trace_id = parse_trace_id(header(B3_TRACE_ID_HEADER)?)?;
    let span_id = parse_span_id(header(B3_SPAN_ID_HEADER)?)?;
    let sampled = match header(B3_SAMPLED_HEADER) {
        None | Some("0" | "false") => false,
        Some("1" | "true") => true,
        Some(_) => return None,
    };
    let debug = header(B3_FLAGS_HEADER) == Some("1");
    Some(remote(trace_id, span_id, sampled || debug))
}

/// 16 or 32 lowercase hex digits, not all zero.
fn parse_trace_id(digits: &str) -> Option<TraceId> {
    if digits.len() != 16 && digits.len() != 32 {
        return None;
    }
    parse_hex(digits.as_bytes(), HexCase::Lower)
        .filter(|&id| id != 0)
        .map(TraceId::from)
}

/// 16 lowercase hex digits, not all zero.
fn parse_span_id(digits: &str) -> Option<SpanId> {
    if digits.len() != 16 {
        return None;
    }
    parse_hex_u64(digits.as_bytes(), HexCase::Lower)
        .filter(|&id| id != 0)
        .map(SpanId::from)
}

fn remote(trace_id: TraceId, span_id: SpanId, sampled: bool) -> SpanContext {
    let flags = if sampled {
        TraceFlags::SAMPLED
    } else {
        TraceFlags::NOT_SAMPLED
    };
    SpanContext::new(trace_id, span_id, flags, true, TraceState::NONE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_follow_the_encoding() {
        let fields = |encoding| {
            B3Propagator::with_encoding(encoding)
                .fields()
                .map(str::to_string)
                .collect::<Vec<_>>()
        };
        assert_eq!(fields(B3Encoding::SingleHeader), ["b3"]);
        assert_eq!(
            fields(B3Encoding::MultipleHeader),
            [
                "x-b3-traceid",
                "x-b3-spanid",
                "x-b3-sampled",
                "x-b3-flags",
                "x-b3-parentspanid"
            ]
        );
        assert_eq!(fields(B3Encoding::SingleAndMultiHeader).len(), 6);
        assert_eq!(B3Propagator::default().encoding(), B3Encoding::SingleHeader);
    }

    #[test]
    fn single_header_shapes() {
        let id = "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1";
        assert!(matches!(parse_single("0"), Some(Single::SamplingOnly)));
        assert!(matches!(parse_single("d"), Some(Single::SamplingOnly)));
        assert!(matches!(parse_single(id), Some(Single::Context(_))));
        assert!(matches!(
            parse_single(&format!("{id}-1-05e3ac9a4f6e3b90")),
            Some(Single::Context(_))
        ));
        assert!(parse_single("").is_none());
        assert!(parse_single("true").is_none());
        assert!(parse_single(&format!("{id}-")).is_none());
        assert!(parse_single(&format!("{id}-1-")).is_none());
        assert!(parse_single(&format!("{id}-1-05e3ac9a4f6e3b90-x")).is_none());
    }
}
