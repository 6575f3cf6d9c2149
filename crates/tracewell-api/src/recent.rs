//! Traces the UI has just opened, kept briefly so that asking for one span after another does not read
//! the whole trace from storage each time. Bounded by total spans and by age; a trace larger than the
//! budget is not kept.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tracewell_model::{Span, TenantId, TraceId};

/// Spans kept in all, by default.
pub const DEFAULT_MAX_SPANS: usize = 250_000;
/// How long a kept trace answers span requests (spans arriving meanwhile are not seen until it expires).
pub const DEFAULT_TTL: Duration = Duration::from_secs(60);

type Entry = (TenantId, TraceId, Instant, Arc<Vec<Span>>);

pub struct RecentTraces {
    entries: Mutex<VecDeque<Entry>>,
    max_spans: usize,
    ttl: Duration,
}

impl std::fmt::Debug for RecentTraces {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecentTraces")
            .field("max_spans", &self.max_spans)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl Default for RecentTraces {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_SPANS, DEFAULT_TTL)
    }
}

impl RecentTraces {
    pub fn new(max_spans: usize, ttl: Duration) -> Self {
        RecentTraces {
            entries: Mutex::new(VecDeque::new()),
            max_spans,
            ttl,
        }
    }

    /// The spans of a trace kept less than the TTL ago.
    pub fn get(&self, tenant: &TenantId, trace: TraceId) -> Option<Arc<Vec<Span>>> {
        let now = Instant::now();
        let mut entries = self.entries.lock();
        entries.retain(|(_, _, at, _)| now.duration_since(*at) < self.ttl);
        entries
            .iter()
            .find(|(t, id, _, _)| t == tenant && *id == trace)
            .map(|(_, _, _, spans)| spans.clone())
    }

    /// Keeps `spans`, dropping the oldest entries to stay within the span budget.
    pub fn put(&self, tenant: &TenantId, trace: TraceId, spans: Arc<Vec<Span>>) {
        if spans.len() > self.max_spans {
            return;
        }
        let mut entries = self.entries.lock();
        entries.retain(|(t, id, _, _)| !(t == tenant && *id == trace));
        entries.push_back((tenant.clone(), trace, Instant::now(), spans));
        let mut total: usize = entries.iter().map(|e| e.3.len()).sum();
        while total > self.max_spans {
            match entries.pop_front() {
                Some(e) => total -= e.3.len(),
                None => break,
            }
        }
    }
}
