//! The cardinality cap of RED series. A head block's rollup is its tenant's rollup window (it is written as one
//! rollup file when the head flushes); it keeps at most `max_rollup_series` distinct series
//! `(service, operation, kind, status)`, whatever minutes they cover. Once full, a span of a further series is
//! counted in the series `(service, "other", kind, status)` when its service already has a series in the window,
//! else in `("other", "other", kind, status)`: operation names made of ids fold into one `other` operation per
//! service, and service names made of ids (which would otherwise bring an `other` series each) into one `other`
//! service. Fold series are created as needed, so a window holds at most `max_rollup_series` plus one `other`
//! series per service, kind and status present before the cap was reached, plus the `other` service's few.
//!
//! Queries see `other` like any operation or service. Counts stay whole: every span is in exactly one series.

use std::collections::HashSet;
use std::hash::BuildHasher;

use tracewell_model::Span;

use super::{RedPoint, Rollup};
use crate::head::Head;
use crate::metrics::tenant_label;
use crate::tenant::Tenant;
use crate::Store;

/// The operation (and, for services first seen past the cap, the service) spans of folded series are counted in.
pub const OTHER: &str = "other";

/// The distinct series of a capped rollup, as hashes (a collision counts two series as one: harmless here).
#[derive(Default)]
pub(crate) struct Series {
    series: HashSet<u64>,
    services: HashSet<u64>,
}

impl Series {
    fn series_hash(
        h: &impl BuildHasher,
        service: &str,
        operation: &str,
        kind: u8,
        status: u8,
    ) -> u64 {
        h.hash_one((service, operation, kind, status))
    }
}

impl Rollup {
    /// Records a span's RED point, folding it into an `other` series when it would add a series past
    /// `max_series` (see the module documentation). Returns whether it was folded.
    pub(crate) fn record_red_capped(
        &mut self,
        p: RedPoint<'_>,
        duration_nano: u64,
        error: bool,
        max_series: usize,
    ) -> bool {
        // Most spans add to an entry of their minute that exists already: one lookup, as without a cap.
        if let Some(stats) = self.red_existing(&p) {
            stats.record(duration_nano, error);
            return false;
        }
        let hasher = &self.hasher;
        let key = Series::series_hash(hasher, p.service, p.operation, p.kind, p.status);
        let known = &mut self.series;
        if known.series.contains(&key) || known.series.len() < max_series {
            known.series.insert(key);
            known.services.insert(hasher.hash_one(p.service));
            self.record_red(p, duration_nano, error);
            return false;
        }
        let service = if known.services.contains(&hasher.hash_one(p.service)) {
            p.service
        } else {
            OTHER
        };
        known.series.insert(Series::series_hash(
            hasher, service, OTHER, p.kind, p.status,
        ));
        self.record_red(
            RedPoint {
                service,
                operation: OTHER,
                ..p
            },
            duration_nano,
            error,
        );
        true
    }

    /// Distinct RED series recorded through the cap (fold series included).
    pub fn capped_series(&self) -> usize {
        self.series.series.len()
    }
}

impl Store {
    /// Adds spans to their head's rollup (RED points under the `max_rollup_series` cap, dependency edges) and
    /// counts the folded ones.
    pub(crate) fn roll_up(&self, tenant: &Tenant, head: &Head, spans: &[Span]) {
        let max_series = self.0.config.max_rollup_series;
        let (folded, series) = {
            let mut join = tenant.edge_join.lock();
            let mut rollup = head.rollup.lock();
            let folded = spans
                .iter()
                .filter(|span| join.observe_capped(span, &mut rollup, max_series))
                .count();
            (folded, rollup.capped_series())
        };
        let labels = tenant_label(tenant.id.as_str());
        let metrics = &self.0.metrics;
        metrics
            .rollup_series
            .get_or_create(&labels)
            .set(i64::try_from(series).unwrap_or(i64::MAX));
        if folded > 0 {
            metrics
                .rollup_folded_spans
                .get_or_create(&labels)
                .inc_by(folded as u64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(
        rollup: &mut Rollup,
        minute: u64,
        service: &str,
        operation: &str,
        max: usize,
    ) -> bool {
        rollup.record_red_capped(
            RedPoint {
                minute,
                service,
                operation,
                kind: 2,
                status: 0,
            },
            1_000,
            false,
            max,
        )
    }

    /// `(service, operation) → count`, over all minutes.
    fn counts(rollup: &Rollup) -> std::collections::BTreeMap<(String, String), u64> {
        let mut out = std::collections::BTreeMap::new();
        for (k, s) in rollup.red() {
            *out.entry((k.service.clone(), k.operation.clone()))
                .or_default() += s.count;
        }
        out
    }

    fn pair(service: &str, operation: &str) -> (String, String) {
        (service.to_owned(), operation.to_owned())
    }

    #[test]
    fn series_past_the_cap_fold_into_other_of_their_service_and_counts_stay_whole() {
        let mut rollup = Rollup::default();
        assert!(!record(&mut rollup, 1, "api", "GET /a", 3));
        assert!(!record(&mut rollup, 1, "api", "GET /b", 3));
        assert!(!record(&mut rollup, 1, "db", "SELECT", 3));
        // Full: new operations of known services fold into their `other`.
        assert!(record(&mut rollup, 1, "api", "GET /c", 3));
        assert!(record(&mut rollup, 2, "api", "GET /d", 3));
        assert!(record(&mut rollup, 2, "db", "INSERT", 3));
        // Known series keep counting, also in minutes they had no entry in yet.
        assert!(!record(&mut rollup, 2, "api", "GET /a", 3));
        assert!(!record(&mut rollup, 3, "db", "SELECT", 3));
        // A service first seen past the cap goes to the `other` service.
        assert!(record(&mut rollup, 3, "pod-7f9c", "work", 3));
        assert!(record(&mut rollup, 3, "pod-a1b2", "work", 3));

        let counts = counts(&rollup);
        assert_eq!(counts[&pair("api", "GET /a")], 2);
        assert_eq!(counts[&pair("api", "GET /b")], 1);
        assert_eq!(counts[&pair("api", OTHER)], 2);
        assert_eq!(counts[&pair("db", OTHER)], 1);
        assert_eq!(counts[&pair("db", "SELECT")], 2);
        assert_eq!(counts[&pair(OTHER, OTHER)], 2);
        assert_eq!(counts.values().sum::<u64>(), 10, "every span counted once");
        assert!(!counts.contains_key(&pair("api", "GET /c")));
        assert!(!counts.keys().any(|(s, _)| s.starts_with("pod-")));
        assert_eq!(rollup.capped_series(), 6);
    }

    #[test]
    fn a_rollup_without_a_reachable_cap_keeps_every_series() {
        let mut rollup = Rollup::default();
        for i in 0..100 {
            assert!(!record(
                &mut rollup,
                i % 3,
                "api",
                &format!("op {i}"),
                usize::MAX
            ));
        }
        assert_eq!(counts(&rollup).len(), 100);
        assert!(!counts(&rollup).contains_key(&pair("api", OTHER)));
    }

    #[test]
    fn kinds_and_statuses_of_a_folded_span_are_kept() {
        let mut rollup = Rollup::default();
        record(&mut rollup, 1, "api", "GET /a", 1);
        rollup.record_red_capped(
            RedPoint {
                minute: 1,
                service: "api",
                operation: "GET /b",
                kind: 3,
                status: 2,
            },
            5_000,
            true,
            1,
        );
        let (key, stats) = rollup
            .red()
            .find(|(k, _)| k.operation == OTHER)
            .expect("folded");
        assert_eq!((key.service.as_str(), key.kind, key.status), ("api", 3, 2));
        assert_eq!((stats.count, stats.errors, stats.sum_nano), (1, 1, 5_000));
    }
}
