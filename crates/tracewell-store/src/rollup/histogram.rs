//! A sparse log-bucketed duration histogram: mergeable, compact, and good for quantiles within a fixed relative
//! error.
//!
//! A value `v > 0` (nanoseconds) falls in bucket `ceil(log_γ v)` with `γ = 1.04`, so any quantile read back is
//! within 2% of a true sample value. Zero durations have their own counter.

use serde::{Deserialize, Serialize};

const GAMMA: f64 = 1.04;

/// Counts of durations per logarithmic bucket.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    /// Durations of 0 ns.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub zero: u64,
    /// `(bucket index, count)`, sorted by index, counts non-zero.
    pub buckets: Vec<(i32, u64)>,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

fn bucket_of(nanos: u64) -> i32 {
    ((nanos as f64).ln() / GAMMA.ln()).ceil() as i32
}

/// The value a bucket stands for: the point with equal relative distance to both bucket edges.
fn bucket_value(index: i32) -> f64 {
    2.0 * GAMMA.powi(index) / (GAMMA + 1.0)
}

impl Histogram {
    pub fn record(&mut self, nanos: u64) {
        self.record_n(nanos, 1);
    }

    fn record_n(&mut self, nanos: u64, n: u64) {
        if nanos == 0 {
            self.zero += n;
            return;
        }
        self.add_bucket(bucket_of(nanos), n);
    }

    fn add_bucket(&mut self, index: i32, n: u64) {
        match self.buckets.binary_search_by_key(&index, |(i, _)| *i) {
            Ok(at) => self.buckets[at].1 += n,
            Err(at) => self.buckets.insert(at, (index, n)),
        }
    }

    pub fn merge(&mut self, other: &Histogram) {
        self.zero += other.zero;
        if self.buckets.is_empty() {
            self.buckets.clone_from(&other.buckets);
            return;
        }
        for &(index, n) in &other.buckets {
            self.add_bucket(index, n);
        }
    }

    pub fn count(&self) -> u64 {
        self.zero + self.buckets.iter().map(|(_, n)| n).sum::<u64>()
    }

    /// The `q`-quantile (0..=1) in nanoseconds, or `None` when empty. Nearest-rank: the value of the sample at
    /// rank `ceil(q * count)`.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        if rank <= self.zero {
            return Some(0.0);
        }
        let mut seen = self.zero;
        for &(index, n) in &self.buckets {
            seen += n;
            if seen >= rank {
                return Some(bucket_value(index));
            }
        }
        self.buckets.last().map(|&(i, _)| bucket_value(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_within_two_percent_of_the_true_sample() {
        let mut h = Histogram::default();
        let samples: Vec<u64> = (1..=1000).map(|i| i * 1_000_003).collect();
        for &s in &samples {
            h.record(s);
        }
        assert_eq!(h.count(), 1000);
        for (q, truth) in [
            (0.5, samples[499]),
            (0.9, samples[899]),
            (0.99, samples[989]),
        ] {
            let got = h.quantile(q).unwrap();
            let err = (got - truth as f64).abs() / truth as f64;
            assert!(err <= 0.02, "q={q}: got {got}, true {truth}, error {err}");
        }
    }

    #[test]
    fn merging_equals_recording_everything_in_one() {
        let (mut a, mut b, mut all) = (
            Histogram::default(),
            Histogram::default(),
            Histogram::default(),
        );
        for v in [0, 5, 10, 1_000, 1_000_000, 7] {
            a.record(v);
            all.record(v);
        }
        for v in [10, 0, 3_000_000_000] {
            b.record(v);
            all.record(v);
        }
        a.merge(&b);
        assert_eq!(a, all);
        assert_eq!(a.quantile(0.0), Some(0.0));
        assert_eq!(Histogram::default().quantile(0.5), None);
    }
}
