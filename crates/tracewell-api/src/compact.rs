//! The compact trace representation for the web UI: one column per field, parent links as indexes,
//! service and operation names interned in a string table, times in nanoseconds relative to the trace
//! start. A 100 000-span trace is a few megabytes instead of tens in OTLP JSON, and the UI builds its
//! tree from arrays without parsing nested objects.

use std::collections::HashMap;
use std::fmt::Write as _;

use tracewell_model::{Span, SpanId};

/// The compact JSON document for `spans` (all of one trace), sorted by start time.
pub(crate) fn compact_json(trace_id: &str, spans: &mut [Span], warnings: &[String]) -> String {
    spans.sort_by(|a, b| {
        a.start_unix_nano
            .cmp(&b.start_unix_nano)
            .then(a.span_id.as_bytes().cmp(b.span_id.as_bytes()))
    });
    let start = spans.first().map_or(0, |s| s.start_unix_nano);
    let mut index_of: HashMap<SpanId, usize> = HashMap::with_capacity(spans.len());
    for (i, span) in spans.iter().enumerate() {
        index_of.entry(span.span_id).or_insert(i);
    }
    let mut strings: Vec<&str> = Vec::new();
    let mut string_index: HashMap<&str, usize> = HashMap::new();
    let mut service_ids = Vec::with_capacity(spans.len());
    let mut name_ids = Vec::with_capacity(spans.len());
    for span in spans.iter() {
        for (value, ids) in [
            (span.service_name(), &mut service_ids),
            (span.name.as_str(), &mut name_ids),
        ] {
            let id = *string_index.entry(value).or_insert_with(|| {
                strings.push(value);
                strings.len() - 1
            });
            ids.push(id);
        }
    }

    let mut out = String::with_capacity(spans.len() * 96 + 256);
    out.push_str("{\"traceId\":\"");
    out.push_str(trace_id);
    let _ = write!(out, "\",\"startTimeUnixNano\":\"{start}\",\"strings\":[");
    for (i, s) in strings.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into()));
    }
    out.push_str("],\"spans\":{\"spanId\":[");
    column(&mut out, spans, |out, s| {
        let _ = write!(out, "\"{}\"", s.span_id.to_hex());
    });
    out.push_str("],\"parent\":[");
    column(&mut out, spans, |out, s| {
        let parent = s
            .parent_span_id
            .and_then(|p| index_of.get(&p).copied())
            .filter(|&p| spans[p].span_id != s.span_id);
        match parent {
            Some(p) => {
                let _ = write!(out, "{p}");
            }
            None => out.push_str("-1"),
        }
    });
    out.push_str("],\"parentSpanId\":[");
    column(&mut out, spans, |out, s| match s.parent_span_id {
        Some(p) if !index_of.contains_key(&p) => {
            let _ = write!(out, "\"{}\"", p.to_hex());
        }
        _ => out.push_str("\"\""),
    });
    out.push_str("],\"service\":[");
    ids_column(&mut out, &service_ids);
    out.push_str("],\"name\":[");
    ids_column(&mut out, &name_ids);
    out.push_str("],\"kind\":[");
    column(&mut out, spans, |out, s| {
        let _ = write!(out, "{}", s.kind as u8);
    });
    out.push_str("],\"status\":[");
    column(&mut out, spans, |out, s| {
        let _ = write!(out, "{}", s.status.code as u8);
    });
    out.push_str("],\"start\":[");
    column(&mut out, spans, |out, s| {
        let _ = write!(out, "{}", s.start_unix_nano - start);
    });
    out.push_str("],\"duration\":[");
    column(&mut out, spans, |out, s| {
        let _ = write!(out, "{}", s.duration_nano());
    });
    out.push_str("]},\"warnings\":");
    out.push_str(&serde_json::to_string(warnings).unwrap_or_else(|_| "[]".into()));
    out.push('}');
    out
}

fn column(out: &mut String, spans: &[Span], mut cell: impl FnMut(&mut String, &Span)) {
    for (i, span) in spans.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        cell(out, span);
    }
}

fn ids_column(out: &mut String, ids: &[usize]) {
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{id}");
    }
}
