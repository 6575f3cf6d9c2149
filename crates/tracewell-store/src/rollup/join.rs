//! Dependency edges as spans arrive.
//!
//! A service-to-service edge needs the parent span's service, but the parent usually arrives in another export
//! batch (another service, or later: parents end after their children). The join keeps, per tenant, the service
//! of every span seen in the current and the previous head generation, and children whose parent has not arrived
//! yet. A child is joined when its parent arrives (or at once if the parent is already known); children still
//! waiting after two generations are dropped and counted.
//!
//! Edges that need no join come from one span: a PRODUCER with `messaging.destination.name` gives
//! `service → destination`, a CONSUMER gives `destination → service`, a CLIENT with `db.system.name` (or the older `db.system`) gives
//! `service → database` (named by `peer.service`, else `db.namespace`, else `db.system`).

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::sync::Arc;

use tracewell_model::{AttrValue, Resource, Span, SpanKind, StatusCode};

use super::{EdgePoint, NodeKind, RedPoint, Rollup, MINUTE_NANO};

/// Keys are already hashes; do not hash them again.
#[derive(Default)]
struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

type ByHash<V> = HashMap<u64, V, BuildHasherDefault<IdentityHasher>>;

/// A child span waiting for its parent.
struct Waiting {
    resource: Arc<Resource>,
    minute: u64,
    duration_nano: u64,
    error: bool,
}

/// Per-tenant join state; see the module documentation.
#[derive(Default)]
pub(crate) struct EdgeJoin {
    hasher: std::collections::hash_map::RandomState,
    /// Index 0 is the current generation.
    seen: [ByHash<Arc<Resource>>; 2],
    waiting: [ByHash<Vec<Waiting>>; 2],
    /// Children dropped because their parent never arrived.
    pub unresolved: u64,
}

fn str_attr<'a>(span: &'a Span, key: &str) -> Option<&'a str> {
    match span.attribute(key) {
        Some(AttrValue::Str(s)) if !s.is_empty() => Some(s),
        _ => None,
    }
}

impl EdgeJoin {
    fn key(&self, trace: &[u8; 16], span: &[u8; 8]) -> u64 {
        self.hasher.hash_one((trace, span))
    }

    /// Starts a new generation (when a head is sealed), forgetting the oldest one.
    pub fn rotate(&mut self) {
        let [current, previous] = &mut self.seen;
        *previous = std::mem::take(current);
        let [current, previous] = &mut self.waiting;
        self.unresolved += previous.values().map(|w| w.len() as u64).sum::<u64>();
        *previous = std::mem::take(current);
    }

    /// Adds a span's RED point and every edge it completes to `rollup`, without a cap on RED series.
    #[cfg(test)]
    pub fn observe(&mut self, span: &Span, rollup: &mut Rollup) {
        self.observe_capped(span, rollup, usize::MAX);
    }

    /// Adds a span's RED point and every edge it completes to `rollup`; a RED point that would add a series past
    /// `max_series` is folded into an `other` series (`cap.rs`). Returns whether it was.
    pub fn observe_capped(&mut self, span: &Span, rollup: &mut Rollup, max_series: usize) -> bool {
        let minute = span.start_unix_nano / MINUTE_NANO;
        let service = span.service_name();
        let error = span.status.code == StatusCode::Error;
        let duration = span.duration_nano();
        let folded = rollup.record_red_capped(
            RedPoint {
                minute,
                service,
                operation: &span.name,
                kind: span.kind as u8,
                status: span.status.code as u8,
            },
            duration,
            error,
            max_series,
        );
        let destination = str_attr(span, "messaging.destination.name");
        let edge = |parent, parent_kind, child, child_kind| EdgePoint {
            minute,
            parent,
            parent_kind,
            child,
            child_kind,
        };
        match (span.kind, destination) {
            (SpanKind::Producer, Some(dest)) => rollup.record_edge(
                edge(service, NodeKind::Service, dest, NodeKind::Messaging),
                duration,
                error,
            ),
            (SpanKind::Consumer, Some(dest)) => rollup.record_edge(
                edge(dest, NodeKind::Messaging, service, NodeKind::Service),
                duration,
                error,
            ),
            (SpanKind::Client, _) => {
                // Current semantic conventions say `db.system.name`; older instrumentation `db.system`.
                if let Some(system) =
                    str_attr(span, "db.system.name").or_else(|| str_attr(span, "db.system"))
                {
                    let db = str_attr(span, "peer.service")
                        .or_else(|| str_attr(span, "db.namespace"))
                        .unwrap_or(system);
                    rollup.record_edge(
                        edge(service, NodeKind::Service, db, NodeKind::Database),
                        duration,
                        error,
                    );
                }
            }
            _ => {}
        }

        // A consumer's link to its producer is already the two messaging edges above.
        let joins_parent = !(span.kind == SpanKind::Consumer && destination.is_some());
        if let (Some(parent), true) = (span.parent_span_id, joins_parent) {
            let parent_key = self.key(&span.trace_id.0, &parent.0);
            match self.seen_service(parent_key) {
                Some(parent_resource) => {
                    call_edge(rollup, &parent_resource, service, minute, duration, error)
                }
                None => self.waiting[0]
                    .entry(parent_key)
                    .or_default()
                    .push(Waiting {
                        resource: Arc::clone(&span.resource),
                        minute,
                        duration_nano: duration,
                        error,
                    }),
            }
        }
        let own_key = self.key(&span.trace_id.0, &span.span_id.0);
        self.seen[0].insert(own_key, Arc::clone(&span.resource));
        for generation in 0..2 {
            if let Some(children) = self.waiting[generation].remove(&own_key) {
                for child in children {
                    call_edge(
                        rollup,
                        &span.resource,
                        &child.resource.service_name,
                        child.minute,
                        child.duration_nano,
                        child.error,
                    );
                }
            }
        }
        folded
    }

    fn seen_service(&self, key: u64) -> Option<Arc<Resource>> {
        self.seen.iter().find_map(|g| g.get(&key)).cloned()
    }
}

fn call_edge(
    rollup: &mut Rollup,
    parent: &Resource,
    child_service: &str,
    minute: u64,
    duration: u64,
    error: bool,
) {
    if parent.service_name == child_service {
        return;
    }
    rollup.record_edge(
        EdgePoint {
            minute,
            parent: &parent.service_name,
            parent_kind: NodeKind::Service,
            child: child_service,
            child_kind: NodeKind::Service,
        },
        duration,
        error,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracewell_model::{Attribute, SpanId, TraceId};

    fn span(
        service: &str,
        id: u8,
        parent: Option<u8>,
        kind: SpanKind,
        attrs: Vec<Attribute>,
    ) -> Span {
        Span {
            trace_id: TraceId([7; 16]),
            span_id: SpanId([id; 8]),
            parent_span_id: parent.map(|p| SpanId([p; 8])),
            kind,
            name: format!("op{id}"),
            start_unix_nano: 120 * 1_000_000_000,
            end_unix_nano: 121 * 1_000_000_000,
            attributes: attrs,
            resource: Arc::new(Resource::new(
                vec![Attribute::str("service.name", service)],
                0,
                String::new(),
            )),
            ..Default::default()
        }
    }

    fn edges(rollup: &Rollup) -> Vec<(String, String, u64)> {
        let mut out: Vec<_> = rollup
            .edges()
            .map(|(k, s)| (k.parent.clone(), k.child.clone(), s.count))
            .collect();
        out.sort();
        out
    }

    #[test]
    fn children_join_parents_in_either_arrival_order_and_across_one_rotation() {
        let mut join = EdgeJoin::default();
        let mut rollup = Rollup::default();
        // Child before parent.
        join.observe(
            &span("api", 2, Some(1), SpanKind::Server, vec![]),
            &mut rollup,
        );
        join.observe(
            &span("gateway", 1, None, SpanKind::Server, vec![]),
            &mut rollup,
        );
        // Parent known before the child, one generation back.
        join.rotate();
        join.observe(
            &span("billing", 3, Some(1), SpanKind::Server, vec![]),
            &mut rollup,
        );
        // Same service: no edge.
        join.observe(
            &span("api", 4, Some(2), SpanKind::Internal, vec![]),
            &mut rollup,
        );
        assert_eq!(
            edges(&rollup),
            vec![
                ("gateway".into(), "api".into(), 1),
                ("gateway".into(), "billing".into(), 1)
            ]
        );
        assert_eq!(rollup.red().map(|(_, s)| s.count).sum::<u64>(), 4);
    }

    #[test]
    fn orphans_are_dropped_after_two_generations() {
        let mut join = EdgeJoin::default();
        let mut rollup = Rollup::default();
        join.observe(
            &span("api", 2, Some(9), SpanKind::Server, vec![]),
            &mut rollup,
        );
        join.rotate();
        assert_eq!(join.unresolved, 0);
        join.rotate();
        assert_eq!(join.unresolved, 1);
        join.observe(
            &span("gateway", 9, None, SpanKind::Server, vec![]),
            &mut rollup,
        );
        assert!(edges(&rollup).is_empty());
    }

    #[test]
    fn database_and_messaging_nodes_come_from_single_spans() {
        let mut join = EdgeJoin::default();
        let mut rollup = Rollup::default();
        let producer = span(
            "orders",
            1,
            None,
            SpanKind::Producer,
            vec![Attribute::str(
                "messaging.destination.name",
                "order.created",
            )],
        );
        let consumer = span(
            "worker",
            2,
            Some(1),
            SpanKind::Consumer,
            vec![Attribute::str(
                "messaging.destination.name",
                "order.created",
            )],
        );
        let db = span(
            "worker",
            3,
            Some(2),
            SpanKind::Client,
            vec![Attribute::str("db.system", "sqlite")],
        );
        for s in [&producer, &consumer, &db] {
            join.observe(s, &mut rollup);
        }
        assert_eq!(
            edges(&rollup),
            vec![
                ("order.created".into(), "worker".into(), 1),
                ("orders".into(), "order.created".into(), 1),
                ("worker".into(), "sqlite".into(), 1),
            ]
        );
        let kinds: Vec<_> = rollup
            .edges()
            .map(|(k, _)| (k.parent_kind, k.child_kind))
            .collect();
        assert!(kinds.contains(&(NodeKind::Service, NodeKind::Database)));
        assert!(kinds.contains(&(NodeKind::Messaging, NodeKind::Service)));
    }

    #[test]
    fn databases_are_found_by_current_and_older_conventions() {
        let mut join = EdgeJoin::default();
        let mut rollup = Rollup::default();
        let current = span(
            "catalog",
            1,
            None,
            SpanKind::Client,
            vec![
                Attribute::str("db.system.name", "postgresql"),
                Attribute::str("db.namespace", "shop"),
            ],
        );
        let system_only = span(
            "orders",
            2,
            None,
            SpanKind::Client,
            vec![Attribute::str("db.system.name", "sqlite")],
        );
        let older = span(
            "payments",
            3,
            None,
            SpanKind::Client,
            vec![Attribute::str("db.system", "mysql")],
        );
        for s in [&current, &system_only, &older] {
            join.observe(s, &mut rollup);
        }
        let mut db_edges: Vec<_> = rollup
            .edges()
            .filter(|(k, _)| k.child_kind == NodeKind::Database)
            .map(|(k, _)| (k.parent.clone(), k.child.clone()))
            .collect();
        db_edges.sort();
        assert_eq!(
            db_edges,
            vec![
                ("catalog".into(), "shop".into()),
                ("orders".into(), "sqlite".into()),
                ("payments".into(), "mysql".into()),
            ]
        );
    }
}
