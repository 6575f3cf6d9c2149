//! AWS X-Ray propagation (the "Tracing header" of the X-Ray developer guide,
//! <https://docs.aws.amazon.com/xray/latest/devguide/xray-concepts.html#xray-concepts-tracingheader>):
//! the `X-Amzn-Trace-Id` header, its parser [`parse_xray_trace_header`] and the [`XrayPropagator`]
//! that reads and writes it, as the AWS Distro for OpenTelemetry propagators do.
//!
//! The header is a list of `key=value` fields separated by `;`, in any order:
//! `Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1`. `Root` is the
//! X-Ray trace id, `1-{8 hex digits}-{24 hex digits}` (version, epoch seconds, unique part), and maps
//! to the OpenTelemetry trace id made of the 8 and the 24 digits together; `Parent` is the 16-digit
//! id of the calling span; `Sampled` is the sampling decision.
//!
//! A header with a `Root` but no `Parent` names a trace without a span to continue: Application Load
//! Balancers and API Gateway add `Root` (and `Self`) to requests they forward, but record no span of
//! their own. Such a header is treated as invalid and the context is returned unchanged, so the
//! service starts a new trace (or keeps what an earlier propagator of a composite found). This is
//! what the AWS distro's propagators do (`propagators/aws/xray` in opentelemetry-go-contrib and
//! `AwsXrayPropagator` in opentelemetry-java-contrib both extract only when `Root` and `Parent`
//! are valid): an OpenTelemetry span context needs both ids, and inventing a parent span id would
//! point the service's span at a span nobody records, leaving the trace with a missing parent.

use opentelemetry::propagation::text_map_propagator::FieldIter;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry::Context;

use super::ids::{parse_hex, parse_hex_u64, HexCase, OWS};

/// The header name (HTTP header names are case-insensitive; AWS writes `X-Amzn-Trace-Id`).
pub const XRAY_TRACE_ID_HEADER: &str = "x-amzn-trace-id";

const ROOT_KEY: &str = "Root";
const PARENT_KEY: &str = "Parent";
const SAMPLED_KEY: &str = "Sampled";
/// The only trace id version X-Ray defines.
const VERSION: &str = "1";
/// Hex digits of the epoch and unique parts of a `Root`, and of a `Parent`.
const EPOCH_LEN: usize = 8;
const UNIQUE_LEN: usize = 24;
const PARENT_LEN: usize = 16;
/// Longest header value read; a well-formed header with the three fields has 81 characters.
const MAX_HEADER_LEN: usize = 256;

/// What is wrong with an `X-Amzn-Trace-Id` value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum XrayTraceHeaderError {
    #[error("header has {0} characters, at most 256 are allowed")]
    TooLong(usize),
    #[error("field {0:?} is not key=value")]
    Field(String),
    #[error("field {0} occurs more than once")]
    RepeatedField(&'static str),
    #[error("Root is missing")]
    MissingRoot,
    #[error("Parent is missing: the header names a trace but no span to continue")]
    MissingParent,
    #[error("Root version {0:?} is not 1")]
    Version(String),
    #[error("Root {0:?} is not 1-{{8 lowercase hex digits}}-{{24 lowercase hex digits}}")]
    Root(String),
    #[error("Root is all zeros")]
    ZeroTraceId,
    #[error("Parent {0:?} is not 16 lowercase hex digits")]
    Parent(String),
    #[error("Parent is all zeros")]
    ZeroParent,
    #[error("Sampled {0:?} is not 1, 0, ? or d")]
    Sampled(String),
}

/// Parses one `X-Amzn-Trace-Id` value into a remote span context with an empty trace state.
///
/// Fields are separated by `;` and may come in any order; spaces and tabs around fields, keys and
/// values are ignored, and so are empty fields. Keys are case-sensitive. `Root` and `Parent` are
/// required, lowercase hex and not all zeros. `Sampled=1` means sampled; `0`, `?` (the caller asks
/// the receiver to decide), `d` (deferred) or no `Sampled` field mean not sampled. Other fields
/// (`Self`, `Lineage`, anything an application adds) are ignored. `Root`, `Parent` or `Sampled`
/// given twice, a field without `=` and a value longer than 256 characters are errors.
pub fn parse_xray_trace_header(value: &str) -> Result<SpanContext, XrayTraceHeaderError> {
    if value.len() > MAX_HEADER_LEN {
        return Err(XrayTraceHeaderError::TooLong(value.len()));
    }
    let mut root = None;
    let mut parent = None;
    let mut sampled = None;
    for field in value
        .split(';')
        .map(|field| field.trim_matches(OWS))
        .filter(|field| !field.is_empty())
    {
        let (key, field_value) = field
            .split_once('=')
            .map(|(key, value)| (key.trim_matches(OWS), value.trim_matches(OWS)))
            .filter(|(key, _)| !key.is_empty())
            .ok_or_else(|| XrayTraceHeaderError::Field(field.to_string()))?;
        let (name, slot) = match key {
            ROOT_KEY => (ROOT_KEY, &mut root),
            PARENT_KEY => (PARENT_KEY, &mut parent),
            SAMPLED_KEY => (SAMPLED_KEY, &mut sampled),
            _ => continue,
        };
        if slot.replace(field_value).is_some() {
            return Err(XrayTraceHeaderError::RepeatedField(name));
        }
    }
    let trace_id = parse_root(root.ok_or(XrayTraceHeaderError::MissingRoot)?)?;
    let span_id = parse_parent(parent.ok_or(XrayTraceHeaderError::MissingParent)?)?;
    let flags = match sampled {
        Some("1") => TraceFlags::SAMPLED,
        None | Some("0" | "?" | "d") => TraceFlags::NOT_SAMPLED,
        Some(other) => return Err(XrayTraceHeaderError::Sampled(other.to_string())),
    };
    Ok(SpanContext::new(
        trace_id,
        span_id,
        flags,
        true,
        TraceState::NONE,
    ))
}

/// `1-{8 hex}-{24 hex}` into the trace id made of the 32 digits.
fn parse_root(root: &str) -> Result<TraceId, XrayTraceHeaderError> {
    let malformed = || XrayTraceHeaderError::Root(root.to_string());
    let (version, ids) = root.split_once('-').ok_or_else(malformed)?;
    if version != VERSION {
        return Err(XrayTraceHeaderError::Version(version.to_string()));
    }
    let (epoch, unique) = ids.split_once('-').ok_or_else(malformed)?;
    if epoch.len() != EPOCH_LEN || unique.len() != UNIQUE_LEN {
        return Err(malformed());
    }
    let epoch = parse_hex(epoch.as_bytes(), HexCase::Lower).ok_or_else(malformed)?;
    let unique = parse_hex(unique.as_bytes(), HexCase::Lower).ok_or_else(malformed)?;
    match (epoch << (4 * UNIQUE_LEN)) | unique {
        0 => Err(XrayTraceHeaderError::ZeroTraceId),
        id => Ok(TraceId::from(id)),
    }
}

/// 16 lowercase hex digits, not all zero.
fn parse_parent(parent: &str) -> Result<SpanId, XrayTraceHeaderError> {
    if parent.len() != PARENT_LEN {
        return Err(XrayTraceHeaderError::Parent(parent.to_string()));
    }
    match parse_hex_u64(parent.as_bytes(), HexCase::Lower) {
        None => Err(XrayTraceHeaderError::Parent(parent.to_string())),
        Some(0) => Err(XrayTraceHeaderError::ZeroParent),
        Some(id) => Ok(SpanId::from(id)),
    }
}

/// `Root=1-{8 hex}-{24 hex};Parent={16 hex};Sampled={1|0}` for a valid span context.
fn format_value(span_context: &SpanContext) -> String {
    let trace_id = span_context.trace_id().to_string();
    let (epoch, unique) = trace_id.split_at(EPOCH_LEN);
    let sampled = if span_context.is_sampled() { "1" } else { "0" };
    format!(
        "{ROOT_KEY}={VERSION}-{epoch}-{unique};{PARENT_KEY}={};{SAMPLED_KEY}={sampled}",
        span_context.span_id()
    )
}

/// AWS X-Ray propagator: field `x-amzn-trace-id`.
///
/// Extraction reads the first `X-Amzn-Trace-Id` value with [`parse_xray_trace_header`]; a missing
/// or invalid header, including one with a `Root` but no `Parent`, leaves the context unchanged.
///
/// Injection writes `Root=1-{first 8 digits of the trace id}-{last 24};Parent={span id};Sampled=1`
/// (or `Sampled=0`), nothing for an invalid span context. Baggage and trace state are not written.
/// The X-Ray service itself only accepts trace ids whose first 8 digits are a recent epoch time;
/// propagation does not depend on it, and traces sent to Tracewell can use any trace id.
#[derive(Clone, Debug)]
pub struct XrayPropagator {
    fields: [String; 1],
}

impl XrayPropagator {
    pub fn new() -> Self {
        Self {
            fields: [XRAY_TRACE_ID_HEADER.to_string()],
        }
    }
}

impl Default for XrayPropagator {
    fn default() -> Self {
        Self::new()
    }
}

impl TextMapPropagator for XrayPropagator {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        let span = cx.span();
        let span_context = span.span_context();
        if span_context.is_valid() {
            injector.set(XRAY_TRACE_ID_HEADER, format_value(span_context));
        }
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        match extractor
            .get(XRAY_TRACE_ID_HEADER)
            .map(parse_xray_trace_header)
        {
            Some(Ok(span_context)) => cx.with_remote_span_context(span_context),
            _ => cx.clone(),
        }
    }

    fn fields(&self) -> FieldIter<'_> {
        FieldIter::new(&self.fields)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// The example of the X-Ray developer guide.
    const ROOT: &str = "1-5759e988-bd862e3fe1be46a994272793";
    const TRACE: &str = "5759e988bd862e3fe1be46a994272793";
    const PARENT: &str = "53995c3f42cd8ad8";

    fn headers(value: &str) -> HashMap<String, String> {
        HashMap::from([(XRAY_TRACE_ID_HEADER.to_string(), value.to_string())])
    }

    /// The span context extracted from a fresh context, if any.
    fn extract(value: &str) -> Option<SpanContext> {
        let cx = XrayPropagator::new().extract_with_context(&Context::new(), &headers(value));
        let span = cx.span();
        let span_context = span.span_context();
        span_context.is_valid().then(|| span_context.clone())
    }

    fn ids(span_context: &SpanContext) -> (String, String, bool) {
        (
            span_context.trace_id().to_string(),
            span_context.span_id().to_string(),
            span_context.is_sampled(),
        )
    }

    fn remote(trace_id: &str, span_id: &str, sampled: bool) -> SpanContext {
        let flags = if sampled {
            TraceFlags::SAMPLED
        } else {
            TraceFlags::NOT_SAMPLED
        };
        SpanContext::new(
            TraceId::from_hex(trace_id).expect("test trace id"),
            SpanId::from_hex(span_id).expect("test span id"),
            flags,
            true,
            TraceState::NONE,
        )
    }

    #[test]
    fn fields_and_header_name() {
        let propagator = XrayPropagator::default();
        assert_eq!(propagator.fields().collect::<Vec<_>>(), ["x-amzn-trace-id"]);
    }

    #[test]
    fn documented_header_shapes() {
        let rows: &[(&str, String, bool)] = &[
            (
                "Root, Parent, Sampled=1",
                format!("Root={ROOT};Parent={PARENT};Sampled=1"),
                true,
            ),
            (
                "Sampled=0",
                format!("Root={ROOT};Parent={PARENT};Sampled=0"),
                false,
            ),
            (
                "Sampled=? asks the receiver to decide",
                format!("Root={ROOT};Parent={PARENT};Sampled=?"),
                false,
            ),
            (
                "Sampled=d is deferred",
                format!("Root={ROOT};Parent={PARENT};Sampled=d"),
                false,
            ),
            ("no Sampled", format!("Root={ROOT};Parent={PARENT}"), false),
            (
                "with Lineage",
                format!("Root={ROOT};Parent={PARENT};Sampled=1;Lineage=a87bd80c:1|68fd508a:5"),
                true,
            ),
            (
                "with Self, as a load balancer forwards it",
                format!(
                    "Self=1-67891234-12456789abcdef012345678;Root={ROOT};Parent={PARENT};Sampled=1"
                ),
                true,
            ),
            (
                "with an application field",
                format!("Root={ROOT};Parent={PARENT};Sampled=1;CalledFrom=app"),
                true,
            ),
            (
                "fields reordered",
                format!("Sampled=1;Parent={PARENT};Root={ROOT}"),
                true,
            ),
            (
                "Parent first, no Sampled",
                format!("Parent={PARENT};Root={ROOT}"),
                false,
            ),
            (
                "whitespace around fields, keys and values",
                format!(" Root={ROOT} ;\tParent = {PARENT};  Sampled=1\t"),
                true,
            ),
            (
                "trailing separator",
                format!("Root={ROOT};Parent={PARENT};Sampled=1;"),
                true,
            ),
            (
                "empty field",
                format!("Root={ROOT};;Parent={PARENT};Sampled=1"),
                true,
            ),
        ];
        for (name, value, sampled) in rows {
            let span_context =
                extract(value).unwrap_or_else(|| panic!("{name}: nothing extracted"));
            assert!(span_context.is_remote(), "{name}");
            assert_eq!(
                ids(&span_context),
                (TRACE.to_string(), PARENT.to_string(), *sampled),
                "{name}"
            );
        }
    }

    #[test]
    fn epoch_and_unique_parts_make_the_trace_id() {
        let span_context = extract(&format!(
            "Root=1-00000000-000000000000000000000001;Parent={PARENT}"
        ))
        .expect("valid header");
        assert_eq!(
            span_context.trace_id().to_string(),
            "00000000000000000000000000000001"
        );
        let span_context = extract(&format!(
            "Root=1-00000001-000000000000000000000000;Parent={PARENT}"
        ))
        .expect("valid header");
        assert_eq!(
            span_context.trace_id().to_string(),
            "00000001000000000000000000000000"
        );
    }

    #[test]
    fn parse_says_what_is_wrong() {
        use XrayTraceHeaderError as E;
        let valid_parent = format!("Parent={PARENT}");
        let rows: Vec<(&str, String, XrayTraceHeaderError)> = vec![
            ("empty", String::new(), E::MissingRoot),
            ("only separators", " ; ;".into(), E::MissingRoot),
            (
                "Root and Self only (load balancer)",
                format!("Self=1-67891234-12456789abcdef0123456789;Root={ROOT}"),
                E::MissingParent,
            ),
            (
                "Root and Sampled only",
                format!("Root={ROOT};Sampled=1"),
                E::MissingParent,
            ),
            ("Parent only", valid_parent.clone(), E::MissingRoot),
            (
                "version 2",
                format!("Root=2-5759e988-bd862e3fe1be46a994272793;{valid_parent}"),
                E::Version("2".into()),
            ),
            (
                "version 01",
                format!("Root=01-5759e988-bd862e3fe1be46a994272793;{valid_parent}"),
                E::Version("01".into()),
            ),
            (
                "no version",
                format!("Root=5759e988bd862e3fe1be46a994272793;{valid_parent}"),
                E::Root("5759e988bd862e3fe1be46a994272793".into()),
            ),
            (
                "W3C trace id as Root",
                format!("Root={TRACE};{valid_parent}"),
                E::Root(TRACE.into()),
            ),
            (
                "epoch 7 digits",
                format!("Root=1-759e988-bd862e3fe1be46a994272793;{valid_parent}"),
                E::Root("1-759e988-bd862e3fe1be46a994272793".into()),
            ),
            (
                "epoch 9 digits",
                format!("Root=1-05759e988-bd862e3fe1be46a994272793;{valid_parent}"),
                E::Root("1-05759e988-bd862e3fe1be46a994272793".into()),
            ),
            (
                "unique part 23 digits",
                format!("Root=1-5759e988-bd862e3fe1be46a99427279;{valid_parent}"),
                E::Root("1-5759e988-bd862e3fe1be46a99427279".into()),
            ),
            (
                "unique part 25 digits",
                format!("Root=1-5759e988-bd862e3fe1be46a9942727930;{valid_parent}"),
                E::Root("1-5759e988-bd862e3fe1be46a9942727930".into()),
            ),
            (
                "uppercase Root",
                format!("Root=1-5759E988-BD862E3FE1BE46A994272793;{valid_parent}"),
                E::Root("1-5759E988-BD862E3FE1BE46A994272793".into()),
            ),
            (
                "non-hex Root",
                format!("Root=1-5759e988-bd862e3fe1be46a99427279x;{valid_parent}"),
                E::Root("1-5759e988-bd862e3fe1be46a99427279x".into()),
            ),
            (
                "space inside Root",
                format!("Root=1-5759e988- bd862e3fe1be46a99427279;{valid_parent}"),
                E::Root("1-5759e988- bd862e3fe1be46a99427279".into()),
            ),
            (
                "all-zero Root",
                format!("Root=1-00000000-000000000000000000000000;{valid_parent}"),
                E::ZeroTraceId,
            ),
            (
                "Parent 15 digits",
                format!("Root={ROOT};Parent=53995c3f42cd8ad"),
                E::Parent("53995c3f42cd8ad".into()),
            ),
            (
                "Parent 17 digits",
                format!("Root={ROOT};Parent=53995c3f42cd8ad80"),
                E::Parent("53995c3f42cd8ad80".into()),
            ),
            (
                "uppercase Parent",
                format!("Root={ROOT};Parent=53995C3F42CD8AD8"),
                E::Parent("53995C3F42CD8AD8".into()),
            ),
            (
                "non-hex Parent",
                format!("Root={ROOT};Parent=abcdefghijklmnop"),
                E::Parent("abcdefghijklmnop".into()),
            ),
            (
                "empty Parent",
                format!("Root={ROOT};Parent="),
                E::Parent(String::new()),
            ),
            (
                "all-zero Parent",
                format!("Root={ROOT};Parent=0000000000000000"),
                E::ZeroParent,
            ),
            (
                "empty Sampled",
                format!("Root={ROOT};{valid_parent};Sampled="),
                E::Sampled(String::new()),
            ),
            (
                "Sampled=true",
                format!("Root={ROOT};{valid_parent};Sampled=true"),
                E::Sampled("true".into()),
            ),
            (
                "Sampled=10",
                format!("Root={ROOT};{valid_parent};Sampled=10"),
                E::Sampled("10".into()),
            ),
            (
                "field without =",
                format!("Root={ROOT};{valid_parent};Sampled"),
                E::Field("Sampled".into()),
            ),
            (
                "field without key",
                format!("Root={ROOT};{valid_parent};=1"),
                E::Field("=1".into()),
            ),
            (
                "Root twice",
                format!("Root={ROOT};Root={ROOT};{valid_parent}"),
                E::RepeatedField("Root"),
            ),
            (
                "Parent twice, different values",
                format!("Root={ROOT};{valid_parent};Parent=1234567890123456"),
                E::RepeatedField("Parent"),
            ),
            (
                "lowercase keys are unknown keys",
                format!("root={ROOT};parent={PARENT};sampled=1"),
                E::MissingRoot,
            ),
        ];
        for (name, value, expected) in rows {
            assert_eq!(
                parse_xray_trace_header(&value).err(),
                Some(expected),
                "{name}: {value:?}"
            );
        }
        // At most 256 characters, whatever they are.
        let fields = format!("Root={ROOT};{valid_parent};Sampled=1;Pad=");
        let longest = format!("{fields}{}", "x".repeat(256 - fields.len()));
        assert_eq!(longest.len(), 256);
        assert!(parse_xray_trace_header(&longest).is_ok());
        assert_eq!(
            parse_xray_trace_header(&format!("{longest}x")).err(),
            Some(E::TooLong(257))
        );
        assert_eq!(
            parse_xray_trace_header(&format!(" {longest}")).err(),
            Some(E::TooLong(257))
        );
    }

    #[test]
    fn invalid_headers_leave_the_context_unchanged() {
        let earlier = remote("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", true);
        let cx = Context::new().with_remote_span_context(earlier.clone());
        let propagator = XrayPropagator::new();
        for value in [
            String::new(),
            format!("Root={ROOT}"),
            format!("Self=1-67891234-12456789abcdef0123456789;Root={ROOT};Sampled=1"),
            format!("Root=2-5759e988-bd862e3fe1be46a994272793;Parent={PARENT}"),
            format!("Root={ROOT};Parent=0000000000000000"),
            format!("Root={ROOT};Parent={PARENT};Sampled=yes"),
            format!("Root={ROOT};Parent={PARENT};Pad={}", "x".repeat(256)),
        ] {
            let extracted = propagator.extract_with_context(&cx, &headers(&value));
            assert_eq!(extracted.span().span_context(), &earlier, "{value:?}");
        }
        let extracted = propagator.extract_with_context(&cx, &HashMap::<String, String>::new());
        assert_eq!(extracted.span().span_context(), &earlier);
        // A valid header replaces what an earlier propagator found.
        let extracted = propagator.extract_with_context(
            &cx,
            &headers(&format!("Root={ROOT};Parent={PARENT};Sampled=1")),
        );
        assert_eq!(
            extracted.span().span_context(),
            &remote(TRACE, PARENT, true)
        );
    }

    #[test]
    fn inject_writes_root_parent_and_sampled() {
        let propagator = XrayPropagator::new();
        let inject = |span_context: SpanContext| {
            let mut out = HashMap::new();
            propagator.inject_context(
                &Context::new().with_remote_span_context(span_context),
                &mut out,
            );
            out
        };
        let out = inject(remote(TRACE, PARENT, true));
        assert_eq!(
            out.get(XRAY_TRACE_ID_HEADER).map(String::as_str),
            Some("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
        );
        let out = inject(remote(TRACE, PARENT, false));
        assert_eq!(
            out.get(XRAY_TRACE_ID_HEADER).map(String::as_str),
            Some("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0")
        );
        // Leading zeros are written.
        let out = inject(remote("abc", "def", true));
        assert_eq!(
            out.get(XRAY_TRACE_ID_HEADER).map(String::as_str),
            Some("Root=1-00000000-000000000000000000000abc;Parent=0000000000000def;Sampled=1")
        );
        // Nothing for an invalid span context.
        let mut out = HashMap::new();
        propagator.inject_context(&Context::new(), &mut out);
        assert!(out.is_empty(), "{out:?}");
    }

    #[test]
    fn inject_then_extract_round_trips() {
        let propagator = XrayPropagator::new();
        for (trace_id, span_id) in [
            (TRACE, PARENT),
            ("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"),
            ("00000000000000000000000000000001", "0000000000000001"),
            ("ffffffffffffffffffffffffffffffff", "ffffffffffffffff"),
        ] {
            for sampled in [true, false] {
                let original = remote(trace_id, span_id, sampled);
                let mut carrier = HashMap::new();
                propagator.inject_context(
                    &Context::new().with_remote_span_context(original.clone()),
                    &mut carrier,
                );
                let cx = propagator.extract_with_context(&Context::new(), &carrier);
                assert_eq!(cx.span().span_context(), &original, "{carrier:?}");
            }
        }
    }
}
