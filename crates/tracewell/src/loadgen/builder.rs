//! Low-level trace assembly: span ids, time windows that nest children inside
//! their parents, and error injection that marks a failing span and every
//! ancestor up to the root.

use opentelemetry_proto::tonic::common::v1::{any_value, KeyValue};
use opentelemetry_proto::tonic::trace::v1::span::{Event, SpanKind};
use opentelemetry_proto::tonic::trace::v1::{status::StatusCode, Span, Status};
use rand::seq::IndexedRandom;
use rand::Rng;

use super::catalog::{kv_str, kv_string, FAILURES};

/// W3C "sampled" trace flag plus the OTLP "has is_remote" bit.
const FLAGS_LOCAL: u32 = 0x01 | 0x100;
/// As [`FLAGS_LOCAL`] with the OTLP "parent is remote" bit set.
const FLAGS_REMOTE: u32 = FLAGS_LOCAL | 0x200;

/// One generated span together with the resource (service replica) emitting it.
#[derive(Debug, Clone)]
pub struct GeneratedSpan {
    pub resource: usize,
    pub span: Span,
}

/// One complete synthetic trace.
#[derive(Debug, Clone)]
pub struct GeneratedTrace {
    pub spans: Vec<GeneratedSpan>,
}

/// A time interval in Unix nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: u64,
    pub end: u64,
}

impl Window {
    pub fn len(&self) -> u64 {
        self.end - self.start
    }

    /// A window strictly inside `self`, trimmed by up to `max_frac` of its
    /// length on each side (network latency between client and server).
    pub fn inset(self, rng: &mut (impl Rng + ?Sized), max_frac: f64) -> Window {
        let max = (self.len() as f64 * max_frac) as u64;
        let head = rng.random_range(0..=max);
        let tail = rng.random_range(0..=max);
        Window {
            start: self.start + head,
            end: self.end - tail,
        }
    }
}

/// Where a child span attaches: the emitting resource, parent id and window.
#[derive(Debug, Clone, Copy)]
pub struct Ctx {
    pub res: usize,
    pub span: [u8; 8],
    pub w: Window,
}

/// Accumulates the spans of one trace.
pub struct Builder<'a, R: Rng + ?Sized> {
    pub rng: &'a mut R,
    trace_id: [u8; 16],
    spans: Vec<GeneratedSpan>,
}

impl<'a, R: Rng + ?Sized> Builder<'a, R> {
    pub fn new(rng: &'a mut R) -> Self {
        let trace_id = loop {
            let v: u128 = rng.random();
            if v != 0 {
                break v.to_be_bytes();
            }
        };
        Builder {
            rng,
            trace_id,
            spans: Vec::with_capacity(32),
        }
    }

    fn span_id(&mut self) -> [u8; 8] {
        loop {
            let v: u64 = self.rng.random();
            if v != 0 {
                return v.to_be_bytes();
            }
        }
    }

    /// Adds a span and returns the context its children attach to.
    pub fn push(
        &mut self,
        parent: Option<&Ctx>,
        res: usize,
        name: String,
        kind: SpanKind,
        w: Window,
        attributes: Vec<KeyValue>,
    ) -> Ctx {
        let id = self.span_id();
        let remote = matches!(kind, SpanKind::Server | SpanKind::Consumer) && parent.is_some();
        let span = Span {
            trace_id: self.trace_id.to_vec(),
            span_id: id.to_vec(),
            parent_span_id: parent.map(|p| p.span.to_vec()).unwrap_or_default(),
            flags: if remote { FLAGS_REMOTE } else { FLAGS_LOCAL },
            name,
            kind: kind as i32,
            start_time_unix_nano: w.start,
            end_time_unix_nano: w.end,
            attributes,
            status: Some(Status::default()),
            ..Default::default()
        };
        self.spans.push(GeneratedSpan {
            resource: res,
            span,
        });
        Ctx { res, span: id, w }
    }

    /// Splits `w` into `n` sequential child windows with random proportions,
    /// leaving small gaps (local work) between and around them.
    pub fn split(&mut self, w: Window, n: usize) -> Vec<Window> {
        if n == 0 {
            return Vec::new();
        }
        let weights: Vec<u64> = (0..n).map(|_| self.rng.random_range(2..=10)).collect();
        let total: u64 = weights.iter().sum();
        let budget = w.len() as f64 * 0.85;
        let gap = (w.len() as f64 * 0.15 / (n + 1) as f64) as u64;
        let mut cursor = w.start + gap;
        let mut out = Vec::with_capacity(n);
        for weight in weights {
            let len = (budget * weight as f64 / total as f64) as u64;
            let end = (cursor + len.max(1)).min(w.end);
            let start = cursor.min(end);
            out.push(Window { start, end });
            cursor = end + gap;
        }
        out
    }

    /// Marks a random non-root span as the failure origin (ERROR status plus an
    /// `exception` event) and propagates ERROR up to the root.
    pub fn inject_error(&mut self) {
        if self.spans.len() < 2 {
            return;
        }
        let origin = self.rng.random_range(1..self.spans.len());
        let &(ty, msg) = FAILURES.choose(self.rng).unwrap_or(&FAILURES[0]);
        let span = &mut self.spans[origin].span;
        span.events.push(Event {
            time_unix_nano: span.end_time_unix_nano,
            name: "exception".to_string(),
            attributes: vec![
                kv_str("exception.type", ty),
                kv_str("exception.message", msg),
                kv_string(
                    "exception.stacktrace",
                    format!("{ty}: {msg}\n    at handler ({}:{})", span.name, 42),
                ),
            ],
            ..Default::default()
        });
        mark_error(span, msg, ty);
        let mut parent = span.parent_span_id.clone();
        while let Some(i) = self.spans.iter().position(|s| s.span.span_id == parent) {
            let span = &mut self.spans[i].span;
            mark_error(span, "", "500");
            parent = span.parent_span_id.clone();
        }
    }

    pub fn finish(self) -> GeneratedTrace {
        GeneratedTrace { spans: self.spans }
    }
}

/// Sets ERROR status, `error.type` and 5xx / non-OK protocol status codes.
fn mark_error(span: &mut Span, message: &str, error_type: &str) {
    span.status = Some(Status {
        message: message.to_string(),
        code: StatusCode::Error as i32,
    });
    for attr in &mut span.attributes {
        let new = match attr.key.as_str() {
            "http.response.status_code" => 500,
            "rpc.grpc.status_code" => 2,
            _ => continue,
        };
        if let Some(v) = attr.value.as_mut() {
            v.value = Some(any_value::Value::IntValue(new));
        }
    }
    span.attributes.push(kv_str("error.type", error_type));
}
