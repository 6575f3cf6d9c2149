//! The metrics sample aggregator and second stages.

mod common;

use common::TestSpan;
use tracewell_traceql::ast::{MetricsExpr, Root};
use tracewell_traceql::metrics::{apply_second_stages, MetricsAggregator, MetricsError, Series};
use tracewell_traceql::value::Value;
use tracewell_traceql::{compile, Query};

const SECOND: i64 = 1_000_000_000;

fn pipeline(query: &Query) -> &tracewell_traceql::ast::MetricsPipeline {
    let Root::Metrics(metrics) = &query.root else {
        panic!("metrics query expected");
    };
    let MetricsExpr::Pipeline(pipeline) = &metrics.expr else {
        panic!("single pipeline expected");
    };
    pipeline
}

/// Runs `query` over spans `(start second, span)` in `[0, 30s)` with 10s steps.
fn run(query: &str, spans: &[(i64, TestSpan)]) -> Vec<Series> {
    let query = compile(query).unwrap_or_else(|e| panic!("{query}: {e}"));
    let pipeline = pipeline(&query);
    let mut aggregator = MetricsAggregator::new(&pipeline.function, 0, 30 * SECOND, 10 * SECOND)
        .expect("valid range");
    for (at, span) in spans {
        aggregator.observe(at * SECOND, span);
    }
    apply_second_stages(aggregator.finish(), &pipeline.stages)
}

fn spans() -> Vec<(i64, TestSpan)> {
    vec![
        (1, TestSpan::new("a", "api", None).duration(100)),
        (2, TestSpan::new("b", "api", None).duration(300)),
        (3, TestSpan::new("c", "db", None).duration(1000)),
        (12, TestSpan::new("d", "api", None).duration(200)),
        (99, TestSpan::new("late", "api", None).duration(1)),
    ]
}

fn nan_eq(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| (x.is_nan() && y.is_nan()) || (x - y).abs() < 1e-9)
}

#[test]
fn rate_and_count_by_group() {
    let series = run("{ } | rate() by (resource.service.name)", &spans());
    assert_eq!(series.len(), 2);
    assert_eq!(
        series[0].labels,
        vec![(
            "resource.service.name".to_string(),
            Value::Str("api".into())
        )]
    );
    assert!(
        nan_eq(&series[0].values, &[0.2, 0.1, f64::NAN]),
        "{:?}",
        series[0].values
    );
    let series = run("{ } | count_over_time()", &spans());
    assert!(nan_eq(&series[0].values, &[3.0, 1.0, f64::NAN]));
}

#[test]
fn over_time_functions_use_seconds_for_durations() {
    let values = |q: &str| run(q, &spans())[0].values.clone();
    assert!(nan_eq(
        &values("{ } | min_over_time(duration)"),
        &[0.1, 0.2, f64::NAN]
    ));
    assert!(nan_eq(
        &values("{ } | max_over_time(duration)"),
        &[1.0, 0.2, f64::NAN]
    ));
    assert!(nan_eq(
        &values("{ } | sum_over_time(duration)"),
        &[1.4, 0.2, f64::NAN]
    ));
    assert!(nan_eq(
        &values("{ } | avg_over_time(duration)"),
        &[1.4 / 3.0, 0.2, f64::NAN]
    ));
}

#[test]
fn quantiles_are_exact_with_interpolation() {
    let series = run("{ } | quantile_over_time(duration, 0, .5, 1)", &spans());
    assert_eq!(series.len(), 3);
    assert_eq!(series[1].labels, vec![("p".to_string(), Value::Float(0.5))]);
    assert!(nan_eq(&series[0].values, &[0.1, 0.2, f64::NAN]));
    assert!(nan_eq(&series[1].values, &[0.3, 0.2, f64::NAN]));
    assert!(nan_eq(&series[2].values, &[1.0, 0.2, f64::NAN]));
}

#[test]
fn histogram_uses_power_of_two_buckets() {
    let series = run("{ } | histogram_over_time(duration)", &spans());
    let buckets: Vec<&Value> = series.iter().map(|s| &s.labels[0].1).collect();
    // 100ms, 200ms, 300ms and 1s fall in 2^27ns, 2^28ns, 2^29ns and 2^30ns buckets
    let expected: Vec<Value> = [27, 28, 29, 30]
        .iter()
        .map(|p| Value::Float((1u64 << p) as f64 / 1e9))
        .collect();
    assert_eq!(buckets, expected.iter().collect::<Vec<_>>());
    assert!(series.iter().all(|s| s.labels[0].0 == "__bucket"));
}

#[test]
fn second_stages_filter_and_rank() {
    let series = run(
        "{ } | count_over_time() by (resource.service.name) | topk(1)",
        &spans(),
    );
    assert_eq!(series.len(), 1);
    assert_eq!(series[0].labels[0].1, Value::Str("api".into()));
    let series = run(
        "{ } | count_over_time() by (resource.service.name) | bottomk(1)",
        &spans(),
    );
    assert_eq!(series.len(), 2);
    let series = run(
        "{ } | count_over_time() by (resource.service.name) > 1",
        &spans(),
    );
    assert_eq!(series.len(), 1);
    assert!(nan_eq(&series[0].values, &[2.0, f64::NAN, f64::NAN]));
    let series = run("{ } | max_over_time(duration) >= 500ms", &spans());
    assert!(nan_eq(&series[0].values, &[1.0, f64::NAN, f64::NAN]));
}

#[test]
fn invalid_ranges_are_errors() {
    let query = compile("{ } | rate()").expect("valid");
    let function = &pipeline(&query).function;
    assert!(matches!(
        MetricsAggregator::new(function, 10, 5, 1),
        Err(MetricsError::InvalidRange { .. })
    ));
    assert!(matches!(
        MetricsAggregator::new(function, 0, 10, 0),
        Err(MetricsError::InvalidRange { .. })
    ));
    assert!(matches!(
        MetricsAggregator::new(function, 0, i64::MAX, 1),
        Err(MetricsError::TooManyIntervals(_))
    ));
    let query = compile("{ } | compare({ status = error })").expect("valid");
    assert!(matches!(
        MetricsAggregator::new(&pipeline(&query).function, 0, 10, 1),
        Err(MetricsError::Unsupported("compare"))
    ));
}

#[test]
fn series_fed_by_id_equal_series_fed_by_span() {
    let mut spans = spans();
    spans.push((
        4,
        TestSpan::new("e", "db", None).attr("ratio", Value::Float(0.25)),
    ));
    spans.push((
        13,
        TestSpan::new("f", "db", None).attr("ratio", Value::Str("x".into())),
    ));
    for query in [
        "{ } | rate() by (resource.service.name)",
        "{ } | count_over_time() by (name, resource.service.name)",
        "{ } | quantile_over_time(duration, .5, .9) by (resource.service.name)",
        "{ } | histogram_over_time(duration)",
        "{ } | avg_over_time(span.ratio) by (name)",
        "{ } | max_over_time(duration) by (span.missing)",
    ] {
        let compiled = compile(query).unwrap();
        let function = &pipeline(&compiled).function;
        let mut by_span = MetricsAggregator::new(function, 0, 30 * SECOND, 10 * SECOND).unwrap();
        let mut by_id = MetricsAggregator::new(function, 0, 30 * SECOND, 10 * SECOND).unwrap();
        for (at, span) in &spans {
            by_span.observe(at * SECOND, span);
            if !by_id.in_range(at * SECOND) {
                continue;
            }
            let value = by_id.sampled_field().map_or(Value::Nil, |f| {
                tracewell_traceql::view::field_value(span, f)
            });
            let Some(sample) = by_id.sample(&value) else {
                continue;
            };
            let labels = by_id
                .by()
                .iter()
                .map(|f| tracewell_traceql::view::field_value(span, f))
                .collect();
            let series = by_id.series_for(labels, sample.bucket);
            by_id.add(series, at * SECOND, sample);
        }
        let (a, b) = (by_span.finish(), by_id.finish());
        assert_eq!(a.len(), b.len(), "{query}");
        assert!(!a.is_empty(), "{query}");
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x.labels, y.labels, "{query}");
            assert!(nan_eq(&x.values, &y.values), "{query}: {x:?} vs {y:?}");
        }
    }
}

#[test]
fn samples_need_a_number_only_for_functions_of_a_field() {
    let compiled = compile("{ } | avg_over_time(span.ratio)").unwrap();
    let avg = MetricsAggregator::new(&pipeline(&compiled).function, 0, SECOND, SECOND).unwrap();
    assert_eq!(avg.sample(&Value::Str("x".into())), None);
    assert_eq!(avg.sample(&Value::Float(f64::NAN)), None);
    assert_eq!(avg.sample(&Value::Int(3)).and_then(|s| s.value), Some(3.0));
    let compiled = compile("{ } | rate()").unwrap();
    let rate = MetricsAggregator::new(&pipeline(&compiled).function, 0, SECOND, SECOND).unwrap();
    assert!(rate.sample(&Value::Nil).is_some_and(|s| s.value.is_none()));
    assert!(rate.in_range(0) && !rate.in_range(SECOND) && !rate.in_range(-1));
}
