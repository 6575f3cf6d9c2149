//! Change detection on the rollups: entry operations whose latency (p90), error rate or throughput in the recent
//! window left their baseline. Each symptom is scored 0–100 as `severity × confidence`: severity grows with the
//! size of the change, confidence with its statistical significance (median/MAD of the baseline minutes for
//! latency, a binomial test for errors, a Poisson test for throughput) and the number of requests behind it.
//! Minimum sample counts and minimum effect sizes keep a handful of requests from firing.

use std::collections::{BTreeMap, BTreeSet};

use super::series::{self, Compared, OpKey, Series, Windows};
use super::InsightsConfig;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SymptomKind {
    Latency,
    Errors,
    ThroughputDrop,
}

/// An operation whose figures changed.
#[derive(Debug, Clone)]
pub(crate) struct Symptom {
    pub key: OpKey,
    pub kind: SymptomKind,
    pub score: f64,
    /// Onset estimate, unix nanoseconds.
    pub since: u64,
    pub compared: Compared,
}

/// Symptoms of every kind, highest score first.
pub(crate) fn symptoms(
    all: &BTreeMap<OpKey, Series>,
    w: &Windows,
    config: &InsightsConfig,
) -> Vec<Symptom> {
    let with_entries: BTreeSet<&str> = all
        .keys()
        .filter(|k| k.is_entry())
        .map(|k| k.service.as_str())
        .collect();
    let mut found = Vec::new();
    for (key, series) in all {
        // Entry operations carry a service's requests; services without any (batch jobs) use their roots' kinds.
        let watched = key.is_entry()
            || (!with_entries.contains(key.service.as_str()) && !matches!(key.kind, 3 | 4));
        if !watched {
            continue;
        }
        let compared = Compared::of(series, w);
        if compared.base.count < config.min_baseline_samples
            || compared.base_minutes < 3
            || compared.cur.count < config.min_window_samples
        {
            continue;
        }
        found.extend(latency(key, series, &compared, w, config));
        found.extend(errors(key, series, &compared, w, config));
        found.extend(throughput_drop(key, series, &compared, w));
    }
    found.sort_by(|a, b| b.score.total_cmp(&a.score));
    found
}

fn clamp01(v: f64) -> f64 {
    v.clamp(0.0, 1.0)
}

/// Confidence from the number of recent requests: full at 30.
fn sample_confidence(count: u64) -> f64 {
    (count as f64 / 30.0).clamp(0.3, 1.0)
}

fn latency(
    key: &OpKey,
    series: &Series,
    c: &Compared,
    w: &Windows,
    config: &InsightsConfig,
) -> Option<Symptom> {
    let (base, cur) = (c.base.p90_ms?, c.cur.p90_ms?);
    let mut minutes: Vec<f64> = series::per_minute(series, 5, series::p90_ms)[w.baseline_range()]
        .iter()
        .flatten()
        .copied()
        .collect();
    let (median, mad) = series::median_mad(&mut minutes).unwrap_or((base, 0.0));
    let reference = base.max(median);
    let delta = cur - reference;
    let min_increase = config.min_latency_increase.as_secs_f64() * 1e3;
    if delta < min_increase || cur < 1.5 * reference {
        return None;
    }
    let noise = (1.4826 * mad).max(0.05 * reference).max(1.0);
    let confidence = clamp01((delta / noise - 3.0) / 3.0) * sample_confidence(c.cur.count);
    let severity = 1.0 - (-(cur / reference.max(0.001) - 1.0)).exp();
    let score = 100.0 * severity * confidence;
    (score > 1.0).then(|| Symptom {
        key: key.clone(),
        kind: SymptomKind::Latency,
        score,
        since: onset(series, w, series::p90_ms, reference + delta / 2.0, 3),
        compared: *c,
    })
}

fn errors(
    key: &OpKey,
    series: &Series,
    c: &Compared,
    w: &Windows,
    config: &InsightsConfig,
) -> Option<Symptom> {
    let n = c.cur.count as f64;
    let base = ((c.base.errors as f64 + 0.5) / (c.base.count as f64 + 1.0)).max(0.001);
    let cur = c.cur.error_rate;
    let delta = cur - base;
    if c.cur.errors < 3 || delta < config.min_error_rate_increase || cur < 2.0 * base {
        return None;
    }
    let z = delta / (base * (1.0 - base) / n).sqrt();
    let confidence = clamp01((z - 3.0) / 3.0) * sample_confidence(c.cur.count);
    let severity = 1.0 - (-delta / 0.1).exp();
    let score = 100.0 * severity * confidence;
    (score > 1.0).then(|| Symptom {
        key: key.clone(),
        kind: SymptomKind::Errors,
        score,
        since: onset(series, w, series::error_rate, base + delta / 2.0, 3),
        compared: *c,
    })
}

fn throughput_drop(key: &OpKey, series: &Series, c: &Compared, w: &Windows) -> Option<Symptom> {
    let seconds = w.window_seconds();
    if c.base_minutes < 5 || seconds < 60.0 || c.base.rate_per_second < 0.5 {
        return None;
    }
    let expected = c.base.rate_per_second * seconds;
    let seen = c.cur.count as f64;
    let drop = 1.0 - seen / expected;
    if drop < 0.5 {
        return None;
    }
    let z = (expected - seen) / expected.sqrt();
    let score = 100.0 * drop * clamp01((z - 3.0) / 3.0);
    let threshold = c.base.rate_per_second * 60.0 / 2.0;
    (score > 1.0).then(|| Symptom {
        key: key.clone(),
        kind: SymptomKind::ThroughputDrop,
        score,
        since: onset(series, w, |s| Some(-(s.count as f64)), -threshold, 0),
        compared: *c,
    })
}

/// Start of the run of minutes, ending with the last one that has data, whose figure is at or beyond
/// `threshold`; minutes with fewer than `min_count` requests neither start nor end the run.
fn onset(
    series: &Series,
    w: &Windows,
    figure: impl Fn(&tracewell_store::rollup::Stats) -> Option<f64>,
    threshold: f64,
    min_count: u64,
) -> u64 {
    let values = series::per_minute(series, min_count, figure);
    // The running minute is judged too; it is often the first to show a change.
    let mut start = None;
    for i in (0..values.len()).rev() {
        match values[i] {
            None => continue,
            Some(v) if v >= threshold => start = Some(i),
            Some(_) => break,
        }
    }
    w.minute_start(start.unwrap_or(w.window_range().start))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tracewell_store::rollup::{Stats, MINUTE_NANO};

    use super::*;
    use crate::insights::InsightsRequest;

    fn windows() -> Windows {
        Windows::new(&InsightsRequest {
            end_unix_nano: 1000 * MINUTE_NANO + 30_000_000_000,
            window: Duration::from_secs(120),
            baseline: Duration::from_secs(30 * 60),
            service: None,
            limit: 10,
        })
    }

    /// `per_minute` requests each minute, lasting `ms(minute index)` with `errors(index)` failing.
    fn series(
        w: &Windows,
        per_minute: u64,
        ms: impl Fn(usize) -> u64,
        errors: impl Fn(usize) -> u64,
    ) -> Series {
        (0..w.len())
            .map(|i| {
                let mut s = Stats::default();
                for r in 0..per_minute {
                    // A little spread so quantiles are not degenerate.
                    let nanos = ms(i) * 1_000_000 + r * 50_000;
                    let failed = r < errors(i);
                    s.count += 1;
                    s.errors += u64::from(failed);
                    s.sum_nano += nanos;
                    s.histogram.record(nanos);
                }
                s
            })
            .collect()
    }

    fn key(service: &str) -> OpKey {
        OpKey {
            service: service.into(),
            operation: "GET /x".into(),
            kind: 2,
        }
    }

    #[test]
    fn a_steady_operation_has_no_symptom() {
        let w = windows();
        let noisy = series(&w, 60, |i| 10 + (i as u64 * 7) % 5, |i| (i as u64) % 2);
        let all = BTreeMap::from([(key("a"), noisy)]);
        assert!(symptoms(&all, &w, &InsightsConfig::default()).is_empty());
    }

    #[test]
    fn a_latency_step_is_found_with_its_onset() {
        let w = windows();
        let last = w.len() - 1;
        let s = series(&w, 60, |i| if i >= last { 300 } else { 10 }, |_| 0);
        let all = BTreeMap::from([(key("a"), s)]);
        let found = symptoms(&all, &w, &InsightsConfig::default());
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].kind, SymptomKind::Latency);
        assert!(found[0].score > 80.0, "{}", found[0].score);
        assert_eq!(found[0].since, w.minute_start(last));
    }

    #[test]
    fn an_error_burst_is_found_and_a_steady_error_rate_is_not() {
        let w = windows();
        let last = w.len() - 1;
        let burst = series(&w, 60, |_| 10, |i| if i >= last - 1 { 30 } else { 1 });
        let steady = series(&w, 60, |_| 10, |_| 3);
        let all = BTreeMap::from([(key("burst"), burst), (key("steady"), steady)]);
        let found = symptoms(&all, &w, &InsightsConfig::default());
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].key.service, "burst");
        assert_eq!(found[0].kind, SymptomKind::Errors);
        assert!(found[0].score > 80.0);
    }

    #[test]
    fn too_few_requests_never_fire() {
        let w = windows();
        let last = w.len() - 1;
        let s = series(
            &w,
            2,
            |i| if i >= last { 900 } else { 10 },
            |i| u64::from(i >= last) * 2,
        );
        let all = BTreeMap::from([(key("a"), s)]);
        assert!(symptoms(&all, &w, &InsightsConfig::default()).is_empty());
    }
}
