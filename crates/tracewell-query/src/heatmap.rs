//! A duration heatmap: how many matching spans started in each time bucket with a duration in each logarithmic
//! duration bucket (four per decade, 10 µs to 1000 s), so slow outliers stand out over a whole range.

use crate::error::{QueryError, Result};

/// Time buckets a heatmap may have at most.
pub const MAX_TIME_BUCKETS: usize = 1000;
/// Duration buckets per decade.
const PER_DECADE: f64 = 4.0;
/// Lower edge of the first duration bucket (10 µs); shorter spans count there.
const LOWEST_NANO: f64 = 10_000.0;
/// Duration buckets: 10 µs to 1000 s.
const DURATION_BUCKETS: usize = 32;

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Heatmap {
    #[serde(serialize_with = "nanos")]
    pub start_unix_nano: u64,
    #[serde(serialize_with = "nanos")]
    pub end_unix_nano: u64,
    /// Width of a time bucket.
    #[serde(serialize_with = "nanos")]
    pub step_nano: u64,
    /// Upper edge of each duration bucket, nanoseconds (the last one also takes longer spans).
    pub duration_bounds_nano: Vec<u64>,
    /// `counts[t][d]`: spans starting in time bucket `t` with a duration in bucket `d`.
    pub counts: Vec<Vec<u64>>,
    pub total: u64,
    pub max_count: u64,
    pub inspected_spans: u64,
}

fn nanos<S: serde::Serializer>(v: &u64, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_str(v)
}

impl Heatmap {
    pub fn new(start: u64, end: u64, time_buckets: usize) -> Result<Self> {
        if time_buckets == 0 || time_buckets > MAX_TIME_BUCKETS {
            return Err(QueryError::bad(format!(
                "buckets must be between 1 and {MAX_TIME_BUCKETS}"
            )));
        }
        if end <= start {
            return Err(QueryError::bad("a heatmap needs end after start"));
        }
        let step = (end - start).div_ceil(time_buckets as u64).max(1);
        let duration_bounds_nano = (1..=DURATION_BUCKETS)
            .map(|i| (LOWEST_NANO * 10f64.powf(i as f64 / PER_DECADE)).round() as u64)
            .collect();
        Ok(Self {
            start_unix_nano: start,
            end_unix_nano: end,
            step_nano: step,
            duration_bounds_nano,
            counts: vec![vec![0; DURATION_BUCKETS]; time_buckets],
            total: 0,
            max_count: 0,
            inspected_spans: 0,
        })
    }

    fn duration_bucket(duration: u64) -> usize {
        if (duration as f64) <= LOWEST_NANO {
            return 0;
        }
        let i = ((duration as f64 / LOWEST_NANO).log10() * PER_DECADE).ceil() as usize;
        i.saturating_sub(1).min(DURATION_BUCKETS - 1)
    }

    pub fn add(&mut self, start: u64, duration: u64) {
        if start < self.start_unix_nano || start > self.end_unix_nano {
            return;
        }
        let t =
            (((start - self.start_unix_nano) / self.step_nano) as usize).min(self.counts.len() - 1);
        let cell = &mut self.counts[t][Self::duration_bucket(duration)];
        *cell += 1;
        self.total += 1;
        self.max_count = self.max_count.max(*cell);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_land_in_their_time_and_duration_buckets() {
        let mut h = Heatmap::new(0, 100, 10).unwrap();
        h.add(5, 1_000_000); // 1 ms
        h.add(5, 1_100_000);
        h.add(95, 2_000_000_000); // 2 s
        h.add(100, 1); // the end is inside; tiny durations in the first bucket
        h.add(101, 1); // outside
        assert_eq!(h.total, 4);
        let one_ms = h
            .duration_bounds_nano
            .iter()
            .position(|&b| b >= 1_000_000)
            .unwrap();
        assert_eq!(h.duration_bounds_nano[one_ms], 1_000_000);
        assert_eq!(
            h.counts[0][one_ms], 1,
            "1 ms is the upper edge of its bucket"
        );
        assert_eq!(h.counts[0][one_ms + 1], 1);
        let two_s = Heatmap::duration_bucket(2_000_000_000);
        assert!(h.duration_bounds_nano[two_s] >= 2_000_000_000);
        assert!(two_s == 0 || h.duration_bounds_nano[two_s - 1] < 2_000_000_000);
        assert_eq!(h.counts[9][two_s], 1);
        assert_eq!(h.counts[9][0], 1);
        assert!(Heatmap::new(0, 100, 0).is_err());
        assert!(Heatmap::new(5, 5, 10).is_err());
    }
}
