//! Evaluation semantics on hand-built traces: filters, values and nil,
//! spanset and structural operators (on deep, wide and broken trees),
//! pipelines with aggregates, by(), select() and coalesce().

mod common;

use common::{flat, names, TestSpan, TestTrace};
use tracewell_traceql::value::Value;

/// ```text
/// root(frontend) ─┬─ api(api, error) ── db(db, error) ── cache(db)
///                 └─ auth(auth)      ── token(auth, error)
/// orphan(api) whose parent is missing ── orphan-child(db)
/// ```
fn shop() -> TestTrace {
    TestTrace {
        spans: vec![
            TestSpan::new("root", "frontend", None)
                .duration(500)
                .attr("http.status_code", Value::Int(200)),
            TestSpan::new("api", "api", Some(0))
                .error()
                .duration(300)
                .attr("http.status_code", Value::Int(500)),
            TestSpan::new("db", "db", Some(1))
                .error()
                .duration(200)
                .attr("db.system", Value::Str("postgresql".into())),
            TestSpan::new("cache", "db", Some(2)).duration(1),
            TestSpan::new("auth", "auth", Some(0))
                .duration(50)
                .attr("http.status_code", Value::Float(200.0)),
            TestSpan::new("token", "auth", Some(4)).error().duration(20),
            TestSpan::new("orphan", "api", Some(99)).duration(5),
            TestSpan::new("orphan-child", "db", Some(6)).duration(2),
        ],
    }
}

fn v(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[test]
fn filters_and_value_rules() {
    let t = shop();
    assert_eq!(flat("{ }", &t).len(), 8);
    assert_eq!(flat("{ true }", &t).len(), 8);
    assert_eq!(flat("{ status = error }", &t), v(&["api", "db", "token"]));
    assert_eq!(
        flat("{ span:duration > 100ms }", &t),
        v(&["root", "api", "db"])
    );
    // int attribute compares with float literal and float attribute with int literal
    assert_eq!(
        flat("{ span.http.status_code = 200.0 }", &t),
        v(&["root", "auth"])
    );
    assert_eq!(flat("{ .http.status_code >= 500 }", &t), v(&["api"]));
    // mismatched types never match, for = and != alike
    assert!(flat(r#"{ span.http.status_code = "200" }"#, &t).is_empty());
    assert_eq!(
        flat(r#"{ span.http.status_code != "x" }"#, &t),
        Vec::<String>::new()
    );
    // nil means absent
    assert_eq!(flat("{ span.db.system != nil }", &t), v(&["db"]));
    assert_eq!(
        flat("{ span.http.status_code = nil }", &t),
        v(&["db", "cache", "token", "orphan", "orphan-child"])
    );
    // regexes are anchored
    assert_eq!(
        flat(r#"{ name =~ "o.*" }"#, &t),
        v(&["orphan", "orphan-child"])
    );
    assert_eq!(flat(r#"{ name =~ "rph" }"#, &t), Vec::<String>::new());
    assert_eq!(
        flat(r#"{ resource.service.name !~ "a.*" }"#, &t),
        v(&["root", "db", "cache", "orphan-child"])
    );
    // unscoped falls back to resource
    assert_eq!(
        flat(r#"{ .service.name = "auth" }"#, &t),
        v(&["auth", "token"])
    );
    // arithmetic and precedence
    assert_eq!(
        flat("{ span:duration > 100ms * 2 || name = \"cache\" }", &t),
        v(&["root", "api", "cache"])
    );
    assert_eq!(
        flat("{ !(status = error) && span:duration < 10ms }", &t),
        v(&["cache", "orphan", "orphan-child"])
    );
    assert_eq!(flat("{ span.http.status_code / 100 = 5 }", &t), v(&["api"]));
}

#[test]
fn array_attributes_match_any_element() {
    let t = TestTrace {
        spans: vec![
            TestSpan::new("a", "s", None).attr(
                "tags",
                Value::Array(vec![Value::Str("x".into()), Value::Str("y".into())]),
            ),
            TestSpan::new("b", "s", None).attr("tags", Value::Array(vec![Value::Str("z".into())])),
            TestSpan::new("c", "s", None).event(
                "exception.type",
                Value::Array(vec![Value::Str("Timeout".into())]),
            ),
        ],
    };
    assert_eq!(flat(r#"{ span.tags = "y" }"#, &t), v(&["a"]));
    assert_eq!(flat(r#"{ span.tags != "y" }"#, &t), v(&["b"]));
    assert_eq!(flat(r#"{ span.tags =~ "[xz]" }"#, &t), v(&["a", "b"]));
    assert_eq!(flat(r#"{ span.tags !~ "x" }"#, &t), v(&["b"]));
    assert_eq!(
        flat(r#"{ event.exception.type = "Timeout" }"#, &t),
        v(&["c"])
    );
}

#[test]
fn spanset_and_or() {
    let t = shop();
    assert_eq!(
        flat(r#"{ name = "db" } && { name = "auth" }"#, &t),
        v(&["db", "auth"])
    );
    assert!(flat(r#"{ name = "db" } && { name = "nope" }"#, &t).is_empty());
    assert_eq!(
        flat(r#"{ name = "db" } || { name = "nope" }"#, &t),
        v(&["db"])
    );
}

#[test]
fn child_parent_and_negations() {
    let t = shop();
    assert_eq!(flat(r#"{ name = "root" } > { }"#, &t), v(&["api", "auth"]));
    assert_eq!(
        flat(r#"{ status = error } > { status = error }"#, &t),
        v(&["db"])
    );
    assert_eq!(
        flat(r#"{ } < { name = "api" || name = "cache" }"#, &t),
        v(&["api"])
    );
    // !> : right spans whose parent is not a left span (orphans have no parent)
    assert_eq!(
        flat(r#"{ name = "root" } !> { }"#, &t),
        v(&["root", "db", "cache", "token", "orphan", "orphan-child"])
    );
    // leaves: spans that are not the parent of anything
    assert_eq!(
        flat("{ } !< { }", &t),
        v(&["cache", "token", "orphan-child"])
    );
    assert_eq!(
        flat("{ status = error } !< { status = error }", &t),
        v(&["db", "token"])
    );
}

#[test]
fn descendant_ancestor_and_negations() {
    let t = shop();
    assert_eq!(
        flat(
            r#"{ resource.service.name = "frontend" } >> { status = error }"#,
            &t
        ),
        v(&["api", "db", "token"])
    );
    assert_eq!(flat(r#"{ name = "api" } >> { }"#, &t), v(&["db", "cache"]));
    assert_eq!(
        flat(r#"{ name = "cache" } << { }"#, &t),
        v(&["root", "api", "db"])
    );
    assert_eq!(
        flat(r#"{ name = "root" } !>> { }"#, &t),
        v(&["root", "orphan", "orphan-child"])
    );
    assert_eq!(
        flat(r#"{ status = error } !<< { status = error }"#, &t),
        v(&["db", "token"])
    );
    // inside a fragment under a missing parent, relations still hold
    assert_eq!(
        flat(r#"{ name = "orphan" } >> { }"#, &t),
        v(&["orphan-child"])
    );
    assert_eq!(
        flat(r#"{ name = "orphan-child" } << { }"#, &t),
        v(&["orphan"])
    );
}

#[test]
fn siblings_and_negation() {
    let t = shop();
    assert_eq!(flat(r#"{ name = "api" } ~ { }"#, &t), v(&["auth"]));
    assert_eq!(flat("{ } ~ { }", &t), v(&["api", "auth"]));
    // a span is not its own sibling
    assert!(flat(r#"{ name = "api" } ~ { name = "api" }"#, &t).is_empty());
    // spans under a missing parent have no siblings
    assert_eq!(
        flat(r#"{ } !~ { name =~ "orphan.*" || name = "api" }"#, &t),
        v(&["orphan", "orphan-child"])
    );
}

#[test]
fn union_structural_returns_both_sides() {
    let t = shop();
    assert_eq!(flat(r#"{ name = "api" } &> { }"#, &t), v(&["api", "db"]));
    assert_eq!(flat(r#"{ name = "db" } &< { }"#, &t), v(&["api", "db"]));
    assert_eq!(
        flat(
            r#"{ name = "api" && status = error } &>> { status = error }"#,
            &t
        ),
        v(&["api", "db"])
    );
    assert_eq!(
        flat(r#"{ name = "cache" } &<< { status = error }"#, &t),
        v(&["api", "db", "cache"])
    );
    assert_eq!(flat(r#"{ name = "api" } &~ { }"#, &t), v(&["api", "auth"]));
}

#[test]
fn deep_and_wide_trees() {
    // a chain of 5000 spans
    let mut spans = vec![TestSpan::new("s0", "svc", None)];
    for i in 1..5000 {
        spans.push(TestSpan::new(&format!("s{i}"), "svc", Some(i - 1)));
    }
    spans[4999] = TestSpan::new("leaf", "svc", Some(4998)).error();
    let deep = TestTrace { spans };
    assert_eq!(
        flat(r#"{ name = "s0" } >> { status = error }"#, &deep),
        v(&["leaf"])
    );
    assert_eq!(
        flat(r#"{ status = error } << { name = "s0" }"#, &deep),
        v(&["s0"])
    );
    assert_eq!(flat("{ } !< { }", &deep), v(&["leaf"]));

    // one root with 3000 children
    let mut spans = vec![TestSpan::new("root", "svc", None)];
    for i in 0..3000 {
        spans.push(TestSpan::new(&format!("c{i}"), "svc", Some(0)));
    }
    let wide = TestTrace { spans };
    assert_eq!(
        flat(r#"{ name = "c7" } ~ { name =~ "c[0-9]" }"#, &wide).len(),
        9
    );
    assert_eq!(flat("{ } < { }", &wide), v(&["root"]));
    assert_eq!(flat("{ } > { }", &wide).len(), 3000);
}

#[test]
fn broken_trees_do_not_loop() {
    // a cycle a -> b -> c -> a, a self-parent and an out-of-range parent
    let t = TestTrace {
        spans: vec![
            TestSpan::new("a", "s", Some(2)),
            TestSpan::new("b", "s", Some(0)),
            TestSpan::new("c", "s", Some(1)),
            TestSpan::new("self", "s", Some(3)),
            TestSpan::new("far", "s", Some(1000)),
        ],
    };
    assert_eq!(flat("{ } >> { }", &t), v(&["b", "c"]));
    assert_eq!(flat("{ } ~ { }", &t), Vec::<String>::new());
    assert_eq!(flat("{ } !> { }", &t), v(&["a", "self", "far"]));
    assert_eq!(
        names("{ span:childCount = 0 }", &t),
        vec![v(&["c", "self", "far"])]
    );
}

#[test]
fn pipelines_aggregates_and_grouping() {
    let t = shop();
    assert_eq!(
        flat("{ status = error } | count() > 2", &t),
        v(&["api", "db", "token"])
    );
    assert!(flat("{ status = error } | count() > 3", &t).is_empty());
    assert_eq!(flat("{ } | avg(duration) > 100ms", &t).len(), 8);
    assert!(flat("{ } | max(duration) > 1s", &t).is_empty());
    assert_eq!(flat("{ } | min(span:duration) = 1ms", &t).len(), 8);
    assert_eq!(
        flat("{ status = error } | sum(duration) = 520ms", &t).len(),
        3
    );
    // spans without the field are skipped by aggregates
    assert_eq!(flat("{ } | avg(span.http.status_code) = 300", &t).len(), 8);
    // by() splits, later stages apply per group
    assert_eq!(
        names("{ } | by(resource.service.name) | count() > 1", &t),
        vec![
            v(&["api", "orphan"]),
            v(&["db", "cache", "orphan-child"]),
            v(&["auth", "token"])
        ]
    );
    // coalesce() merges the groups back
    assert_eq!(
        names(
            "{ status = error } | by(resource.service.name) | coalesce()",
            &t
        ),
        vec![v(&["api", "db", "token"])]
    );
    // nested filters after pipes
    assert_eq!(
        flat("{ span:duration > 10ms } | { status = error }", &t),
        v(&["api", "db", "token"])
    );
    assert_eq!(
        flat(
            r#"({ status = error } | count() > 1) && { name = "root" }"#,
            &t
        ),
        v(&["root", "api", "db", "token"])
    );
}

#[test]
fn grouping_and_select_attributes() {
    let t = shop();
    let query = tracewell_traceql::compile(
        "{ status = error } | by(resource.service.name) | count() >= 1 | select(span.http.status_code, span:duration)",
    )
    .expect("valid");
    let sets = tracewell_traceql::evaluate(&query, &t).expect("valid");
    assert_eq!(sets.len(), 3);
    let first = &sets[0];
    assert_eq!(
        first.attributes,
        vec![
            (
                "by(resource.service.name)".to_string(),
                Value::Str("api".into())
            ),
            ("count()".to_string(), Value::Int(1))
        ]
    );
    assert_eq!(first.scalar, Some(Value::Int(1)));
    assert_eq!(first.selected.len(), 2);
    assert_eq!(first.selected[0].to_string(), "span.http.status_code");
}

#[test]
fn intrinsics_computed_from_structure() {
    let t = shop();
    assert_eq!(flat("{ span:childCount = 2 }", &t), v(&["root"]));
    assert_eq!(flat("{ nestedSetParent = -1 }", &t), v(&["root", "orphan"]));
    assert_eq!(flat("{ nestedSetLeft = 1 }", &t), v(&["root"]));
}

/// The one spanset filter of a search query.
fn only_filter(query: &tracewell_traceql::Query) -> &tracewell_traceql::ast::SpansetFilter {
    use tracewell_traceql::ast::{Pipeline, Root, SpansetExpr, Stage};
    let Root::Search(Pipeline { stages }) = &query.root else {
        panic!("a search");
    };
    let [Stage::Spanset(SpansetExpr::Filter(filter))] = &stages[..] else {
        panic!("one filter");
    };
    filter
}

#[test]
fn span_local_filters_answer_as_the_evaluator_does() {
    let trace = shop();
    for query in [
        "{ }",
        "{ status = error && duration > 100ms }",
        "{ span.http.status_code = 200 || resource.service.name =~ \"d.*\" }",
        "{ .db.system != nil && !(name = \"x\") }",
        "{ span.http.status_code >= 300 }",
    ] {
        let compiled = tracewell_traceql::compile(query).unwrap();
        let evaluator = tracewell_traceql::Evaluator::new(&compiled).unwrap();
        let filter = only_filter(&compiled);
        let local = evaluator.span_local(filter).expect("span-local");
        let one_by_one: Vec<String> = trace
            .spans
            .iter()
            .filter(|s| local.matches(*s))
            .map(|s| s.name.clone())
            .collect();
        assert_eq!(one_by_one, flat(query, &trace), "{query}");
    }
    for query in [
        "{ span:childCount > 1 }",
        "{ name = \"api\" && trace:duration > 1s }",
        "{ trace:rootService = \"frontend\" }",
        "{ nestedSetParent = -1 }",
    ] {
        let compiled = tracewell_traceql::compile(query).unwrap();
        let evaluator = tracewell_traceql::Evaluator::new(&compiled).unwrap();
        let filter = only_filter(&compiled);
        assert!(evaluator.span_local(filter).is_none(), "{query}");
    }
}
