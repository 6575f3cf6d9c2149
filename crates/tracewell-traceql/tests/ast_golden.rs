//! Golden trees for tricky precedence, printed in canonical form (which
//! parenthesises every nested operation).

use tracewell_traceql::ast::{Root, Stage};
use tracewell_traceql::parse;

fn canonical(query: &str) -> String {
    parse(query)
        .unwrap_or_else(|e| panic!("{query}: {e}"))
        .to_string()
}

#[test]
fn field_expression_precedence() {
    let cases = [
        ("{ .a * .b + .c }", "{ (.a * .b) + .c }"),
        ("{ .a + .b * .c }", "{ .a + (.b * .c) }"),
        ("{ .a + .b ^ .c ^ .d }", "{ .a + (.b ^ (.c ^ .d)) }"),
        ("{ .a = .b + .c }", "{ .a = (.b + .c) }"),
        ("{ .c - -.a + .b }", "{ (.c - (-.a)) + .b }"),
        ("{ -.a * 2 }", "{ -(.a * 2) }"),
        ("{ !.a = true }", "{ (!.a) = true }"),
        ("{ !.a * 2 }", "{ !(.a * 2) }"),
        // && and || share one level, left to right, as in Tempo
        (
            "{ .a = 1 || .b = 2 && .c = 3 }",
            "{ ((.a = 1) || (.b = 2)) && (.c = 3) }",
        ),
        (
            "{ .a = 1 && .b = 2 || .c = 3 }",
            "{ ((.a = 1) && (.b = 2)) || (.c = 3) }",
        ),
        ("{ -1 = 2 }", "{ (-1) = 2 }"),
        ("{ -2 ^ 2 = .a }", "{ (-(2 ^ 2)) = .a }"),
        ("{ span.x != nil }", "{ span.x != nil }"),
        ("{ name = `raw \"q\"` }", r#"{ span:name = "raw \"q\"" }"#),
        (
            "{ rootServiceName = \"a\" && traceDuration > 1h30m }",
            r#"{ (trace:rootService = "a") && (trace:duration > 1h30m) }"#,
        ),
        (
            r#"{ span."a b"."c\"d" = 1.0 }"#,
            r#"{ span."a b.c\"d" = 1.0 }"#,
        ),
    ];
    let wrong: Vec<String> = cases
        .iter()
        .filter(|(query, expected)| canonical(query) != *expected)
        .map(|(query, _)| format!("{query} => {}", canonical(query)))
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn spanset_and_pipeline_precedence() {
    let cases = [
        (
            "{ true } && { false } >> { `a` }",
            r#"{ } && ({ false } >> { "a" })"#,
        ),
        (
            "{ true } >> { false } && { `a` }",
            r#"({ } >> { false }) && { "a" }"#,
        ),
        ("{ .a } || { .b } && { .c }", "({ .a } || { .b }) && { .c }"),
        ("{ .a } > { .b } ~ { .c }", "({ .a } > { .b }) ~ { .c }"),
        (
            "{ .a } | { .b } >> { .c } | count() > 1",
            "{ .a } | { .b } >> { .c } | count() > 1",
        ),
        (
            "({ .a } | count() > 1) !< { .b }",
            "({ .a } | count() > 1) !< { .b }",
        ),
        ("count() + 1 > 2 * 3", "count() + 1 > 2 * 3"),
        ("avg(.field) > 1 - 3", "avg(.field) > 1 - 3"),
    ];
    let wrong: Vec<String> = cases
        .iter()
        .filter(|(query, expected)| canonical(query) != *expected)
        .map(|(query, _)| format!("{query} => {}", canonical(query)))
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn metrics_precedence_and_folding() {
    let cases = [
        ("100 * ({status=error} | rate()) / ({} | rate()) > 5", "(100 * ({ span:status = error } | rate())) / ({ } | rate()) > 5"),
        ("-2 - 20 / ({} | rate())", "(-2) - (20 / ({ } | rate()))"),
        ("3 * 2 + ({} | rate())", "6 + ({ } | rate())"),
        ("(1 / 2) + ({} | rate())", "0 + ({ } | rate())"),
        ("({} | rate()) > 1 + 2", "{ } | rate() > 3"),
        ("{} | rate() | topk(5) > 20 | bottomk (10) <= 10", "{ } | rate() | topk(5) > 20 | bottomk(10) <= 10"),
        ("({} | rate()) + ({} | rate()) | topk(5) > 10", "({ } | rate()) + ({ } | rate()) | topk(5) > 10"),
        ("{ } | compare({status=error})", "{ } | compare({ span:status = error }, 10, 0, 0)"),
        ("{} | quantile_over_time(duration, 0, .5, 1) by (span.a, name) with(sample=0.1, most_recent=true)",
         "{ } | quantile_over_time(span:duration, 0.0, 0.5, 1.0) by (span.a, span:name) with(sample=0.1, most_recent=true)"),
    ];
    let wrong: Vec<String> = cases
        .iter()
        .filter(|(query, expected)| canonical(query) != *expected)
        .map(|(query, _)| format!("{query} => {}", canonical(query)))
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn golden_tree_shapes() {
    let query = parse("{ .a } | by(.b) | select(.c) | coalesce()").expect("parses");
    let Root::Search(pipeline) = &query.root else {
        panic!("search expected");
    };
    assert!(matches!(
        pipeline.stages[..],
        [
            Stage::Spanset(_),
            Stage::GroupBy(_),
            Stage::Select(_),
            Stage::Coalesce
        ]
    ));
    let query = parse("({} | rate() > 6) * 100 > 5").expect("parses");
    let Root::Metrics(metrics) = &query.root else {
        panic!("metrics expected");
    };
    assert_eq!(metrics.stages.len(), 1);
    assert_eq!(metrics.expr.pipelines()[0].stages.len(), 1);
}
