//! Every query of Tempo's documentation and test corpus parses (or fails to
//! parse) as in Tempo, and printing a parsed query gives text that parses
//! back to the same AST.

mod common;

use tracewell_traceql::parse;

fn assert_parses_and_round_trips(query: &str) {
    let parsed = parse(query).unwrap_or_else(|e| panic!("{query:?} does not parse: {e}"));
    let printed = parsed.to_string();
    let reparsed = parse(&printed)
        .unwrap_or_else(|e| panic!("{query:?} printed as {printed:?} does not parse: {e}"));
    assert_eq!(
        parsed, reparsed,
        "{query:?} printed as {printed:?} parses differently"
    );
    assert_eq!(
        printed,
        reparsed.to_string(),
        "printing is not stable for {query:?}"
    );
}

#[test]
fn every_documented_query_parses_and_round_trips() {
    let queries = common::queries("tempo_doc_queries.txt", false);
    assert!(queries.len() > 130);
    for query in &queries {
        assert_parses_and_round_trips(query);
    }
}

#[test]
fn tempo_valid_corpus_parses_and_round_trips() {
    for query in common::queries("tempo_valid_queries.txt", true) {
        assert_parses_and_round_trips(&query);
    }
}

#[test]
fn tempo_parse_failures_do_not_parse() {
    for query in common::queries("tempo_parse_failures.txt", true) {
        assert!(
            parse(&query).is_err(),
            "{query:?} should not parse, got {:?}",
            parse(&query).map(|q| q.to_string())
        );
    }
}

#[test]
fn tempo_valid_corpus_validates() {
    for query in common::queries("tempo_valid_queries.txt", true) {
        let parsed = parse(&query).unwrap_or_else(|e| panic!("{query:?}: {e}"));
        if let Err(e) = parsed.validate() {
            panic!("{query:?} should validate: {e}");
        }
    }
    for query in common::queries("tempo_doc_queries.txt", false) {
        let parsed = parse(&query).unwrap_or_else(|e| panic!("{query:?}: {e}"));
        if let Err(e) = parsed.validate() {
            panic!("{query:?} should validate: {e}");
        }
    }
}

#[test]
fn tempo_validation_failures_fail() {
    for query in common::queries("tempo_validation_failures.txt", true) {
        if let Ok(parsed) = parse(&query) {
            assert!(parsed.validate().is_err(), "{query:?} should not validate");
        }
    }
}
