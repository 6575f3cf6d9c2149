//! Per-minute series of every (service, operation, span kind) from the rollups, over the baseline and the recent
//! window, and the figures (rate, error rate, quantiles) of any stretch of minutes.

use std::collections::{BTreeMap, HashMap};

use tracewell_model::SpanKind;
use tracewell_store::rollup::{Rollup, Stats, MINUTE_NANO};

use super::InsightsRequest;

/// An operation as the rollups key it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct OpKey {
    pub service: String,
    pub operation: String,
    /// OTLP span kind number.
    pub kind: u8,
}

impl OpKey {
    pub fn span_kind(&self) -> SpanKind {
        SpanKind::from_i32(i32::from(self.kind))
    }

    pub fn is_entry(&self) -> bool {
        matches!(self.span_kind(), SpanKind::Server | SpanKind::Consumer)
    }
}

/// Minute bounds: baseline minutes are `[first, window_first)`, recent ones `[window_first, last]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Windows {
    pub first: u64,
    pub window_first: u64,
    pub last: u64,
    pub end_unix_nano: u64,
}

impl Windows {
    pub fn new(req: &InsightsRequest) -> Self {
        let end = req.end_unix_nano;
        let window_start = end.saturating_sub(req.window.as_nanos() as u64);
        let window_first = window_start.div_ceil(MINUTE_NANO);
        let last = end / MINUTE_NANO;
        let window_first = window_first.min(last);
        let first = window_first.saturating_sub((req.baseline.as_nanos() as u64) / MINUTE_NANO);
        Self {
            first,
            window_first,
            last,
            end_unix_nano: end,
        }
    }

    pub fn baseline_start(&self) -> u64 {
        self.first * MINUTE_NANO
    }

    pub fn window_start(&self) -> u64 {
        self.window_first * MINUTE_NANO
    }

    /// Seconds the recent window covers (its last minute only up to `end`).
    pub fn window_seconds(&self) -> f64 {
        (self.end_unix_nano.saturating_sub(self.window_start())) as f64 / 1e9
    }

    pub fn len(&self) -> usize {
        (self.last - self.first + 1) as usize
    }

    pub fn index(&self, minute: u64) -> usize {
        (minute - self.first) as usize
    }

    pub fn baseline_range(&self) -> std::ops::Range<usize> {
        0..self.index(self.window_first)
    }

    pub fn window_range(&self) -> std::ops::Range<usize> {
        self.index(self.window_first)..self.len()
    }

    pub fn minute_start(&self, index: usize) -> u64 {
        (self.first + index as u64) * MINUTE_NANO
    }
}

/// Per-minute statistics of one operation, statuses merged, indexed like [`Windows`].
pub(crate) type Series = Vec<Stats>;

/// Every operation's series, keyed and ordered.
pub(crate) fn collect(rollup: &Rollup, w: &Windows) -> BTreeMap<OpKey, Series> {
    let mut out: BTreeMap<OpKey, Series> = BTreeMap::new();
    let mut lookup: HashMap<(&str, &str, u8), OpKey> = HashMap::new();
    for (key, stats) in rollup.red() {
        if key.minute < w.first || key.minute > w.last {
            continue;
        }
        let op = lookup
            .entry((key.service.as_str(), key.operation.as_str(), key.kind))
            .or_insert_with(|| OpKey {
                service: key.service.clone(),
                operation: key.operation.clone(),
                kind: key.kind,
            })
            .clone();
        let series = out
            .entry(op)
            .or_insert_with(|| vec![Stats::default(); w.len()]);
        series[w.index(key.minute)].merge(stats);
    }
    out
}

/// Merged statistics of a range of minutes.
pub(crate) fn pooled(series: &Series, range: std::ops::Range<usize>) -> Stats {
    let mut total = Stats::default();
    for s in &series[range] {
        total.merge(s);
    }
    total
}

/// Figures of pooled statistics.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Figures {
    pub count: u64,
    pub errors: u64,
    pub rate_per_second: f64,
    pub error_rate: f64,
    pub p50_ms: Option<f64>,
    pub p90_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

impl Figures {
    /// The RED figures of `stats` over `seconds`, durations in milliseconds.
    pub fn of(stats: &Stats, seconds: f64) -> Self {
        let p = crate::metrics::point(0, seconds, stats, &[0.5, 0.9, 0.99]);
        let ms = |i: usize| p.quantiles[i].map(|n| n / 1e6);
        Self {
            count: p.count,
            errors: p.errors,
            rate_per_second: p.rate_per_second,
            error_rate: p.error_rate,
            p50_ms: ms(0),
            p90_ms: ms(1),
            p99_ms: ms(2),
        }
    }

    /// The figures as a finding reports them.
    pub fn to_map(self) -> BTreeMap<&'static str, f64> {
        let mut map = BTreeMap::from([
            ("count", self.count as f64),
            ("ratePerSecond", round(self.rate_per_second, 3)),
            ("errorRate", round(self.error_rate, 4)),
        ]);
        for (name, value) in [
            ("p50Ms", self.p50_ms),
            ("p90Ms", self.p90_ms),
            ("p99Ms", self.p99_ms),
        ] {
            if let Some(v) = value {
                map.insert(name, round(v, 2));
            }
        }
        map
    }
}

pub(crate) fn round(v: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (v * f).round() / f
}

/// Baseline and recent figures of one operation.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Compared {
    pub base: Figures,
    pub cur: Figures,
    /// Baseline minutes that had any request.
    pub base_minutes: usize,
}

impl Compared {
    pub fn of(series: &Series, w: &Windows) -> Self {
        let base_range = w.baseline_range();
        let active: Vec<usize> = base_range
            .clone()
            .filter(|&i| series[i].count > 0)
            .collect();
        // The baseline rate counts from its first active minute, so a service that started recently is not
        // diluted by minutes before it existed.
        let base_seconds = active
            .first()
            .map(|&f| (base_range.end - f) as f64 * 60.0)
            .unwrap_or(0.0);
        Self {
            base: Figures::of(&pooled(series, base_range), base_seconds),
            cur: Figures::of(&pooled(series, w.window_range()), w.window_seconds()),
            base_minutes: active.len(),
        }
    }
}

/// Median and median absolute deviation.
pub(crate) fn median_mad(values: &mut [f64]) -> Option<(f64, f64)> {
    if values.is_empty() {
        return None;
    }
    let median = median(values);
    let mut deviations: Vec<f64> = values.iter().map(|v| (v - median).abs()).collect();
    Some((median, self::median(&mut deviations)))
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// A per-minute figure over every minute (`None` where a minute has fewer than `min_count` requests).
pub(crate) fn per_minute(
    series: &Series,
    min_count: u64,
    figure: impl Fn(&Stats) -> Option<f64>,
) -> Vec<Option<f64>> {
    series
        .iter()
        .map(|s| (s.count >= min_count).then(|| figure(s)).flatten())
        .collect()
}

pub(crate) fn p90_ms(s: &Stats) -> Option<f64> {
    s.histogram.quantile(0.9).map(|n| n / 1e6)
}

pub(crate) fn error_rate(s: &Stats) -> Option<f64> {
    (s.count > 0).then(|| s.errors as f64 / s.count as f64)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn windows_split_whole_minutes() {
        let end = 100 * MINUTE_NANO + 30_000_000_000;
        let w = Windows::new(&InsightsRequest {
            end_unix_nano: end,
            window: Duration::from_secs(120),
            baseline: Duration::from_secs(600),
            service: None,
            limit: 10,
        });
        assert_eq!(
            w.window_first, 99,
            "the window starts at a whole minute within it"
        );
        assert_eq!(w.last, 100);
        assert_eq!(w.first, 89);
        assert_eq!(w.baseline_range(), 0..10);
        assert_eq!(w.window_range(), 10..12);
        assert_eq!(w.window_seconds(), 90.0);
    }

    #[test]
    fn median_and_mad_resist_an_outlier() {
        let (m, d) = median_mad(&mut [10.0, 11.0, 9.0, 10.0, 500.0]).unwrap();
        assert_eq!(m, 10.0);
        assert_eq!(d, 1.0);
    }
}
