//! Invalid queries report where and what: parse errors with line, column,
//! expected and found; validation errors with positions.

use tracewell_traceql::{compile, parse, Error, ValidationErrorKind};

fn parse_error(query: &str) -> (usize, usize, String, String) {
    let e = parse(query).expect_err(query);
    (e.line, e.column, e.expected, e.found)
}

#[test]
fn parse_errors_name_position_expected_and_found() {
    let e = parse("{ span.foo = }").expect_err("missing value");
    assert_eq!(
        e.to_string(),
        "line 1, column 14: expected a value after '=', found '}'"
    );
    assert_eq!(e.position, 13);

    let (line, column, expected, found) = parse_error("{ .a = 1 &&\n  .b = }");
    assert_eq!((line, column), (2, 8));
    assert_eq!(expected, "a value after '='");
    assert_eq!(found, "'}'");

    let (_, column, expected, found) = parse_error("{ .a < 3");
    assert_eq!(column, 9);
    assert_eq!(expected, "an operator or '}'");
    assert_eq!(found, "end of query");

    let (_, column, _, found) = parse_error("{ attribute = 4 }");
    assert_eq!((column, found.as_str()), (3, "'attribute'"));

    let (_, column, expected, _) = parse_error("{ span:foo = 1 }");
    assert_eq!(column, 8);
    assert!(expected.contains("statusMessage"), "{expected}");

    let (_, column, _, found) = parse_error("{ .attribute == 4 }");
    assert_eq!((column, found.as_str()), (15, "'='"));

    let (_, column, expected, _) = parse_error("{ true } | count()");
    assert_eq!(column, 12);
    assert!(expected.contains("comparison"), "{expected}");

    let (_, column, _, found) = parse_error("count() > 3 && { true }");
    assert_eq!((column, found.as_str()), (1, "aggregate count()"));

    let (_, _, expected, _) = parse_error("{} | rate() + 5");
    assert!(expected.contains("parentheses"), "{expected}");

    let (_, column, _, _) = parse_error("({} | rate()) * 10s");
    assert_eq!(column, 17);

    let (_, column, expected, found) = parse_error("{ \"open }");
    assert_eq!(
        (column, expected.as_str(), found.as_str()),
        (3, "'\"' to close the string", "end of line")
    );

    let (_, _, expected, found) = parse_error("");
    assert_eq!(
        (expected.as_str(), found.as_str()),
        ("a query such as '{ }'", "end of query")
    );

    let (_, column, _, found) = parse_error("{ } with(sample=)");
    assert_eq!((column, found.as_str()), (17, "')'"));
}

fn validation_error(query: &str) -> (usize, ValidationErrorKind) {
    match compile(query) {
        Err(Error::Validation(e)) => (e.column, e.kind),
        other => panic!("{query}: expected a validation error, got {other:?}"),
    }
}

#[test]
fn validation_errors_carry_positions() {
    let (column, kind) = validation_error(r#"{ duration = "abc" }"#);
    assert_eq!(column, 12);
    assert!(matches!(kind, ValidationErrorKind::TypeMismatch(_)));

    let (column, kind) = validation_error(r#"{ span.foo =~ "[" }"#);
    assert_eq!(column, 15);
    assert!(matches!(kind, ValidationErrorKind::InvalidRegex { .. }));

    let (_, kind) = validation_error("{} | quantile_over_time(duration, .5, 1.5)");
    assert_eq!(kind, ValidationErrorKind::QuantileOutOfRange(1.5));

    let (column, kind) = validation_error("{ } | avg(name) > 1");
    assert_eq!(column, 7);
    assert!(matches!(
        kind,
        ValidationErrorKind::NonNumericAggregate { .. }
    ));

    let (_, kind) = validation_error("{ } | avg_over_time(span:name)");
    assert!(matches!(
        kind,
        ValidationErrorKind::NonNumericAggregate { .. }
    ));

    let (_, kind) = validation_error("{ 1 + 1 }");
    assert!(matches!(kind, ValidationErrorKind::NotACondition(_)));

    let (_, kind) = validation_error("{ span:status = nil }");
    assert!(matches!(kind, ValidationErrorKind::IntrinsicNil(_)));

    let (_, kind) = validation_error("{ } | rate() | topk(0)");
    assert_eq!(kind, ValidationErrorKind::InvalidK("topk", 0));

    let (_, kind) = validation_error("{ } | compare({ status = error }) | topk(10)");
    assert!(matches!(kind, ValidationErrorKind::InvalidCompare(_)));

    let (_, kind) = validation_error("{ } | by(1)");
    assert!(matches!(kind, ValidationErrorKind::NoSpanReference(_)));

    let (_, kind) = validation_error("{ status > ok }");
    assert!(matches!(kind, ValidationErrorKind::TypeMismatch(_)));
}
