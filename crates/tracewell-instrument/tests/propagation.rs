//! Context propagation rules, one table row per rule: W3C Trace Context Level 2 (`traceparent`,
//! `tracestate`, `traceresponse`), B3 single and multiple headers, Jaeger with baggage, AWS X-Ray
//! (`X-Amzn-Trace-Id`, and an HTTP server continuing the trace it names), round trips between the
//! formats, propagators chosen by `OTEL_PROPAGATORS` names, and the random trace-id flag through SDK
//! spans.

mod support;

use std::net::SocketAddr;

use axum::routing::get;
use axum::Router;
use http::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::baggage::BaggageExt;
use opentelemetry::propagation::{TextMapCompositePropagator, TextMapPropagator};
use opentelemetry::trace::{
    Span as _, SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState, Tracer,
    TracerProvider as _,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{
    InMemorySpanExporter, Sampler, SdkTracerProvider, SimpleSpanProcessor, SpanData,
};
use support::{id_of, named, serve, trace_of, wait_for_spans};
use tracewell_instrument::http::reqwest::traced_client;
use tracewell_instrument::http::TraceLayer;
use tracewell_instrument::propagation::*;
use tracewell_instrument::{Builder, Instrumentation, Telemetry};

const TRACE: &str = "12345678901234567890123456789012";
const PARENT: &str = "1234567890123456";
const TRACE_2: &str = "0af7651916cd43dd8448eb211c80319c";
const SPAN_2: &str = "b7ad6b7169203331";

/// What a receiving service does with the headers: continue the remote parent, or restart the trace.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Outcome {
    Restarted,
    Continued {
        trace_id: String,
        span_id: String,
        flags: u8,
        /// The `tracestate` propagated downstream ("" for none).
        tracestate: String,
    },
}

fn continued(trace_id: &str, span_id: &str, flags: u8, tracestate: &str) -> Outcome {
    Outcome::Continued {
        trace_id: trace_id.to_string(),
        span_id: span_id.to_string(),
        flags,
        tracestate: tracestate.to_string(),
    }
}

fn continued_w3c(flags: u8, tracestate: &str) -> Outcome {
    continued(TRACE, PARENT, flags, tracestate)
}

struct Row {
    name: &'static str,
    headers: Vec<(&'static str, String)>,
    expect: Outcome,
}

fn row(name: &'static str, headers: &[(&'static str, &str)], expect: Outcome) -> Row {
    Row {
        name,
        headers: headers.iter().map(|(n, v)| (*n, v.to_string())).collect(),
        expect,
    }
}

/// Trace id, span id and flags of a parsed context.
type Ids<'a> = (&'a str, &'a str, u8);
/// Header name and value pairs.
type Headers<'a> = [(&'a str, String)];
type HeaderList<'a> = Vec<(&'a str, String)>;

fn header_map<N: AsRef<str>, V: AsRef<str>>(pairs: &[(N, V)]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in pairs {
        let name = HeaderName::from_bytes(name.as_ref().as_bytes()).expect("test header name");
        let value = HeaderValue::from_str(value.as_ref()).expect("test header value");
        headers.append(name, value);
    }
    headers
}

fn extract(propagator: &dyn TextMapPropagator, headers: &HeaderMap) -> Context {
    propagator.extract_with_context(&Context::new(), &HeaderExtractor(headers))
}

fn inject(propagator: &dyn TextMapPropagator, cx: &Context) -> HeaderMap {
    let mut headers = HeaderMap::new();
    propagator.inject_context(cx, &mut HeaderInjector(&mut headers));
    headers
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .map(|v| v.to_str().expect("ascii header").to_string())
}

/// The remote parent extracted by `propagator`, with the `tracestate` it writes back downstream.
fn observe(propagator: &dyn TextMapPropagator, headers: &HeaderMap) -> Outcome {
    let cx = extract(propagator, headers);
    let span = cx.span();
    let span_context = span.span_context();
    if !span_context.is_valid() {
        return Outcome::Restarted;
    }
    assert!(span_context.is_remote());
    let tracestate = header(&inject(propagator, &cx), TRACESTATE_HEADER).unwrap_or_default();
    Outcome::Continued {
        trace_id: span_context.trace_id().to_string(),
        span_id: span_context.span_id().to_string(),
        flags: span_context.trace_flags().to_u8(),
        tracestate,
    }
}

fn check_rows(propagator: &dyn TextMapPropagator, rows: &[Row]) {
    assert!(!rows.is_empty());
    let failures: Vec<String> = rows
        .iter()
        .filter_map(|row| {
            let got = observe(propagator, &header_map(&row.headers));
            (got != row.expect)
                .then(|| format!("{}: expected {:?}, got {:?}", row.name, row.expect, got))
        })
        .collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

fn span_context(trace_id: &str, span_id: &str, flags: u8, trace_state: TraceState) -> SpanContext {
    SpanContext::new(
        TraceId::from_hex(trace_id).expect("test trace id"),
        SpanId::from_hex(span_id).expect("test span id"),
        TraceFlags::new(flags),
        false,
        trace_state,
    )
}

fn context(trace_id: &str, span_id: &str, flags: u8) -> Context {
    Context::new().with_remote_span_context(span_context(
        trace_id,
        span_id,
        flags,
        TraceState::NONE,
    ))
}

fn traceparent(version: &str, trace_id: &str, parent_id: &str, flags: &str) -> String {
    format!("{version}-{trace_id}-{parent_id}-{flags}")
}

// ---------------------------------------------------------------------------------------------
// W3C traceparent

#[test]
fn w3c_traceparent_rules() {
    let valid = |flags: &str| traceparent("00", TRACE, PARENT, flags);
    let rows = vec![
        row(
            "valid, sampled",
            &[("traceparent", &valid("01"))],
            continued_w3c(0x01, ""),
        ),
        row(
            "valid, not sampled",
            &[("traceparent", &valid("00"))],
            continued_w3c(0x00, ""),
        ),
        row(
            "random flag kept",
            &[("traceparent", &valid("02"))],
            continued_w3c(0x02, ""),
        ),
        row(
            "sampled and random",
            &[("traceparent", &valid("03"))],
            continued_w3c(0x03, ""),
        ),
        row(
            "all 8 flag bits kept",
            &[("traceparent", &valid("ff"))],
            continued_w3c(0xff, ""),
        ),
        row(
            "header name case-insensitive",
            &[("TraceParent", &valid("01"))],
            continued_w3c(0x01, ""),
        ),
        row(
            "wrong header name",
            &[("trace-parent", &valid("01"))],
            Outcome::Restarted,
        ),
        row("no headers", &[], Outcome::Restarted),
        row("empty value", &[("traceparent", "")], Outcome::Restarted),
        row(
            "not ASCII is absent",
            &[("traceparent", &format!("{}\u{e9}", valid("01")))],
            Outcome::Restarted,
        ),
        // version 00: exactly 55 characters
        row(
            "00 with trailing character",
            &[("traceparent", &format!("{}.", valid("01")))],
            Outcome::Restarted,
        ),
        row(
            "00 with extra field",
            &[(
                "traceparent",
                &format!("{}-what-the-future-will-be-like", valid("01")),
            )],
            Outcome::Restarted,
        ),
        row(
            "00 with trailing dash",
            &[("traceparent", &format!("{}-", valid("01")))],
            Outcome::Restarted,
        ),
        // future versions: first 55 characters, then '-' or the end
        row(
            "version cc",
            &[("traceparent", &traceparent("cc", TRACE, PARENT, "01"))],
            continued_w3c(0x01, ""),
        ),
        row(
            "version cc with extra field",
            &[(
                "traceparent",
                &format!(
                    "{}-what-the-future-will-be-like",
                    traceparent("cc", TRACE, PARENT, "01")
                ),
            )],
            continued_w3c(0x01, ""),
        ),
        row(
            "version cc without '-' after 55",
            &[(
                "traceparent",
                &format!(
                    "{}.what-the-future-will-be-like",
                    traceparent("cc", TRACE, PARENT, "01")
                ),
            )],
            Outcome::Restarted,
        ),
        row(
            "version cc too short",
            &[("traceparent", &traceparent("cc", TRACE, PARENT, "1"))],
            Outcome::Restarted,
        ),
        row(
            "version cc with 3-digit flags",
            &[("traceparent", &traceparent("cc", TRACE, PARENT, "011"))],
            Outcome::Restarted,
        ),
        row(
            "version ff",
            &[("traceparent", &traceparent("ff", TRACE, PARENT, "01"))],
            Outcome::Restarted,
        ),
        row(
            "version uppercase",
            &[("traceparent", &traceparent("0A", TRACE, PARENT, "01"))],
            Outcome::Restarted,
        ),
        row(
            "version illegal first char",
            &[("traceparent", &traceparent(".0", TRACE, PARENT, "01"))],
            Outcome::Restarted,
        ),
        row(
            "version illegal second char",
            &[("traceparent", &traceparent("0.", TRACE, PARENT, "01"))],
            Outcome::Restarted,
        ),
        row(
            "version too long (3)",
            &[("traceparent", &traceparent("000", TRACE, PARENT, "01"))],
            Outcome::Restarted,
        ),
        row(
            "version too long (4)",
            &[("traceparent", &traceparent("0000", TRACE, PARENT, "01"))],
            Outcome::Restarted,
        ),
        row(
            "version too short",
            &[("traceparent", &traceparent("0", TRACE, PARENT, "01"))],
            Outcome::Restarted,
        ),
        // trace-id
        row(
            "trace-id uppercase",
            &[(
                "traceparent",
                &traceparent("00", "0AF7651916CD43DD8448EB211C80319C", PARENT, "01"),
            )],
            Outcome::Restarted,
        ),
        row(
            "trace-id illegal first char",
            &[(
                "traceparent",
                &traceparent("00", ".2345678901234567890123456789012", PARENT, "01"),
            )],
            Outcome::Restarted,
        ),
        row(
            "trace-id illegal last char",
            &[(
                "traceparent",
                &traceparent("00", "1234567890123456789012345678901.", PARENT, "01"),
            )],
            Outcome::Restarted,
        ),
        row(
            "trace-id too long",
            &[(
                "traceparent",
                &traceparent("00", "123456789012345678901234567890123", PARENT, "01"),
            )],
            Outcome::Restarted,
        ),
        row(
            "trace-id too short",
            &[(
                "traceparent",
                &traceparent("00", "1234567890123456789012345678901", PARENT, "01"),
            )],
            Outcome::Restarted,
        ),
        row(
            "trace-id all zero",
            &[(
                "traceparent",
                &traceparent("00", "00000000000000000000000000000000", PARENT, "01"),
            )],
            Outcome::Restarted,
        ),
        // parent-id
        row(
            "parent-id uppercase",
            &[(
                "traceparent",
                &traceparent("00", TRACE, "B7AD6B7169203331", "01"),
            )],
            Outcome::Restarted,
        ),
        row(
            "parent-id illegal first char",
            &[(
                "traceparent",
                &traceparent("00", TRACE, ".234567890123456", "01"),
            )],
            Outcome::Restarted,
        ),
        row(
            "parent-id illegal last char",
            &[(
                "traceparent",
                &traceparent("00", TRACE, "123456789012345.", "01"),
            )],
            Outcome::Restarted,
        ),
        row(
            "parent-id too long",
            &[(
                "traceparent",
                &traceparent("00", TRACE, "12345678901234567", "01"),
            )],
            Outcome::Restarted,
        ),
        row(
            "parent-id too short",
            &[(
                "traceparent",
                &traceparent("00", TRACE, "123456789012345", "01"),
            )],
            Outcome::Restarted,
        ),
        row(
            "parent-id all zero",
            &[(
                "traceparent",
                &traceparent("00", TRACE, "0000000000000000", "01"),
            )],
            Outcome::Restarted,
        ),
        // trace-flags
        row(
            "flags uppercase",
            &[("traceparent", &valid("0A"))],
            Outcome::Restarted,
        ),
        row(
            "flags illegal first char",
            &[("traceparent", &valid(".0"))],
            Outcome::Restarted,
        ),
        row(
            "flags illegal last char",
            &[("traceparent", &valid("0."))],
            Outcome::Restarted,
        ),
        row(
            "flags too long",
            &[("traceparent", &valid("001"))],
            Outcome::Restarted,
        ),
        row(
            "flags too short",
            &[("traceparent", &valid("1"))],
            Outcome::Restarted,
        ),
        // repeated header
        row(
            "duplicated, same value",
            &[("traceparent", &valid("01")), ("traceparent", &valid("01"))],
            Outcome::Restarted,
        ),
        row(
            "duplicated, different values",
            &[
                ("traceparent", &traceparent("00", TRACE_2, PARENT, "01")),
                ("traceparent", &valid("01")),
            ],
            Outcome::Restarted,
        ),
        row(
            "second value not ASCII, ignored",
            &[("traceparent", &valid("01")), ("traceparent", "caf\u{e9}")],
            continued_w3c(0x01, ""),
        ),
        // optional whitespace
        row(
            "leading space",
            &[("traceparent", &format!(" {}", valid("01")))],
            continued_w3c(0x01, ""),
        ),
        row(
            "leading tab",
            &[("traceparent", &format!("\t{}", valid("01")))],
            continued_w3c(0x01, ""),
        ),
        row(
            "trailing space",
            &[("traceparent", &format!("{} ", valid("01")))],
            continued_w3c(0x01, ""),
        ),
        row(
            "trailing tab",
            &[("traceparent", &format!("{}\t", valid("01")))],
            continued_w3c(0x01, ""),
        ),
        row(
            "both sides",
            &[("traceparent", &format!("\t {} \t", valid("01")))],
            continued_w3c(0x01, ""),
        ),
        row(
            "inner space",
            &[("traceparent", &format!("00- {TRACE}-{PARENT}-01"))],
            Outcome::Restarted,
        ),
    ];
    check_rows(&W3cTraceContextPropagator::new(), &rows);
}

#[test]
fn parse_traceparent_says_what_is_wrong() {
    use TraceparentError as E;
    let rows: Vec<(&str, String, Result<(), TraceparentError>)> = vec![
        ("valid", traceparent("00", TRACE, PARENT, "01"), Ok(())),
        (
            "future version",
            traceparent("cc", TRACE, PARENT, "01") + "-x",
            Ok(()),
        ),
        ("empty", String::new(), Err(E::Version)),
        (
            "version uppercase",
            traceparent("0A", TRACE, PARENT, "01"),
            Err(E::Version),
        ),
        (
            "version too long",
            traceparent("000", TRACE, PARENT, "01"),
            Err(E::Version),
        ),
        (
            "version ff",
            traceparent("ff", TRACE, PARENT, "01"),
            Err(E::ForbiddenVersion),
        ),
        (
            "too short",
            traceparent("00", TRACE, PARENT, "1"),
            Err(E::TooShort(54)),
        ),
        (
            "trace-id uppercase",
            traceparent("00", &TRACE_2.to_uppercase(), PARENT, "01"),
            Err(E::TraceId),
        ),
        (
            "trace-id too long",
            traceparent("00", &format!("{TRACE}3"), PARENT, "01"),
            Err(E::TraceId),
        ),
        (
            "trace-id zero",
            traceparent("00", &"0".repeat(32), PARENT, "01"),
            Err(E::ZeroTraceId),
        ),
        (
            "parent-id illegal",
            traceparent("00", TRACE, "123456789012345g", "01"),
            Err(E::ParentId),
        ),
        (
            "parent-id zero",
            traceparent("00", TRACE, &"0".repeat(16), "01"),
            Err(E::ZeroParentId),
        ),
        (
            "flags illegal",
            traceparent("00", TRACE, PARENT, "0x"),
            Err(E::Flags),
        ),
        (
            "00 too long",
            traceparent("00", TRACE, PARENT, "01") + "-x",
            Err(E::Version00Length(57)),
        ),
        (
            "future without dash",
            traceparent("cc", TRACE, PARENT, "01") + ".x",
            Err(E::FutureVersionFields),
        ),
    ];
    for (name, value, expected) in rows {
        let got = parse_traceparent(&value).map(|_| ());
        assert_eq!(got, expected, "{name}: {value:?}");
    }
    let parsed = parse_traceparent(&format!(" {} ", traceparent("00", TRACE_2, SPAN_2, "03")))
        .expect("valid traceparent");
    assert_eq!(parsed.trace_id().to_string(), TRACE_2);
    assert_eq!(parsed.span_id().to_string(), SPAN_2);
    assert_eq!(parsed.trace_flags(), TraceFlags::new(0x03));
    assert!(parsed.is_remote());
    assert_eq!(parsed.trace_state(), &TraceState::NONE);
}

// ---------------------------------------------------------------------------------------------
// W3C tracestate

/// `traceparent` and then `tracestate` headers with the given values.
fn with_tracestate(values: &[&str]) -> Vec<(&'static str, String)> {
    let mut headers = vec![("traceparent", traceparent("00", TRACE, PARENT, "00"))];
    headers.extend(values.iter().map(|v| ("tracestate", v.to_string())));
    headers
}

fn ts_row(name: &'static str, values: &[&str], expected: &str) -> Row {
    Row {
        name,
        headers: with_tracestate(values),
        expect: continued_w3c(0x00, expected),
    }
}

#[test]
fn w3c_tracestate_rules() {
    let members = |range: std::ops::RangeInclusive<u32>| {
        range
            .map(|i| format!("bar{i:02}={i:02}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let (first_10, next_10, next_10b) = (members(1..=10), members(11..=20), members(21..=30));
    let all_32 = members(1..=32);
    let key_chars = "abcdefghijklmnopqrstuvwxyz0123456789_-*/";
    let key_chars_at = format!("{key_chars}@a-z0-9_-*/");
    let value_chars: String = (0x20u8..=0x7e)
        .filter(|b| *b != b',' && *b != b'=')
        .map(char::from)
        .collect();
    let key_256 = "z".repeat(256);
    let key_257 = "z".repeat(257);
    let tenant_241 = format!("{}@{}", "t".repeat(241), "v".repeat(14));
    let tenant_242 = format!("{}@v", "t".repeat(242));
    let system_15 = format!("t@{}", "v".repeat(15));
    let value_256 = "v".repeat(256);
    let value_257 = "v".repeat(257);

    let rows = vec![
        ts_row("no tracestate", &[], ""),
        ts_row("single header", &["foo=1,bar=2"], "foo=1,bar=2"),
        ts_row(
            "multiple headers joined in order",
            &["foo=1,bar=2", "rojo=1,congo=2", "baz=3"],
            "foo=1,bar=2,rojo=1,congo=2,baz=3",
        ),
        ts_row("empty header", &[""], ""),
        ts_row("empty header after", &["foo=1", ""], "foo=1"),
        ts_row("empty header before", &["", "foo=1"], "foo=1"),
        ts_row("empty members", &[",foo=1,, ,bar=2,"], "foo=1,bar=2"),
        ts_row(
            "OWS around members",
            &["foo=1 \t , \t bar=2, \t baz=3"],
            "foo=1,bar=2,baz=3",
        ),
        ts_row(
            "OWS tabs and spaces",
            &["foo=1\t \t,\t \tbar=2,\t \tbaz=3"],
            "foo=1,bar=2,baz=3",
        ),
        ts_row("leading space", &[" foo=1"], "foo=1"),
        ts_row("leading tab", &["\tfoo=1"], "foo=1"),
        ts_row("trailing space", &["foo=1 "], "foo=1"),
        ts_row("trailing tab", &["foo=1\t"], "foo=1"),
        ts_row("OWS both sides", &["\t foo=1 \t"], "foo=1"),
        ts_row(
            "value trailing space is OWS",
            &["foo=bar ,baz=1"],
            "foo=bar,baz=1",
        ),
        ts_row("value leading space kept", &["foo= bar"], "foo= bar"),
        ts_row("value inner space kept", &["foo=a b"], "foo=a b"),
        ts_row("value of spaces only", &["foo=   ,bar=1"], ""),
        ts_row(
            "all allowed key and value characters",
            &[&format!("{key_chars}={value_chars}")],
            &format!("{key_chars}={value_chars}"),
        ),
        ts_row(
            "all allowed characters, key with @",
            &[&format!("{key_chars_at}={value_chars}")],
            &format!("{key_chars_at}={value_chars}"),
        ),
        ts_row(
            "duplicated key, same value: first kept",
            &["foo=1,foo=1"],
            "foo=1",
        ),
        ts_row(
            "duplicated key, different values: first kept",
            &["foo=1,bar=2,foo=3"],
            "foo=1,bar=2",
        ),
        ts_row(
            "duplicated key across headers: first kept",
            &["foo=1", "foo=2"],
            "foo=1",
        ),
        ts_row(
            "32 members",
            &[&first_10, &next_10, &next_10b, "bar31=31,bar32=32"],
            &all_32,
        ),
        ts_row(
            "32 members and empty ones",
            &[
                &format!(",{first_10},,"),
                &next_10,
                &next_10b,
                "bar31=31,bar32=32, ,",
            ],
            &all_32,
        ),
        ts_row(
            "33 members dropped",
            &[&first_10, &next_10, &next_10b, "bar31=31,bar32=32,bar33=33"],
            "",
        ),
        ts_row(
            "key of 256",
            &["foo=1", &format!("{key_256}=1")],
            &format!("foo=1,{key_256}=1"),
        ),
        ts_row(
            "key of 257 dropped",
            &["foo=1", &format!("{key_257}=1")],
            "",
        ),
        ts_row(
            "tenant 241 @ system 14",
            &["foo=1", &format!("{tenant_241}=1")],
            &format!("foo=1,{tenant_241}=1"),
        ),
        ts_row(
            "tenant 242 @ system 1 (Level 2 key grammar)",
            &["foo=1", &format!("{tenant_242}=1")],
            &format!("foo=1,{tenant_242}=1"),
        ),
        ts_row(
            "tenant 1 @ system 15 (Level 2 key grammar)",
            &["foo=1", &format!("{system_15}=1")],
            &format!("foo=1,{system_15}=1"),
        ),
        ts_row("key ending with @", &["foo@=1,bar=2"], "foo@=1,bar=2"),
        ts_row("key with @@", &["foo@@bar=1,bar=2"], "foo@@bar=1,bar=2"),
        ts_row(
            "key with two @",
            &["foo@bar@baz=1,bar=2"],
            "foo@bar@baz=1,bar=2",
        ),
        ts_row("key starting with a digit", &["1foo=1"], "1foo=1"),
        ts_row("key starting with @", &["@foo=1,bar=2"], ""),
        ts_row("key with space before =", &["foo =1"], ""),
        ts_row("key uppercase", &["FOO=1"], ""),
        ts_row("key with dot", &["foo.bar=1"], ""),
        ts_row("key starting with _", &["_foo=1"], ""),
        ts_row("key empty", &["=1,bar=2"], ""),
        ts_row("member without =", &["foo,bar=2"], ""),
        ts_row("value with =", &["foo=bar=baz"], ""),
        ts_row("value empty", &["foo=,bar=3"], ""),
        ts_row("value with tab", &["foo=a\tb"], ""),
        ts_row(
            "value of 256",
            &[&format!("foo={value_256}")],
            &format!("foo={value_256}"),
        ),
        ts_row("value of 257 dropped", &[&format!("foo={value_257}")], ""),
        ts_row("one invalid header drops all", &["foo=1", "BAR=2"], ""),
        ts_row(
            "not ASCII header is absent",
            &["foo=1", "bar=caf\u{e9}"],
            "foo=1",
        ),
        Row {
            name: "tracestate without traceparent ignored",
            headers: vec![("tracestate", "foo=1".to_string())],
            expect: Outcome::Restarted,
        },
        Row {
            name: "tracestate with invalid traceparent ignored",
            headers: vec![
                ("traceparent", traceparent("00", TRACE, PARENT, "0")),
                ("tracestate", "foo=1".to_string()),
            ],
            expect: Outcome::Restarted,
        },
    ];
    check_rows(&W3cTraceContextPropagator::new(), &rows);
}

#[test]
fn parse_tracestate_results() {
    let ok = |values: &[&str]| parse_tracestate(values).map(|ts| ts.header());
    assert_eq!(ok(&["a=1 , b=2", "c=3"]), Ok("a=1,b=2,c=3".to_string()));
    assert_eq!(ok(&[""]), Ok(String::new()));
    assert_eq!(ok(&["a=1,a=2"]), Ok("a=1".to_string()));
    let many = (0..33)
        .map(|i| format!("k{i}=1"))
        .collect::<Vec<_>>()
        .join(",");
    assert_eq!(ok(&[&many]), Err(TracestateError::TooManyMembers(33)));
    assert_eq!(ok(&["a=1,b"]), Err(TracestateError::Member("b".into())));
    assert_eq!(ok(&["A=1"]), Err(TracestateError::Key("A".into())));
    assert_eq!(
        ok(&["a=1=2"]),
        Err(TracestateError::Value {
            key: "a".into(),
            value: "1=2".into()
        })
    );
    // Valid, but opentelemetry's TraceState refuses the key: parse_tracestate_members keeps it.
    assert_eq!(
        ok(&["a@b@c=1"]),
        Err(TracestateError::Unrepresentable("a@b@c".into()))
    );
    assert_eq!(
        parse_tracestate_members(&["x=1", "a@b@c=2"]),
        Ok(vec![("x".into(), "1".into()), ("a@b@c".into(), "2".into())])
    );
}

#[test]
fn extracted_span_context_holds_the_tracestate() {
    let headers = header_map(&with_tracestate(&[
        "rojo=00f067aa0ba902b7",
        "congo=t61rcWkgMzE",
    ]));
    let cx = extract(&W3cTraceContextPropagator::new(), &headers);
    let span = cx.span();
    let trace_state = span.span_context().trace_state();
    assert_eq!(
        trace_state.header(),
        "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"
    );
    assert_eq!(trace_state.get("congo"), Some("t61rcWkgMzE"));

    // A key TraceState cannot hold is left out of the span context but still propagated.
    let headers = header_map(&with_tracestate(&["a=1,x@y@z=2,b=3"]));
    let cx = extract(&W3cTraceContextPropagator::new(), &headers);
    assert_eq!(cx.span().span_context().trace_state().header(), "a=1,b=3");
    let out = inject(&W3cTraceContextPropagator::new(), &cx);
    assert_eq!(
        header(&out, "tracestate").as_deref(),
        Some("a=1,x@y@z=2,b=3")
    );
}

#[test]
fn invalid_traceparent_leaves_the_context_unchanged() {
    // A context already holding a remote parent (as an earlier propagator would leave it).
    let earlier = context(TRACE_2, SPAN_2, 0x01);
    let headers = header_map(&[
        ("traceparent", traceparent("ff", TRACE, PARENT, "01")),
        ("tracestate", "foo=1".to_string()),
    ]);
    let propagator = W3cTraceContextPropagator::new();
    let cx = propagator.extract_with_context(&earlier, &HeaderExtractor(&headers));
    assert_eq!(cx.span().span_context(), earlier.span().span_context());
    let out = inject(&propagator, &cx);
    assert_eq!(
        header(&out, "traceparent"),
        Some(traceparent("00", TRACE_2, SPAN_2, "01"))
    );
    assert_eq!(header(&out, "tracestate"), None);
}

// ---------------------------------------------------------------------------------------------
// W3C injection and traceresponse

#[test]
fn w3c_inject_rules() {
    let ts = |pairs: &[(&str, &str)]| {
        TraceState::from_key_value(pairs.iter().copied()).expect("test trace state")
    };
    let rows: Vec<(&str, Context, Option<String>, Option<&str>)> = vec![
        (
            "sampled",
            context(TRACE_2, SPAN_2, 0x01),
            Some(traceparent("00", TRACE_2, SPAN_2, "01")),
            None,
        ),
        (
            "not sampled",
            context(TRACE_2, SPAN_2, 0x00),
            Some(traceparent("00", TRACE_2, SPAN_2, "00")),
            None,
        ),
        (
            "random",
            context(TRACE_2, SPAN_2, 0x02),
            Some(traceparent("00", TRACE_2, SPAN_2, "02")),
            None,
        ),
        (
            "sampled and random",
            context(TRACE_2, SPAN_2, 0x03),
            Some(traceparent("00", TRACE_2, SPAN_2, "03")),
            None,
        ),
        (
            "unknown bits not written",
            context(TRACE_2, SPAN_2, 0xff),
            Some(traceparent("00", TRACE_2, SPAN_2, "03")),
            None,
        ),
        (
            "only unknown bits",
            context(TRACE_2, SPAN_2, 0x04),
            Some(traceparent("00", TRACE_2, SPAN_2, "00")),
            None,
        ),
        (
            "tracestate order preserved",
            Context::new().with_remote_span_context(span_context(
                TRACE_2,
                SPAN_2,
                0x01,
                ts(&[("rojo", "1"), ("congo", "2"), ("alpha", "3")]),
            )),
            Some(traceparent("00", TRACE_2, SPAN_2, "01")),
            Some("rojo=1,congo=2,alpha=3"),
        ),
        (
            "tracestate members invalid per spec not written",
            Context::new().with_remote_span_context(span_context(
                TRACE_2,
                SPAN_2,
                0x01,
                ts(&[("good", "1"), ("bad", "x "), ("tab", "a\tb")]),
            )),
            Some(traceparent("00", TRACE_2, SPAN_2, "01")),
            Some("good=1"),
        ),
        (
            "invalid span context",
            context(&"0".repeat(32), &"0".repeat(16), 0x01),
            None,
            None,
        ),
        (
            "zero span id",
            context(TRACE_2, &"0".repeat(16), 0x01),
            None,
            None,
        ),
        ("no span", Context::new(), None, None),
    ];
    for (name, cx, expected_parent, expected_state) in rows {
        let out = inject(&W3cTraceContextPropagator::new(), &cx);
        assert_eq!(header(&out, "traceparent"), expected_parent, "{name}");
        assert_eq!(
            header(&out, "tracestate").as_deref(),
            expected_state,
            "{name}"
        );
    }
}

#[test]
fn traceresponse_header_and_parsing() {
    let sc = |flags| span_context(TRACE_2, SPAN_2, flags, TraceState::NONE);
    let value =
        |cx: &SpanContext| traceresponse_header(cx).map(|v| v.to_str().expect("ascii").to_string());
    assert_eq!(
        value(&sc(0x01)),
        Some(traceparent("00", TRACE_2, SPAN_2, "01"))
    );
    assert_eq!(
        value(&sc(0x02)),
        Some(traceparent("00", TRACE_2, SPAN_2, "02"))
    );
    assert_eq!(
        value(&sc(0xff)),
        Some(traceparent("00", TRACE_2, SPAN_2, "03"))
    );
    assert_eq!(value(&SpanContext::empty_context()), None);
    assert_eq!(TRACERESPONSE_HEADER, "traceresponse");

    let rows: Vec<(&str, String, Option<Ids>)> = vec![
        (
            "valid",
            traceparent("00", TRACE_2, SPAN_2, "01"),
            Some((TRACE_2, SPAN_2, 0x01)),
        ),
        (
            "random",
            traceparent("00", TRACE_2, SPAN_2, "02"),
            Some((TRACE_2, SPAN_2, 0x02)),
        ),
        (
            "future version with field",
            traceparent("cc", TRACE_2, SPAN_2, "01") + "-x",
            Some((TRACE_2, SPAN_2, 0x01)),
        ),
        ("version ff", traceparent("ff", TRACE_2, SPAN_2, "01"), None),
        (
            "uppercase",
            traceparent("00", &TRACE_2.to_uppercase(), SPAN_2, "01"),
            None,
        ),
        (
            "zero child id",
            traceparent("00", TRACE_2, &"0".repeat(16), "01"),
            None,
        ),
        (
            "00 too long",
            traceparent("00", TRACE_2, SPAN_2, "01") + "-x",
            None,
        ),
    ];
    for (name, input, expected) in rows {
        let got = parse_traceresponse(&input).map(|sc| {
            (
                sc.trace_id().to_string(),
                sc.span_id().to_string(),
                sc.trace_flags().to_u8(),
            )
        });
        let expected = expected.map(|(t, s, f)| (t.to_string(), s.to_string(), f));
        assert_eq!(got, expected, "{name}");
    }
}

// ---------------------------------------------------------------------------------------------
// W3C through SDK spans: the random flag and tracestate survive a child span

fn sdk_child(headers: &HeaderMap) -> (SpanContext, HeaderMap) {
    // The default sampler, set explicitly so that OTEL_TRACES_SAMPLER cannot change it.
    let provider = SdkTracerProvider::builder()
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::AlwaysOn)))
        .build();
    let tracer = provider.tracer("propagation-test");
    let propagator = W3cTraceContextPropagator::new();
    let parent = extract(&propagator, headers);
    let span = tracer.start_with_context("handle", &parent);
    let child = span.span_context().clone();
    let cx = parent.with_span(span);
    let out = inject(&propagator, &cx);
    cx.span().end();
    (child, out)
}

#[test]
fn sdk_child_spans_keep_the_random_flag() {
    // (incoming flags, flags the SDK gives the child span, flags sent downstream)
    let rows: &[(&str, &str, u8, &str)] = &[
        ("sampled and random", "03", 0x03, "03"),
        ("sampled", "01", 0x01, "01"),
        (
            "unknown bits (copied by the SDK, not sent)",
            "ff",
            0xff,
            "03",
        ),
        // Parent-based sampling drops the child of an unsampled parent, and the SDK then gives it
        // TraceFlags::default(): the random flag is only sent downstream because the propagator
        // restores the flag received for this trace.
        ("random, not sampled", "02", 0x00, "02"),
        ("neither", "00", 0x00, "00"),
    ];
    for (name, incoming, child_flags, outgoing) in rows {
        let headers = header_map(&[("traceparent", traceparent("00", TRACE, PARENT, incoming))]);
        let (child, out) = sdk_child(&headers);
        assert_eq!(child.trace_id().to_string(), TRACE, "{name}");
        assert_ne!(child.span_id().to_string(), PARENT, "{name}");
        assert_eq!(child.trace_flags().to_u8(), *child_flags, "{name}");
        assert_eq!(
            header(&out, "traceparent"),
            Some(traceparent(
                "00",
                TRACE,
                &child.span_id().to_string(),
                outgoing
            )),
            "{name}"
        );
    }
}

#[test]
fn sdk_root_spans_do_not_set_the_random_flag() {
    let (child, out) = sdk_child(&HeaderMap::new());
    assert!(child.is_valid());
    assert_ne!(child.trace_id().to_string(), TRACE);
    assert_eq!(child.trace_flags(), TraceFlags::SAMPLED);
    assert_eq!(
        header(&out, "traceparent"),
        Some(traceparent(
            "00",
            &child.trace_id().to_string(),
            &child.span_id().to_string(),
            "01"
        ))
    );
}

#[test]
fn sdk_child_spans_propagate_the_whole_tracestate() {
    let headers = header_map(&with_tracestate(&[
        "rojo=1,x@y@z=2",
        &format!("t@{}=3", "v".repeat(14)),
    ]));
    let (child, out) = sdk_child(&headers);
    assert_eq!(child.trace_state().header(), "rojo=1");
    assert_eq!(
        header(&out, "tracestate"),
        Some(format!("rojo=1,x@y@z=2,t@{}=3", "v".repeat(14)))
    );
}

#[test]
fn received_flags_and_tracestate_apply_to_the_same_trace_only() {
    let mut headers = with_tracestate(&["a=1,x@y@z=2"]);
    headers[0].1 = traceparent("00", TRACE, PARENT, "02");
    let propagator = W3cTraceContextPropagator::new();
    let received = extract(&propagator, &header_map(&headers));
    // Another trace started in this context (e.g. a restart) carries only its own flags and state.
    let other =
        received.with_remote_span_context(span_context(TRACE_2, SPAN_2, 0x01, TraceState::NONE));
    let out = inject(&propagator, &other);
    assert_eq!(
        header(&out, "traceparent"),
        Some(traceparent("00", TRACE_2, SPAN_2, "01"))
    );
    assert_eq!(header(&out, "tracestate"), None);
    // A span of the received trace gets the received random flag and tracestate back.
    let projection = TraceState::from_key_value([("a", "1")]).expect("test trace state");
    let same = received.with_remote_span_context(span_context(TRACE, SPAN_2, 0x01, projection));
    let out = inject(&propagator, &same);
    assert_eq!(
        header(&out, "traceparent"),
        Some(traceparent("00", TRACE, SPAN_2, "03"))
    );
    assert_eq!(header(&out, "tracestate").as_deref(), Some("a=1,x@y@z=2"));
}

// ---------------------------------------------------------------------------------------------
// B3

const B3_TRACE: &str = "80f198ee56343ba864fe8b2a57d3eff7";
const B3_TRACE_16: &str = "64fe8b2a57d3eff7";
const B3_SPAN: &str = "e457b5a2e4d86bd1";
const B3_PARENT: &str = "05e3ac9a4f6e3b90";

fn b3(trace_id: &str, flags: u8) -> Outcome {
    continued(trace_id, B3_SPAN, flags, "")
}

#[test]
fn b3_single_header_rules() {
    let single = |rest: &str| format!("{B3_TRACE}-{B3_SPAN}{rest}");
    let rows = vec![
        row("ids only (defer)", &[("b3", &single(""))], b3(B3_TRACE, 0)),
        row("sampled", &[("b3", &single("-1"))], b3(B3_TRACE, 1)),
        row("not sampled", &[("b3", &single("-0"))], b3(B3_TRACE, 0)),
        row(
            "debug means sampled",
            &[("b3", &single("-d"))],
            b3(B3_TRACE, 1),
        ),
        row(
            "with parent span id",
            &[("b3", &single(&format!("-1-{B3_PARENT}")))],
            b3(B3_TRACE, 1),
        ),
        row(
            "16-digit trace id left-padded",
            &[("b3", &format!("{B3_TRACE_16}-{B3_SPAN}-1"))],
            b3(&format!("{}{B3_TRACE_16}", "0".repeat(16)), 1),
        ),
        row(
            "header name case-insensitive",
            &[("B3", &single("-1"))],
            b3(B3_TRACE, 1),
        ),
        row(
            "OWS trimmed",
            &[("b3", &format!(" {} ", single("-1")))],
            b3(B3_TRACE, 1),
        ),
        row("deny only", &[("b3", "0")], Outcome::Restarted),
        row("accept only", &[("b3", "1")], Outcome::Restarted),
        row("debug only", &[("b3", "d")], Outcome::Restarted),
        row("empty", &[("b3", "")], Outcome::Restarted),
        row(
            "trace id uppercase",
            &[("b3", &format!("{}-{B3_SPAN}-1", B3_TRACE.to_uppercase()))],
            Outcome::Restarted,
        ),
        row(
            "trace id 20 digits",
            &[("b3", &format!("{}-{B3_SPAN}-1", &B3_TRACE[..20]))],
            Outcome::Restarted,
        ),
        row(
            "trace id all zero",
            &[("b3", &format!("{}-{B3_SPAN}-1", "0".repeat(32)))],
            Outcome::Restarted,
        ),
        row(
            "span id 15 digits",
            &[("b3", &format!("{B3_TRACE}-{}-1", &B3_SPAN[..15]))],
            Outcome::Restarted,
        ),
        row(
            "span id all zero",
            &[("b3", &format!("{B3_TRACE}-{}-1", "0".repeat(16)))],
            Outcome::Restarted,
        ),
        row("span id missing", &[("b3", B3_TRACE)], Outcome::Restarted),
        row("sampling 2", &[("b3", &single("-2"))], Outcome::Restarted),
        row(
            "sampling true",
            &[("b3", &single("-true"))],
            Outcome::Restarted,
        ),
        row(
            "empty sampling",
            &[("b3", &single("-"))],
            Outcome::Restarted,
        ),
        row(
            "bad parent span id",
            &[("b3", &single("-1-05e3ac9a4f6e3b9"))],
            Outcome::Restarted,
        ),
        row(
            "extra field",
            &[("b3", &single(&format!("-1-{B3_PARENT}-x")))],
            Outcome::Restarted,
        ),
    ];
    check_rows(&B3Propagator::new(), &rows);
}

#[test]
fn b3_multiple_header_rules() {
    let ids = |extra: &[(&'static str, &'static str)]| {
        let mut headers = vec![("X-B3-TraceId", B3_TRACE), ("X-B3-SpanId", B3_SPAN)];
        headers.extend_from_slice(extra);
        headers
    };
    let rows = vec![
        row("ids only (defer)", &ids(&[]), b3(B3_TRACE, 0)),
        row("sampled 1", &ids(&[("X-B3-Sampled", "1")]), b3(B3_TRACE, 1)),
        row("sampled 0", &ids(&[("X-B3-Sampled", "0")]), b3(B3_TRACE, 0)),
        row(
            "sampled true",
            &ids(&[("X-B3-Sampled", "true")]),
            b3(B3_TRACE, 1),
        ),
        row(
            "sampled false",
            &ids(&[("X-B3-Sampled", "false")]),
            b3(B3_TRACE, 0),
        ),
        row(
            "sampled 2 invalid",
            &ids(&[("X-B3-Sampled", "2")]),
            Outcome::Restarted,
        ),
        row(
            "sampled empty invalid",
            &ids(&[("X-B3-Sampled", "")]),
            Outcome::Restarted,
        ),
        row(
            "sampled True invalid",
            &ids(&[("X-B3-Sampled", "True")]),
            Outcome::Restarted,
        ),
        row(
            "flags 1 (debug) means sampled",
            &ids(&[("X-B3-Flags", "1")]),
            b3(B3_TRACE, 1),
        ),
        row(
            "debug overrides sampled 0",
            &ids(&[("X-B3-Sampled", "0"), ("X-B3-Flags", "1")]),
            b3(B3_TRACE, 1),
        ),
        row("flags 0", &ids(&[("X-B3-Flags", "0")]), b3(B3_TRACE, 0)),
        row(
            "other flags ignored",
            &ids(&[("X-B3-Flags", "2"), ("X-B3-Sampled", "0")]),
            b3(B3_TRACE, 0),
        ),
        row(
            "parent span id ignored",
            &ids(&[("X-B3-ParentSpanId", "-"), ("X-B3-Sampled", "1")]),
            b3(B3_TRACE, 1),
        ),
        row(
            "16-digit trace id left-padded",
            &[
                ("x-b3-traceid", B3_TRACE_16),
                ("x-b3-spanid", B3_SPAN),
                ("x-b3-sampled", "1"),
            ],
            b3(&format!("{}{B3_TRACE_16}", "0".repeat(16)), 1),
        ),
        row(
            "trace id uppercase",
            &[
                ("x-b3-traceid", "80F198EE56343BA864FE8B2A57D3EFF7"),
                ("x-b3-spanid", B3_SPAN),
            ],
            Outcome::Restarted,
        ),
        row(
            "trace id 20 digits",
            &[("x-b3-traceid", &B3_TRACE[..20]), ("x-b3-spanid", B3_SPAN)],
            Outcome::Restarted,
        ),
        row(
            "span id 17 digits",
            &[
                ("x-b3-traceid", B3_TRACE),
                ("x-b3-spanid", "e457b5a2e4d86bd10"),
            ],
            Outcome::Restarted,
        ),
        row(
            "span id all zero",
            &[
                ("x-b3-traceid", B3_TRACE),
                ("x-b3-spanid", "0000000000000000"),
            ],
            Outcome::Restarted,
        ),
        row(
            "span id missing",
            &[("x-b3-traceid", B3_TRACE), ("x-b3-sampled", "1")],
            Outcome::Restarted,
        ),
        row(
            "trace id missing",
            &[("x-b3-spanid", B3_SPAN), ("x-b3-sampled", "1")],
            Outcome::Restarted,
        ),
        row(
            "sampling only",
            &[("x-b3-sampled", "0")],
            Outcome::Restarted,
        ),
    ];
    check_rows(
        &B3Propagator::with_encoding(B3Encoding::MultipleHeader),
        &rows,
    );
}

#[test]
fn b3_single_header_takes_precedence() {
    let multi_other = [
        ("x-b3-traceid", TRACE_2),
        ("x-b3-spanid", SPAN_2),
        ("x-b3-sampled", "0"),
    ];
    let with = |b3_value: &'static str| {
        let mut headers = vec![("b3", b3_value)];
        headers.extend_from_slice(&multi_other);
        headers
    };
    let single = "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1";
    let rows = vec![
        row("both valid: single wins", &with(single), b3(B3_TRACE, 1)),
        row(
            "single malformed: multiple used",
            &with("80f198ee-1"),
            continued(TRACE_2, SPAN_2, 0, ""),
        ),
        row(
            "single deny without ids: nothing",
            &with("0"),
            Outcome::Restarted,
        ),
        row(
            "single valid, multiple malformed",
            &[
                ("b3", single),
                ("x-b3-traceid", "zz"),
                ("x-b3-spanid", SPAN_2),
            ],
            b3(B3_TRACE, 1),
        ),
    ];
    // Extraction does not depend on the injection encoding.
    for encoding in [
        B3Encoding::SingleHeader,
        B3Encoding::MultipleHeader,
        B3Encoding::SingleAndMultiHeader,
    ] {
        check_rows(&B3Propagator::with_encoding(encoding), &rows);
    }
}

#[test]
fn b3_inject_rules() {
    let sampled = context(B3_TRACE, B3_SPAN, 0x01);
    let unsampled = context(B3_TRACE, B3_SPAN, 0x02);
    let rows: Vec<(&str, B3Encoding, &Context, HeaderList)> = vec![
        (
            "single, sampled",
            B3Encoding::SingleHeader,
            &sampled,
            vec![("b3", format!("{B3_TRACE}-{B3_SPAN}-1"))],
        ),
        (
            "single, not sampled",
            B3Encoding::SingleHeader,
            &unsampled,
            vec![("b3", format!("{B3_TRACE}-{B3_SPAN}-0"))],
        ),
        (
            "multiple, sampled",
            B3Encoding::MultipleHeader,
            &sampled,
            vec![
                ("x-b3-sampled", "1".into()),
                ("x-b3-spanid", B3_SPAN.into()),
                ("x-b3-traceid", B3_TRACE.into()),
            ],
        ),
        (
            "single and multiple, not sampled",
            B3Encoding::SingleAndMultiHeader,
            &unsampled,
            vec![
                ("b3", format!("{B3_TRACE}-{B3_SPAN}-0")),
                ("x-b3-sampled", "0".into()),
                ("x-b3-spanid", B3_SPAN.into()),
                ("x-b3-traceid", B3_TRACE.into()),
            ],
        ),
    ];
    for (name, encoding, cx, expected) in rows {
        let out = inject(&B3Propagator::with_encoding(encoding), cx);
        let mut got: Vec<(&str, String)> = out
            .iter()
            .map(|(n, v)| (n.as_str(), v.to_str().expect("ascii").to_string()))
            .collect();
        got.sort();
        assert_eq!(got, expected, "{name}");
    }
    let padded = context(&format!("{}{B3_TRACE_16}", "0".repeat(16)), B3_SPAN, 0x01);
    let out = inject(&B3Propagator::new(), &padded);
    assert_eq!(
        header(&out, "b3"),
        Some(format!("{}{B3_TRACE_16}-{B3_SPAN}-1", "0".repeat(16)))
    );
    for encoding in [
        B3Encoding::SingleHeader,
        B3Encoding::MultipleHeader,
        B3Encoding::SingleAndMultiHeader,
    ] {
        let out = inject(&B3Propagator::with_encoding(encoding), &Context::new());
        assert!(out.is_empty(), "{encoding:?}: {out:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Jaeger

fn jaeger(trace_id: &str, span_id: &str, flags: u8) -> Outcome {
    continued(trace_id, span_id, flags, "")
}

#[test]
fn jaeger_rules() {
    let full = |flags: &str| format!("{TRACE_2}:{SPAN_2}:0:{flags}");
    let rows = vec![
        row(
            "full, sampled",
            &[("uber-trace-id", &full("1"))],
            jaeger(TRACE_2, SPAN_2, 1),
        ),
        row(
            "full, not sampled",
            &[("uber-trace-id", &full("0"))],
            jaeger(TRACE_2, SPAN_2, 0),
        ),
        row(
            "two-digit flags",
            &[("uber-trace-id", &full("01"))],
            jaeger(TRACE_2, SPAN_2, 1),
        ),
        row(
            "debug means sampled",
            &[("uber-trace-id", &full("2"))],
            jaeger(TRACE_2, SPAN_2, 1),
        ),
        row(
            "sampled and debug",
            &[("uber-trace-id", &full("03"))],
            jaeger(TRACE_2, SPAN_2, 1),
        ),
        row(
            "other bits ignored",
            &[("uber-trace-id", &full("04"))],
            jaeger(TRACE_2, SPAN_2, 0),
        ),
        row(
            "flags ff",
            &[("uber-trace-id", &full("ff"))],
            jaeger(TRACE_2, SPAN_2, 1),
        ),
        row(
            "with parent id",
            &[("uber-trace-id", &format!("{TRACE_2}:{SPAN_2}:{PARENT}:1"))],
            jaeger(TRACE_2, SPAN_2, 1),
        ),
        row(
            "short ids left-padded",
            &[("uber-trace-id", "abc:def:0:1")],
            jaeger(
                &format!("{}abc", "0".repeat(29)),
                &format!("{}def", "0".repeat(13)),
                1,
            ),
        ),
        row(
            "64-bit trace id",
            &[("uber-trace-id", &format!("{B3_TRACE_16}:{SPAN_2}:0:1"))],
            jaeger(&format!("{}{B3_TRACE_16}", "0".repeat(16)), SPAN_2, 1),
        ),
        row(
            "uppercase hex",
            &[(
                "uber-trace-id",
                &format!("{}:{}:0:1", TRACE_2.to_uppercase(), SPAN_2.to_uppercase()),
            )],
            jaeger(TRACE_2, SPAN_2, 1),
        ),
        row(
            "URL-encoded",
            &[("uber-trace-id", &format!("{TRACE_2}%3A{SPAN_2}%3A0%3A1"))],
            jaeger(TRACE_2, SPAN_2, 1),
        ),
        row(
            "URL-encoded lowercase",
            &[("uber-trace-id", &format!("{TRACE_2}%3a{SPAN_2}%3a0%3a1"))],
            jaeger(TRACE_2, SPAN_2, 1),
        ),
        row(
            "header name case-insensitive",
            &[("Uber-Trace-Id", &full("1"))],
            jaeger(TRACE_2, SPAN_2, 1),
        ),
        row(
            "bad escape",
            &[("uber-trace-id", &format!("{TRACE_2}%3{SPAN_2}:0:1"))],
            Outcome::Restarted,
        ),
        row(
            "three fields",
            &[("uber-trace-id", &format!("{TRACE_2}:{SPAN_2}:1"))],
            Outcome::Restarted,
        ),
        row(
            "five fields",
            &[("uber-trace-id", &format!("{}:x", full("1")))],
            Outcome::Restarted,
        ),
        row(
            "trace id 33 digits",
            &[("uber-trace-id", &format!("1{TRACE_2}:{SPAN_2}:0:1"))],
            Outcome::Restarted,
        ),
        row(
            "span id 17 digits",
            &[("uber-trace-id", &format!("{TRACE_2}:1{SPAN_2}:0:1"))],
            Outcome::Restarted,
        ),
        row(
            "parent id 17 digits",
            &[("uber-trace-id", &format!("{TRACE_2}:{SPAN_2}:1{PARENT}:1"))],
            Outcome::Restarted,
        ),
        row(
            "trace id zero",
            &[("uber-trace-id", &format!("0:{SPAN_2}:0:1"))],
            Outcome::Restarted,
        ),
        row(
            "span id zero",
            &[("uber-trace-id", &format!("{TRACE_2}:0:0:1"))],
            Outcome::Restarted,
        ),
        row(
            "non-hex trace id",
            &[("uber-trace-id", &format!("xyz:{SPAN_2}:0:1"))],
            Outcome::Restarted,
        ),
        row(
            "empty parent id",
            &[("uber-trace-id", &format!("{TRACE_2}:{SPAN_2}::1"))],
            Outcome::Restarted,
        ),
        row(
            "empty flags",
            &[("uber-trace-id", &full(""))],
            Outcome::Restarted,
        ),
        row(
            "three-digit flags",
            &[("uber-trace-id", &full("001"))],
            Outcome::Restarted,
        ),
        row("empty", &[("uber-trace-id", "")], Outcome::Restarted),
    ];
    check_rows(&JaegerPropagator::new(), &rows);
}

fn baggage_of(cx: &Context) -> Vec<(String, String)> {
    let mut entries: Vec<(String, String)> = cx
        .baggage()
        .iter()
        .map(|(k, (v, _))| (k.as_str().to_string(), v.as_str().to_string()))
        .collect();
    entries.sort();
    entries
}

#[test]
fn jaeger_baggage() {
    let propagator = JaegerPropagator::new();
    let headers = header_map(&[
        ("uber-trace-id", format!("{TRACE_2}:{SPAN_2}:0:1")),
        ("uberctx-user", "alice".into()),
        ("UberCtx-Note", "a%20b+c%2Bd".into()),
        ("uberctx-bad", "%zz".into()),
        ("uberctx-", "no key".into()),
        ("x-other", "1".into()),
    ]);
    let cx = extract(&propagator, &headers);
    assert_eq!(cx.span().span_context().trace_id().to_string(), TRACE_2);
    assert_eq!(
        baggage_of(&cx),
        [
            ("note".to_string(), "a b c+d".to_string()),
            ("user".to_string(), "alice".to_string())
        ]
    );

    // Round trip: inject writes uberctx headers back, percent-encoded.
    let out = inject(&propagator, &cx);
    assert_eq!(
        header(&out, "uber-trace-id"),
        Some(format!("{TRACE_2}:{SPAN_2}:0:01"))
    );
    assert_eq!(
        header(&out, "uberctx-note").as_deref(),
        Some("a%20b%20c%2Bd")
    );
    assert_eq!(header(&out, "uberctx-user").as_deref(), Some("alice"));
    assert_eq!(baggage_of(&extract(&propagator, &out)), baggage_of(&cx));

    // Baggage without a trace context, added to the baggage already in the context.
    let earlier = Context::new().with_baggage([KeyValue::new("tenant", "t1")]);
    let headers = header_map(&[("uberctx-user", "bob")]);
    let cx = propagator.extract_with_context(&earlier, &HeaderExtractor(&headers));
    assert!(!cx.span().span_context().is_valid());
    assert_eq!(
        baggage_of(&cx),
        [
            ("tenant".to_string(), "t1".to_string()),
            ("user".to_string(), "bob".to_string())
        ]
    );
}

#[test]
fn jaeger_inject_rules() {
    let propagator = JaegerPropagator::new();
    let out = inject(&propagator, &context(TRACE_2, SPAN_2, 0x01));
    assert_eq!(
        header(&out, "uber-trace-id"),
        Some(format!("{TRACE_2}:{SPAN_2}:0:01"))
    );
    let out = inject(&propagator, &context(TRACE_2, SPAN_2, 0x02));
    assert_eq!(
        header(&out, "uber-trace-id"),
        Some(format!("{TRACE_2}:{SPAN_2}:0:00"))
    );
    let out = inject(&propagator, &context("abc", "def", 0x01));
    assert_eq!(
        header(&out, "uber-trace-id"),
        Some(format!("{}abc:{}def:0:01", "0".repeat(29), "0".repeat(13)))
    );
    assert!(inject(&propagator, &Context::new()).is_empty());
}

// ---------------------------------------------------------------------------------------------
// AWS X-Ray

/// The tracing header example of the X-Ray developer guide, and the W3C trace id it maps to.
const XRAY_ROOT: &str = "1-5759e988-bd862e3fe1be46a994272793";
const XRAY_TRACE: &str = "5759e988bd862e3fe1be46a994272793";
const XRAY_PARENT: &str = "53995c3f42cd8ad8";
/// What an Application Load Balancer sends when the request had no `X-Amzn-Trace-Id`.
const ALB_ROOT_ONLY: &str = "Root=1-67891233-abcdef012345678912345678";

fn xray_header(sampled: &str) -> String {
    format!("Root={XRAY_ROOT};Parent={XRAY_PARENT};Sampled={sampled}")
}

fn xray(flags: u8) -> Outcome {
    continued(XRAY_TRACE, XRAY_PARENT, flags, "")
}

#[test]
fn xray_rules() {
    let rows = vec![
        row(
            "documented example",
            &[("x-amzn-trace-id", &xray_header("1"))],
            xray(1),
        ),
        row(
            "header name as AWS writes it",
            &[("X-Amzn-Trace-Id", &xray_header("1"))],
            xray(1),
        ),
        row(
            "not sampled",
            &[("x-amzn-trace-id", &xray_header("0"))],
            xray(0),
        ),
        row(
            "sampling requested from the receiver",
            &[("x-amzn-trace-id", &xray_header("?"))],
            xray(0),
        ),
        row(
            "through a load balancer that added Self",
            &[(
                "x-amzn-trace-id",
                &format!(
                    "Self=1-67891234-12456789abcdef0123456789;{}",
                    xray_header("1")
                ),
            )],
            xray(1),
        ),
        row(
            "with Lineage, reordered, spaced",
            &[(
                "x-amzn-trace-id",
                &format!("Lineage=a87bd80c:1 ; Sampled=1; Parent={XRAY_PARENT}; Root={XRAY_ROOT}"),
            )],
            xray(1),
        ),
        row(
            "two headers: the first is read",
            &[
                ("x-amzn-trace-id", &xray_header("1")),
                (
                    "x-amzn-trace-id",
                    &format!("Root=1-00000001-000000000000000000000001;Parent={PARENT};Sampled=1"),
                ),
            ],
            xray(1),
        ),
        row(
            "Root only, from a load balancer",
            &[("x-amzn-trace-id", ALB_ROOT_ONLY)],
            Outcome::Restarted,
        ),
        row(
            "Root and Self only",
            &[(
                "x-amzn-trace-id",
                &format!("Self=1-67891234-12456789abcdef0123456789;{ALB_ROOT_ONLY}"),
            )],
            Outcome::Restarted,
        ),
        row(
            "version 2",
            &[(
                "x-amzn-trace-id",
                &format!("Root=2-5759e988-bd862e3fe1be46a994272793;Parent={XRAY_PARENT}"),
            )],
            Outcome::Restarted,
        ),
        row(
            "W3C trace id as Root",
            &[(
                "x-amzn-trace-id",
                &format!("Root={XRAY_TRACE};Parent={XRAY_PARENT}"),
            )],
            Outcome::Restarted,
        ),
        row(
            "zero Parent",
            &[(
                "x-amzn-trace-id",
                &format!("Root={XRAY_ROOT};Parent=0000000000000000;Sampled=1"),
            )],
            Outcome::Restarted,
        ),
        row("empty", &[("x-amzn-trace-id", "")], Outcome::Restarted),
    ];
    check_rows(&XrayPropagator::new(), &rows);
}

#[test]
fn xray_inject_rules() {
    let propagator = XrayPropagator::new();
    let out = inject(&propagator, &context(TRACE_2, SPAN_2, 0x01));
    assert_eq!(
        header(&out, "x-amzn-trace-id").as_deref(),
        Some("Root=1-0af76519-16cd43dd8448eb211c80319c;Parent=b7ad6b7169203331;Sampled=1")
    );
    let out = inject(&propagator, &context(TRACE_2, SPAN_2, 0x02));
    assert_eq!(
        header(&out, "x-amzn-trace-id").as_deref(),
        Some("Root=1-0af76519-16cd43dd8448eb211c80319c;Parent=b7ad6b7169203331;Sampled=0")
    );
    assert!(inject(&propagator, &Context::new()).is_empty());
}

/// A service behind a load balancer, with `OTEL_PROPAGATORS=tracecontext,xray`: `GET /orders/{id}`
/// calls a downstream service with the traced reqwest client, and the downstream answers with the
/// `X-Amzn-Trace-Id` it received.
async fn xray_service() -> (SocketAddr, InMemorySpanExporter, Telemetry) {
    let exporter = InMemorySpanExporter::default();
    let telemetry = Builder::new()
        .service_name("orders")
        .without_otlp()
        .env(|name| (name == "OTEL_PROPAGATORS").then(|| "tracecontext,xray".to_string()))
        .span_processor(SimpleSpanProcessor::new(exporter.clone()))
        .build()
        .expect("telemetry");
    let instrumentation = Instrumentation::from_telemetry(&telemetry);
    let downstream =
        serve(Router::new().route(
            "/echo",
            get(|headers: HeaderMap| async move {
                header(&headers, "x-amzn-trace-id").unwrap_or_default()
            }),
        ))
        .await;
    let client = traced_client(reqwest::Client::new(), instrumentation.clone());
    let app = Router::new()
        .route(
            "/orders/{id}",
            get(move || {
                let client = client.clone();
                async move {
                    match client.get(format!("http://{downstream}/echo")).send().await {
                        Ok(response) => response.text().await.unwrap_or_else(|e| e.to_string()),
                        Err(e) => e.to_string(),
                    }
                }
            }),
        )
        .layer(TraceLayer::new(instrumentation));
    (serve(app).await, exporter, telemetry)
}

/// Sends `headers` to the service; returns the SERVER span, the CLIENT span and the
/// `X-Amzn-Trace-Id` the downstream service received.
async fn call_xray_service(headers: &[(&str, &str)]) -> (SpanData, SpanData, String) {
    let (addr, exporter, _telemetry) = xray_service().await;
    let mut request = reqwest::Client::new().get(format!("http://{addr}/orders/7"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("request");
    assert_eq!(response.status(), 200);
    let downstream_header = response.text().await.expect("body");
    let spans = wait_for_spans(&exporter, 2).await;
    let server = named(&spans, "GET /orders/{id}").clone();
    let client = named(&spans, "GET").clone();
    (server, client, downstream_header)
}

#[tokio::test]
async fn an_http_server_continues_the_trace_of_an_xray_header() {
    // An instrumented caller through a load balancer, which added Self.
    let incoming = format!(
        "Self=1-67891234-12456789abcdef0123456789;Root={XRAY_ROOT};Parent={XRAY_PARENT};Sampled=1"
    );
    let (server, client, downstream_header) =
        call_xray_service(&[("X-Amzn-Trace-Id", &incoming)]).await;
    assert_eq!(trace_of(&server).to_string(), XRAY_TRACE);
    assert_eq!(server.parent_span_id.to_string(), XRAY_PARENT);
    assert!(server.parent_span_is_remote);
    assert!(server.span_context.is_sampled());
    assert_eq!(trace_of(&client).to_string(), XRAY_TRACE);
    assert_eq!(client.parent_span_id, id_of(&server));
    // The trace goes on downstream in X-Ray form, with the client span as the parent.
    assert_eq!(
        downstream_header,
        format!("Root={XRAY_ROOT};Parent={};Sampled=1", id_of(&client))
    );
}

#[tokio::test]
async fn an_http_server_starts_a_trace_for_a_root_without_parent() {
    // A load balancer's header alone names no span to continue: the service starts a trace.
    let (server, client, downstream_header) =
        call_xray_service(&[("X-Amzn-Trace-Id", ALB_ROOT_ONLY)]).await;
    let trace_id = trace_of(&server).to_string();
    assert_ne!(trace_id, "67891233abcdef012345678912345678");
    assert_eq!(server.parent_span_id, SpanId::INVALID);
    assert_eq!(
        downstream_header,
        format!(
            "Root=1-{}-{};Parent={};Sampled=1",
            &trace_id[..8],
            &trace_id[8..],
            id_of(&client)
        )
    );

    // With a traceparent beside it, the W3C context is kept: the header does not wipe it.
    let traceparent = traceparent("00", TRACE, PARENT, "01");
    let (server, _, _) = call_xray_service(&[
        ("traceparent", &traceparent),
        ("X-Amzn-Trace-Id", ALB_ROOT_ONLY),
    ])
    .await;
    assert_eq!(trace_of(&server).to_string(), TRACE);
    assert_eq!(server.parent_span_id.to_string(), PARENT);
}

// ---------------------------------------------------------------------------------------------
// Round trips between formats

#[test]
fn round_trips_between_formats() {
    let formats: Vec<(&str, Box<dyn TextMapPropagator>)> = vec![
        ("w3c", Box::new(W3cTraceContextPropagator::new())),
        (
            "b3 single",
            Box::new(B3Propagator::with_encoding(B3Encoding::SingleHeader)),
        ),
        (
            "b3 multi",
            Box::new(B3Propagator::with_encoding(B3Encoding::MultipleHeader)),
        ),
        (
            "b3 both",
            Box::new(B3Propagator::with_encoding(
                B3Encoding::SingleAndMultiHeader,
            )),
        ),
        ("jaeger", Box::new(JaegerPropagator::new())),
        ("xray", Box::new(XrayPropagator::new())),
    ];
    for sampled in [true, false] {
        let flags = if sampled { 0x01 } else { 0x00 };
        let original = context(TRACE_2, SPAN_2, flags);
        for (from_name, from) in &formats {
            let received = extract(from.as_ref(), &inject(from.as_ref(), &original));
            for (to_name, to) in &formats {
                let name = format!("{from_name} -> {to_name}, sampled {sampled}");
                let out = inject(to.as_ref(), &received);
                let cx = extract(to.as_ref(), &out);
                let span = cx.span();
                let got = span.span_context();
                assert_eq!(got.trace_id().to_string(), TRACE_2, "{name}");
                assert_eq!(got.span_id().to_string(), SPAN_2, "{name}");
                assert_eq!(got.is_sampled(), sampled, "{name}");
                assert!(got.is_remote(), "{name}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Propagators by OTEL_PROPAGATORS names

/// The header names a propagator writes for a sampled span context with baggage `k=v`.
fn injected_names(propagator: &dyn TextMapPropagator) -> Vec<String> {
    let cx = context(TRACE_2, SPAN_2, 0x01).with_baggage([KeyValue::new("k", "v")]);
    let mut names: Vec<String> = inject(propagator, &cx)
        .keys()
        .map(|n| n.as_str().to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn propagators_by_name() {
    let rows: &[(&str, &[&str])] = &[
        ("", &["baggage", "traceparent"]),
        (" \t ", &["baggage", "traceparent"]),
        ("tracecontext", &["traceparent"]),
        ("tracecontext,baggage", &["baggage", "traceparent"]),
        ("baggage", &["baggage"]),
        (" b3 ", &["b3"]),
        ("b3multi", &["x-b3-sampled", "x-b3-spanid", "x-b3-traceid"]),
        (
            "b3, b3multi",
            &["b3", "x-b3-sampled", "x-b3-spanid", "x-b3-traceid"],
        ),
        ("jaeger", &["uber-trace-id", "uberctx-k"]),
        ("xray", &["x-amzn-trace-id"]),
        (
            "tracecontext,baggage,xray",
            &["baggage", "traceparent", "x-amzn-trace-id"],
        ),
        (
            "tracecontext,,jaeger,",
            &["traceparent", "uber-trace-id", "uberctx-k"],
        ),
        ("tracecontext,tracecontext", &["traceparent"]),
        ("none", &[]),
        ("none,none", &[]),
    ];
    for (names, expected) in rows {
        let propagator = propagator_from_names(names).unwrap_or_else(|e| panic!("{names:?}: {e}"));
        assert_eq!(injected_names(&propagator), *expected, "{names:?}");
    }
    assert_eq!(
        injected_names(&default_propagator()),
        ["baggage", "traceparent"]
    );
}

#[test]
fn propagator_names_errors() {
    use PropagationError as E;
    let rows: &[(&str, PropagationError)] = &[
        ("TraceContext", E::UnknownPropagator("TraceContext".into())),
        ("awsxray", E::UnknownPropagator("awsxray".into())),
        ("XRay", E::UnknownPropagator("XRay".into())),
        ("tracecontext,foo", E::UnknownPropagator("foo".into())),
        ("b3 multi", E::UnknownPropagator("b3 multi".into())),
        ("none,tracecontext", E::NoneWithOthers),
        ("baggage, none", E::NoneWithOthers),
    ];
    for (names, expected) in rows {
        assert_eq!(
            propagator_from_names(names).err().as_ref(),
            Some(expected),
            "{names:?}"
        );
    }
}

#[test]
fn repeated_names_count_once() {
    let debug = |names| format!("{:?}", propagator_from_names(names).expect("valid names"));
    assert_eq!(
        debug("tracecontext,baggage,tracecontext")
            .matches("W3cTraceContextPropagator")
            .count(),
        1
    );
    assert_eq!(debug("b3,jaeger,b3").matches("B3Propagator").count(), 1);
    assert_eq!(debug("b3,b3multi").matches("B3Propagator").count(), 2);
}

#[test]
fn none_propagates_nothing() {
    let propagator = propagator_from_names("none").expect("valid names");
    let headers = header_map(&[("traceparent", traceparent("00", TRACE, PARENT, "01"))]);
    assert!(!extract(&propagator, &headers)
        .span()
        .span_context()
        .is_valid());
    assert_eq!(propagator.fields().count(), 0);
}

#[test]
fn composition_order() {
    let w3c_and_b3 = [
        ("traceparent", traceparent("00", TRACE, PARENT, "01")),
        ("b3", format!("{B3_TRACE}-{B3_SPAN}-0")),
    ];
    let only_w3c = [("traceparent", traceparent("00", TRACE, PARENT, "01"))];
    let only_b3 = [("b3", format!("{B3_TRACE}-{B3_SPAN}-0"))];
    let w3c_and_xray = [
        ("traceparent", traceparent("00", TRACE, PARENT, "01")),
        ("x-amzn-trace-id", xray_header("1")),
    ];
    let w3c_and_alb = [
        ("traceparent", traceparent("00", TRACE, PARENT, "01")),
        ("x-amzn-trace-id", ALB_ROOT_ONLY.to_string()),
    ];
    let rows: &[(&str, &Headers, (&str, &str))] = &[
        ("tracecontext,b3", &w3c_and_b3, (B3_TRACE, B3_SPAN)),
        ("b3,tracecontext", &w3c_and_b3, (TRACE, PARENT)),
        ("tracecontext,b3", &only_w3c, (TRACE, PARENT)),
        ("b3,tracecontext", &only_b3, (B3_TRACE, B3_SPAN)),
        ("tracecontext,jaeger,b3multi", &only_w3c, (TRACE, PARENT)),
        ("jaeger,b3multi,tracecontext", &only_w3c, (TRACE, PARENT)),
        (
            "tracecontext,xray",
            &w3c_and_xray,
            (XRAY_TRACE, XRAY_PARENT),
        ),
        ("xray,tracecontext", &w3c_and_xray, (TRACE, PARENT)),
        ("tracecontext,xray", &w3c_and_alb, (TRACE, PARENT)),
    ];
    for (names, headers, (trace_id, span_id)) in rows {
        let propagator = propagator_from_names(names).expect("valid names");
        let cx = extract(&propagator, &header_map(headers));
        let span = cx.span();
        let sc = span.span_context();
        assert_eq!(sc.trace_id().to_string(), *trace_id, "{names}");
        assert_eq!(sc.span_id().to_string(), *span_id, "{names}");
    }
}

#[test]
fn composite_keeps_baggage_and_trace_from_different_propagators() {
    let propagator: TextMapCompositePropagator =
        propagator_from_names("tracecontext,baggage,jaeger").expect("valid names");
    let headers = header_map(&[
        ("traceparent", traceparent("00", TRACE, PARENT, "03")),
        ("tracestate", "rojo=1".to_string()),
        ("baggage", "w3c=1".to_string()),
        ("uberctx-jaeger", "2".to_string()),
    ]);
    let cx = extract(&propagator, &headers);
    assert_eq!(cx.span().span_context().trace_id().to_string(), TRACE);
    assert_eq!(
        baggage_of(&cx),
        [
            ("jaeger".to_string(), "2".to_string()),
            ("w3c".to_string(), "1".to_string())
        ]
    );
    let out = inject(&propagator, &cx);
    assert_eq!(
        header(&out, "traceparent"),
        Some(traceparent("00", TRACE, PARENT, "03"))
    );
    assert_eq!(header(&out, "tracestate").as_deref(), Some("rojo=1"));
    assert_eq!(
        header(&out, "uber-trace-id"),
        Some(format!("{TRACE}:{PARENT}:0:01"))
    );
    let mut fields: Vec<&str> = propagator.fields().collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        ["baggage", "traceparent", "tracestate", "uber-trace-id"]
    );
}
