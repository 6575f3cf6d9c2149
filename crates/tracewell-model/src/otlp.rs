//! OTLP conversions: sanitizing export requests in place, turning them into model spans, and turning model spans
//! back into OTLP `ResourceSpans` for read APIs.
//!
//! Sanitizing happens before a request is written to the WAL, so the WAL holds exactly what was accepted and a
//! replay needs no configuration to reproduce it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    any_value, AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList,
};
use opentelemetry_proto::tonic::resource::v1::Resource as OtlpResource;
use opentelemetry_proto::tonic::trace::v1 as otlp;

use crate::{
    format_duration, AttrValue, Attribute, Event, Link, Origins, Resource, Scope, Span, SpanId,
    SpanKind, Status, StatusCode, TraceId,
};

/// Limits applied to every accepted span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpanLimits {
    /// Attributes kept per span, event, link or resource; the rest are dropped and counted in
    /// `dropped_attributes_count`.
    pub max_attributes: usize,
    /// String and bytes values longer than this are truncated (at a character boundary).
    pub max_attribute_value_bytes: usize,
    /// Spans that start or end more than this after the receiving clock's "now" are refused
    /// ([`RejectReason::InFuture`]): one host with a wrong clock would otherwise keep a block from ever expiring.
    /// `None`: no bound.
    pub max_span_future: Option<Duration>,
    /// Spans that started more than this before "now" are refused ([`RejectReason::TooOld`]). `None`: no bound.
    pub max_span_age: Option<Duration>,
}

impl Default for SpanLimits {
    /// Attribute limits only: the library sets no time bounds (they need a policy; `tracewell serve` sets them).
    fn default() -> Self {
        Self {
            max_attributes: 128,
            max_attribute_value_bytes: 16 * 1024,
            max_span_future: None,
            max_span_age: None,
        }
    }
}

/// Why a span was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RejectReason {
    InvalidTraceId,
    InvalidSpanId,
    InvalidParentSpanId,
    EndBeforeStart,
    /// Starts or ends further in the future than [`SpanLimits::max_span_future`].
    InFuture,
    /// Started longer ago than [`SpanLimits::max_span_age`].
    TooOld,
}

impl RejectReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidTraceId => "invalid_trace_id",
            Self::InvalidSpanId => "invalid_span_id",
            Self::InvalidParentSpanId => "invalid_parent_span_id",
            Self::EndBeforeStart => "end_before_start",
            Self::InFuture => "in_future",
            Self::TooOld => "too_old",
        }
    }

    /// What is wrong with `span`, for the client.
    fn describe(self, span: &otlp::Span, limits: &SpanLimits, now_unix_nano: u64) -> String {
        let ago = |t: u64| format_duration(Duration::from_nanos(now_unix_nano.saturating_sub(t)));
        let ahead = |t: u64| format_duration(Duration::from_nanos(t.saturating_sub(now_unix_nano)));
        match self {
            Self::InvalidTraceId => "trace id must be 16 bytes and not all zeros".into(),
            Self::InvalidSpanId => "span id must be 8 bytes and not all zeros".into(),
            Self::InvalidParentSpanId => "parent span id must be empty or 8 bytes".into(),
            Self::EndBeforeStart => "end time is before start time".into(),
            Self::InFuture => {
                let future = limits.max_span_future.unwrap_or_default();
                let latest = now_unix_nano.saturating_add(nanos(future));
                let (which, time) = if span.start_time_unix_nano > latest {
                    ("starts", span.start_time_unix_nano)
                } else {
                    ("ends", span.end_time_unix_nano)
                };
                format!(
                    "{which} {} in the future, beyond the limit of {} (max_span_future); check the sender's clock",
                    ahead(time),
                    format_duration(future)
                )
            }
            Self::TooOld => {
                let limit = format_duration(limits.max_span_age.unwrap_or_default());
                match span.start_time_unix_nano {
                    0 => format!(
                        "has no start time, so is older than the limit of {limit} (max_span_age)"
                    ),
                    start => format!(
                        "started {} ago, older than the limit of {limit} (max_span_age)",
                        ago(start)
                    ),
                }
            }
        }
    }
}

/// What sanitizing did to a request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SanitizeReport {
    /// Spans kept.
    pub accepted: u64,
    /// Spans dropped, by reason.
    pub rejected: BTreeMap<RejectReason, u64>,
    /// Attribute values truncated to the size limit.
    pub truncated_values: u64,
    /// Attributes dropped because of the count limit.
    pub dropped_attributes: u64,
    /// A description of the first rejected span, for the client.
    pub first_rejection: Option<String>,
}

impl SanitizeReport {
    /// True when sanitizing left the request exactly as it was.
    pub fn is_unchanged(&self) -> bool {
        self.rejected.is_empty() && self.truncated_values == 0 && self.dropped_attributes == 0
    }

    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }

    /// The OTLP `partial_success.error_message`: empty when nothing was rejected; else the count by reason and
    /// what was wrong with the first rejected span.
    pub fn message(&self) -> String {
        match &self.first_rejection {
            None => String::new(),
            Some(first) => {
                let reasons: Vec<String> = self
                    .rejected
                    .iter()
                    .map(|(reason, n)| format!("{}: {n}", reason.as_str()))
                    .collect();
                format!(
                    "{} span(s) rejected ({}); first: {first}",
                    self.rejected_total(),
                    reasons.join(", ")
                )
            }
        }
    }

    fn reject(
        &mut self,
        reason: RejectReason,
        span: &otlp::Span,
        limits: &SpanLimits,
        now_unix_nano: u64,
    ) {
        *self.rejected.entry(reason).or_default() += 1;
        if self.first_rejection.is_none() {
            let id = hex_or_empty(&span.span_id);
            self.first_rejection = Some(format!(
                "span {:?} (span id {id}): {}",
                span.name,
                reason.describe(span, limits, now_unix_nano)
            ));
        }
    }
}

pub(crate) fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn hex_or_empty(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        "<empty>".into()
    } else {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Checks one span; `None` when it is valid.
pub fn check_span(span: &otlp::Span) -> Option<RejectReason> {
    let valid_id = |id: &[u8], len: usize| id.len() == len && id.iter().any(|b| *b != 0);
    if !valid_id(&span.trace_id, TraceId::LEN) {
        return Some(RejectReason::InvalidTraceId);
    }
    if !valid_id(&span.span_id, SpanId::LEN) {
        return Some(RejectReason::InvalidSpanId);
    }
    if !span.parent_span_id.is_empty() && span.parent_span_id.len() != SpanId::LEN {
        return Some(RejectReason::InvalidParentSpanId);
    }
    if span.end_time_unix_nano < span.start_time_unix_nano {
        return Some(RejectReason::EndBeforeStart);
    }
    None
}

/// Checks a (valid) span's times against the time bounds of `limits`, relative to `now_unix_nano`; `None` when
/// they are within them. Only ingest applies this: a WAL replay keeps what was accepted, however old it is by then.
pub fn check_span_time(
    span: &otlp::Span,
    limits: &SpanLimits,
    now_unix_nano: u64,
) -> Option<RejectReason> {
    if let Some(future) = limits.max_span_future {
        let latest = now_unix_nano.saturating_add(nanos(future));
        if span.start_time_unix_nano > latest || span.end_time_unix_nano > latest {
            return Some(RejectReason::InFuture);
        }
    }
    if let Some(age) = limits.max_span_age {
        if span.start_time_unix_nano < now_unix_nano.saturating_sub(nanos(age)) {
            return Some(RejectReason::TooOld);
        }
    }
    None
}

/// The system clock in unix nanoseconds (0 before 1970).
pub fn now_unix_nano() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// Drops invalid spans and applies limits, in place, with time bounds relative to the system clock. Empty scope
/// and resource groups are removed.
pub fn sanitize(req: &mut ExportTraceServiceRequest, limits: &SpanLimits) -> SanitizeReport {
    sanitize_at(req, limits, now_unix_nano())
}

/// [`sanitize`] with "now" given: spans are checked against the time bounds of `limits` relative to
/// `now_unix_nano`.
pub fn sanitize_at(
    req: &mut ExportTraceServiceRequest,
    limits: &SpanLimits,
    now_unix_nano: u64,
) -> SanitizeReport {
    let mut report = SanitizeReport::default();
    for rs in &mut req.resource_spans {
        if let Some(resource) = &mut rs.resource {
            limit_attrs(
                &mut resource.attributes,
                &mut resource.dropped_attributes_count,
                limits,
                &mut report,
            );
        }
        for ss in &mut rs.scope_spans {
            ss.spans.retain_mut(|span| {
                let problem =
                    check_span(span).or_else(|| check_span_time(span, limits, now_unix_nano));
                match problem {
                    Some(reason) => {
                        report.reject(reason, span, limits, now_unix_nano);
                        false
                    }
                    None => {
                        limit_span(span, limits, &mut report);
                        report.accepted += 1;
                        true
                    }
                }
            });
        }
        rs.scope_spans.retain(|ss| !ss.spans.is_empty());
    }
    req.resource_spans.retain(|rs| !rs.scope_spans.is_empty());
    report
}

fn limit_span(span: &mut otlp::Span, limits: &SpanLimits, report: &mut SanitizeReport) {
    limit_attrs(
        &mut span.attributes,
        &mut span.dropped_attributes_count,
        limits,
        report,
    );
    for event in &mut span.events {
        limit_attrs(
            &mut event.attributes,
            &mut event.dropped_attributes_count,
            limits,
            report,
        );
    }
    for link in &mut span.links {
        limit_attrs(
            &mut link.attributes,
            &mut link.dropped_attributes_count,
            limits,
            report,
        );
    }
}

pub(crate) fn limit_attrs(
    attrs: &mut Vec<KeyValue>,
    dropped: &mut u32,
    limits: &SpanLimits,
    report: &mut SanitizeReport,
) {
    if attrs.len() > limits.max_attributes {
        let extra = attrs.len() - limits.max_attributes;
        attrs.truncate(limits.max_attributes);
        *dropped = dropped.saturating_add(u32::try_from(extra).unwrap_or(u32::MAX));
        report.dropped_attributes += extra as u64;
    }
    for kv in attrs.iter_mut() {
        if let Some(value) = &mut kv.value {
            truncate_value(value, limits.max_attribute_value_bytes, report);
        }
    }
}

pub(crate) fn truncate_value(value: &mut AnyValue, max: usize, report: &mut SanitizeReport) {
    match &mut value.value {
        Some(any_value::Value::StringValue(s)) if s.len() > max => {
            let mut cut = max;
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            s.truncate(cut);
            report.truncated_values += 1;
        }
        Some(any_value::Value::BytesValue(b)) if b.len() > max => {
            b.truncate(max);
            report.truncated_values += 1;
        }
        Some(any_value::Value::ArrayValue(arr)) => {
            for v in &mut arr.values {
                truncate_value(v, max, report);
            }
        }
        Some(any_value::Value::KvlistValue(list)) => {
            for kv in &mut list.values {
                if let Some(v) = &mut kv.value {
                    truncate_value(v, max, report);
                }
            }
        }
        _ => {}
    }
}

/// Converts a (sanitized) request into model spans, moving strings out of it. Spans that fail validation are
/// skipped, so an unsanitized request never produces invalid rows.
pub fn into_spans(req: ExportTraceServiceRequest) -> Vec<Span> {
    into_spans_sharing(req, &mut Origins::default())
}

/// [`into_spans`], with resources and scopes equal to ones `origins` saw recently shared instead of copied.
pub fn into_spans_sharing(req: ExportTraceServiceRequest, origins: &mut Origins) -> Vec<Span> {
    let count = req
        .resource_spans
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .map(|ss| ss.spans.len())
        .sum();
    let mut out = Vec::with_capacity(count);
    for rs in req.resource_spans {
        let resource = origins
            .resources
            .share(resource_from_otlp(rs.resource, rs.schema_url));
        for ss in rs.scope_spans {
            let scope = origins
                .scopes
                .share(scope_from_otlp(ss.scope, ss.schema_url));
            for span in ss.spans {
                if check_span(&span).is_none() {
                    out.push(span_from_otlp(span, &resource, &scope));
                }
            }
        }
    }
    out
}

/// Number of spans in a request.
pub fn span_count(req: &ExportTraceServiceRequest) -> usize {
    req.resource_spans
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .map(|ss| ss.spans.len())
        .sum()
}

pub(crate) fn resource_from_otlp(resource: Option<OtlpResource>, schema_url: String) -> Resource {
    let resource = resource.unwrap_or_default();
    Resource::new(
        attrs_from_otlp(resource.attributes),
        resource.dropped_attributes_count,
        schema_url,
    )
}

pub(crate) fn scope_from_otlp(scope: Option<InstrumentationScope>, schema_url: String) -> Scope {
    let scope = scope.unwrap_or_default();
    Scope {
        name: scope.name,
        version: scope.version,
        attributes: attrs_from_otlp(scope.attributes),
        dropped_attributes_count: scope.dropped_attributes_count,
        schema_url,
    }
}

fn span_from_otlp(span: otlp::Span, resource: &Arc<Resource>, scope: &Arc<Scope>) -> Span {
    let status = span.status.unwrap_or_default();
    Span {
        trace_id: TraceId::from_slice(&span.trace_id).unwrap_or_default(),
        span_id: SpanId::from_slice(&span.span_id).unwrap_or_default(),
        parent_span_id: SpanId::from_slice(&span.parent_span_id).filter(|id| !id.is_zero()),
        trace_state: span.trace_state,
        flags: span.flags,
        name: span.name,
        kind: SpanKind::from_i32(span.kind),
        start_unix_nano: span.start_time_unix_nano,
        end_unix_nano: span.end_time_unix_nano,
        attributes: attrs_from_otlp(span.attributes),
        dropped_attributes_count: span.dropped_attributes_count,
        events: span.events.into_iter().map(event_from_otlp).collect(),
        dropped_events_count: span.dropped_events_count,
        links: span.links.into_iter().map(link_from_otlp).collect(),
        dropped_links_count: span.dropped_links_count,
        status: Status {
            code: StatusCode::from_i32(status.code),
            message: status.message,
        },
        resource: Arc::clone(resource),
        scope: Arc::clone(scope),
    }
}

fn event_from_otlp(e: otlp::span::Event) -> Event {
    Event {
        time_unix_nano: e.time_unix_nano,
        name: e.name,
        attributes: attrs_from_otlp(e.attributes),
        dropped_attributes_count: e.dropped_attributes_count,
    }
}

fn link_from_otlp(l: otlp::span::Link) -> Link {
    Link {
        trace_id: TraceId::from_slice(&l.trace_id).unwrap_or_default(),
        span_id: SpanId::from_slice(&l.span_id).unwrap_or_default(),
        trace_state: l.trace_state,
        attributes: attrs_from_otlp(l.attributes),
        dropped_attributes_count: l.dropped_attributes_count,
        flags: l.flags,
    }
}

/// Converts OTLP key/values into model attributes.
pub fn attrs_from_otlp(attrs: Vec<KeyValue>) -> Vec<Attribute> {
    attrs
        .into_iter()
        .map(|kv| Attribute {
            key: kv.key,
            value: value_from_otlp(kv.value),
        })
        .collect()
}

/// Decodes a protobuf-encoded OTLP `AnyValue` (as blocks store array and map attributes) into a model value.
pub fn value_from_otlp_bytes(bytes: &[u8]) -> Result<AttrValue, prost::DecodeError> {
    use prost::Message;
    AnyValue::decode(bytes).map(|v| value_from_otlp(Some(v)))
}

/// Converts an OTLP value into a model value.
pub fn value_from_otlp(value: Option<AnyValue>) -> AttrValue {
    match value.and_then(|v| v.value) {
        None => AttrValue::Empty,
        Some(any_value::Value::StringValue(s)) => AttrValue::Str(s),
        Some(any_value::Value::BoolValue(b)) => AttrValue::Bool(b),
        Some(any_value::Value::IntValue(i)) => AttrValue::Int(i),
        Some(any_value::Value::DoubleValue(d)) => AttrValue::Double(d),
        Some(any_value::Value::BytesValue(b)) => AttrValue::Bytes(b),
        Some(any_value::Value::ArrayValue(a)) => AttrValue::Array(
            a.values
                .into_iter()
                .map(|v| value_from_otlp(Some(v)))
                .collect(),
        ),
        Some(any_value::Value::KvlistValue(l)) => AttrValue::Map(attrs_from_otlp(l.values)),
        // String-table references only have meaning inside OTLP profiles, which carry the table; a trace has none.
        Some(any_value::Value::StringValueStrindex(_)) => AttrValue::Empty,
    }
}

/// Converts model attributes into OTLP key/values.
pub fn attrs_to_otlp(attrs: &[Attribute]) -> Vec<KeyValue> {
    attrs
        .iter()
        .map(|a| KeyValue {
            key: a.key.clone(),
            value: Some(value_to_otlp(&a.value)),
            key_strindex: 0,
        })
        .collect()
}

/// Converts a model value into an OTLP value.
pub fn value_to_otlp(value: &AttrValue) -> AnyValue {
    let v = match value {
        AttrValue::Empty => None,
        AttrValue::Str(s) => Some(any_value::Value::StringValue(s.clone())),
        AttrValue::Bool(b) => Some(any_value::Value::BoolValue(*b)),
        AttrValue::Int(i) => Some(any_value::Value::IntValue(*i)),
        AttrValue::Double(d) => Some(any_value::Value::DoubleValue(*d)),
        AttrValue::Bytes(b) => Some(any_value::Value::BytesValue(b.clone())),
        AttrValue::Array(items) => Some(any_value::Value::ArrayValue(ArrayValue {
            values: items.iter().map(value_to_otlp).collect(),
        })),
        AttrValue::Map(kvs) => Some(any_value::Value::KvlistValue(KeyValueList {
            values: attrs_to_otlp(kvs),
        })),
    };
    AnyValue { value: v }
}

/// Groups model spans back into OTLP `ResourceSpans`: one per distinct resource, one `ScopeSpans` per distinct
/// scope within it, preserving span order within each group.
pub fn to_resource_spans(spans: &[Span]) -> Vec<otlp::ResourceSpans> {
    type ScopeGroup<'a> = (&'a Scope, Vec<otlp::Span>);
    let mut groups: Vec<(&Resource, Vec<ScopeGroup>)> = Vec::new();
    for span in spans {
        let gi = match groups.iter().position(|(r, _)| **r == *span.resource) {
            Some(i) => i,
            None => {
                groups.push((&span.resource, Vec::new()));
                groups.len() - 1
            }
        };
        let scopes = &mut groups[gi].1;
        let si = match scopes.iter().position(|(s, _)| **s == *span.scope) {
            Some(i) => i,
            None => {
                scopes.push((&span.scope, Vec::new()));
                scopes.len() - 1
            }
        };
        scopes[si].1.push(span_to_otlp(span));
    }
    groups
        .into_iter()
        .map(|(resource, scopes)| otlp::ResourceSpans {
            resource: Some(OtlpResource {
                attributes: attrs_to_otlp(&resource.attributes),
                dropped_attributes_count: resource.dropped_attributes_count,
                entity_refs: Vec::new(),
            }),
            schema_url: resource.schema_url.clone(),
            scope_spans: scopes
                .into_iter()
                .map(|(scope, spans)| otlp::ScopeSpans {
                    scope: Some(InstrumentationScope {
                        name: scope.name.clone(),
                        version: scope.version.clone(),
                        attributes: attrs_to_otlp(&scope.attributes),
                        dropped_attributes_count: scope.dropped_attributes_count,
                    }),
                    spans,
                    schema_url: scope.schema_url.clone(),
                })
                .collect(),
        })
        .collect()
}

/// Converts one model span into an OTLP span.
pub fn span_to_otlp(span: &Span) -> otlp::Span {
    otlp::Span {
        trace_id: span.trace_id.0.to_vec(),
        span_id: span.span_id.0.to_vec(),
        trace_state: span.trace_state.clone(),
        parent_span_id: span
            .parent_span_id
            .map(|p| p.0.to_vec())
            .unwrap_or_default(),
        flags: span.flags,
        name: span.name.clone(),
        kind: span.kind as i32,
        start_time_unix_nano: span.start_unix_nano,
        end_time_unix_nano: span.end_unix_nano,
        attributes: attrs_to_otlp(&span.attributes),
        dropped_attributes_count: span.dropped_attributes_count,
        events: span
            .events
            .iter()
            .map(|e| otlp::span::Event {
                time_unix_nano: e.time_unix_nano,
                name: e.name.clone(),
                attributes: attrs_to_otlp(&e.attributes),
                dropped_attributes_count: e.dropped_attributes_count,
            })
            .collect(),
        dropped_events_count: span.dropped_events_count,
        links: span
            .links
            .iter()
            .map(|l| otlp::span::Link {
                trace_id: l.trace_id.0.to_vec(),
                span_id: l.span_id.0.to_vec(),
                trace_state: l.trace_state.clone(),
                attributes: attrs_to_otlp(&l.attributes),
                dropped_attributes_count: l.dropped_attributes_count,
                flags: l.flags,
            })
            .collect(),
        dropped_links_count: span.dropped_links_count,
        status: match (span.status.code, span.status.message.is_empty()) {
            (StatusCode::Unset, true) => None,
            _ => Some(otlp::Status {
                message: span.status.message.clone(),
                code: span.status.code as i32,
            }),
        },
    }
}

/// Serializes an OTLP message as OTLP/JSON. The generated serializers write `null` for absent messages, which
/// OTLP/JSON omits; nulls are removed here.
pub fn to_json<T: serde::Serialize>(message: &T) -> serde_json::Value {
    let mut value = serde_json::to_value(message).unwrap_or(serde_json::Value::Null);
    strip_nulls(&mut value);
    value
}

fn strip_nulls(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(strip_nulls);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

#[cfg(test)]
mod tests;
