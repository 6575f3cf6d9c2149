//! The span row: one span with its resource and instrumentation scope.

use std::sync::Arc;

use crate::attr::{attrs_size, find, heap, Attribute, ALLOC_OVERHEAD};
use crate::ids::{SpanId, TraceId};

/// Span kind, with OTLP's numbering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[repr(u8)]
pub enum SpanKind {
    #[default]
    Unspecified = 0,
    Internal = 1,
    Server = 2,
    Client = 3,
    Producer = 4,
    Consumer = 5,
}

impl SpanKind {
    /// From OTLP's integer; unknown values become `Unspecified`.
    pub fn from_i32(v: i32) -> Self {
        match v {
            1 => Self::Internal,
            2 => Self::Server,
            3 => Self::Client,
            4 => Self::Producer,
            5 => Self::Consumer,
            _ => Self::Unspecified,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unspecified => "unspecified",
            Self::Internal => "internal",
            Self::Server => "server",
            Self::Client => "client",
            Self::Producer => "producer",
            Self::Consumer => "consumer",
        }
    }
}

/// Span status code, with OTLP's numbering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(u8)]
pub enum StatusCode {
    #[default]
    Unset = 0,
    Ok = 1,
    Error = 2,
}

impl StatusCode {
    pub fn from_i32(v: i32) -> Self {
        match v {
            1 => Self::Ok,
            2 => Self::Error,
            _ => Self::Unset,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Status {
    pub code: StatusCode,
    pub message: String,
}

/// The entity that produced spans (a service instance).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Resource {
    /// `service.name`, or [`crate::UNKNOWN_SERVICE`].
    pub service_name: String,
    /// All resource attributes, `service.name` included.
    pub attributes: Vec<Attribute>,
    pub dropped_attributes_count: u32,
    pub schema_url: String,
}

impl Resource {
    /// Builds a resource, deriving the service name from its attributes.
    pub fn new(
        attributes: Vec<Attribute>,
        dropped_attributes_count: u32,
        schema_url: String,
    ) -> Self {
        let service_name = find(&attributes, "service.name")
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
            .unwrap_or(crate::UNKNOWN_SERVICE)
            .to_owned();
        Self {
            service_name,
            attributes,
            dropped_attributes_count,
            schema_url,
        }
    }
}

/// The instrumentation library that produced spans.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Scope {
    pub name: String,
    pub version: String,
    pub attributes: Vec<Attribute>,
    pub dropped_attributes_count: u32,
    pub schema_url: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Event {
    pub time_unix_nano: u64,
    pub name: String,
    pub attributes: Vec<Attribute>,
    pub dropped_attributes_count: u32,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Link {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub trace_state: String,
    pub attributes: Vec<Attribute>,
    pub dropped_attributes_count: u32,
    pub flags: u32,
}

/// One span. Resource and scope are shared between the spans of a batch.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Span {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub parent_span_id: Option<SpanId>,
    pub trace_state: String,
    pub flags: u32,
    pub name: String,
    pub kind: SpanKind,
    pub start_unix_nano: u64,
    pub end_unix_nano: u64,
    pub attributes: Vec<Attribute>,
    pub dropped_attributes_count: u32,
    pub events: Vec<Event>,
    pub dropped_events_count: u32,
    pub links: Vec<Link>,
    pub dropped_links_count: u32,
    pub status: Status,
    pub resource: Arc<Resource>,
    pub scope: Arc<Scope>,
}

impl Span {
    pub fn service_name(&self) -> &str {
        &self.resource.service_name
    }

    pub fn duration_nano(&self) -> u64 {
        self.end_unix_nano.saturating_sub(self.start_unix_nano)
    }

    pub fn attribute(&self, key: &str) -> Option<&crate::AttrValue> {
        find(&self.attributes, key)
    }

    /// Approximate memory held by this span, excluding the shared resource and scope, including allocator
    /// overhead. Used for head-block budgets, so it errs on the high side.
    pub fn approx_size(&self) -> usize {
        let events: usize = self
            .events
            .iter()
            .map(|e| {
                std::mem::size_of::<Event>() + heap(e.name.capacity()) + attrs_size(&e.attributes)
            })
            .sum();
        let links: usize = self
            .links
            .iter()
            .map(|l| {
                std::mem::size_of::<Link>()
                    + heap(l.trace_state.capacity())
                    + attrs_size(&l.attributes)
            })
            .sum();
        std::mem::size_of::<Span>()
            + heap(self.trace_state.capacity())
            + heap(self.name.capacity())
            + heap(self.status.message.capacity())
            + attrs_size(&self.attributes)
            + if self.events.is_empty() {
                0
            } else {
                ALLOC_OVERHEAD + events
            }
            + if self.links.is_empty() {
                0
            } else {
                ALLOC_OVERHEAD + links
            }
    }
}
