//! Traces read for analysis, kept briefly between insights queries: alerting and the UI ask every few seconds,
//! and most sampled traces (all baseline ones) have not changed since the last ask. Entries older than
//! [`FRESH_FOR`] are read again; the cache holds at most [`MAX_TRACES`] traces.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tracewell_model::{Span, TenantId, TraceId};

/// How long a sampled trace is reused.
pub const FRESH_FOR: Duration = Duration::from_secs(60);
/// Traces kept at most.
pub const MAX_TRACES: usize = 4096;

/// A trace's spans and when they were read.
type Sampled = (Instant, Arc<Vec<Span>>);

#[derive(Debug, Default)]
pub struct SampleCache {
    traces: Mutex<HashMap<(TenantId, TraceId), Sampled>>,
}

impl SampleCache {
    pub fn get(&self, tenant: &TenantId, id: &TraceId) -> Option<Arc<Vec<Span>>> {
        let traces = self.traces.lock();
        let (at, spans) = traces.get(&(tenant.clone(), *id))?;
        (at.elapsed() < FRESH_FOR).then(|| Arc::clone(spans))
    }

    pub fn put(&self, tenant: &TenantId, id: TraceId, spans: Arc<Vec<Span>>) {
        let mut traces = self.traces.lock();
        if traces.len() >= MAX_TRACES {
            traces.retain(|_, (at, _)| at.elapsed() < FRESH_FOR);
            if traces.len() >= MAX_TRACES {
                traces.clear();
            }
        }
        traces.insert((tenant.clone(), id), (Instant::now(), spans));
    }
}
