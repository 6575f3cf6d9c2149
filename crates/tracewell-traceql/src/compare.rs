//! `compare({filter}, topN, start, end)`: what sets a selection of spans
//! apart from the others, attribute by attribute.
//!
//! The spans a metrics pipeline selects are split in two groups. The
//! *selection* holds the spans that also satisfy the filter given to
//! `compare()` and, when `start` and `end` are non-zero, started inside the
//! window `start < t <= end` (Unix nanoseconds; the bounds are the ones
//! Tempo applies). The *baseline* holds all the others. For every attribute
//! of a span the aggregator counts spans per value and per step interval,
//! separately for both groups. The attributes are the span, resource and
//! instrumentation-scope attributes the [`SpanView`] lists, and the
//! intrinsics `name`, `status`, `statusMessage`, `kind`, `rootName`,
//! `rootServiceName`, `instrumentation:name` and `instrumentation:version`.
//! Left out, as in Tempo, because a breakdown by them says nothing: ids
//! (`trace:id`, `span:id`, `span:parentID`), nested-set numbers, and every
//! duration (`duration`, `traceDuration`, duration values). Event and link
//! fields are left out too: a span has any number of them. Absent values
//! (`nil`) and empty status messages and instrumentation names and
//! versions are not counted.
//!
//! [`CompareAggregator::finish`] produces these series, labelled as Tempo
//! labels them:
//!
//! - `{__meta_type="baseline", <attribute>=<value>}` and
//!   `{__meta_type="selection", <attribute>=<value>}`: spans per interval
//!   with that value. Per attribute and group only the `topN` values with
//!   the most spans over the whole range are returned (on a tie, the value
//!   seen first wins).
//! - `{__meta_error="__too_many_values__", <attribute>=nil}` when an
//!   attribute has more than `topN` values in either group; its values are
//!   all `NaN` (no samples).
//! - `{__meta_type="baseline_total", <attribute>=nil}` and
//!   `{__meta_type="selection_total", <attribute>=nil}`: spans per interval
//!   that have the attribute at all.
//!
//! Unlike the other metrics functions, intervals without spans count 0
//! rather than `NaN`, as Tempo's do. Attribute labels are named as in
//! TraceQL (`resource.service.name`, `span."a b"`, `instrumentation.x`).
//!
//! # Memory
//!
//! Counts are kept per interval that has spans, never for the whole range.
//! One attribute tracks at most [`MAX_VALUES_PER_KEY`] distinct values per
//! group: values first seen after that still count in the attribute's
//! total, but are not ranked, and the attribute is reported as having too
//! many values (it has more than `topN`, which is at most [`MAX_TOP_N`]).
//! One group tracks at most [`MAX_KEYS`] attribute keys besides the
//! intrinsics; keys first seen after that are left out entirely, and
//! [`CompareAggregator::warnings`] says so.

use std::collections::{BTreeSet, HashMap};

use crate::ast::SpansetFilter;
use crate::ast::{Attribute, AttributeScope, Intrinsic, MetricsFunction, MetricsFunctionKind};
use crate::display::attribute_text;
use crate::metrics::{interval_count, interval_index, MetricsError, Series};
use crate::value::{Kind, Status, Value};
use crate::view::SpanView;

/// The label telling which group a series counts.
pub const META_TYPE: &str = "__meta_type";
/// The label of the series flagging an attribute with too many values.
pub const META_ERROR: &str = "__meta_error";
/// [`META_ERROR`]'s value: the attribute has more than `topN` values.
pub const TOO_MANY_VALUES: &str = "__too_many_values__";
/// [`META_TYPE`] of spans per value outside the selection.
pub const BASELINE: &str = "baseline";
/// [`META_TYPE`] of spans per value in the selection.
pub const SELECTION: &str = "selection";
/// [`META_TYPE`] of spans per attribute outside the selection.
pub const BASELINE_TOTAL: &str = "baseline_total";
/// [`META_TYPE`] of spans per attribute in the selection.
pub const SELECTION_TOTAL: &str = "selection_total";

/// Largest `topN`.
pub const MAX_TOP_N: usize = 1000;
/// Distinct values one attribute tracks per group.
pub const MAX_VALUES_PER_KEY: usize = 10_000;
/// Attribute keys (besides the intrinsics) one group tracks.
pub const MAX_KEYS: usize = 1_000;

/// The intrinsics broken down, with their labels.
const INTRINSICS: [(Intrinsic, &str); 8] = [
    (Intrinsic::Name, "name"),
    (Intrinsic::Status, "status"),
    (Intrinsic::StatusMessage, "statusMessage"),
    (Intrinsic::Kind, "kind"),
    (Intrinsic::TraceRootName, "rootName"),
    (Intrinsic::TraceRootService, "rootServiceName"),
    (Intrinsic::InstrumentationName, "instrumentation:name"),
    (Intrinsic::InstrumentationVersion, "instrumentation:version"),
];

/// The selection filter of a `compare()` function; `None` for other
/// functions.
pub fn selection_filter(function: &MetricsFunction) -> Option<&SpansetFilter> {
    match &function.kind {
        MetricsFunctionKind::Compare { filter, .. } => Some(filter),
        _ => None,
    }
}

/// Whether a value is broken down.
fn counted(value: &Value) -> bool {
    !matches!(value, Value::Nil | Value::Duration(_))
}

/// Whether an intrinsic's value is broken down: empty texts of fields that
/// are optional in OpenTelemetry mean absent.
fn counted_intrinsic(intrinsic: Intrinsic, value: &Value) -> bool {
    let optional = matches!(
        intrinsic,
        Intrinsic::StatusMessage
            | Intrinsic::InstrumentationName
            | Intrinsic::InstrumentationVersion
    );
    counted(value) && !(optional && matches!(value, Value::Str(s) if s.is_empty()))
}

/// Spans per interval, sparse: `(interval, spans)` sorted by interval, and
/// the sum over the range.
#[derive(Debug, Default)]
struct Counts {
    cells: Vec<(u32, u64)>,
    total: u64,
}

impl Counts {
    fn add(&mut self, interval: u32) {
        self.total += 1;
        if let Some((last, count)) = self.cells.last_mut() {
            if *last == interval {
                *count += 1;
                return;
            }
        }
        match self.cells.binary_search_by_key(&interval, |&(i, _)| i) {
            Ok(pos) => self.cells[pos].1 += 1,
            Err(pos) => self.cells.insert(pos, (interval, 1)),
        }
    }

    /// One value per interval, 0 where no span was counted.
    fn dense(&self, intervals: usize) -> Vec<f64> {
        let mut out = vec![0.0; intervals];
        for &(interval, count) in &self.cells {
            if let Some(slot) = out.get_mut(interval as usize) {
                *slot = count as f64;
            }
        }
        out
    }
}

/// Identity of a non-string value; strings are looked up by their text.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum ValueKey {
    Bool(bool),
    Int(i64),
    Status(Status),
    Kind(Kind),
    Other(String),
}

fn value_key(value: &Value) -> ValueKey {
    match value {
        Value::Bool(b) => ValueKey::Bool(*b),
        Value::Int(i) => ValueKey::Int(*i),
        Value::Status(s) => ValueKey::Status(*s),
        Value::Kind(k) => ValueKey::Kind(*k),
        other => ValueKey::Other(other.group_key()),
    }
}

/// One attribute in one group.
#[derive(Debug)]
struct Key {
    label: String,
    strings: HashMap<String, usize>,
    others: HashMap<ValueKey, usize>,
    /// In the order first seen.
    values: Vec<(Value, Counts)>,
    totals: Counts,
    /// Distinct values were left out for [`MAX_VALUES_PER_KEY`].
    capped: bool,
    /// The last span counted, so that a key listed twice counts once.
    last_span: u64,
}

impl Key {
    fn new(label: String) -> Key {
        Key {
            label,
            strings: HashMap::new(),
            others: HashMap::new(),
            values: Vec::new(),
            totals: Counts::default(),
            capped: false,
            last_span: 0,
        }
    }

    fn add(&mut self, value: Value, interval: u32, span: u64) {
        if self.last_span == span {
            return;
        }
        self.last_span = span;
        self.totals.add(interval);
        let other = match &value {
            Value::Str(_) => None,
            v => Some(value_key(v)),
        };
        let found = match (&value, &other) {
            (Value::Str(s), _) => self.strings.get(s.as_str()),
            (_, Some(key)) => self.others.get(key),
            _ => None,
        };
        let slot = match found {
            Some(&slot) => slot,
            None => {
                if self.values.len() >= MAX_VALUES_PER_KEY {
                    self.capped = true;
                    return;
                }
                let slot = self.values.len();
                match (&value, other) {
                    (Value::Str(s), _) => self.strings.insert(s.clone(), slot),
                    (_, Some(key)) => self.others.insert(key, slot),
                    _ => None,
                };
                self.values.push((value, Counts::default()));
                slot
            }
        };
        self.values[slot].1.add(interval);
    }
}

/// The counts of one group (baseline or selection).
#[derive(Debug, Default)]
struct Group {
    keys: Vec<Key>,
    /// Index in `keys` of each of [`INTRINSICS`].
    intrinsics: [Option<usize>; INTRINSICS.len()],
    /// Index in `keys` by attribute name: span, resource, instrumentation.
    attributes: [HashMap<String, usize>; 3],
    attribute_keys: usize,
    keys_dropped: bool,
}

impl Group {
    fn intrinsic(&mut self, slot: usize, value: Value, interval: u32, span: u64) {
        let index = match self.intrinsics[slot] {
            Some(index) => index,
            None => {
                let index = self.keys.len();
                self.keys.push(Key::new(INTRINSICS[slot].1.to_owned()));
                self.intrinsics[slot] = Some(index);
                index
            }
        };
        self.keys[index].add(value, interval, span);
    }

    fn attribute(
        &mut self,
        scope: AttributeScope,
        name: &str,
        value: Value,
        interval: u32,
        span: u64,
    ) {
        let map = match scope {
            AttributeScope::Span => 0,
            AttributeScope::Resource => 1,
            AttributeScope::Instrumentation => 2,
            _ => return,
        };
        let index = match self.attributes[map].get(name) {
            Some(&index) => index,
            None => {
                if self.attribute_keys >= MAX_KEYS {
                    self.keys_dropped = true;
                    return;
                }
                self.attribute_keys += 1;
                let label = attribute_text(&Attribute {
                    scope,
                    parent: false,
                    name: name.to_owned(),
                });
                let index = self.keys.len();
                self.keys.push(Key::new(label));
                self.attributes[map].insert(name.to_owned(), index);
                index
            }
        };
        self.keys[index].add(value, interval, span);
    }

    /// The keys ordered by label.
    fn sorted_keys(&self) -> Vec<&Key> {
        let mut keys: Vec<&Key> = self.keys.iter().collect();
        keys.sort_by(|a, b| a.label.cmp(&b.label));
        keys
    }
}

/// Accumulates the spans of one `compare()` pipeline into its series.
#[derive(Debug)]
pub struct CompareAggregator {
    top_n: usize,
    /// `(start, end]` of the selection window, Unix nanoseconds.
    window: Option<(i64, i64)>,
    start: i64,
    step: i64,
    intervals: usize,
    /// Spans observed so far; numbers each span.
    spans: u64,
    baseline: Group,
    selection: Group,
}

impl CompareAggregator {
    /// An aggregator for the `compare()` function `function` over
    /// `[start, end)` in steps of `step` (all nanoseconds).
    ///
    /// Fails for a bad range, for other functions, for `topN` outside
    /// `1..=1000` and for a selection window that is not
    /// `0 < start < end` (or both 0).
    pub fn new(
        function: &MetricsFunction,
        start: i64,
        end: i64,
        step: i64,
    ) -> Result<Self, MetricsError> {
        let intervals = interval_count(start, end, step)?;
        let MetricsFunctionKind::Compare {
            top_n,
            start: from,
            end: to,
            ..
        } = &function.kind
        else {
            return Err(MetricsError::Unsupported(function.kind.name()));
        };
        let top_n = usize::try_from(*top_n)
            .ok()
            .filter(|n| (1..=MAX_TOP_N).contains(n))
            .ok_or_else(|| {
                MetricsError::InvalidCompare(format!(
                    "topN must be in 1..={MAX_TOP_N}, found {top_n}"
                ))
            })?;
        let window = match (*from, *to) {
            (0, 0) => None,
            (from, to) if 0 < from && from < to => Some((from, to)),
            (from, to) => {
                return Err(MetricsError::InvalidCompare(format!(
                    "the selection window needs 0 < start < end in Unix nanoseconds \
                     (or both 0), found start {from} and end {to}"
                )))
            }
        };
        Ok(CompareAggregator {
            top_n,
            window,
            start,
            step,
            intervals,
            spans: 0,
            baseline: Group::default(),
            selection: Group::default(),
        })
    }

    /// Whether a span that started at `timestamp` (nanoseconds) is inside
    /// the selection window; always `true` without a window. A caller may
    /// skip evaluating the filter for spans outside it.
    pub fn in_selection_window(&self, timestamp: i64) -> bool {
        self.window
            .is_none_or(|(from, to)| from < timestamp && timestamp <= to)
    }

    /// Adds one span the pipeline selected that started at `timestamp`
    /// (nanoseconds); `matches_filter` tells whether it satisfies the
    /// selection filter. It joins the selection when it also started in the
    /// selection window, else the baseline. Spans outside the range are
    /// ignored.
    pub fn observe<S: SpanView>(&mut self, timestamp: i64, span: &S, matches_filter: bool) {
        let Some(interval) = interval_index(timestamp, self.start, self.step, self.intervals)
        else {
            return;
        };
        let interval = u32::try_from(interval).unwrap_or(u32::MAX);
        let selected = matches_filter && self.in_selection_window(timestamp);
        self.spans += 1;
        let number = self.spans;
        let group = if selected {
            &mut self.selection
        } else {
            &mut self.baseline
        };
        for (slot, (intrinsic, _)) in INTRINSICS.iter().enumerate() {
            let value = span.intrinsic(*intrinsic);
            if counted_intrinsic(*intrinsic, &value) {
                group.intrinsic(slot, value, interval, number);
            }
        }
        span.for_each_attribute(&mut |scope, name, value| {
            if counted(&value) {
                group.attribute(scope, name, value, interval, number);
            }
        });
    }

    /// What was left out to bound memory, for the query's answer.
    pub fn warnings(&self) -> Vec<String> {
        [(&self.baseline, BASELINE), (&self.selection, SELECTION)]
            .into_iter()
            .filter(|(group, _)| group.keys_dropped)
            .map(|(_, name)| {
                format!(
                    "compare(): the {name} has more than {MAX_KEYS} attribute keys; \
                     the keys seen after that are left out"
                )
            })
            .collect()
    }

    /// The series: per group the top values of each attribute (attributes
    /// by label, values by spans), then an error series per attribute with
    /// too many values, then the totals per attribute of both groups.
    pub fn finish(self) -> Vec<Series> {
        let meta = |text: &str| (META_TYPE.to_owned(), Value::Str(text.to_owned()));
        let mut out = Vec::new();
        let mut too_many = BTreeSet::new();
        for (group, name) in [(&self.baseline, BASELINE), (&self.selection, SELECTION)] {
            for key in group.sorted_keys() {
                if key.values.len() > self.top_n || key.capped {
                    too_many.insert(key.label.clone());
                }
                let mut ranked: Vec<usize> = (0..key.values.len()).collect();
                // Stable: values with as many spans stay in the order first seen.
                ranked.sort_by_key(|&i| std::cmp::Reverse(key.values[i].1.total));
                for i in ranked.into_iter().take(self.top_n) {
                    let (value, counts) = &key.values[i];
                    out.push(Series {
                        labels: vec![meta(name), (key.label.clone(), value.clone())],
                        values: counts.dense(self.intervals),
                    });
                }
            }
        }
        for label in too_many {
            out.push(Series {
                labels: vec![
                    (
                        META_ERROR.to_owned(),
                        Value::Str(TOO_MANY_VALUES.to_owned()),
                    ),
                    (label, Value::Nil),
                ],
                values: vec![f64::NAN; self.intervals],
            });
        }
        for (group, name) in [
            (&self.baseline, BASELINE_TOTAL),
            (&self.selection, SELECTION_TOTAL),
        ] {
            for key in group.sorted_keys() {
                out.push(Series {
                    labels: vec![meta(name), (key.label.clone(), Value::Nil)],
                    values: key.totals.dense(self.intervals),
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_stay_sorted_and_sparse() {
        let mut counts = Counts::default();
        for interval in [3, 1, 3, 0, 1, 3] {
            counts.add(interval);
        }
        assert_eq!(counts.cells, vec![(0, 1), (1, 2), (3, 3)]);
        assert_eq!(counts.total, 6);
        assert_eq!(counts.dense(5), vec![1.0, 2.0, 0.0, 3.0, 0.0]);
    }

    #[test]
    fn values_past_the_cap_count_in_the_total_only() {
        let mut key = Key::new("span.id".into());
        let values = MAX_VALUES_PER_KEY as u64 + 5;
        for i in 0..values {
            key.add(Value::Int(i as i64), 0, i + 1);
        }
        assert_eq!(key.values.len(), MAX_VALUES_PER_KEY);
        assert!(key.capped);
        assert_eq!(key.totals.total, values);
        // A value already tracked keeps counting.
        key.add(Value::Int(0), 0, values + 1);
        assert_eq!(key.values[0].1.total, 2);
    }

    #[test]
    fn a_key_counts_once_per_span() {
        let mut key = Key::new("span.a".into());
        key.add(Value::Str("x".into()), 0, 1);
        key.add(Value::Str("y".into()), 0, 1);
        key.add(Value::Str("x".into()), 0, 2);
        assert_eq!(key.totals.total, 2);
        assert_eq!(key.values.len(), 1);
        assert_eq!(key.values[0].1.total, 2);
    }
}
