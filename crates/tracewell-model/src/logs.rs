//! Log records: the model row ([`LogRecord`]) and its OTLP conversions — sanitizing an
//! `ExportLogsServiceRequest` in place (the same attribute limits and time bounds as spans), turning it into
//! records that share resources and scopes, and back into OTLP `ResourceLogs`.

use std::sync::Arc;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::logs::v1 as otlp;
use opentelemetry_proto::tonic::resource::v1::Resource as OtlpResource;

use crate::attr::{attrs_size, heap};
use crate::otlp::{
    attrs_from_otlp, attrs_to_otlp, limit_attrs, nanos, resource_from_otlp, scope_from_otlp,
    truncate_value, value_from_otlp, value_to_otlp, SanitizeReport, SpanLimits,
};
use crate::{AttrValue, Attribute, Origins, Resource, Scope, SpanId, TraceId};

/// One log record. Resource and scope are shared between the records of a batch.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LogRecord {
    /// When the event happened; 0 when the source did not say.
    pub time_unix_nano: u64,
    /// When a collector first saw it (set on receipt when absent).
    pub observed_time_unix_nano: u64,
    /// 1–24 (TRACE 1–4, DEBUG 5–8, INFO 9–12, WARN 13–16, ERROR 17–20, FATAL 21–24); 0 unspecified.
    pub severity_number: i32,
    pub severity_text: String,
    pub body: AttrValue,
    pub attributes: Vec<Attribute>,
    pub dropped_attributes_count: u32,
    pub flags: u32,
    pub trace_id: Option<TraceId>,
    pub span_id: Option<SpanId>,
    pub event_name: String,
    pub resource: Arc<Resource>,
    pub scope: Arc<Scope>,
}

impl LogRecord {
    /// The time the record is sorted and searched by: its own time, else when it was observed.
    pub fn time(&self) -> u64 {
        if self.time_unix_nano != 0 {
            self.time_unix_nano
        } else {
            self.observed_time_unix_nano
        }
    }

    pub fn service_name(&self) -> &str {
        &self.resource.service_name
    }

    /// The body as text: strings as they are, other values as JSON-like text.
    pub fn body_text(&self) -> String {
        match &self.body {
            AttrValue::Str(s) => s.clone(),
            AttrValue::Empty => String::new(),
            other => other.to_text(),
        }
    }

    /// Approximate memory held, excluding the shared resource and scope (errs high, for budgets).
    pub fn approx_size(&self) -> usize {
        std::mem::size_of::<Self>()
            + heap(self.severity_text.capacity())
            + heap(self.event_name.capacity())
            + self.body.approx_size()
            + attrs_size(&self.attributes)
    }
}

/// The severity name of a severity number's range (`INFO` for 9–12), or `""` for 0 and out-of-range numbers.
pub fn severity_name(number: i32) -> &'static str {
    match number {
        1..=4 => "TRACE",
        5..=8 => "DEBUG",
        9..=12 => "INFO",
        13..=16 => "WARN",
        17..=20 => "ERROR",
        21..=24 => "FATAL",
        _ => "",
    }
}

/// The lowest severity number of a name (`warn` → 13); case-insensitive, `WARNING` and `ERR` accepted.
pub fn severity_from_name(name: &str) -> Option<i32> {
    Some(match name.to_ascii_uppercase().as_str() {
        "TRACE" => 1,
        "DEBUG" => 5,
        "INFO" | "INFORMATION" => 9,
        "WARN" | "WARNING" => 13,
        "ERROR" | "ERR" => 17,
        "FATAL" | "CRITICAL" => 21,
        _ => return None,
    })
}

/// Why a log record is refused, or `None`.
fn check_record(record: &otlp::LogRecord, limits: &SpanLimits, now: u64) -> Option<String> {
    if !record.trace_id.is_empty() && record.trace_id.len() != TraceId::LEN {
        return Some(format!(
            "trace id of {} bytes (expected {} or none)",
            record.trace_id.len(),
            TraceId::LEN
        ));
    }
    if !record.span_id.is_empty() && record.span_id.len() != SpanId::LEN {
        return Some(format!(
            "span id of {} bytes (expected {} or none)",
            record.span_id.len(),
            SpanId::LEN
        ));
    }
    if !(1..=24).contains(&record.severity_number) && record.severity_number != 0 {
        return Some(format!(
            "severity number {} (expected 0 to 24)",
            record.severity_number
        ));
    }
    let time = if record.time_unix_nano != 0 {
        record.time_unix_nano
    } else {
        record.observed_time_unix_nano
    };
    if let Some(future) = limits.max_span_future {
        if time > now.saturating_add(nanos(future)) {
            return Some(format!(
                "time is more than {} ahead of the server clock (max_span_future)",
                crate::format_duration(future)
            ));
        }
    }
    if let Some(age) = limits.max_span_age {
        if time < now.saturating_sub(nanos(age)) {
            return Some(format!(
                "time is older than the limit of {} (max_span_age)",
                crate::format_duration(age)
            ));
        }
    }
    None
}

/// Sanitizes a logs request in place: refuses records with malformed ids, an unknown severity or a time out
/// of bounds, sets a missing observed time to `now`, and applies the attribute limits (to the body too).
/// The report counts records where span reports count spans (`rejected` under one `logs` reason).
pub fn sanitize_logs(
    req: &mut ExportLogsServiceRequest,
    limits: &SpanLimits,
    now: u64,
) -> LogSanitizeReport {
    let mut report = LogSanitizeReport::default();
    for rl in &mut req.resource_logs {
        if let Some(resource) = &mut rl.resource {
            limit_attrs(
                &mut resource.attributes,
                &mut resource.dropped_attributes_count,
                limits,
                &mut report.limits,
            );
        }
        for sl in &mut rl.scope_logs {
            sl.log_records.retain_mut(|record| {
                if let Some(problem) = check_record(record, limits, now) {
                    report.rejected += 1;
                    report.first_rejection.get_or_insert(problem);
                    return false;
                }
                if record.observed_time_unix_nano == 0 {
                    record.observed_time_unix_nano = now;
                    report.stamped += 1;
                }
                limit_attrs(
                    &mut record.attributes,
                    &mut record.dropped_attributes_count,
                    limits,
                    &mut report.limits,
                );
                if let Some(body) = &mut record.body {
                    truncate_value(body, limits.max_attribute_value_bytes, &mut report.limits);
                }
                report.accepted += 1;
                true
            });
        }
        rl.scope_logs.retain(|sl| !sl.log_records.is_empty());
    }
    req.resource_logs.retain(|rl| !rl.scope_logs.is_empty());
    report
}

/// What sanitizing did to a logs request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogSanitizeReport {
    pub accepted: u64,
    pub rejected: u64,
    /// Records given the receipt time as their observed time.
    pub stamped: u64,
    /// Attribute limits applied (truncated values, dropped attributes).
    pub limits: SanitizeReport,
    /// What was wrong with the first refused record.
    pub first_rejection: Option<String>,
}

impl LogSanitizeReport {
    pub fn is_unchanged(&self) -> bool {
        self.rejected == 0 && self.stamped == 0 && self.limits.is_unchanged()
    }

    /// The OTLP `partial_success.error_message`: empty when nothing was rejected.
    pub fn message(&self) -> String {
        match &self.first_rejection {
            None => String::new(),
            Some(first) => format!("{} log record(s) rejected; first: {first}", self.rejected),
        }
    }
}

/// Number of log records in a request.
pub fn log_count(req: &ExportLogsServiceRequest) -> usize {
    req.resource_logs
        .iter()
        .flat_map(|rl| &rl.scope_logs)
        .map(|sl| sl.log_records.len())
        .sum()
}

/// Converts a sanitized request into records, sharing resources and scopes `origins` saw recently.
pub fn into_log_records_sharing(
    req: ExportLogsServiceRequest,
    origins: &mut Origins,
) -> Vec<LogRecord> {
    let mut out = Vec::with_capacity(log_count(&req));
    for rl in req.resource_logs {
        let resource = origins
            .resources
            .share(resource_from_otlp(rl.resource, rl.schema_url));
        for sl in rl.scope_logs {
            let scope = origins
                .scopes
                .share(scope_from_otlp(sl.scope, sl.schema_url));
            for r in sl.log_records {
                out.push(LogRecord {
                    time_unix_nano: r.time_unix_nano,
                    observed_time_unix_nano: r.observed_time_unix_nano,
                    severity_number: r.severity_number,
                    severity_text: r.severity_text,
                    body: value_from_otlp(r.body),
                    attributes: attrs_from_otlp(r.attributes),
                    dropped_attributes_count: r.dropped_attributes_count,
                    flags: r.flags,
                    trace_id: TraceId::from_slice(&r.trace_id).filter(|t| !t.is_zero()),
                    span_id: SpanId::from_slice(&r.span_id).filter(|s| !s.is_zero()),
                    event_name: r.event_name,
                    resource: Arc::clone(&resource),
                    scope: Arc::clone(&scope),
                });
            }
        }
    }
    out
}

/// Groups records back into OTLP `ResourceLogs`, one per distinct resource and scope, keeping their order.
pub fn to_resource_logs(records: &[LogRecord]) -> Vec<otlp::ResourceLogs> {
    let mut out: Vec<otlp::ResourceLogs> = Vec::new();
    let mut keys: Vec<(&Resource, Vec<&Scope>)> = Vec::new();
    for record in records {
        let ri = match keys.iter().position(|(r, _)| **r == *record.resource) {
            Some(i) => i,
            None => {
                keys.push((&record.resource, Vec::new()));
                out.push(otlp::ResourceLogs {
                    resource: Some(OtlpResource {
                        attributes: attrs_to_otlp(&record.resource.attributes),
                        dropped_attributes_count: record.resource.dropped_attributes_count,
                        entity_refs: Vec::new(),
                    }),
                    scope_logs: Vec::new(),
                    schema_url: record.resource.schema_url.clone(),
                });
                keys.len() - 1
            }
        };
        let scopes = &mut keys[ri].1;
        let si = match scopes.iter().position(|s| **s == *record.scope) {
            Some(i) => i,
            None => {
                scopes.push(&record.scope);
                out[ri].scope_logs.push(otlp::ScopeLogs {
                    scope: Some(InstrumentationScope {
                        name: record.scope.name.clone(),
                        version: record.scope.version.clone(),
                        attributes: attrs_to_otlp(&record.scope.attributes),
                        dropped_attributes_count: record.scope.dropped_attributes_count,
                    }),
                    log_records: Vec::new(),
                    schema_url: record.scope.schema_url.clone(),
                });
                scopes.len() - 1
            }
        };
        out[ri].scope_logs[si].log_records.push(log_to_otlp(record));
    }
    out
}

/// Converts one record into an OTLP log record.
pub fn log_to_otlp(r: &LogRecord) -> otlp::LogRecord {
    otlp::LogRecord {
        time_unix_nano: r.time_unix_nano,
        observed_time_unix_nano: r.observed_time_unix_nano,
        severity_number: r.severity_number,
        severity_text: r.severity_text.clone(),
        body: (r.body != AttrValue::Empty).then(|| value_to_otlp(&r.body)),
        attributes: attrs_to_otlp(&r.attributes),
        dropped_attributes_count: r.dropped_attributes_count,
        flags: r.flags,
        trace_id: r.trace_id.map(|t| t.0.to_vec()).unwrap_or_default(),
        span_id: r.span_id.map(|s| s.0.to_vec()).unwrap_or_default(),
        event_name: r.event_name.clone(),
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
    use opentelemetry_proto::tonic::logs::v1::{ResourceLogs, ScopeLogs};

    use super::*;

    fn record(trace_id: Vec<u8>, severity: i32, body: &str) -> otlp::LogRecord {
        otlp::LogRecord {
            time_unix_nano: 1_000,
            severity_number: severity,
            severity_text: severity_name(severity).into(),
            body: Some(AnyValue {
                value: Some(any_value::Value::StringValue(body.into())),
            }),
            trace_id,
            span_id: vec![2; 8],
            ..Default::default()
        }
    }

    fn request(records: Vec<otlp::LogRecord>) -> ExportLogsServiceRequest {
        ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                resource: Some(OtlpResource {
                    attributes: vec![KeyValue {
                        key: "service.name".into(),
                        value: Some(AnyValue {
                            value: Some(any_value::Value::StringValue("shop".into())),
                        }),
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
                scope_logs: vec![ScopeLogs {
                    scope: Some(InstrumentationScope {
                        name: "app".into(),
                        ..Default::default()
                    }),
                    log_records: records,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    #[test]
    fn bad_records_are_refused_and_the_rest_kept_with_an_observed_time() {
        let mut req = request(vec![
            record(vec![1; 16], 9, "ok"),
            record(vec![1; 5], 9, "short trace id"),
            record(vec![], 30, "bad severity"),
            record(vec![], 17, "no trace"),
        ]);
        let report = sanitize_logs(&mut req, &SpanLimits::default(), 5_000);
        assert_eq!(report.accepted, 2);
        assert_eq!(report.rejected, 2);
        assert_eq!(report.stamped, 2);
        assert_eq!(
            report.message(),
            "2 log record(s) rejected; first: trace id of 5 bytes (expected 16 or none)"
        );
        let records = into_log_records_sharing(req, &mut Origins::default());
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].trace_id, Some(TraceId([1; 16])));
        assert_eq!(records[0].observed_time_unix_nano, 5_000);
        assert_eq!(records[1].trace_id, None);
        assert_eq!(records[1].service_name(), "shop");
        assert_eq!(records[1].body_text(), "no trace");
        assert!(Arc::ptr_eq(&records[0].resource, &records[1].resource));
    }

    #[test]
    fn records_round_trip_through_otlp() {
        let mut req = request(vec![record(vec![1; 16], 13, "careful")]);
        sanitize_logs(&mut req, &SpanLimits::default(), 5_000);
        let records = into_log_records_sharing(req.clone(), &mut Origins::default());
        assert_eq!(to_resource_logs(&records), req.resource_logs);
    }

    #[test]
    fn severities_have_names_both_ways() {
        assert_eq!(severity_name(9), "INFO");
        assert_eq!(severity_name(20), "ERROR");
        assert_eq!(severity_name(0), "");
        assert_eq!(severity_from_name("warning"), Some(13));
        assert_eq!(severity_from_name("Error"), Some(17));
        assert_eq!(severity_from_name("loud"), None);
    }
}
