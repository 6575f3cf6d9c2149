//! `compare()`: selection and baseline counts per attribute value, the topN
//! cut with its error series, totals, the selection window and bad
//! arguments, run the way a storage engine runs them (pipeline, then the
//! selection filter over the selected spans, then the aggregator).

mod common;

use common::{TestSpan, TestTrace};
use tracewell_traceql::ast::{MetricsExpr, MetricsFunctionKind, MetricsPipeline, Root};
use tracewell_traceql::compare::{selection_filter, CompareAggregator};
use tracewell_traceql::metrics::{MetricsError, Series};
use tracewell_traceql::value::Value;
use tracewell_traceql::{compile, Evaluator, Query};

const SECOND: i64 = 1_000_000_000;

fn pipeline(query: &Query) -> &MetricsPipeline {
    let Root::Metrics(metrics) = &query.root else {
        panic!("metrics query expected");
    };
    let MetricsExpr::Pipeline(pipeline) = &metrics.expr else {
        panic!("single pipeline expected");
    };
    pipeline
}

/// Runs `query` over one trace of spans `(start second, span)` in `[0, 30s)`
/// with 10s steps.
fn run(query: &str, spans: &[(i64, TestSpan)]) -> Vec<Series> {
    let query = compile(query).unwrap_or_else(|e| panic!("{query}: {e}"));
    let evaluator = Evaluator::new(&query).expect("valid");
    let pipeline = pipeline(&query);
    let filter = selection_filter(&pipeline.function).expect("compare()");
    let mut aggregator = CompareAggregator::new(&pipeline.function, 0, 30 * SECOND, 10 * SECOND)
        .expect("valid range");
    let trace = TestTrace {
        spans: spans.iter().map(|(_, s)| s.clone()).collect(),
    };
    let selected = evaluator.metrics_spans(&trace).concat();
    let matches = evaluator.spans_matching(filter, &trace, &selected);
    assert_eq!(matches.len(), selected.len());
    for (&index, matches_filter) in selected.iter().zip(matches) {
        aggregator.observe(spans[index].0 * SECOND, &trace.spans[index], matches_filter);
    }
    assert!(aggregator.warnings().is_empty());
    aggregator.finish()
}

/// `{label=value, ...} [values]`, values `NaN` for no samples.
fn lines(series: &[Series]) -> Vec<String> {
    series
        .iter()
        .map(|s| {
            let labels: Vec<String> = s.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("{{{}}} {:?}", labels.join(", "), s.values)
        })
        .collect()
}

/// The lines whose labels start with `prefix`.
fn with_prefix(series: &[Series], prefix: &str) -> Vec<String> {
    lines(series)
        .into_iter()
        .filter(|l| l.starts_with(prefix))
        .collect()
}

fn spans() -> Vec<(i64, TestSpan)> {
    vec![
        (1, TestSpan::new("a", "api", None)),
        (
            2,
            TestSpan::new("b", "api", None)
                .error()
                .attr("http.method", Value::Str("GET".into())),
        ),
        (3, TestSpan::new("c", "db", None)),
        (12, TestSpan::new("d", "api", None).error()),
        (
            15,
            TestSpan::new("e", "db", None)
                .error()
                .attr("http.method", Value::Str("POST".into())),
        ),
        (25, TestSpan::new("f", "api", None)),
    ]
}

#[test]
fn selection_and_baseline_count_spans_per_value_and_attribute() {
    let got = lines(&run("{ } | compare({ status = error })", &spans()));
    let expected = [
        r#"{__meta_type="baseline", kind=internal} [2.0, 0.0, 1.0]"#,
        r#"{__meta_type="baseline", name="a"} [1.0, 0.0, 0.0]"#,
        r#"{__meta_type="baseline", name="c"} [1.0, 0.0, 0.0]"#,
        r#"{__meta_type="baseline", name="f"} [0.0, 0.0, 1.0]"#,
        r#"{__meta_type="baseline", resource.service.name="api"} [1.0, 0.0, 1.0]"#,
        r#"{__meta_type="baseline", resource.service.name="db"} [1.0, 0.0, 0.0]"#,
        r#"{__meta_type="baseline", status=unset} [2.0, 0.0, 1.0]"#,
        r#"{__meta_type="selection", kind=internal} [1.0, 2.0, 0.0]"#,
        r#"{__meta_type="selection", name="b"} [1.0, 0.0, 0.0]"#,
        r#"{__meta_type="selection", name="d"} [0.0, 1.0, 0.0]"#,
        r#"{__meta_type="selection", name="e"} [0.0, 1.0, 0.0]"#,
        r#"{__meta_type="selection", resource.service.name="api"} [1.0, 1.0, 0.0]"#,
        r#"{__meta_type="selection", resource.service.name="db"} [0.0, 1.0, 0.0]"#,
        r#"{__meta_type="selection", span.http.method="GET"} [1.0, 0.0, 0.0]"#,
        r#"{__meta_type="selection", span.http.method="POST"} [0.0, 1.0, 0.0]"#,
        r#"{__meta_type="selection", status=error} [1.0, 2.0, 0.0]"#,
        r#"{__meta_type="baseline_total", kind=nil} [2.0, 0.0, 1.0]"#,
        r#"{__meta_type="baseline_total", name=nil} [2.0, 0.0, 1.0]"#,
        r#"{__meta_type="baseline_total", resource.service.name=nil} [2.0, 0.0, 1.0]"#,
        r#"{__meta_type="baseline_total", status=nil} [2.0, 0.0, 1.0]"#,
        r#"{__meta_type="selection_total", kind=nil} [1.0, 2.0, 0.0]"#,
        r#"{__meta_type="selection_total", name=nil} [1.0, 2.0, 0.0]"#,
        r#"{__meta_type="selection_total", resource.service.name=nil} [1.0, 2.0, 0.0]"#,
        r#"{__meta_type="selection_total", span.http.method=nil} [1.0, 1.0, 0.0]"#,
        r#"{__meta_type="selection_total", status=nil} [1.0, 2.0, 0.0]"#,
    ];
    assert_eq!(got, expected, "{got:#?}");
}

#[test]
fn labels_and_values_are_typed() {
    let series = run("{ } | compare({ status = error })", &spans());
    let first = &series[0];
    assert_eq!(
        first.labels,
        vec![
            ("__meta_type".to_string(), Value::Str("baseline".into())),
            (
                "kind".to_string(),
                Value::Kind(tracewell_traceql::value::Kind::Internal)
            ),
        ]
    );
    let total = series
        .iter()
        .find(|s| s.labels[0].1 == Value::Str("selection_total".into()))
        .expect("a selection total");
    assert_eq!(total.labels[1].1, Value::Nil);
}

#[test]
fn top_n_keeps_the_values_with_most_spans_and_flags_the_attribute() {
    let series = run("{ } | compare({ status = error }, 1)", &spans());
    // "api" has two baseline spans, "db" one; the three names one each: the first seen stays.
    assert_eq!(
        with_prefix(&series, r#"{__meta_type="baseline","#),
        [
            r#"{__meta_type="baseline", kind=internal} [2.0, 0.0, 1.0]"#,
            r#"{__meta_type="baseline", name="a"} [1.0, 0.0, 0.0]"#,
            r#"{__meta_type="baseline", resource.service.name="api"} [1.0, 0.0, 1.0]"#,
            r#"{__meta_type="baseline", status=unset} [2.0, 0.0, 1.0]"#,
        ]
    );
    assert_eq!(
        with_prefix(&series, r#"{__meta_type="selection","#),
        [
            r#"{__meta_type="selection", kind=internal} [1.0, 2.0, 0.0]"#,
            r#"{__meta_type="selection", name="b"} [1.0, 0.0, 0.0]"#,
            r#"{__meta_type="selection", resource.service.name="api"} [1.0, 1.0, 0.0]"#,
            r#"{__meta_type="selection", span.http.method="GET"} [1.0, 0.0, 0.0]"#,
            r#"{__meta_type="selection", status=error} [1.0, 2.0, 0.0]"#,
        ]
    );
    // One error series per attribute with more values than topN in either group, without samples.
    assert_eq!(
        with_prefix(&series, "{__meta_error"),
        [
            r#"{__meta_error="__too_many_values__", name=nil} [NaN, NaN, NaN]"#,
            r#"{__meta_error="__too_many_values__", resource.service.name=nil} [NaN, NaN, NaN]"#,
            r#"{__meta_error="__too_many_values__", span.http.method=nil} [NaN, NaN, NaN]"#,
        ]
    );
    // Totals count every span with the attribute, whatever the cut.
    assert!(lines(&series).contains(
        &r#"{__meta_type="selection_total", span.http.method=nil} [1.0, 1.0, 0.0]"#.to_string()
    ));
}

#[test]
fn the_selection_window_bounds_are_start_exclusive_and_end_inclusive() {
    let spans: Vec<(i64, TestSpan)> = [
        (2, "before", true),
        (10, "at-start", true),
        (12, "inside", true),
        (15, "inside-ok", false),
        (20, "at-end", true),
        (25, "after", true),
    ]
    .into_iter()
    .map(|(at, name, error)| {
        let span = TestSpan::new(name, "api", None);
        (at, if error { span.error() } else { span })
    })
    .collect();
    let query = format!(
        "{{ }} | compare({{ status = error }}, 10, {}, {})",
        10 * SECOND,
        20 * SECOND
    );
    let series = run(&query, &spans);
    let names = |meta: &str| -> Vec<String> {
        series
            .iter()
            .filter(|s| s.labels[0].1 == Value::Str(meta.into()) && s.labels[1].0 == "name")
            .map(|s| s.labels[1].1.to_string())
            .collect()
    };
    assert_eq!(names("selection"), [r#""inside""#, r#""at-end""#]);
    assert_eq!(
        names("baseline"),
        [
            r#""before""#,
            r#""at-start""#,
            r#""inside-ok""#,
            r#""after""#
        ]
    );
    // Errors outside the window are baseline.
    assert!(lines(&series)
        .contains(&r#"{__meta_type="baseline", status=error} [1.0, 1.0, 1.0]"#.to_string()));
}

#[test]
fn without_matches_everything_is_baseline() {
    let series = run("{ } | compare({ status = ok })", &spans());
    assert!(with_prefix(&series, r#"{__meta_type="selection"#).is_empty());
    assert!(with_prefix(&series, "{__meta_error").is_empty());
    assert_eq!(
        with_prefix(&series, r#"{__meta_type="baseline_total""#),
        [
            r#"{__meta_type="baseline_total", kind=nil} [3.0, 2.0, 1.0]"#,
            r#"{__meta_type="baseline_total", name=nil} [3.0, 2.0, 1.0]"#,
            r#"{__meta_type="baseline_total", resource.service.name=nil} [3.0, 2.0, 1.0]"#,
            r#"{__meta_type="baseline_total", span.http.method=nil} [1.0, 1.0, 0.0]"#,
            r#"{__meta_type="baseline_total", status=nil} [3.0, 2.0, 1.0]"#,
        ]
    );
}

#[test]
fn spans_the_pipeline_drops_are_in_neither_group() {
    let series = run(
        r#"{ resource.service.name = "api" } | compare({ status = error })"#,
        &spans(),
    );
    let services: Vec<String> = lines(&series)
        .into_iter()
        .filter(|l| l.contains("resource.service.name=\""))
        .collect();
    assert_eq!(
        services,
        [
            r#"{__meta_type="baseline", resource.service.name="api"} [1.0, 0.0, 1.0]"#,
            r#"{__meta_type="selection", resource.service.name="api"} [1.0, 1.0, 0.0]"#,
        ]
    );
}

#[test]
fn no_spans_no_series() {
    assert!(run("{ } | compare({ status = error })", &[]).is_empty());
}

#[test]
fn durations_and_absent_values_are_not_broken_down() {
    let spans = vec![(
        1,
        TestSpan::new("a", "api", None)
            .attr("elapsed", Value::Duration(5))
            .attr("gone", Value::Nil)
            .attr("quoted key", Value::Int(7))
            .attr("quoted key", Value::Int(8)),
    )];
    let got = lines(&run("{ } | compare({ status = error })", &spans));
    assert!(got
        .iter()
        .all(|l| !l.contains("duration") && !l.contains("elapsed") && !l.contains("gone")));
    // Keys that need quotes are labelled as TraceQL writes them; a key listed twice counts once.
    assert!(got
        .contains(&r#"{__meta_type="baseline", span."quoted key"=7} [1.0, 0.0, 0.0]"#.to_string()));
    assert!(got.contains(
        &r#"{__meta_type="baseline_total", span."quoted key"=nil} [1.0, 0.0, 0.0]"#.to_string()
    ));
    assert!(!got.iter().any(|l| l.contains("=8}")));
}

#[test]
fn the_filter_can_use_structure() {
    // Spans with children are the selection.
    let spans = vec![
        (1, TestSpan::new("root", "api", None)),
        (2, TestSpan::new("child", "api", Some(0))),
        (3, TestSpan::new("other", "api", None)),
    ];
    let series = run("{ } | compare({ span:childCount > 0 })", &spans);
    let selection: Vec<String> = with_prefix(&series, r#"{__meta_type="selection", name"#);
    assert_eq!(
        selection,
        [r#"{__meta_type="selection", name="root"} [1.0, 0.0, 0.0]"#]
    );
}

#[test]
fn bad_arguments_are_errors() {
    let query = compile("{ } | rate()").expect("valid");
    assert_eq!(
        CompareAggregator::new(&pipeline(&query).function, 0, 10, 1).err(),
        Some(MetricsError::Unsupported("rate"))
    );
    let query = compile("{ } | compare({ status = error })").expect("valid");
    let function = &pipeline(&query).function;
    assert!(matches!(
        CompareAggregator::new(function, 10, 5, 1),
        Err(MetricsError::InvalidRange { .. })
    ));
    assert!(matches!(
        CompareAggregator::new(function, 0, i64::MAX, 1),
        Err(MetricsError::TooManyIntervals(_))
    ));
    let with = |top_n: i64, start: i64, end: i64| {
        let mut function = function.clone();
        let MetricsFunctionKind::Compare { filter, .. } = function.kind else {
            unreachable!()
        };
        function.kind = MetricsFunctionKind::Compare {
            filter,
            top_n,
            start,
            end,
        };
        CompareAggregator::new(&function, 0, 10, 1).map(|_| ())
    };
    assert_eq!(with(10, 0, 0), Ok(()));
    assert_eq!(with(1000, 1, 2), Ok(()));
    for (top_n, start, end) in [
        (0, 0, 0),
        (-1, 0, 0),
        (1001, 0, 0),
        (10, 5, 5),
        (10, 6, 5),
        (10, 0, 5),
        (10, 5, 0),
        (10, -5, 5),
    ] {
        let err = with(top_n, start, end).expect_err("invalid");
        assert!(
            matches!(err, MetricsError::InvalidCompare(_)),
            "{top_n} {start} {end}: {err}"
        );
        assert!(err.to_string().starts_with("compare(): "), "{err}");
    }
}
