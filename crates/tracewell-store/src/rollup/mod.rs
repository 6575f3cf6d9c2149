//! Rollups: per-minute RED statistics and service dependency edges, computed as spans arrive (every accepted
//! span counts, whatever later happens to raw spans) and persisted with each flush.
//!
//! - [`Rollup`] accumulates `(minute, service, operation, kind, status) → count, duration histogram` and
//!   `(minute, parent node, child node) → calls, errors, duration histogram`. Each head block owns one; its
//!   content is exactly what the head's spans contributed, so WAL replay rebuilds it.
//! - `join.rs` finds the parent service of a span across export batches (services export separately), and
//!   derives database and messaging-destination nodes from single spans.
//! - `cap.rs` caps the distinct RED series of a head's rollup (`max_rollup_series`): spans of further series are
//!   counted in an `other` operation of their service, or of an `other` service.
//! - `files.rs` writes a head's rollup as `<tenant>/rollups/<min>-<max>-<ulid>.json` after its block is durable,
//!   lists and caches those files, merges old ones per day and deletes them after the rollup retention.

mod cap;
mod files;
mod histogram;
mod join;
mod maintain;

use std::hash::{BuildHasher, Hash};

use hashbrown::HashTable;
use serde::{Deserialize, Serialize};

pub use cap::OTHER;
pub use files::{RollupFileRef, RollupFiles};
pub use histogram::Histogram;
pub(crate) use join::EdgeJoin;

/// Nanoseconds per rollup bucket (one minute).
pub const MINUTE_NANO: u64 = 60_000_000_000;

/// Key of one RED series point.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RedKey {
    /// Unix minute of the span's start.
    pub minute: u64,
    pub service: String,
    pub operation: String,
    /// OTLP span kind number.
    pub kind: u8,
    /// OTLP status code number (2 = error).
    pub status: u8,
}

impl RedKey {
    pub(crate) fn point(&self) -> RedPoint<'_> {
        RedPoint {
            minute: self.minute,
            service: &self.service,
            operation: &self.operation,
            kind: self.kind,
            status: self.status,
        }
    }
}

/// What a dependency-graph node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeKind {
    Service,
    Database,
    Messaging,
}

impl NodeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Service => "service",
            Self::Database => "database",
            Self::Messaging => "messaging",
        }
    }
}

/// Key of one dependency edge point: calls from `parent` to `child` in one minute.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EdgeKey {
    pub minute: u64,
    pub parent: String,
    pub parent_kind: NodeKind,
    pub child: String,
    pub child_kind: NodeKind,
}

impl EdgeKey {
    pub(crate) fn point(&self) -> EdgePoint<'_> {
        EdgePoint {
            minute: self.minute,
            parent: &self.parent,
            parent_kind: self.parent_kind,
            child: &self.child,
            child_kind: self.child_kind,
        }
    }
}

/// Counts and durations behind one key. For edges, `errors` counts calls whose child span failed and durations are
/// the child span's.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub count: u64,
    pub errors: u64,
    pub sum_nano: u64,
    pub histogram: Histogram,
}

impl Stats {
    fn record(&mut self, duration_nano: u64, error: bool) {
        self.count += 1;
        self.errors += u64::from(error);
        self.sum_nano = self.sum_nano.saturating_add(duration_nano);
        self.histogram.record(duration_nano);
    }

    pub fn merge(&mut self, other: &Stats) {
        self.count += other.count;
        self.errors += other.errors;
        self.sum_nano = self.sum_nano.saturating_add(other.sum_nano);
        self.histogram.merge(&other.histogram);
    }
}

/// One observation of a span for the RED rollup, borrowing its strings.
pub(crate) struct RedPoint<'a> {
    pub minute: u64,
    pub service: &'a str,
    pub operation: &'a str,
    pub kind: u8,
    pub status: u8,
}

/// One observation of an edge, borrowing its node names.
pub(crate) struct EdgePoint<'a> {
    pub minute: u64,
    pub parent: &'a str,
    pub parent_kind: NodeKind,
    pub child: &'a str,
    pub child_kind: NodeKind,
}

/// RED statistics and dependency edges, per minute.
#[derive(Default)]
pub struct Rollup {
    hasher: std::collections::hash_map::RandomState,
    red: HashTable<(RedKey, Stats)>,
    edges: HashTable<(EdgeKey, Stats)>,
    /// The distinct RED series recorded through the cap (`cap.rs`); empty for rollups merged or read from files.
    series: cap::Series,
}

impl std::fmt::Debug for Rollup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rollup")
            .field("red", &self.red.len())
            .field("edges", &self.edges.len())
            .finish()
    }
}

impl Clone for Rollup {
    fn clone(&self) -> Self {
        let mut out = Rollup::default();
        out.merge(self);
        out
    }
}

fn red_hash(h: &impl BuildHasher, p: (u64, &str, &str, u8, u8)) -> u64 {
    h.hash_one(p)
}

fn red_matches(k: &RedKey, p: &RedPoint<'_>) -> bool {
    k.minute == p.minute
        && k.kind == p.kind
        && k.status == p.status
        && k.service == p.service
        && k.operation == p.operation
}

fn edge_hash(h: &impl BuildHasher, p: (u64, &str, NodeKind, &str, NodeKind)) -> u64 {
    h.hash_one(p)
}

impl Rollup {
    pub fn is_empty(&self) -> bool {
        self.red.is_empty() && self.edges.is_empty()
    }

    /// RED entries, in no particular order.
    pub fn red(&self) -> impl Iterator<Item = (&RedKey, &Stats)> {
        self.red.iter().map(|(k, s)| (k, s))
    }

    /// Edge entries, in no particular order.
    pub fn edges(&self) -> impl Iterator<Item = (&EdgeKey, &Stats)> {
        self.edges.iter().map(|(k, s)| (k, s))
    }

    /// Smallest and largest minute present.
    pub fn minute_range(&self) -> Option<(u64, u64)> {
        let minutes = self
            .red
            .iter()
            .map(|(k, _)| k.minute)
            .chain(self.edges.iter().map(|(k, _)| k.minute));
        minutes.fold(None, |acc, m| match acc {
            None => Some((m, m)),
            Some((lo, hi)) => Some((lo.min(m), hi.max(m))),
        })
    }

    pub(crate) fn record_red(&mut self, p: RedPoint<'_>, duration_nano: u64, error: bool) {
        let stats = self.red_entry(&p);
        stats.record(duration_nano, error);
    }

    /// The statistics of an existing RED entry.
    fn red_existing(&mut self, p: &RedPoint<'_>) -> Option<&mut Stats> {
        let hash = red_hash(
            &self.hasher,
            (p.minute, p.service, p.operation, p.kind, p.status),
        );
        self.red
            .find_mut(hash, |(k, _)| red_matches(k, p))
            .map(|(_, s)| s)
    }

    fn red_entry(&mut self, p: &RedPoint<'_>) -> &mut Stats {
        let hasher = &self.hasher;
        let hash = red_hash(hasher, (p.minute, p.service, p.operation, p.kind, p.status));
        let entry = self.red.entry(
            hash,
            |(k, _)| red_matches(k, p),
            |(k, _)| {
                red_hash(
                    hasher,
                    (k.minute, &k.service, &k.operation, k.kind, k.status),
                )
            },
        );
        let slot = entry.or_insert_with(|| {
            (
                RedKey {
                    minute: p.minute,
                    service: p.service.to_owned(),
                    operation: p.operation.to_owned(),
                    kind: p.kind,
                    status: p.status,
                },
                Stats::default(),
            )
        });
        &mut slot.into_mut().1
    }

    pub(crate) fn record_edge(&mut self, p: EdgePoint<'_>, duration_nano: u64, error: bool) {
        self.edge_entry(&p).record(duration_nano, error);
    }

    fn edge_entry(&mut self, p: &EdgePoint<'_>) -> &mut Stats {
        let hasher = &self.hasher;
        let hash = edge_hash(
            hasher,
            (p.minute, p.parent, p.parent_kind, p.child, p.child_kind),
        );
        let entry = self.edges.entry(
            hash,
            |(k, _)| {
                k.minute == p.minute
                    && k.parent_kind == p.parent_kind
                    && k.child_kind == p.child_kind
                    && k.parent == p.parent
                    && k.child == p.child
            },
            |(k, _)| {
                edge_hash(
                    hasher,
                    (k.minute, &k.parent, k.parent_kind, &k.child, k.child_kind),
                )
            },
        );
        let slot = entry.or_insert_with(|| {
            (
                EdgeKey {
                    minute: p.minute,
                    parent: p.parent.to_owned(),
                    parent_kind: p.parent_kind,
                    child: p.child.to_owned(),
                    child_kind: p.child_kind,
                },
                Stats::default(),
            )
        });
        &mut slot.into_mut().1
    }

    /// Adds every entry of `other`.
    pub fn merge(&mut self, other: &Rollup) {
        self.merge_filtered(other, |_| true);
    }

    /// Adds the entries of `other` whose minute passes `keep`.
    pub fn merge_filtered(&mut self, other: &Rollup, keep: impl Fn(u64) -> bool) {
        for (k, s) in other.red.iter().filter(|(k, _)| keep(k.minute)) {
            self.red_entry(&k.point()).merge(s);
        }
        for (k, s) in other.edges.iter().filter(|(k, _)| keep(k.minute)) {
            self.edge_entry(&k.point()).merge(s);
        }
    }

    /// Approximate memory held, for budgets and cache sizing.
    pub fn approx_bytes(&self) -> usize {
        let entry =
            |service: usize, op: usize, h: &Histogram| 96 + service + op + h.buckets.len() * 16;
        self.red
            .iter()
            .map(|(k, s)| entry(k.service.len(), k.operation.len(), &s.histogram))
            .chain(
                self.edges
                    .iter()
                    .map(|(k, s)| entry(k.parent.len(), k.child.len(), &s.histogram)),
            )
            .sum()
    }
}

/// Serialized form of a [`Rollup`].
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct RollupData {
    pub red: Vec<(RedKey, Stats)>,
    pub edges: Vec<(EdgeKey, Stats)>,
    /// Rollup files this one replaces (a merge); they are deleted once this file is durable.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged_from: Vec<String>,
}

impl Rollup {
    pub(crate) fn to_data(&self, merged_from: Vec<String>) -> RollupData {
        let mut red: Vec<_> = self.red.iter().cloned().collect();
        red.sort_by(|a, b| {
            a.0.minute
                .cmp(&b.0.minute)
                .then_with(|| a.0.service.cmp(&b.0.service))
        });
        let mut edges: Vec<_> = self.edges.iter().cloned().collect();
        edges.sort_by(|a, b| {
            a.0.minute
                .cmp(&b.0.minute)
                .then_with(|| a.0.parent.cmp(&b.0.parent))
        });
        RollupData {
            red,
            edges,
            merged_from,
        }
    }

    pub(crate) fn from_data(data: RollupData) -> Self {
        let mut out = Rollup::default();
        for (k, s) in &data.red {
            out.red_entry(&k.point()).merge(s);
        }
        for (k, s) in &data.edges {
            out.edge_entry(&k.point()).merge(s);
        }
        out
    }
}
