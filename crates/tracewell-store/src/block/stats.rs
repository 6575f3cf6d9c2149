//! [`BlockStats`] of a block, gathered span by span as the block is written (spans in block order).

use std::collections::BTreeSet;
use std::sync::Arc;

use tracewell_model::{Attribute, Resource, Scope, Span, TraceId};

use super::{BlockStats, MAX_RECORDED_KEYS};
use crate::fast_hash::{FastHashMap as HashMap, FastHashSet as HashSet};

/// Gathers the stats of spans pushed in block order (sorted by trace id).
#[derive(Default)]
pub struct StatsBuilder {
    min_start: u64,
    max_end: u64,
    first_trace: Option<TraceId>,
    last_trace: Option<TraceId>,
    spans: u64,
    traces: u64,
    /// Span names by service (the services are its keys).
    operations: HashMap<String, HashSet<String>>,
    span_keys: KeySet,
    resource_keys: KeySet,
    event_keys: KeySet,
    link_keys: KeySet,
    scope_keys: KeySet,
    /// Resources whose keys were added, held so that their addresses stay theirs.
    resources_seen: HashMap<*const Resource, Arc<Resource>>,
    /// Scopes whose keys were added, likewise.
    scopes_seen: HashMap<*const Scope, Arc<Scope>>,
}

/// Resources (and scopes) remembered by address; past this many, their keys are added again for each span.
const MAX_REMEMBERED_RESOURCES: usize = 4096;

/// Distinct attribute keys, up to [`MAX_RECORDED_KEYS`] (then unknown).
#[derive(Default)]
pub struct KeySet {
    keys: HashSet<String>,
    overflowed: bool,
}

impl KeySet {
    fn add(&mut self, attrs: &[Attribute]) {
        for a in attrs {
            self.add_key(&a.key);
        }
    }

    /// Adds one key.
    pub fn add_key(&mut self, key: &str) {
        if self.overflowed || self.keys.contains(key) {
            return;
        }
        if self.keys.len() == MAX_RECORDED_KEYS {
            self.overflowed = true;
            self.keys.clear();
            return;
        }
        self.keys.insert(key.to_owned());
    }

    fn finish(self) -> Option<Vec<String>> {
        if self.overflowed {
            return None;
        }
        let sorted: BTreeSet<String> = self.keys.into_iter().collect();
        Some(sorted.into_iter().collect())
    }
}

impl StatsBuilder {
    /// Adds the next span of the block.
    pub fn push(&mut self, s: &Span) {
        self.push_except_span_keys(s);
        self.span_keys.add(&s.attributes);
    }

    /// Adds the next span of the block but not its attribute keys: a writer that sorts each attribute into a
    /// column anyway gathers them more cheaply, and hands them to [`StatsBuilder::finish_with_span_keys`].
    pub fn push_except_span_keys(&mut self, s: &Span) {
        if self.spans == 0 {
            self.min_start = s.start_unix_nano;
            self.first_trace = Some(s.trace_id);
        }
        self.min_start = self.min_start.min(s.start_unix_nano);
        self.max_end = self.max_end.max(s.end_unix_nano);
        if self.last_trace != Some(s.trace_id) {
            self.traces += 1;
            self.last_trace = Some(s.trace_id);
        }
        self.spans += 1;
        let service = s.service_name();
        let names = match self.operations.get_mut(service) {
            Some(names) => names,
            None => self.operations.entry(service.to_owned()).or_default(),
        };
        if !names.contains(s.name.as_str()) {
            names.insert(s.name.clone());
        }
        for e in &s.events {
            self.event_keys.add(&e.attributes);
        }
        for l in &s.links {
            self.link_keys.add(&l.attributes);
        }
        let address = Arc::as_ptr(&s.scope);
        if !self.scopes_seen.contains_key(&address) {
            self.scope_keys.add(&s.scope.attributes);
            if self.scopes_seen.len() < MAX_REMEMBERED_RESOURCES {
                self.scopes_seen.insert(address, Arc::clone(&s.scope));
            }
        }
        let address = Arc::as_ptr(&s.resource);
        if !self.resources_seen.contains_key(&address) {
            self.resource_keys.add(&s.resource.attributes);
            if self.resources_seen.len() < MAX_REMEMBERED_RESOURCES {
                self.resources_seen.insert(address, Arc::clone(&s.resource));
            }
        }
    }

    /// The stats, with `span_keys` as the span attribute keys (see [`StatsBuilder::push_except_span_keys`]).
    pub fn finish_with_span_keys(mut self, span_keys: KeySet) -> BlockStats {
        self.span_keys = span_keys;
        self.finish()
    }

    pub fn finish(self) -> BlockStats {
        let (Some(first), Some(last)) = (self.first_trace, self.last_trace) else {
            return BlockStats::default();
        };
        BlockStats {
            min_start_unix_nano: self.min_start,
            max_end_unix_nano: self.max_end,
            min_trace_id: first.to_hex(),
            max_trace_id: last.to_hex(),
            span_count: self.spans,
            trace_count: self.traces,
            services: self
                .operations
                .keys()
                .cloned()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
            operations: self
                .operations
                .into_iter()
                .flat_map(|(service, names)| names.into_iter().map(move |n| (service.clone(), n)))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
            span_attribute_keys: self.span_keys.finish(),
            resource_attribute_keys: self.resource_keys.finish(),
            event_attribute_keys: self.event_keys.finish(),
            link_attribute_keys: self.link_keys.finish(),
            scope_attribute_keys: self.scope_keys.finish(),
        }
    }
}
