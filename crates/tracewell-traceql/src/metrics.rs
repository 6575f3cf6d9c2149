//! A storage-neutral aggregator for TraceQL metrics functions: fed
//! `(timestamp, span)` samples of one metrics pipeline, it produces one
//! series per `by()` group with a value per step interval; second stages
//! (`topk`, `bottomk`, comparisons) then apply to the series.
//!
//! Interval `i` covers `[start + i*step, start + (i+1)*step)`. Values are
//! `NaN` where an interval has no sample. Durations become seconds.
//! `rate` is count per second of step; `quantile_over_time` uses the exact
//! values with linear interpolation between closest ranks and adds a label
//! `p`; `histogram_over_time` counts values per power-of-two bucket (upper
//! bound, in seconds for durations) under the label `__bucket`.
//! `compare()` looks at every attribute of a span rather than one sample and
//! has its own aggregator, [`crate::compare::CompareAggregator`].

use std::collections::BTreeMap;

use crate::ast::{Field, MetricsFunction, MetricsFunctionKind, SecondStage};
use crate::value::Value;
use crate::view::{field_value, SpanView};

/// Why a metrics aggregator cannot be built.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum MetricsError {
    /// `step` must be positive and `end` after `start`.
    #[error("invalid time range: start {start}, end {end}, step {step}")]
    InvalidRange {
        /// Start, nanoseconds.
        start: i64,
        /// End, nanoseconds.
        end: i64,
        /// Step, nanoseconds.
        step: i64,
    },
    /// Too many intervals for one query.
    #[error("{0} intervals exceed the limit of {MAX_INTERVALS}")]
    TooManyIntervals(u64),
    /// The function is not computed by this aggregator: `compare()` has
    /// its own, [`CompareAggregator`](crate::compare::CompareAggregator),
    /// which only computes `compare()`.
    #[error("{0}() is not computed by this aggregator")]
    Unsupported(&'static str),
    /// Arguments of `compare()` the aggregator cannot work with.
    #[error("compare(): {0}")]
    InvalidCompare(String),
}

/// Most intervals one aggregator computes.
pub const MAX_INTERVALS: u64 = 100_000;

/// One output series.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// `by()` values (named by their TraceQL text), then `p` or `__bucket`.
    pub labels: Vec<(String, Value)>,
    /// One value per interval; `NaN` for no data.
    pub values: Vec<f64>,
}

#[derive(Clone, Debug, Default)]
struct Interval {
    count: u64,
    samples: Vec<f64>,
}

/// Labels and per-interval accumulators of one series.
type SeriesState = (Vec<(String, Value)>, Vec<Interval>);

/// Accumulates samples of one metrics function into series.
#[derive(Debug)]
pub struct MetricsAggregator {
    kind: MetricsFunctionKind,
    by: Vec<Field>,
    start: i64,
    step: i64,
    intervals: usize,
    /// Group keys (see [`Value::group_key`]) of each series' labels, ordered, to the series' index in `series`.
    keys: BTreeMap<Vec<String>, usize>,
    series: Vec<SeriesState>,
}

/// One series of a [`MetricsAggregator`], for callers that add samples without a [`SpanView`] (e.g. straight from
/// stored columns): found once per group with [`MetricsAggregator::series_for`], then fed with
/// [`MetricsAggregator::add`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeriesId(usize);

/// What one span adds to a series: its sample (for functions of a field) and, for `histogram_over_time`, the
/// bucket it counts in.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    /// The field's value as a number (durations in seconds); `None` for `rate()` and `count_over_time()`.
    pub value: Option<f64>,
    /// `histogram_over_time`: the power-of-two bucket's upper bound.
    pub bucket: Option<f64>,
}

/// Number of intervals of `[start, end)` in steps of `step`, checked.
pub(crate) fn interval_count(start: i64, end: i64, step: i64) -> Result<usize, MetricsError> {
    if step <= 0 || end <= start {
        return Err(MetricsError::InvalidRange { start, end, step });
    }
    let span = (i128::from(end) - i128::from(start)) as u128;
    let intervals = span.div_ceil(step as u128);
    if intervals > u128::from(MAX_INTERVALS) {
        return Err(MetricsError::TooManyIntervals(
            u64::try_from(intervals).unwrap_or(u64::MAX),
        ));
    }
    Ok(intervals as usize)
}

/// The interval `timestamp` falls in, if it is in the range.
pub(crate) fn interval_index(
    timestamp: i64,
    start: i64,
    step: i64,
    intervals: usize,
) -> Option<usize> {
    if timestamp < start {
        return None;
    }
    let index = (i128::from(timestamp) - i128::from(start)) / i128::from(step);
    usize::try_from(index).ok().filter(|&i| i < intervals)
}

/// Power-of-two bucket upper bound of a non-negative integer value.
fn log2_bucket(v: u64) -> u64 {
    if v < 2 {
        return 1;
    }
    let bits = 64 - (v - 1).leading_zeros();
    1u64.checked_shl(bits).unwrap_or(u64::MAX)
}

impl MetricsAggregator {
    /// An aggregator for `function` over `[start, end)` in steps of `step`
    /// (all nanoseconds).
    pub fn new(
        function: &MetricsFunction,
        start: i64,
        end: i64,
        step: i64,
    ) -> Result<Self, MetricsError> {
        let intervals = interval_count(start, end, step)?;
        if let MetricsFunctionKind::Compare { .. } = function.kind {
            return Err(MetricsError::Unsupported("compare"));
        }
        Ok(MetricsAggregator {
            kind: function.kind.clone(),
            by: function.by.clone(),
            start,
            step,
            intervals,
            keys: BTreeMap::new(),
            series: Vec::new(),
        })
    }

    /// The `by()` fields, in order: the labels [`series_for`](Self::series_for) takes are their values.
    pub fn by(&self) -> &[Field] {
        &self.by
    }

    /// The field the function samples (`duration` in `quantile_over_time(duration, .9)`), if it takes one.
    pub fn sampled_field(&self) -> Option<&Field> {
        self.kind.field()
    }

    /// Whether `timestamp` falls in one of the intervals.
    pub fn in_range(&self, timestamp: i64) -> bool {
        interval_index(timestamp, self.start, self.step, self.intervals).is_some()
    }

    /// What a span whose sampled field has `value` adds, or `None` when it adds nothing (the function needs a
    /// number and `value` is not one). Functions without a field take any value (pass [`Value::Nil`]).
    pub fn sample(&self, value: &Value) -> Option<Sample> {
        if self.kind.field().is_none() {
            return Some(Sample {
                value: None,
                bucket: None,
            });
        }
        let v = value.as_sample().filter(|v| v.is_finite())?;
        let bucket = match &self.kind {
            MetricsFunctionKind::HistogramOverTime(_) => Some(match value {
                Value::Duration(_) => log2_bucket((v * 1e9).max(0.0) as u64) as f64 / 1e9,
                _ => log2_bucket(v.max(0.0).ceil() as u64) as f64,
            }),
            _ => None,
        };
        Some(Sample {
            value: Some(v),
            bucket,
        })
    }

    /// The series of the spans whose `by()` fields have `values` (in the order of [`by`](Self::by)) and, for
    /// `histogram_over_time`, fall in `bucket`; created empty on first use.
    pub fn series_for(&mut self, values: Vec<Value>, bucket: Option<f64>) -> SeriesId {
        let mut labels: Vec<(String, Value)> =
            self.by.iter().map(Field::to_string).zip(values).collect();
        if let Some(bucket) = bucket {
            labels.push(("__bucket".to_string(), Value::Float(bucket)));
        }
        let key: Vec<String> = labels.iter().map(|(_, v)| v.group_key()).collect();
        if let Some(&index) = self.keys.get(&key) {
            return SeriesId(index);
        }
        let index = self.series.len();
        self.series
            .push((labels, vec![Interval::default(); self.intervals]));
        self.keys.insert(key, index);
        SeriesId(index)
    }

    /// Adds one span that started at `timestamp` to `series` (ignored outside the range).
    pub fn add(&mut self, series: SeriesId, timestamp: i64, sample: Sample) {
        let Some(index) = interval_index(timestamp, self.start, self.step, self.intervals) else {
            return;
        };
        let Some((_, intervals)) = self.series.get_mut(series.0) else {
            return;
        };
        let slot = &mut intervals[index];
        slot.count += 1;
        if let Some(v) = sample.value {
            slot.samples.push(v);
        }
    }

    /// Adds one span that started at `timestamp` (nanoseconds). Spans
    /// outside the range, and spans without a numeric value for functions
    /// that need one, are ignored.
    pub fn observe<S: SpanView>(&mut self, timestamp: i64, span: &S) {
        if !self.in_range(timestamp) {
            return;
        }
        let value = match self.kind.field() {
            Some(field) => field_value(span, field),
            None => Value::Nil,
        };
        let Some(sample) = self.sample(&value) else {
            return;
        };
        let values = self
            .by
            .iter()
            .map(|field| field_value(span, field))
            .collect();
        let series = self.series_for(values, sample.bucket);
        self.add(series, timestamp, sample);
    }

    /// The series, ordered by their labels.
    pub fn finish(self) -> Vec<Series> {
        let step_seconds = self.step as f64 / 1e9;
        let mut out = Vec::new();
        let mut series: Vec<Option<SeriesState>> = self.series.into_iter().map(Some).collect();
        for index in self.keys.into_values() {
            let Some((labels, intervals)) = series.get_mut(index).and_then(Option::take) else {
                continue;
            };
            match &self.kind {
                MetricsFunctionKind::QuantileOverTime { quantiles, .. } => {
                    for q in quantiles {
                        let mut labels = labels.clone();
                        labels.push(("p".to_string(), Value::Float(*q)));
                        let values = intervals.iter().map(|i| quantile(&i.samples, *q)).collect();
                        out.push(Series { labels, values });
                    }
                }
                kind => {
                    let values = intervals
                        .iter()
                        .map(|i| {
                            if i.count == 0 {
                                return f64::NAN;
                            }
                            let s = &i.samples;
                            match kind {
                                MetricsFunctionKind::Rate => i.count as f64 / step_seconds,
                                MetricsFunctionKind::CountOverTime
                                | MetricsFunctionKind::HistogramOverTime(_) => i.count as f64,
                                MetricsFunctionKind::SumOverTime(_) => s.iter().sum(),
                                MetricsFunctionKind::AvgOverTime(_) => {
                                    s.iter().sum::<f64>() / s.len() as f64
                                }
                                MetricsFunctionKind::MinOverTime(_) => {
                                    s.iter().copied().fold(f64::INFINITY, f64::min)
                                }
                                MetricsFunctionKind::MaxOverTime(_) => {
                                    s.iter().copied().fold(f64::NEG_INFINITY, f64::max)
                                }
                                _ => f64::NAN,
                            }
                        })
                        .collect();
                    out.push(Series {
                        labels: labels.clone(),
                        values,
                    });
                }
            }
        }
        out
    }
}

/// The q-quantile of `samples` with linear interpolation; `NaN` when empty.
fn quantile(samples: &[f64], q: f64) -> f64 {
    if samples.is_empty() || !(0.0..=1.0).contains(&q) {
        return f64::NAN;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = q * (sorted.len() - 1) as f64;
    let low = rank.floor() as usize;
    let high = rank.ceil() as usize;
    let fraction = rank - low as f64;
    sorted[low] + (sorted[high] - sorted[low]) * fraction
}

/// Applies `topk`, `bottomk` and comparisons, in order. Points that fail a
/// comparison become `NaN`; series left without points are dropped.
pub fn apply_second_stages(mut series: Vec<Series>, stages: &[SecondStage]) -> Vec<Series> {
    for stage in stages {
        match stage {
            SecondStage::TopK(k, _) | SecondStage::BottomK(k, _) => {
                let top = matches!(stage, SecondStage::TopK(..));
                let k = usize::try_from(*k).unwrap_or(0);
                let points = series.iter().map(|s| s.values.len()).max().unwrap_or(0);
                let mut keep = vec![vec![false; points]; series.len()];
                #[allow(clippy::needless_range_loop)]
                for point in 0..points {
                    let mut ranked: Vec<(usize, f64)> = series
                        .iter()
                        .enumerate()
                        .filter_map(|(i, s)| {
                            s.values
                                .get(point)
                                .copied()
                                .filter(|v| !v.is_nan())
                                .map(|v| (i, v))
                        })
                        .collect();
                    ranked.sort_by(|a, b| {
                        if top {
                            b.1.total_cmp(&a.1)
                        } else {
                            a.1.total_cmp(&b.1)
                        }
                    });
                    for (i, _) in ranked.into_iter().take(k) {
                        keep[i][point] = true;
                    }
                }
                for (s, keep) in series.iter_mut().zip(keep) {
                    for (v, keep) in s.values.iter_mut().zip(keep) {
                        if !keep {
                            *v = f64::NAN;
                        }
                    }
                }
            }
            SecondStage::Filter { op, value, .. } => {
                let Some(threshold) = value.as_sample() else {
                    continue;
                };
                for s in &mut series {
                    for v in &mut s.values {
                        let holds = (*v).partial_cmp(&threshold).is_some_and(|o| op.holds(o));
                        if !holds {
                            *v = f64::NAN;
                        }
                    }
                }
            }
        }
        series.retain(|s| s.values.iter().any(|v| !v.is_nan()));
    }
    series
}
