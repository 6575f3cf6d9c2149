//! No input makes the front end or the evaluator panic: every prefix of
//! every known query, random bytes, random token soup and deep nesting.

mod common;

use common::{TestSpan, TestTrace};
use tracewell_traceql::{compile, evaluate, parse};

/// A small deterministic PRNG (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn trace() -> TestTrace {
    TestTrace {
        spans: vec![
            TestSpan::new("root", "a", None),
            TestSpan::new("child", "b", Some(0)).error(),
            TestSpan::new("orphan", "c", Some(7)),
        ],
    }
}

/// Parses, validates, prints, and evaluates whatever is valid.
fn exercise(text: &str) {
    if let Ok(query) = parse(text) {
        let _ = query.to_string();
        let _ = query.conditions();
        if compile(text).is_ok() {
            let _ = evaluate(&query, &trace());
        }
    }
}

fn corpus() -> Vec<String> {
    let mut all = common::queries("tempo_doc_queries.txt", false);
    all.extend(common::queries("tempo_valid_queries.txt", true));
    all.extend(common::queries("tempo_parse_failures.txt", true));
    all.extend(common::queries("tempo_validation_failures.txt", true));
    all
}

#[test]
fn every_truncation_of_every_known_query() {
    for query in corpus() {
        for end in 0..=query.len() {
            if query.is_char_boundary(end) {
                exercise(&query[..end]);
                exercise(&query[end..]);
            }
        }
    }
}

#[test]
fn random_bytes() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..20_000 {
        let len = rng.below(40);
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        exercise(&String::from_utf8_lossy(&bytes));
    }
}

#[test]
fn random_token_soup() {
    const PIECES: &[&str] = &[
        "{",
        "}",
        "(",
        ")",
        ",",
        "|",
        "&&",
        "||",
        "!",
        "=",
        "!=",
        "=~",
        "!~",
        ">",
        ">=",
        "<",
        "<=",
        ">>",
        "<<",
        "~",
        "!>",
        "!<",
        "!>>",
        "!<<",
        "&>",
        "&<",
        "&>>",
        "&<<",
        "&~",
        "+",
        "-",
        "*",
        "/",
        "%",
        "^",
        " ",
        ".a",
        "span.b",
        "resource.service.name",
        "parent.c",
        "span:duration",
        "trace:id",
        "span:",
        "name",
        "status",
        "error",
        "ok",
        "server",
        "nil",
        "true",
        "1",
        "2.5",
        "1s",
        "-",
        "\"x\"",
        "\"[\"",
        "count()",
        "avg(duration)",
        "by(.a)",
        "select(.a)",
        "coalesce()",
        "rate()",
        "count_over_time()",
        "quantile_over_time(duration, .5)",
        "histogram_over_time(duration)",
        "compare({})",
        "topk(2)",
        "bottomk(1)",
        "with(a=1)",
        "by (.a)",
        "minInt",
        "maxInt",
        "`",
        "\"",
    ];
    let mut rng = Rng(42);
    for _ in 0..30_000 {
        let len = 1 + rng.below(14);
        let text: String = (0..len).map(|_| PIECES[rng.below(PIECES.len())]).collect();
        exercise(&text);
    }
}

#[test]
fn deep_nesting_is_rejected_not_overflowed() {
    for depth in [10, 150, 1_000, 50_000] {
        exercise(&format!(
            "{}{{ .a }}{}",
            "(".repeat(depth),
            ")".repeat(depth)
        ));
        exercise(&format!(
            "{{ {}.a{} }}",
            "(".repeat(depth),
            ")".repeat(depth)
        ));
        exercise(&format!("{{ {}1 }}", "-".repeat(depth)));
        exercise(&format!("{{ {}true }}", "!".repeat(depth)));
        exercise(&format!("{{ .a = 1{} }}", " && .b = 2".repeat(depth)));
        exercise(&format!("{{ .a }}{}", " >> { .b }".repeat(depth)));
        exercise(&format!("{{ }}{}", " | { .b }".repeat(depth)));
        exercise(&format!("({{}} | rate()){}", " + 1".repeat(depth)));
    }
    assert!(parse(&format!(
        "{}{{ .a }}{}",
        "(".repeat(1_000),
        ")".repeat(1_000)
    ))
    .is_err());
}
