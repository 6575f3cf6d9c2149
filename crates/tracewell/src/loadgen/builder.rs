//! Trace assembly: a light span model (static keys, mostly static values),
//! span ids, time windows that nest children inside their parents, and error
//! injection that marks a failing span and every ancestor up to the root.

use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use rand::seq::IndexedRandom;
use rand::Rng;

use super::catalog::FAILURES;

/// W3C "sampled" trace flag plus the OTLP "has is_remote" bit.
const FLAGS_LOCAL: u32 = 0x01 | 0x100;
/// As [`FLAGS_LOCAL`] with the OTLP "parent is remote" bit set.
const FLAGS_REMOTE: u32 = FLAGS_LOCAL | 0x200;

/// An attribute value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Val {
    Str(&'static str),
    String(String),
    Int(i64),
}

/// One span or event attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr {
    pub key: &'static str,
    pub val: Val,
}

/// A static string attribute.
pub fn s(key: &'static str, v: &'static str) -> Attr {
    Attr {
        key,
        val: Val::Str(v),
    }
}

/// An owned string attribute.
pub fn owned(key: &'static str, v: String) -> Attr {
    Attr {
        key,
        val: Val::String(v),
    }
}

/// An integer attribute.
pub fn int(key: &'static str, v: i64) -> Attr {
    Attr {
        key,
        val: Val::Int(v),
    }
}

/// ERROR status of a span; `exception` holds the exception event's attributes
/// on the span where the failure originated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpanError {
    pub message: &'static str,
    pub exception: Option<Vec<Attr>>,
}

/// One generated span and the resource (service replica) emitting it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedSpan {
    pub resource: usize,
    pub span_id: [u8; 8],
    pub parent_span_id: Option<[u8; 8]>,
    pub name: &'static str,
    pub kind: SpanKind,
    pub start_time_unix_nano: u64,
    pub end_time_unix_nano: u64,
    pub attributes: Vec<Attr>,
    pub flags: u32,
    pub error: Option<SpanError>,
}

/// One complete synthetic trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedTrace {
    pub trace_id: [u8; 16],
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

    /// A window inside `self`, trimmed by up to `max_frac` of its length on
    /// each side (network latency between client and server).
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
    trace: GeneratedTrace,
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
            trace: GeneratedTrace {
                trace_id,
                spans: Vec::with_capacity(32),
            },
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
        name: &'static str,
        kind: SpanKind,
        w: Window,
        attributes: Vec<Attr>,
    ) -> Ctx {
        let id = self.span_id();
        let remote = matches!(kind, SpanKind::Server | SpanKind::Consumer) && parent.is_some();
        self.trace.spans.push(GeneratedSpan {
            resource: res,
            span_id: id,
            parent_span_id: parent.map(|p| p.span),
            name,
            kind,
            start_time_unix_nano: w.start,
            end_time_unix_nano: w.end,
            attributes,
            flags: if remote { FLAGS_REMOTE } else { FLAGS_LOCAL },
            error: None,
        });
        Ctx { res, span: id, w }
    }

    /// Splits `w` into `n` sequential child windows with random proportions,
    /// leaving small gaps (local work) between and around them.
    pub fn split(&mut self, w: Window, n: usize) -> Vec<Window> {
        let weights: Vec<u64> = (0..n).map(|_| self.rng.random_range(2..=10)).collect();
        let total = weights.iter().sum::<u64>().max(1);
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

    /// Marks a random non-root span as the failure origin (ERROR status plus
    /// an `exception` event) and propagates ERROR up to the root.
    pub fn inject_error(&mut self) {
        let spans = &mut self.trace.spans;
        if spans.len() < 2 {
            return;
        }
        let origin = self.rng.random_range(1..spans.len());
        let failure = FAILURES.choose(self.rng).unwrap_or(&FAILURES[0]);
        let exception = vec![
            s("exception.type", failure.kind),
            s("exception.message", failure.message),
            s("exception.stacktrace", failure.stacktrace),
        ];
        let error = SpanError {
            message: failure.message,
            exception: Some(exception),
        };
        mark_error(&mut spans[origin], error, failure.kind);
        let mut parent = spans[origin].parent_span_id;
        while let Some(i) = parent.and_then(|p| spans.iter().position(|s| s.span_id == p)) {
            mark_error(
                &mut spans[i],
                SpanError {
                    message: "",
                    exception: None,
                },
                "500",
            );
            parent = spans[i].parent_span_id;
        }
    }

    pub fn finish(self) -> GeneratedTrace {
        self.trace
    }
}

/// Sets ERROR status, `error.type` and 5xx / non-OK protocol status codes.
fn mark_error(span: &mut GeneratedSpan, error: SpanError, error_type: &'static str) {
    for attr in &mut span.attributes {
        match attr.key {
            "http.response.status_code" => attr.val = Val::Int(500),
            "rpc.grpc.status_code" => attr.val = Val::Int(2),
            _ => {}
        }
    }
    span.attributes.push(s("error.type", error_type));
    span.error = Some(error);
}
