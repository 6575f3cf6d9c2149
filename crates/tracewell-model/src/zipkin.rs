//! Zipkin v2 JSON ingestion: decodes the body of `POST /api/v2/spans` (a JSON
//! array of Zipkin v2 spans) into an OTLP [`ExportTraceServiceRequest`], so that
//! Zipkin-instrumented services feed the same pipeline as OTLP exporters.
//!
//! This module owns only the format conversion. It checks what it needs to
//! build OTLP bytes (ids are hex of the right length, numbers are not
//! negative) and leaves semantic validation — all-zero ids, zero or inverted
//! timestamps — to the downstream validation step, which can report partial
//! success span by span.
//!
//! # Mapping
//!
//! The mapping follows the OpenTelemetry Collector's Zipkin receiver, with the
//! deviations called out below.
//!
//! | Zipkin v2 | OTLP |
//! |-----------|------|
//! | `traceId` (16 or 32 hex) | `trace_id`; 16 hex digits are left-padded with zero bytes |
//! | `id` (16 hex) | `span_id` |
//! | `parentId` (16 hex) | `parent_span_id`; left empty when absent, `""`, all zeros, or equal to `id` |
//! | `name` | `name` (absent → `""`) |
//! | `kind` | `CLIENT`/`SERVER`/`PRODUCER`/`CONSUMER` (any case) → same OTLP kind; absent or unknown → `SPAN_KIND_UNSPECIFIED`, as in the Collector (see `span.kind` below) |
//! | `timestamp` (µs) | `start_time_unix_nano` |
//! | `duration` (µs) | `end_time_unix_nano = start + duration`, saturating; absent → `end = start` |
//! | `localEndpoint.serviceName` | resource `service.name`; absent or empty → [`crate::UNKNOWN_SERVICE`] |
//! | `localEndpoint.ipv4`/`ipv6`, `port` | span attributes `network.local.address`, `network.local.port` |
//! | `remoteEndpoint.serviceName` | span attribute `peer.service` |
//! | `remoteEndpoint.ipv4`/`ipv6`, `port` | span attributes `network.peer.address`, `network.peer.port` |
//! | `annotations[]` | events: `timestamp` (µs) → `time_unix_nano`, `value` → `name` |
//! | `tags` | string span attributes, except the special tags below |
//! | `shared: true` / `debug: true` | boolean span attributes `zipkin.shared` / `zipkin.debug` |
//! | (no status tags) | `status: None` (unset) |
//!
//! Special tags, consumed rather than copied to attributes:
//!
//! * `error`: any presence sets the status to `ERROR` (Zipkin's own meaning:
//!   Brave and others put the error message or type there). The value becomes
//!   the status message unless it is empty or `true`.
//! * `otel.status_code` (`OK`/`ERROR`/`UNSET`, also `STATUS_CODE_*`, any case)
//!   and `otel.status_description` set the status; `error` wins over them.
//!   An unrecognised code leaves both tags as plain attributes.
//! * `otel.scope.name`/`otel.scope.version` (or the older
//!   `otel.library.name`/`otel.library.version`) set the instrumentation scope.
//! * `w3c.tracestate` sets `trace_state`.
//! * `span.kind`, only when `kind` is absent: `internal` → `SPAN_KIND_INTERNAL`
//!   (what OpenTelemetry's Zipkin exporters write for internal spans); the
//!   other OTLP kind names are honoured the same way.
//!
//! Decisions where this differs from, or goes beyond, the Collector:
//!
//! * The `error` tag marks an error whatever its value and is consumed; older
//!   Collector releases only honoured the value `true`, which misses the
//!   messages Zipkin tracers usually put there.
//! * Spans are grouped into one `ResourceSpans` per service name in order of
//!   first appearance, and within it one `ScopeSpans` per distinct
//!   (scope name, version), keeping input order. The Collector sorts by name.
//! * Endpoint addresses use the current semantic-convention names
//!   (`network.local.*`, `network.peer.*`) instead of the deprecated
//!   `net.host.*`/`net.peer.*`. They stay span attributes, not resource
//!   attributes, because the resource is keyed by service name only and one
//!   service can report from several hosts. Addresses that do not parse as
//!   IP addresses are dropped, as the Zipkin server does; when both `ipv4` and
//!   `ipv6` are set, `ipv6` wins (as in the Collector); port `0` means unset.
//! * A missing `service.name` becomes `unknown_service` (the OpenTelemetry
//!   SDK default) instead of a resource without `service.name`.
//! * Resource semantic-convention tags (`host.name`, ...) are not lifted
//!   to the resource; they stay span attributes.
//! * Tag values that are JSON numbers or booleans are accepted and stored in
//!   their JSON text form; `null` tag values are skipped.
//! * Annotation values are not split on `|` into event attributes (that is a
//!   Collector-to-Collector round-trip convention); the whole value is the
//!   event name. The `otlp.link.N` tags are likewise kept as attributes.
//! * A missing or zero `timestamp` gives `start_time_unix_nano = 0` and the
//!   Collector's marker attribute `otel.zipkin.absentField.startTime = true`.
//! * `shared` and `debug` are ignored by the Collector; they are kept here as
//!   attributes because shared server spans reuse the client's span id and
//!   later stages may need to tell the two apart.
//! * Any unknown JSON field is ignored; hex is accepted in either case.
//!
//! # Errors
//!
//! A body that is not JSON, or not a JSON array, gives [`ZipkinError::Json`]
//! with serde's message. A span that cannot be converted — wrong field type,
//! missing or malformed id, negative number — gives
//! [`ZipkinError::InvalidSpan`] with the index of the span in the array and a
//! reason naming the field. The first bad span fails the whole request.

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::IpAddr;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    any_value::Value, AnyValue, InstrumentationScope, KeyValue,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::{Event, SpanKind};
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use serde::de::{self, DeserializeSeed, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;

/// Resource attribute naming the service that reported the spans.
const SERVICE_NAME: &str = "service.name";

const ATTR_PEER_SERVICE: &str = "peer.service";
const ATTR_LOCAL_ADDRESS: &str = "network.local.address";
const ATTR_LOCAL_PORT: &str = "network.local.port";
const ATTR_PEER_ADDRESS: &str = "network.peer.address";
const ATTR_PEER_PORT: &str = "network.peer.port";
const ATTR_SHARED: &str = "zipkin.shared";
const ATTR_DEBUG: &str = "zipkin.debug";
/// Marker the OpenTelemetry Collector sets when a Zipkin span had no timestamp.
const ATTR_START_TIME_ABSENT: &str = "otel.zipkin.absentField.startTime";

const TAG_ERROR: &str = "error";
const TAG_STATUS_CODE: &str = "otel.status_code";
const TAG_STATUS_DESCRIPTION: &str = "otel.status_description";
const TAG_SCOPE_NAME: &str = "otel.scope.name";
const TAG_SCOPE_VERSION: &str = "otel.scope.version";
const TAG_LIBRARY_NAME: &str = "otel.library.name";
const TAG_LIBRARY_VERSION: &str = "otel.library.version";
const TAG_TRACE_STATE: &str = "w3c.tracestate";
const TAG_SPAN_KIND: &str = "span.kind";

/// Why a Zipkin v2 JSON body could not be converted.
#[derive(Debug, thiserror::Error)]
pub enum ZipkinError {
    /// The body is not valid JSON, or not a JSON array.
    #[error("invalid Zipkin v2 JSON: {0}")]
    Json(String),
    /// The span at `index` in the array cannot be converted.
    #[error("span {index}: {reason}")]
    InvalidSpan { index: usize, reason: String },
}

/// Decodes a Zipkin v2 JSON body (`POST /api/v2/spans`) into an OTLP export
/// request, one `ResourceSpans` per service name. See the module docs for the
/// field mapping.
pub fn decode_zipkin_json(body: &[u8]) -> Result<ExportTraceServiceRequest, ZipkinError> {
    let spans = parse_spans(body)?;
    let mut batch = Batch::default();
    for (index, span) in spans.into_iter().enumerate() {
        let converted =
            convert_span(span).map_err(|reason| ZipkinError::InvalidSpan { index, reason })?;
        batch.push(converted);
    }
    Ok(batch.finish())
}

// ---------------------------------------------------------------------------
// Zipkin v2 wire model
// ---------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ZipkinSpan {
    trace_id: Option<String>,
    id: Option<String>,
    parent_id: Option<String>,
    name: Option<String>,
    kind: Option<String>,
    timestamp: Option<i64>,
    duration: Option<i64>,
    local_endpoint: Option<Endpoint>,
    remote_endpoint: Option<Endpoint>,
    annotations: Option<Vec<Annotation>>,
    tags: Option<BTreeMap<String, TagValue>>,
    debug: Option<bool>,
    shared: Option<bool>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Endpoint {
    service_name: Option<String>,
    ipv4: Option<String>,
    ipv6: Option<String>,
    port: Option<i64>,
}

#[derive(Deserialize)]
struct Annotation {
    timestamp: Option<i64>,
    value: Option<String>,
}

/// A tag value. Zipkin defines tags as strings, but some tracers send numbers
/// or booleans; those are kept in their JSON text form. `null` is `None`.
struct TagValue(Option<String>);

impl<'de> Deserialize<'de> for TagValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TagValueVisitor;

        impl Visitor<'_> for TagValueVisitor {
            type Value = TagValue;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string tag value")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<TagValue, E> {
                Ok(TagValue(Some(v.to_owned())))
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<TagValue, E> {
                Ok(TagValue(Some(v)))
            }

            fn visit_bool<E: de::Error>(self, v: bool) -> Result<TagValue, E> {
                Ok(TagValue(Some(v.to_string())))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<TagValue, E> {
                Ok(TagValue(Some(v.to_string())))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<TagValue, E> {
                Ok(TagValue(Some(v.to_string())))
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<TagValue, E> {
                Ok(TagValue(Some(v.to_string())))
            }

            fn visit_unit<E: de::Error>(self) -> Result<TagValue, E> {
                Ok(TagValue(None))
            }

            fn visit_none<E: de::Error>(self) -> Result<TagValue, E> {
                Ok(TagValue(None))
            }
        }

        deserializer.deserialize_any(TagValueVisitor)
    }
}

/// Reads the top-level array, recording the index of the element being read
/// so that a type error inside it can be reported against that span.
struct SpanList<'a> {
    current: &'a Cell<Option<usize>>,
}

impl<'de> DeserializeSeed<'de> for SpanList<'_> {
    type Value = Vec<ZipkinSpan>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for SpanList<'_> {
    type Value = Vec<ZipkinSpan>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON array of Zipkin v2 spans")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        // The hint comes from the input; cap it so a lying hint cannot
        // allocate much.
        let mut spans = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        loop {
            self.current.set(Some(spans.len()));
            match seq.next_element::<ZipkinSpan>()? {
                Some(span) => spans.push(span),
                None => break,
            }
        }
        self.current.set(None);
        Ok(spans)
    }
}

fn parse_spans(body: &[u8]) -> Result<Vec<ZipkinSpan>, ZipkinError> {
    let current = Cell::new(None);
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let parsed = SpanList { current: &current }
        .deserialize(&mut deserializer)
        .and_then(|spans| deserializer.end().map(|()| spans));
    parsed.map_err(|err| match (err.classify(), current.get()) {
        // A well-formed document whose element has the wrong shape: blame the span.
        (serde_json::error::Category::Data, Some(index)) => ZipkinError::InvalidSpan {
            index,
            reason: err.to_string(),
        },
        _ => ZipkinError::Json(err.to_string()),
    })
}

// ---------------------------------------------------------------------------
// Conversion of one span
// ---------------------------------------------------------------------------

/// Scope identity used for grouping: (name, version).
type ScopeKey = (String, String);

struct Converted {
    service: String,
    scope: ScopeKey,
    span: Span,
}

fn convert_span(z: ZipkinSpan) -> Result<Converted, String> {
    let trace_id = decode_trace_id(z.trace_id.as_deref())?;
    let span_id = decode_span_id("id", z.id.as_deref().ok_or("id is required")?)?;
    let parent_span_id = match z.parent_id.as_deref() {
        None | Some("") => Vec::new(),
        Some(text) => {
            let parent = decode_span_id("parentId", text)?;
            // A zero parent means "no parent"; the Collector also drops a
            // parent equal to the span's own id.
            if parent.iter().all(|b| *b == 0) || parent == span_id {
                Vec::new()
            } else {
                parent
            }
        }
    };

    let start_us = non_negative("timestamp", z.timestamp)?.unwrap_or(0);
    let duration_us = non_negative("duration", z.duration)?.unwrap_or(0);
    let start_time_unix_nano = start_us.saturating_mul(1_000);
    let end_time_unix_nano = start_time_unix_nano.saturating_add(duration_us.saturating_mul(1_000));

    let events = z
        .annotations
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, annotation)| {
            let field = format!("annotations[{i}].timestamp");
            let timestamp = non_negative(&field, annotation.timestamp)?
                .ok_or_else(|| format!("{field} is required"))?;
            Ok(Event {
                time_unix_nano: timestamp.saturating_mul(1_000),
                name: annotation.value.unwrap_or_default(),
                ..Default::default()
            })
        })
        .collect::<Result<Vec<_>, String>>()?;

    let local = z.local_endpoint.unwrap_or_default();
    let remote = z.remote_endpoint.unwrap_or_default();
    let local_port = endpoint_port("localEndpoint.port", local.port)?;
    let remote_port = endpoint_port("remoteEndpoint.port", remote.port)?;

    let mut tags: BTreeMap<String, String> = z
        .tags
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(key, value)| value.0.map(|value| (key, value)))
        .collect();

    let kind = match z.kind.as_deref() {
        Some(kind) => zipkin_kind(kind),
        // The Collector maps a span without `kind` to SPAN_KIND_UNSPECIFIED
        // (Zipkin has no INTERNAL kind), unless OpenTelemetry's Zipkin exporter
        // recorded the original kind in a `span.kind` tag.
        None => tags
            .remove(TAG_SPAN_KIND)
            .map_or(SpanKind::Unspecified, |kind| otel_kind_tag(&kind)),
    };

    let status = take_status(&mut tags);
    let scope = take_scope(&mut tags);
    let trace_state = tags.remove(TAG_TRACE_STATE).unwrap_or_default();

    let mut attributes: Vec<KeyValue> = tags
        .into_iter()
        .map(|(key, value)| string_kv(key, value))
        .collect();
    // Endpoint-derived attributes override same-named tags, as in the Collector.
    if let Some(address) = endpoint_address(&local) {
        upsert(
            &mut attributes,
            ATTR_LOCAL_ADDRESS,
            Value::StringValue(address),
        );
    }
    if let Some(port) = local_port {
        upsert(&mut attributes, ATTR_LOCAL_PORT, Value::IntValue(port));
    }
    if let Some(peer) = remote
        .service_name
        .as_deref()
        .filter(|name| !name.is_empty())
    {
        upsert(
            &mut attributes,
            ATTR_PEER_SERVICE,
            Value::StringValue(peer.to_owned()),
        );
    }
    if let Some(address) = endpoint_address(&remote) {
        upsert(
            &mut attributes,
            ATTR_PEER_ADDRESS,
            Value::StringValue(address),
        );
    }
    if let Some(port) = remote_port {
        upsert(&mut attributes, ATTR_PEER_PORT, Value::IntValue(port));
    }
    if z.shared == Some(true) {
        upsert(&mut attributes, ATTR_SHARED, Value::BoolValue(true));
    }
    if z.debug == Some(true) {
        upsert(&mut attributes, ATTR_DEBUG, Value::BoolValue(true));
    }
    if start_us == 0 {
        upsert(
            &mut attributes,
            ATTR_START_TIME_ABSENT,
            Value::BoolValue(true),
        );
    }

    let service = local
        .service_name
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| crate::UNKNOWN_SERVICE.to_owned());

    Ok(Converted {
        service,
        scope,
        span: Span {
            trace_id,
            span_id,
            trace_state,
            parent_span_id,
            name: z.name.unwrap_or_default(),
            kind: kind as i32,
            start_time_unix_nano,
            end_time_unix_nano,
            attributes,
            events,
            status,
            ..Default::default()
        },
    })
}

fn decode_trace_id(text: Option<&str>) -> Result<Vec<u8>, String> {
    let text = text.ok_or("traceId is required")?;
    let mut id = vec![0u8; 16];
    let decoded = match text.len() {
        // 64-bit trace ids are the low half of a 128-bit id.
        16 => hex::decode_to_slice(text, &mut id[8..]),
        32 => hex::decode_to_slice(text, &mut id[..]),
        _ => return Err("traceId must be 16 or 32 hex characters".to_owned()),
    };
    decoded.map_err(|err| format!("traceId is not valid hex: {err}"))?;
    Ok(id)
}

fn decode_span_id(field: &str, text: &str) -> Result<Vec<u8>, String> {
    if text.len() != 16 {
        return Err(format!("{field} must be 16 hex characters"));
    }
    let mut id = vec![0u8; 8];
    hex::decode_to_slice(text, &mut id)
        .map_err(|err| format!("{field} is not valid hex: {err}"))?;
    Ok(id)
}

fn non_negative(field: &str, value: Option<i64>) -> Result<Option<u64>, String> {
    match value {
        None => Ok(None),
        Some(v) => u64::try_from(v)
            .map(Some)
            .map_err(|_| format!("{field} must not be negative")),
    }
}

/// Port `0` (or absent) means "not set"; anything outside 0..=65535 is an error.
fn endpoint_port(field: &str, port: Option<i64>) -> Result<Option<i64>, String> {
    match port {
        None | Some(0) => Ok(None),
        Some(p) if (1..=65_535).contains(&p) => Ok(Some(p)),
        Some(p) if p < 0 => Err(format!("{field} must not be negative")),
        Some(_) => Err(format!("{field} must be at most 65535")),
    }
}

/// The endpoint's IP address in canonical text form; `ipv6` wins over `ipv4`
/// as in the Collector. Unparseable addresses are ignored, as the Zipkin server
/// ignores them.
fn endpoint_address(endpoint: &Endpoint) -> Option<String> {
    [endpoint.ipv6.as_deref(), endpoint.ipv4.as_deref()]
        .into_iter()
        .flatten()
        .find_map(|text| text.parse::<IpAddr>().ok())
        .map(|ip| ip.to_string())
}

fn zipkin_kind(kind: &str) -> SpanKind {
    if kind.eq_ignore_ascii_case("CLIENT") {
        SpanKind::Client
    } else if kind.eq_ignore_ascii_case("SERVER") {
        SpanKind::Server
    } else if kind.eq_ignore_ascii_case("PRODUCER") {
        SpanKind::Producer
    } else if kind.eq_ignore_ascii_case("CONSUMER") {
        SpanKind::Consumer
    } else {
        SpanKind::Unspecified
    }
}

fn otel_kind_tag(kind: &str) -> SpanKind {
    if kind.eq_ignore_ascii_case("internal") {
        SpanKind::Internal
    } else {
        zipkin_kind(kind)
    }
}

fn parse_status_code(code: &str) -> Option<StatusCode> {
    let code = code.trim();
    let code = code
        .get(..12)
        .filter(|prefix| prefix.eq_ignore_ascii_case("STATUS_CODE_"))
        .map_or(code, |_| &code[12..]);
    if code.eq_ignore_ascii_case("OK") {
        Some(StatusCode::Ok)
    } else if code.eq_ignore_ascii_case("ERROR") {
        Some(StatusCode::Error)
    } else if code.eq_ignore_ascii_case("UNSET") {
        Some(StatusCode::Unset)
    } else {
        None
    }
}

/// Consumes the status tags. `error` wins over `otel.status_code`.
fn take_status(tags: &mut BTreeMap<String, String>) -> Option<Status> {
    let mut code = StatusCode::Unset;
    let mut message = String::new();
    if let Some(parsed) = tags
        .get(TAG_STATUS_CODE)
        .and_then(|value| parse_status_code(value))
    {
        code = parsed;
        tags.remove(TAG_STATUS_CODE);
        message = tags.remove(TAG_STATUS_DESCRIPTION).unwrap_or_default();
    }
    if let Some(error) = tags.remove(TAG_ERROR) {
        code = StatusCode::Error;
        if !error.is_empty() && !error.eq_ignore_ascii_case("true") {
            message = error;
        }
    }
    if code == StatusCode::Unset && message.is_empty() {
        None
    } else {
        Some(Status {
            message,
            code: code as i32,
        })
    }
}

/// Consumes the scope tags; `otel.scope.*` wins over `otel.library.*`.
fn take_scope(tags: &mut BTreeMap<String, String>) -> ScopeKey {
    let library_name = tags.remove(TAG_LIBRARY_NAME);
    let library_version = tags.remove(TAG_LIBRARY_VERSION);
    let name = tags
        .remove(TAG_SCOPE_NAME)
        .or(library_name)
        .unwrap_or_default();
    let version = tags
        .remove(TAG_SCOPE_VERSION)
        .or(library_version)
        .unwrap_or_default();
    (name, version)
}

fn string_kv(key: String, value: String) -> KeyValue {
    KeyValue {
        key,
        value: Some(AnyValue {
            value: Some(Value::StringValue(value)),
        }),
        ..Default::default()
    }
}

fn upsert(attributes: &mut Vec<KeyValue>, key: &str, value: Value) {
    let value = Some(AnyValue { value: Some(value) });
    match attributes.iter_mut().find(|kv| kv.key == key) {
        Some(existing) => existing.value = value,
        None => attributes.push(KeyValue {
            key: key.to_owned(),
            value,
            ..Default::default()
        }),
    }
}

// ---------------------------------------------------------------------------
// Grouping into ResourceSpans / ScopeSpans
// ---------------------------------------------------------------------------

/// Builds the request: one `ResourceSpans` per service and one `ScopeSpans`
/// per scope within it, both in order of first appearance.
#[derive(Default)]
struct Batch {
    resources: Vec<ResourceSpans>,
    /// service name → (index in `resources`, scope key → index in its `scope_spans`)
    index: HashMap<String, (usize, HashMap<ScopeKey, usize>)>,
}

impl Batch {
    fn push(&mut self, converted: Converted) {
        let Converted {
            service,
            scope,
            span,
        } = converted;
        let resources = &mut self.resources;
        let (resource_index, scopes) = self.index.entry(service).or_insert_with_key(|service| {
            resources.push(ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![string_kv(SERVICE_NAME.to_owned(), service.clone())],
                    ..Default::default()
                }),
                ..Default::default()
            });
            (resources.len() - 1, HashMap::new())
        });
        let scope_spans = &mut resources[*resource_index].scope_spans;
        let scope_index = *scopes.entry(scope).or_insert_with_key(|(name, version)| {
            let scope = if name.is_empty() && version.is_empty() {
                None
            } else {
                Some(InstrumentationScope {
                    name: name.clone(),
                    version: version.clone(),
                    ..Default::default()
                })
            };
            scope_spans.push(ScopeSpans {
                scope,
                ..Default::default()
            });
            scope_spans.len() - 1
        });
        scope_spans[scope_index].spans.push(span);
    }

    fn finish(self) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: self.resources,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENVOY: &[u8] = include_bytes!("../tests/fixtures/zipkin/envoy.json");
    const MESSAGING_KAFKA: &[u8] = include_bytes!("../tests/fixtures/zipkin/messaging-kafka.json");
    const SIMPLE_DB_P6: &[u8] = include_bytes!("../tests/fixtures/zipkin/simple-db-p6.json");
    const SKEW: &[u8] = include_bytes!("../tests/fixtures/zipkin/skew.json");
    const YELP: &[u8] = include_bytes!("../tests/fixtures/zipkin/yelp.json");

    const FIXTURES: &[(&str, &[u8])] = &[
        ("envoy", ENVOY),
        ("messaging-kafka", MESSAGING_KAFKA),
        ("simple-db-p6", SIMPLE_DB_P6),
        ("skew", SKEW),
        ("yelp", YELP),
    ];

    fn decode(body: &[u8]) -> ExportTraceServiceRequest {
        match decode_zipkin_json(body) {
            Ok(request) => request,
            Err(err) => panic!(
                "expected {} to decode, got {err}",
                String::from_utf8_lossy(body)
            ),
        }
    }

    fn service_of(resource: &ResourceSpans) -> &str {
        let attributes = &resource
            .resource
            .as_ref()
            .expect("resource is set")
            .attributes;
        match attributes
            .iter()
            .find(|kv| kv.key == SERVICE_NAME)
            .and_then(|kv| kv.value.as_ref())
        {
            Some(AnyValue {
                value: Some(Value::StringValue(name)),
            }) => name,
            other => panic!("service.name missing or not a string: {other:?}"),
        }
    }

    /// Every span with its service name and scope, in output order.
    fn all_spans(
        request: &ExportTraceServiceRequest,
    ) -> Vec<(&str, Option<&InstrumentationScope>, &Span)> {
        request
            .resource_spans
            .iter()
            .flat_map(|resource| {
                let service = service_of(resource);
                resource.scope_spans.iter().flat_map(move |scope| {
                    scope
                        .spans
                        .iter()
                        .map(move |span| (service, scope.scope.as_ref(), span))
                })
            })
            .collect()
    }

    fn find_span<'a>(
        request: &'a ExportTraceServiceRequest,
        service: &str,
        span_id: &str,
    ) -> &'a Span {
        let wanted = hex::decode(span_id).expect("test span id is hex");
        all_spans(request)
            .into_iter()
            .find(|(s, _, span)| *s == service && span.span_id == wanted)
            .map(|(_, _, span)| span)
            .unwrap_or_else(|| panic!("no span {span_id} for service {service}"))
    }

    fn attr<'a>(span: &'a Span, key: &str) -> Option<&'a Value> {
        span.attributes
            .iter()
            .find(|kv| kv.key == key)
            .and_then(|kv| kv.value.as_ref())
            .and_then(|value| value.value.as_ref())
    }

    fn str_value(value: &str) -> Value {
        Value::StringValue(value.to_owned())
    }

    /// An expected attribute value in a test table.
    #[derive(Clone, Copy)]
    enum AttrValue {
        Str(&'static str),
        Int(i64),
        Bool(bool),
    }

    impl AttrValue {
        fn to_value(self) -> Value {
            match self {
                AttrValue::Str(s) => str_value(s),
                AttrValue::Int(i) => Value::IntValue(i),
                AttrValue::Bool(b) => Value::BoolValue(b),
            }
        }
    }

    fn single_span(body: &str) -> Span {
        let request = decode(body.as_bytes());
        let spans = all_spans(&request);
        assert_eq!(spans.len(), 1, "expected exactly one span from {body}");
        spans[0].2.clone()
    }

    #[test]
    fn every_fixture_decodes_with_its_span_count_and_services_in_first_seen_order() {
        struct Case {
            fixture: &'static [u8],
            name: &'static str,
            spans: usize,
            services: &'static [&'static str],
        }
        let cases = [
            Case {
                name: "envoy",
                fixture: ENVOY,
                spans: 1,
                services: &["unknown_service"],
            },
            Case {
                name: "messaging-kafka",
                fixture: MESSAGING_KAFKA,
                spans: 28,
                services: &["servicea", "serviceb"],
            },
            Case {
                name: "simple-db-p6",
                fixture: SIMPLE_DB_P6,
                spans: 5,
                services: &["bootifulmeters"],
            },
            Case {
                name: "skew",
                fixture: SKEW,
                spans: 4,
                services: &["serviceb", "servicea"],
            },
            Case {
                name: "yelp",
                fixture: YELP,
                spans: 16,
                services: &[
                    "mobile_api",
                    "spectre",
                    "yelp-main",
                    "yelp_main/api_proxy",
                    "unknown",
                    "routing",
                ],
            },
        ];
        assert_eq!(cases.len(), FIXTURES.len(), "every fixture has a case");
        for case in cases {
            let request = decode(case.fixture);
            assert_eq!(
                all_spans(&request).len(),
                case.spans,
                "{}: span count",
                case.name
            );
            let services: Vec<&str> = request.resource_spans.iter().map(service_of).collect();
            assert_eq!(services, case.services, "{}: services", case.name);
            for resource in &request.resource_spans {
                assert_eq!(
                    resource.scope_spans.len(),
                    1,
                    "{}: fixtures carry no scope tags",
                    case.name
                );
            }
        }
    }

    #[test]
    fn fixture_spans_carry_the_expected_ids_kinds_times_and_attributes() {
        struct Case {
            fixture: &'static [u8],
            service: &'static str,
            span_id: &'static str,
            trace_id: &'static str,
            parent_id: &'static str,
            name: &'static str,
            kind: SpanKind,
            start_ns: u64,
            end_ns: u64,
            attributes: &'static [(&'static str, AttrValue)],
            absent: &'static [&'static str],
        }
        let cases = [
            Case {
                fixture: ENVOY,
                service: "unknown_service",
                span_id: "978883983d506fa5",
                trace_id: "0000000000000000978883983d506fa5",
                parent_id: "",
                name: "localhost:10000",
                kind: SpanKind::Server,
                start_ns: 1_570_523_661_059_232_000,
                end_ns: 1_570_523_661_186_347_000,
                attributes: &[
                    ("network.local.address", AttrValue::Str("169.254.65.45")),
                    ("http.status_code", AttrValue::Str("200")),
                    (
                        "guid:x-request-id",
                        AttrValue::Str("d709b78f-583e-988e-b581-25b72c63852d"),
                    ),
                    ("zipkin.shared", AttrValue::Bool(true)),
                ],
                absent: &["network.local.port", "peer.service", "zipkin.debug"],
            },
            Case {
                fixture: MESSAGING_KAFKA,
                service: "servicea",
                span_id: "0562809467078eab",
                trace_id: "00000000000000000562809467078eab",
                parent_id: "",
                name: "poll",
                kind: SpanKind::Consumer,
                start_ns: 1_541_405_397_200_023_000,
                end_ns: 1_541_405_397_200_049_000,
                attributes: &[
                    ("peer.service", AttrValue::Str("kafka")),
                    ("kafka.topic", AttrValue::Str("messages")),
                ],
                absent: &["zipkin.shared", "network.peer.address"],
            },
            Case {
                fixture: MESSAGING_KAFKA,
                service: "servicea",
                span_id: "09fdf808ef0d60c0",
                trace_id: "00000000000000000562809467078eab",
                parent_id: "0562809467078eab",
                name: "on-message",
                kind: SpanKind::Unspecified,
                start_ns: 1_541_405_397_200_002_000,
                end_ns: 1_541_405_397_452_092_000,
                attributes: &[],
                absent: &["peer.service"],
            },
            Case {
                fixture: MESSAGING_KAFKA,
                service: "serviceb",
                span_id: "2f77d5b0b8e0de35",
                trace_id: "00000000000000000562809467078eab",
                parent_id: "b4a2a87ee7f003bc",
                name: "on-message",
                kind: SpanKind::Unspecified,
                start_ns: 1_541_405_397_453_001_000,
                end_ns: 1_541_405_397_453_311_000,
                attributes: &[],
                absent: &["error"],
            },
            Case {
                fixture: SIMPLE_DB_P6,
                service: "bootifulmeters",
                span_id: "19f84f102048e047",
                trace_id: "000000000000000019f84f102048e047",
                parent_id: "",
                name: "http:/book",
                kind: SpanKind::Server,
                start_ns: 1_541_485_537_291_342_000,
                end_ns: 1_541_485_537_543_358_000,
                attributes: &[
                    ("network.local.address", AttrValue::Str("172.23.250.16")),
                    ("network.peer.address", AttrValue::Str("::1")),
                    ("network.peer.port", AttrValue::Int(53367)),
                    ("http.method", AttrValue::Str("POST")),
                ],
                absent: &["peer.service"],
            },
            Case {
                fixture: SIMPLE_DB_P6,
                service: "bootifulmeters",
                span_id: "5d532ef6fed52445",
                trace_id: "000000000000000019f84f102048e047",
                parent_id: "19f84f102048e047",
                name: "insert",
                kind: SpanKind::Client,
                start_ns: 1_541_485_537_488_973_000,
                end_ns: 1_541_485_537_491_006_000,
                attributes: &[
                    ("peer.service", AttrValue::Str("app_db")),
                    (
                        "sql.query",
                        AttrValue::Str(
                            "insert into revinfo (rev, revtstmp) values (null, 1541485537483)",
                        ),
                    ),
                ],
                absent: &["network.peer.port"],
            },
            Case {
                fixture: SKEW,
                service: "serviceb",
                span_id: "74280ae0c10d8062",
                trace_id: "00000000000000001e223ff1f80f1c69",
                parent_id: "bf396325699c84bf",
                name: "post",
                kind: SpanKind::Server,
                start_ns: 1_470_150_004_008_761_000,
                end_ns: 1_470_150_004_102_338_000,
                attributes: &[
                    ("zipkin.shared", AttrValue::Bool(true)),
                    ("network.local.address", AttrValue::Str("192.0.0.0")),
                ],
                absent: &[],
            },
            Case {
                fixture: SKEW,
                service: "servicea",
                span_id: "74280ae0c10d8062",
                trace_id: "00000000000000001e223ff1f80f1c69",
                parent_id: "bf396325699c84bf",
                name: "post",
                kind: SpanKind::Client,
                start_ns: 1_470_150_004_074_202_000,
                end_ns: 1_470_150_004_168_741_000,
                attributes: &[("network.local.address", AttrValue::Str("127.0.0.0"))],
                absent: &["zipkin.shared"],
            },
            Case {
                fixture: YELP,
                service: "mobile_api",
                span_id: "6a65182ea4f684c3",
                trace_id: "0000000000000000a03ee8fff1dcd9b9",
                parent_id: "f5f268651b2a2b34",
                name: "set mobile_api_nonce",
                kind: SpanKind::Client,
                start_ns: 1_571_896_375_302_030_000,
                end_ns: 1_571_896_375_303_056_000,
                attributes: &[
                    ("network.local.port", AttrValue::Int(31049)),
                    ("peer.service", AttrValue::Str("memcache")),
                    ("ttl", AttrValue::Str("")),
                ],
                absent: &["network.local.address"],
            },
            Case {
                fixture: YELP,
                service: "routing",
                span_id: "2e8cfb154b59a41f",
                trace_id: "0000000000000000a03ee8fff1dcd9b9",
                parent_id: "",
                name: "post /location/update/v4",
                kind: SpanKind::Server,
                start_ns: 1_571_896_375_237_354_000,
                end_ns: 1_571_896_375_369_202_000,
                attributes: &[
                    ("zipkin.shared", AttrValue::Bool(true)),
                    ("response_status_code", AttrValue::Str("200")),
                ],
                absent: &[],
            },
        ];
        for case in cases {
            let request = decode(case.fixture);
            let span = find_span(&request, case.service, case.span_id);
            let what = format!("{}/{}", case.service, case.span_id);
            assert_eq!(
                hex::encode(&span.trace_id),
                case.trace_id,
                "{what}: trace id"
            );
            assert_eq!(
                hex::encode(&span.parent_span_id),
                case.parent_id,
                "{what}: parent id"
            );
            assert_eq!(span.name, case.name, "{what}: name");
            assert_eq!(span.kind, case.kind as i32, "{what}: kind");
            assert_eq!(span.start_time_unix_nano, case.start_ns, "{what}: start");
            assert_eq!(span.end_time_unix_nano, case.end_ns, "{what}: end");
            for (key, expected) in case.attributes {
                let expected = expected.to_value();
                assert_eq!(attr(span, key), Some(&expected), "{what}: attribute {key}");
            }
            for key in case.absent {
                assert_eq!(
                    attr(span, key),
                    None,
                    "{what}: attribute {key} should be absent"
                );
            }
            assert_eq!(
                attr(span, ATTR_START_TIME_ABSENT),
                None,
                "{what}: fixtures all have timestamps"
            );
        }
    }

    #[test]
    fn error_tags_become_error_status_with_the_tag_as_message() {
        let request = decode(MESSAGING_KAFKA);
        let cases = [
            ("serviceb", "2f77d5b0b8e0de35", Some("some error")),
            ("serviceb", "4a64a63e4b58e665", Some("some error")),
            ("serviceb", "568b33e6af8a225a", Some("")),
            ("servicea", "09fdf808ef0d60c0", None),
        ];
        for (service, span_id, message) in cases {
            let span = find_span(&request, service, span_id);
            match message {
                Some(message) => {
                    let expected = Status {
                        message: message.to_owned(),
                        code: StatusCode::Error as i32,
                    };
                    assert_eq!(span.status.as_ref(), Some(&expected), "{span_id}: status");
                    assert_eq!(
                        attr(span, "error"),
                        None,
                        "{span_id}: error tag is consumed"
                    );
                }
                None => assert_eq!(span.status, None, "{span_id}: no status"),
            }
        }
        let errors = all_spans(&request)
            .into_iter()
            .filter(|(_, _, span)| {
                span.status
                    .as_ref()
                    .is_some_and(|s| s.code == StatusCode::Error as i32)
            })
            .count();
        assert_eq!(
            errors, 3,
            "exactly the three spans tagged `error` are errors"
        );
    }

    #[test]
    fn annotations_become_events_with_nanosecond_timestamps() {
        let request = decode(YELP);
        let span = find_span(&request, "yelp_main/api_proxy", "668ed78ad94b35a1");
        assert_eq!(span.events.len(), 1);
        assert_eq!(span.events[0].name, "py_zipkin.logging_end");
        assert_eq!(span.events[0].time_unix_nano, 1_571_896_375_355_436_000);
        let without_annotations = all_spans(&request)
            .into_iter()
            .filter(|(_, _, span)| span.events.is_empty())
            .count();
        assert_eq!(
            without_annotations, 15,
            "only the one annotated span has events"
        );
    }

    #[test]
    fn spans_keep_input_order_within_their_service() {
        let request = decode(MESSAGING_KAFKA);
        let serviceb: Vec<String> = all_spans(&request)
            .into_iter()
            .filter(|(service, _, _)| *service == "serviceb")
            .map(|(_, _, span)| hex::encode(&span.span_id))
            .collect();
        assert_eq!(
            serviceb,
            [
                "b4a2a87ee7f003bc",
                "a5524eec8147b1da",
                "519d27c657334615",
                "2f77d5b0b8e0de35",
                "4a64a63e4b58e665",
                "568b33e6af8a225a"
            ]
        );
    }

    #[test]
    fn invalid_inputs_give_the_expected_error() {
        enum Expected {
            Json(&'static str),
            InvalidSpan(usize, &'static str),
        }
        const OK: &str = r#"{"traceId":"0562809467078eab","id":"0562809467078eab","timestamp":1}"#;
        let cases: Vec<(&str, String, Expected)> = vec![
            ("an object instead of an array", r#"{"traceId":"a"}"#.into(), Expected::Json("expected a JSON array")),
            ("a JSON string", r#""spans""#.into(), Expected::Json("expected a JSON array")),
            ("null", "null".into(), Expected::Json("expected a JSON array")),
            ("an empty body", String::new(), Expected::Json("EOF")),
            ("truncated JSON", r#"[{"traceId":"0562809467078eab""#.into(), Expected::Json("EOF")),
            ("trailing garbage", "[] []".into(), Expected::Json("trailing characters")),
            ("a raw control character inside a string", "[{\"name\":\"\u{0}\"}]".into(), Expected::Json("control character")),
            (
                "bad hex in the trace id",
                r#"[{"traceId":"0562809467078eag","id":"0562809467078eab"}]"#.into(),
                Expected::InvalidSpan(0, "traceId is not valid hex"),
            ),
            (
                "a 12-character span id",
                format!(r#"[{OK},{{"traceId":"0562809467078eab","id":"0562809467078e"}}]"#),
                Expected::InvalidSpan(1, "id must be 16 hex characters"),
            ),
            (
                "a 12-character trace id",
                r#"[{"traceId":"0562809467078e","id":"0562809467078eab"}]"#.into(),
                Expected::InvalidSpan(0, "traceId must be 16 or 32 hex characters"),
            ),
            (
                "a 33-character trace id",
                r#"[{"traceId":"00562809467078eab0562809467078eab","id":"0562809467078eab"}]"#.into(),
                Expected::InvalidSpan(0, "traceId must be 16 or 32 hex characters"),
            ),
            (
                "bad hex in the parent id",
                r#"[{"traceId":"0562809467078eab","id":"0562809467078eab","parentId":"xyz2809467078eab"}]"#.into(),
                Expected::InvalidSpan(0, "parentId is not valid hex"),
            ),
            (
                "a 32-character parent id",
                r#"[{"traceId":"0562809467078eab","id":"0562809467078eab","parentId":"0562809467078eab0562809467078eab"}]"#.into(),
                Expected::InvalidSpan(0, "parentId must be 16 hex characters"),
            ),
            (
                "a missing trace id",
                format!(r#"[{OK},{OK},{{"id":"0562809467078eab"}}]"#),
                Expected::InvalidSpan(2, "traceId is required"),
            ),
            (
                "a missing span id",
                r#"[{"traceId":"0562809467078eab"}]"#.into(),
                Expected::InvalidSpan(0, "id is required"),
            ),
            (
                "a negative timestamp",
                r#"[{"traceId":"0562809467078eab","id":"0562809467078eab","timestamp":-1}]"#.into(),
                Expected::InvalidSpan(0, "timestamp must not be negative"),
            ),
            (
                "a negative duration",
                r#"[{"traceId":"0562809467078eab","id":"0562809467078eab","timestamp":1,"duration":-5}]"#.into(),
                Expected::InvalidSpan(0, "duration must not be negative"),
            ),
            (
                "a negative annotation timestamp",
                r#"[{"traceId":"0562809467078eab","id":"0562809467078eab","annotations":[{"timestamp":-1,"value":"x"}]}]"#.into(),
                Expected::InvalidSpan(0, "annotations[0].timestamp must not be negative"),
            ),
            (
                "an annotation without timestamp",
                r#"[{"traceId":"0562809467078eab","id":"0562809467078eab","annotations":[{"value":"x"}]}]"#.into(),
                Expected::InvalidSpan(0, "annotations[0].timestamp is required"),
            ),
            (
                "a negative port",
                r#"[{"traceId":"0562809467078eab","id":"0562809467078eab","remoteEndpoint":{"port":-80}}]"#.into(),
                Expected::InvalidSpan(0, "remoteEndpoint.port must not be negative"),
            ),
            (
                "a port above 65535",
                r#"[{"traceId":"0562809467078eab","id":"0562809467078eab","localEndpoint":{"port":65536}}]"#.into(),
                Expected::InvalidSpan(0, "localEndpoint.port must be at most 65535"),
            ),
            (
                "a numeric trace id",
                format!(r#"[{OK},{{"traceId":123,"id":"0562809467078eab"}}]"#),
                Expected::InvalidSpan(1, "invalid type: integer `123`"),
            ),
            (
                "a fractional timestamp",
                r#"[{"traceId":"0562809467078eab","id":"0562809467078eab","timestamp":1.5}]"#.into(),
                Expected::InvalidSpan(0, "invalid type: floating point"),
            ),
            (
                "a timestamp beyond 64 bits",
                r#"[{"traceId":"0562809467078eab","id":"0562809467078eab","timestamp":99999999999999999999}]"#.into(),
                Expected::InvalidSpan(0, "invalid type"),
            ),
            ("a null span", format!("[{OK},null]"), Expected::InvalidSpan(1, "invalid type: null")),
            ("a number as a span", "[1]".into(), Expected::InvalidSpan(0, "invalid type: integer")),
            (
                "an object tag value",
                r#"[{"traceId":"0562809467078eab","id":"0562809467078eab","tags":{"a":{"b":1}}}]"#.into(),
                Expected::InvalidSpan(0, "expected a string tag value"),
            ),
        ];
        for (description, body, expected) in cases {
            let result = decode_zipkin_json(body.as_bytes());
            match (&result, &expected) {
                (Err(ZipkinError::Json(message)), Expected::Json(needle)) => {
                    assert!(
                        message.contains(needle),
                        "{description}: {message:?} lacks {needle:?}"
                    );
                }
                (
                    Err(ZipkinError::InvalidSpan { index, reason }),
                    Expected::InvalidSpan(want_index, needle),
                ) => {
                    assert_eq!(index, want_index, "{description}: index");
                    assert!(
                        reason.contains(needle),
                        "{description}: {reason:?} lacks {needle:?}"
                    );
                }
                _ => panic!("{description}: unexpected result {result:?}"),
            }
        }
    }

    #[test]
    fn error_messages_name_the_span_and_the_problem() {
        let err =
            decode_zipkin_json(br#"[{"traceId":"abc","id":"0562809467078eab"}]"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "span 0: traceId must be 16 or 32 hex characters"
        );
        let err = decode_zipkin_json(b"{}").unwrap_err();
        assert!(
            err.to_string().starts_with("invalid Zipkin v2 JSON: "),
            "{err}"
        );
    }

    #[test]
    fn an_empty_array_gives_an_empty_request() {
        assert_eq!(decode(b"[]"), ExportTraceServiceRequest::default());
        assert_eq!(decode(b" [ ] \n"), ExportTraceServiceRequest::default());
    }

    #[test]
    fn ids_accept_either_case_and_128_bit_trace_ids() {
        let cases = [
            (
                "0562809467078EAB",
                "0562809467078EAB",
                "00000000000000000562809467078eab",
                "0562809467078eab",
            ),
            (
                "463AC35C9F6413AD48485A3953BB6124",
                "a2fb4a1d1a96d312",
                "463ac35c9f6413ad48485a3953bb6124",
                "a2fb4a1d1a96d312",
            ),
            (
                "0000000000000000978883983d506fa5",
                "978883983D506FA5",
                "0000000000000000978883983d506fa5",
                "978883983d506fa5",
            ),
        ];
        for (trace_id, id, want_trace, want_span) in cases {
            let span = single_span(&format!(r#"[{{"traceId":"{trace_id}","id":"{id}"}}]"#));
            assert_eq!(hex::encode(&span.trace_id), want_trace);
            assert_eq!(hex::encode(&span.span_id), want_span);
        }
    }

    #[test]
    fn all_zero_ids_are_passed_through_for_downstream_validation() {
        let span = single_span(
            r#"[{"traceId":"00000000000000000000000000000000","id":"0000000000000000","timestamp":1}]"#,
        );
        assert_eq!(span.trace_id, vec![0u8; 16]);
        assert_eq!(span.span_id, vec![0u8; 8]);
    }

    #[test]
    fn parent_ids_that_mean_no_parent_give_a_root_span() {
        for parent in [
            r#""""#,
            r#""0000000000000000""#,
            r#""0562809467078EAB""#,
            "null",
        ] {
            let span = single_span(&format!(
                r#"[{{"traceId":"0562809467078eab","id":"0562809467078eab","parentId":{parent}}}]"#
            ));
            assert!(
                span.parent_span_id.is_empty(),
                "parentId {parent} should give a root span"
            );
        }
    }

    #[test]
    fn kinds_map_to_otlp_kinds_and_absent_kind_is_unspecified_like_the_collector() {
        let cases = [
            (r#""kind":"CLIENT""#, SpanKind::Client),
            (r#""kind":"SERVER""#, SpanKind::Server),
            (r#""kind":"PRODUCER""#, SpanKind::Producer),
            (r#""kind":"CONSUMER""#, SpanKind::Consumer),
            (r#""kind":"client""#, SpanKind::Client),
            (r#""kind":"SOMETHING""#, SpanKind::Unspecified),
            (r#""kind":null"#, SpanKind::Unspecified),
            (r#""name":"x""#, SpanKind::Unspecified),
            (r#""tags":{"span.kind":"internal"}"#, SpanKind::Internal),
            (r#""tags":{"span.kind":"server"}"#, SpanKind::Server),
        ];
        for (fields, kind) in cases {
            let span = single_span(&format!(
                r#"[{{"traceId":"0562809467078eab","id":"0562809467078eab",{fields}}}]"#
            ));
            assert_eq!(span.kind, kind as i32, "{fields}");
            assert_eq!(
                attr(&span, "span.kind"),
                None,
                "{fields}: span.kind tag is consumed"
            );
        }
        // With an explicit kind the `span.kind` tag is left alone.
        let span = single_span(
            r#"[{"traceId":"0562809467078eab","id":"0562809467078eab","kind":"CLIENT","tags":{"span.kind":"internal"}}]"#,
        );
        assert_eq!(span.kind, SpanKind::Client as i32);
        assert_eq!(attr(&span, "span.kind"), Some(&str_value("internal")));
    }

    #[test]
    fn status_tags_map_to_otlp_status_and_error_wins() {
        struct Case {
            tags: &'static str,
            status: Option<(StatusCode, &'static str)>,
            left_as_attributes: &'static [&'static str],
        }
        let case = |tags, status, left_as_attributes| Case {
            tags,
            status,
            left_as_attributes,
        };
        let cases = [
            case(r#"{"error":"true"}"#, Some((StatusCode::Error, "")), &[]),
            case(r#"{"error":"TRUE"}"#, Some((StatusCode::Error, "")), &[]),
            case(
                r#"{"error":"timeout"}"#,
                Some((StatusCode::Error, "timeout")),
                &[],
            ),
            case(
                r#"{"otel.status_code":"OK"}"#,
                Some((StatusCode::Ok, "")),
                &[],
            ),
            case(
                r#"{"otel.status_code":"STATUS_CODE_ERROR","otel.status_description":"boom"}"#,
                Some((StatusCode::Error, "boom")),
                &[],
            ),
            case(
                r#"{"otel.status_code":"Error","error":""}"#,
                Some((StatusCode::Error, "")),
                &[],
            ),
            case(
                r#"{"otel.status_code":"OK","error":"nope"}"#,
                Some((StatusCode::Error, "nope")),
                &[],
            ),
            case(r#"{"otel.status_code":"UNSET"}"#, None, &[]),
            case(
                r#"{"otel.status_code":"weird","otel.status_description":"kept"}"#,
                None,
                &["otel.status_code", "otel.status_description"],
            ),
        ];
        for Case {
            tags,
            status,
            left_as_attributes,
        } in cases
        {
            let span = single_span(&format!(
                r#"[{{"traceId":"0562809467078eab","id":"0562809467078eab","timestamp":1,"tags":{tags}}}]"#
            ));
            let expected = status.map(|(code, message)| Status {
                message: message.to_owned(),
                code: code as i32,
            });
            assert_eq!(span.status, expected, "{tags}");
            let keys: Vec<&str> = span.attributes.iter().map(|kv| kv.key.as_str()).collect();
            assert_eq!(keys, left_as_attributes, "{tags}: attributes left over");
        }
    }

    #[test]
    fn scope_tags_set_the_scope_and_split_scope_spans_within_a_service() {
        let body = r#"[
            {"traceId":"0562809467078eab","id":"0000000000000001","localEndpoint":{"serviceName":"a"},
             "tags":{"otel.scope.name":"io.grpc","otel.scope.version":"1.2"}},
            {"traceId":"0562809467078eab","id":"0000000000000002","localEndpoint":{"serviceName":"a"}},
            {"traceId":"0562809467078eab","id":"0000000000000003","localEndpoint":{"serviceName":"b"},
             "tags":{"otel.library.name":"io.grpc","otel.library.version":"1.2"}},
            {"traceId":"0562809467078eab","id":"0000000000000004","localEndpoint":{"serviceName":"a"},
             "tags":{"otel.scope.name":"io.grpc","otel.scope.version":"1.2","other":"x"}},
            {"traceId":"0562809467078eab","id":"0000000000000005","localEndpoint":{"serviceName":"a"},
             "tags":{"otel.scope.name":"io.grpc","otel.library.name":"ignored"}}
        ]"#;
        let request = decode(body.as_bytes());
        // One line per ScopeSpans: "service scope@version [last byte of each span id]".
        let layout: Vec<String> = request
            .resource_spans
            .iter()
            .flat_map(|resource| {
                let service = service_of(resource);
                resource.scope_spans.iter().map(move |scope| {
                    let scope_name = scope
                        .scope
                        .as_ref()
                        .map_or("-".to_owned(), |s| format!("{}@{}", s.name, s.version));
                    let ids: Vec<u8> = scope.spans.iter().map(|span| span.span_id[7]).collect();
                    format!("{service} {scope_name} {ids:?}")
                })
            })
            .collect();
        assert_eq!(
            layout,
            [
                "a io.grpc@1.2 [1, 4]",
                "a - [2]",
                "a io.grpc@ [5]",
                "b io.grpc@1.2 [3]",
            ]
        );
        for (_, _, span) in all_spans(&request) {
            assert!(
                span.attributes
                    .iter()
                    .all(|kv| !kv.key.starts_with("otel.scope.")
                        && !kv.key.starts_with("otel.library.")),
                "scope tags are consumed: {:?}",
                span.attributes
            );
        }
    }

    #[test]
    fn endpoints_map_to_network_attributes_and_bad_addresses_are_dropped() {
        struct Case {
            fields: &'static str,
            present: &'static [(&'static str, AttrValue)],
            absent: &'static [&'static str],
        }
        let cases = [
            Case {
                fields: r#""localEndpoint":{"ipv4":"10.0.0.1","ipv6":"2001:DB8::1","port":8080}"#,
                present: &[
                    (ATTR_LOCAL_ADDRESS, AttrValue::Str("2001:db8::1")),
                    (ATTR_LOCAL_PORT, AttrValue::Int(8080)),
                ],
                absent: &[ATTR_PEER_ADDRESS],
            },
            Case {
                fields: r#""remoteEndpoint":{"serviceName":"db","ipv4":"10.0.0.2","port":5432}"#,
                present: &[
                    (ATTR_PEER_SERVICE, AttrValue::Str("db")),
                    (ATTR_PEER_ADDRESS, AttrValue::Str("10.0.0.2")),
                    (ATTR_PEER_PORT, AttrValue::Int(5432)),
                ],
                absent: &[ATTR_LOCAL_ADDRESS],
            },
            Case {
                fields: r#""remoteEndpoint":{"serviceName":"","ipv4":"not-an-ip","port":0}"#,
                present: &[],
                absent: &[ATTR_PEER_SERVICE, ATTR_PEER_ADDRESS, ATTR_PEER_PORT],
            },
            Case {
                fields: r#""localEndpoint":{"serviceName":"svc","ipv4":"300.1.1.1"}"#,
                present: &[],
                absent: &[ATTR_LOCAL_ADDRESS, ATTR_LOCAL_PORT],
            },
            Case {
                fields: r#""tags":{"peer.service":"from-tag"},"remoteEndpoint":{"serviceName":"from-endpoint"}"#,
                present: &[(ATTR_PEER_SERVICE, AttrValue::Str("from-endpoint"))],
                absent: &[],
            },
        ];
        for Case {
            fields,
            present,
            absent,
        } in cases
        {
            let span = single_span(&format!(
                r#"[{{"traceId":"0562809467078eab","id":"0562809467078eab",{fields}}}]"#
            ));
            for (key, value) in present {
                assert_eq!(attr(&span, key), Some(&value.to_value()), "{fields}: {key}");
                assert_eq!(
                    span.attributes.iter().filter(|kv| kv.key == *key).count(),
                    1,
                    "{fields}: {key} once"
                );
            }
            for key in absent {
                assert_eq!(attr(&span, key), None, "{fields}: {key} absent");
            }
        }
    }

    #[test]
    fn tags_become_string_attributes_including_non_string_json_values() {
        let span = single_span(
            r#"[{"traceId":"0562809467078eab","id":"0562809467078eab","timestamp":5,
                 "tags":{"s":"v","i":200,"n":-3,"f":1.5,"b":false,"nil":null,"w3c.tracestate":"k=v"}}]"#,
        );
        let cases = [
            ("s", "v"),
            ("i", "200"),
            ("n", "-3"),
            ("f", "1.5"),
            ("b", "false"),
        ];
        for (key, value) in cases {
            assert_eq!(attr(&span, key), Some(&str_value(value)), "{key}");
        }
        assert_eq!(attr(&span, "nil"), None);
        assert_eq!(attr(&span, "w3c.tracestate"), None);
        assert_eq!(span.trace_state, "k=v");
        assert_eq!(span.attributes.len(), 5);
    }

    #[test]
    fn timestamps_convert_to_nanoseconds_and_saturate_instead_of_overflowing() {
        let cases = [
            (r#""timestamp":1,"duration":2"#, 1_000, 3_000, false),
            (r#""timestamp":7"#, 7_000, 7_000, false),
            (r#""timestamp":7,"duration":null"#, 7_000, 7_000, false),
            (r#""duration":10"#, 0, 10_000, true),
            (r#""timestamp":0,"duration":10"#, 0, 10_000, true),
            (
                r#""timestamp":9223372036854775807"#,
                u64::MAX,
                u64::MAX,
                false,
            ),
            (
                r#""timestamp":18446744073709551,"duration":9223372036854775807"#,
                18_446_744_073_709_551_000,
                u64::MAX,
                false,
            ),
        ];
        for (fields, start, end, absent_marker) in cases {
            let span = single_span(&format!(
                r#"[{{"traceId":"0562809467078eab","id":"0562809467078eab",{fields}}}]"#
            ));
            assert_eq!(span.start_time_unix_nano, start, "{fields}: start");
            assert_eq!(span.end_time_unix_nano, end, "{fields}: end");
            let marker = attr(&span, ATTR_START_TIME_ABSENT);
            assert_eq!(
                marker,
                absent_marker.then_some(&Value::BoolValue(true)),
                "{fields}: marker"
            );
        }
    }

    #[test]
    fn unknown_fields_and_zipkin_flags_are_handled() {
        let span = single_span(
            r#"[{"traceId":"0562809467078eab","id":"0562809467078eab","timestamp":1,
                 "debug":true,"shared":false,"futureField":{"nested":[1,2,{"x":null}]},
                 "localEndpoint":{"serviceName":"svc","extra":1},"annotations":null,"tags":null}]"#,
        );
        assert_eq!(attr(&span, ATTR_DEBUG), Some(&Value::BoolValue(true)));
        assert_eq!(attr(&span, ATTR_SHARED), None);
        assert_eq!(span.attributes.len(), 1);
        assert!(span.events.is_empty());
    }

    #[test]
    fn no_prefix_or_byte_corruption_of_a_fixture_panics() {
        for (name, fixture) in FIXTURES {
            // Every third prefix keeps this quick in debug builds while still
            // cutting inside every kind of token.
            for end in (0..fixture.len()).step_by(3) {
                // Must return, Ok or Err, without panicking.
                let _ = decode_zipkin_json(&fixture[..end]);
            }
            for (position, replacement) in (0..fixture.len())
                .step_by(7)
                .zip([b'-', b'9', b'"', b'}', 0xff, b'x'].into_iter().cycle())
            {
                let mut corrupted = fixture.to_vec();
                corrupted[position] = replacement;
                let _ = decode_zipkin_json(&corrupted);
            }
            assert!(decode_zipkin_json(fixture).is_ok(), "{name} still decodes");
        }
    }

    #[test]
    fn deeply_nested_input_is_rejected_without_overflowing_the_stack() {
        let mut body =
            String::from(r#"[{"traceId":"0562809467078eab","id":"0562809467078eab","x":"#);
        body.push_str(&"[".repeat(100_000));
        let result = decode_zipkin_json(body.as_bytes());
        assert!(matches!(result, Err(ZipkinError::Json(_))), "{result:?}");
    }
}
