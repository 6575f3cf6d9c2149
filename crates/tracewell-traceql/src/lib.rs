//! TraceQL for Tracewell: the language of Grafana Tempo's trace queries,
//! parsed, validated and evaluated without knowing anything about storage.
//!
//! # Modules
//!
//! - [`lexer`](crate::parse) (private): query text to tokens with byte
//!   positions; attribute references (`span.http.url`, `.key`,
//!   `span."a b"`) are single tokens, numbers followed by a unit are
//!   durations.
//! - `parser` (private, entry point [`parse`]): tokens to the [`ast`] with
//!   Tempo's precedence; errors are [`ParseError`]s with line, column,
//!   what was expected and what was found.
//! - [`ast`]: the syntax tree — [`ast::Query`] is either a search
//!   ([`ast::Pipeline`] of spanset expressions, scalar filters, `by`,
//!   `select`, `coalesce`) or a metrics query ([`ast::MetricsQuery`]:
//!   arithmetic over metrics pipelines, second stages). Its `Display`
//!   prints canonical TraceQL that parses back to an equal tree.
//! - `validate` (private, entry point [`ast::Query::validate`]): type and
//!   argument checks Tempo makes after parsing, as [`ValidationError`]s.
//! - [`value`]: typed values and TraceQL's comparison and arithmetic rules.
//! - [`view`]: the contract a storage engine implements — [`view::SpanView`]
//!   answers intrinsics and attributes, [`view::TraceView`] gives spans and
//!   parent links.
//! - `eval` (private, entry points [`Evaluator`] and [`evaluate`]): runs
//!   search pipelines over one trace and returns [`Spanset`]s.
//! - [`conditions`]: conservative pushdown hints ([`conditions::Condition`])
//!   every returned span satisfies.
//! - [`metrics`]: a sample aggregator turning `(timestamp, span)` into
//!   series for `rate`, `count_over_time`, `*_over_time`,
//!   `quantile_over_time`, `histogram_over_time`, plus `topk`/`bottomk`
//!   and comparisons.
//! - [`compare`]: `compare()`, counting spans per attribute value for a
//!   selection and a baseline.
//! - [`pattern`]: anchored regular expressions of `=~` / `!~`.
//! - [`walk`]: visiting the field expressions of a query.
//!
//! # Contract
//!
//! ```
//! use tracewell_traceql::{compile, Evaluator};
//!
//! let query = compile(r#"{ resource.service.name = "api" } >> { status = error } | count() > 1"#)?;
//! let evaluator = Evaluator::new(&query)?;
//! // For each candidate trace the engine implements `TraceView` and calls
//! // `evaluator.evaluate(&trace)`; `query.conditions()` tells it which
//! // traces cannot match.
//! assert_eq!(query.conditions().len(), 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Values follow Tempo: ints, floats and durations compare numerically with
//! each other, strings lexicographically, statuses/kinds/booleans only for
//! (in)equality, values of other type combinations never match, and a
//! missing attribute is `nil` (`{ span.x != nil }` tests presence). `.key`
//! reads the span attribute, else the resource attribute. Regular
//! expressions are anchored. Structure comes from the parent links the
//! trace view reports; a span whose parent is missing tops its own
//! fragment.

pub mod ast;
pub mod compare;
pub mod conditions;
mod display;
mod duration;
pub mod error;
mod eval;
mod lexer;
pub mod metrics;
mod parser;
pub mod pattern;
mod token;
mod validate;
pub mod value;
pub mod view;
pub mod walk;

pub use ast::Query;
pub use error::{Error, ParseError, Pos, ValidationError, ValidationErrorKind};
pub use eval::{
    evaluate, for_each_field, is_span_local_field, Evaluator, SpanLocalFilter, Spanset,
};
pub use parser::{parse, MAX_DEPTH};

/// Parses and validates a query.
pub fn compile(text: &str) -> Result<Query, Error> {
    let query = parse(text)?;
    query.validate()?;
    Ok(query)
}
