//! Tail sampling: which traces of a head block go into the block, decided per tenant by policies
//! (`--tail-sampling FILE`, see `policy.rs`) once the head holds the traces — "keep every error and slow trace,
//! 1% of the rest" decided on whole traces, not on the root span's guess.
//!
//! The decision happens when a head is flushed, so the head's age (`--head-max-age`) is the decision wait:
//! spans that arrive within it are judged together. Every span is still acknowledged only once durable (the
//! WAL holds it until the flush), counted in the RED rollups (computed on insert, before sampling) and
//! readable while in the head. Decisions are remembered per tenant (a bounded cache, oldest forgotten
//! first), so late spans of a decided trace, flushed with a later head, follow the decision instead of being
//! judged alone. The policies file is reloaded when it changes ([`watcher`]).

mod policy;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use tracewell_model::{Span, TraceId};

use crate::fast_hash::{FastHashMap, FastHashSet};
pub use policy::{
    root_service, trace_fraction, Baseline, Condition, Policy, SamplingError, SamplingPolicies,
    TenantPolicies, DEFAULT_DECISION_CACHE,
};

/// The policy a remembered decision is counted under.
pub const EARLIER_DECISION: &str = "earlier_decision";
/// The policy dropped traces are counted under.
pub const NO_POLICY: &str = "none";

/// Remembered decisions of one tenant: trace id → kept, at most `capacity`, oldest forgotten first.
#[derive(Debug, Default)]
struct Decisions {
    kept: FastHashMap<TraceId, bool>,
    order: VecDeque<TraceId>,
}

impl Decisions {
    fn remember(&mut self, id: TraceId, kept: bool, capacity: usize) {
        if self.kept.insert(id, kept).is_none() {
            self.order.push_back(id);
        }
        while self.order.len() > capacity {
            if let Some(old) = self.order.pop_front() {
                self.kept.remove(&old);
            }
        }
    }
}

/// What sampling decided for one head.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Traces left out of the block.
    pub dropped: FastHashSet<TraceId>,
    /// Spans of the dropped traces.
    pub dropped_spans: u64,
    /// (policy, kept) → traces: the policy that kept a trace, [`NO_POLICY`] for dropped ones,
    /// [`EARLIER_DECISION`] for traces that followed a remembered decision.
    pub counts: HashMap<(String, bool), u64>,
}

/// The tail sampler of a store: the policies in force and each tenant's remembered decisions.
#[derive(Debug, Default)]
pub struct TailSampler {
    policies: RwLock<Arc<SamplingPolicies>>,
    decisions: Mutex<HashMap<String, Decisions>>,
}

impl TailSampler {
    pub fn new(policies: SamplingPolicies) -> Self {
        Self {
            policies: RwLock::new(Arc::new(policies)),
            decisions: Mutex::default(),
        }
    }

    /// Puts new policies in force (an edited file); remembered decisions stay.
    pub fn replace(&self, policies: SamplingPolicies) {
        *self.policies.write() = Arc::new(policies);
    }

    /// Whether `tenant`'s traces are sampled at all.
    pub fn samples(&self, tenant: &str) -> bool {
        self.policies.read().for_tenant(tenant).is_some()
    }

    /// Decides every trace of a head that held data for `window` (the rate budget's time base); `visit` calls
    /// its argument with each trace.
    pub fn decide(
        &self,
        tenant: &str,
        window: Duration,
        baseline: &Baseline,
        visit: impl FnOnce(&mut dyn FnMut(&TraceId, &[Span])),
    ) -> Verdict {
        let mut verdict = Verdict::default();
        let all = Arc::clone(&self.policies.read());
        let Some(policies) = all.for_tenant(tenant) else {
            return verdict;
        };
        let mut remembered = self.decisions.lock();
        let decisions = remembered.entry(tenant.to_owned()).or_default();
        let mut budgets: HashMap<(usize, String), f64> = HashMap::new();
        let seconds = window.as_secs_f64().max(1.0);
        visit(&mut |id, spans| {
            let (policy, kept) = match decisions.kept.get(id) {
                Some(&kept) => (EARLIER_DECISION, kept),
                None => {
                    let keeper = policies.policies.iter().enumerate().find(|(i, p)| {
                        if !p.condition.holds(id, spans, baseline) {
                            return false;
                        }
                        let Condition::TracesPerSecond(rate) = p.condition else {
                            return true;
                        };
                        let left = budgets
                            .entry((*i, root_service(spans).to_owned()))
                            .or_insert((rate * seconds).ceil());
                        if *left >= 1.0 {
                            *left -= 1.0;
                            true
                        } else {
                            false
                        }
                    });
                    let kept = keeper.is_some();
                    decisions.remember(*id, kept, policies.decision_cache);
                    (keeper.map_or(NO_POLICY, |(_, p)| p.name.as_str()), kept)
                }
            };
            if !kept {
                verdict.dropped.insert(*id);
                verdict.dropped_spans += spans.len() as u64;
            }
            *verdict.counts.entry((policy.to_owned(), kept)).or_default() += 1;
        });
        verdict
    }
}

/// A shared sampler; the default samples nothing.
pub type SamplerHandle = Arc<TailSampler>;

/// A watcher of a policies file whose policies are already in `sampler`: valid edits replace them
/// (`tracewell_tail_sampling_reloads{outcome}` counts reloads).
pub fn watcher(
    path: std::path::PathBuf,
    sampler: SamplerHandle,
    registry: &mut prometheus_client::registry::Registry,
) -> crate::watch::ConfigWatcher {
    crate::watch::ConfigWatcher::new(
        path,
        "tail-sampling policies",
        "tracewell_tail_sampling_reloads",
        registry,
        Box::new(move |path| {
            let policies = SamplingPolicies::load(path).map_err(|e| e.to_string())?;
            sampler.replace(policies);
            Ok(String::new())
        }),
    )
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use tracewell_model::{Resource, SpanId, Status, StatusCode};

    use super::*;

    fn span(trace: u64, service: &str, millis: u64, error: bool) -> Span {
        let mut id = [0u8; 16];
        id[8..].copy_from_slice(&trace.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_be_bytes());
        Span {
            trace_id: TraceId(id),
            span_id: SpanId([1; 8]),
            name: "op".into(),
            start_unix_nano: 1_000,
            end_unix_nano: 1_000 + millis * 1_000_000,
            status: Status {
                code: if error {
                    StatusCode::Error
                } else {
                    StatusCode::Unset
                },
                message: String::new(),
            },
            resource: Arc::new(Resource::new(
                vec![tracewell_model::Attribute::str("service.name", service)],
                0,
                String::new(),
            )),
            ..Default::default()
        }
    }

    fn sampler(text: &str) -> TailSampler {
        TailSampler::new(SamplingPolicies::parse(text, Path::new("s.toml")).unwrap())
    }

    fn decide(s: &TailSampler, window_secs: u64, traces: &[Vec<Span>]) -> Verdict {
        let mut baseline = Baseline::default();
        for span in traces.iter().flatten() {
            baseline.record(span.service_name(), &span.name, span.duration_nano());
        }
        s.decide("t", Duration::from_secs(window_secs), &baseline, |f| {
            for spans in traces {
                f(&spans[0].trace_id, spans);
            }
        })
    }

    fn count(v: &Verdict, policy: &str, kept: bool) -> u64 {
        v.counts
            .get(&(policy.to_owned(), kept))
            .copied()
            .unwrap_or(0)
    }

    #[test]
    fn the_slowest_percent_of_each_operation_is_kept() {
        let s = sampler(
            "[[all.policies]]\nname = 'p99'\nslower_than_percentile = 99\nservice = 'web'\n",
        );
        // 2000 web traces of 1..=2000 ms, and 50 db traces (too few for a p99 of their own).
        let mut traces: Vec<Vec<Span>> = (1..=2000u64)
            .map(|i| vec![span(i, "web", i, false)])
            .collect();
        traces.extend((1..=50u64).map(|i| vec![span(10_000 + i, "db", 100_000, false)]));
        let v = decide(&s, 60, &traces);
        let kept = count(&v, "p99", true);
        // About the slowest 1% (20 traces): the threshold is read from the rollup histogram, whose 4% buckets
        // move it by up to 2%, here (uniform durations) to about the slowest 2%.
        assert!((15..=60).contains(&kept), "kept {kept}");
        for trace in &traces[..1900] {
            assert!(
                v.dropped.contains(&trace[0].trace_id),
                "a fast trace dropped"
            );
        }
        assert!(
            !v.dropped.contains(&traces[1999][0].trace_id),
            "the slowest kept"
        );
        assert!(
            v.dropped.contains(&traces[2000][0].trace_id),
            "db is not web, and has too few spans anyway"
        );
    }

    #[test]
    fn errors_and_slow_traces_are_kept_and_the_rest_dropped() {
        let s = sampler(
            "[[all.policies]]\nname = 'errors'\nerrors = true\n\
             [[all.policies]]\nname = 'slow'\nslower_than = '1s'\nservice = 'db'\n",
        );
        let traces = vec![
            vec![span(1, "web", 5, false), span(1, "db", 3, true)],
            vec![span(2, "web", 2_000, false)],
            vec![span(3, "web", 10, false), span(3, "db", 1_500, false)],
            vec![span(4, "web", 10, false)],
        ];
        let v = decide(&s, 60, &traces);
        let dropped: Vec<_> = traces
            .iter()
            .map(|t| v.dropped.contains(&t[0].trace_id))
            .collect();
        // Trace 2 is slow, but not in the db service.
        assert_eq!(dropped, [false, true, false, true]);
        assert_eq!(v.dropped_spans, 2);
        assert_eq!(count(&v, "errors", true), 1);
        assert_eq!(count(&v, "slow", true), 1);
        assert_eq!(count(&v, NO_POLICY, false), 2);
    }

    #[test]
    fn the_rate_budget_is_per_root_service_and_window() {
        let s = sampler("[[all.policies]]\nname = 'rate'\ntraces_per_second = 0.5\n");
        let traces: Vec<Vec<Span>> = (0..40)
            .map(|i| vec![span(i, if i % 2 == 0 { "a" } else { "b" }, 1, false)])
            .collect();
        // 0.5/s over 10 s: 5 traces of each root service.
        let v = decide(&s, 10, &traces);
        assert_eq!(count(&v, "rate", true), 10);
        assert_eq!(v.dropped.len(), 30);
    }

    #[test]
    fn probability_keeps_its_share_by_trace_id() {
        let s = sampler("[[all.policies]]\nname = 'tenth'\nprobability = 0.1\n");
        let traces: Vec<Vec<Span>> = (0..5_000).map(|i| vec![span(i, "a", 1, false)]).collect();
        let v = decide(&s, 10, &traces);
        let kept = count(&v, "tenth", true);
        assert!((400..600).contains(&kept), "kept {kept} of 5000");
        // The same trace id is decided the same way by another sampler (another process).
        let again = decide(
            &sampler("[[all.policies]]\nname = 'tenth'\nprobability = 0.1\n"),
            10,
            &traces,
        );
        assert_eq!(again.dropped, v.dropped);
    }

    #[test]
    fn late_spans_follow_the_remembered_decision() {
        let s = sampler(
            "[all]\ndecision_cache = 2\n[[all.policies]]\nname = 'errors'\nerrors = true\n",
        );
        let first = decide(&s, 10, &[vec![span(1, "web", 1, false)]]);
        assert_eq!(first.dropped.len(), 1);
        // A late error span of the dropped trace is dropped too, counted as following the decision.
        let late = decide(&s, 10, &[vec![span(1, "db", 1, true)]]);
        assert_eq!(late.dropped.len(), 1);
        assert_eq!(count(&late, EARLIER_DECISION, false), 1);
        // The cache holds two decisions: trace 1 is forgotten after two more, and judged afresh.
        decide(
            &s,
            10,
            &[
                vec![span(2, "web", 1, false)],
                vec![span(3, "web", 1, false)],
            ],
        );
        let forgotten = decide(&s, 10, &[vec![span(1, "db", 1, true)]]);
        assert!(forgotten.dropped.is_empty());
        assert_eq!(count(&forgotten, "errors", true), 1);
    }

    #[test]
    fn edited_policies_apply_to_the_next_flush() {
        let s = sampler("[[all.policies]]\nname = 'none'\nprobability = 0.0\n");
        assert_eq!(
            decide(&s, 10, &[vec![span(1, "web", 1, false)]])
                .dropped
                .len(),
            1
        );
        s.replace(
            SamplingPolicies::parse(
                "[[all.policies]]\nname = 'all'\nprobability = 1.0\n",
                Path::new("s"),
            )
            .unwrap(),
        );
        assert!(decide(&s, 10, &[vec![span(2, "web", 1, false)]])
            .dropped
            .is_empty());
    }

    #[test]
    fn tenants_without_policies_keep_everything() {
        let s = sampler("[[tenants.other.policies]]\nname = 'none'\nprobability = 0.0\n");
        assert!(!s.samples("t"));
        let v = decide(&s, 10, &[vec![span(1, "web", 1, false)]]);
        assert!(v.dropped.is_empty() && v.counts.is_empty());
    }
}
