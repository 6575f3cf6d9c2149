//! Error types of the TraceQL front end: positions in the query text,
//! parse errors ("expected X, found Y") and validation errors.

use std::fmt;

/// A place in the query text: byte offset plus the 1-based line and column
/// (columns count characters, not bytes).
///
/// Positions are metadata: two positions always compare equal, so ASTs
/// parsed from differently formatted texts of the same query are equal.
#[derive(Clone, Copy, Debug, Default, Eq)]
pub struct Pos {
    /// Byte offset from the start of the query.
    pub offset: usize,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

impl PartialEq for Pos {
    fn eq(&self, _other: &Pos) -> bool {
        true
    }
}

impl Pos {
    /// The position of byte `offset` in `text` (clamped to the text length).
    pub fn locate(text: &str, offset: usize) -> Pos {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        Pos {
            offset,
            line,
            column,
        }
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// The query text is not TraceQL.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: expected {expected}, found {found}")]
pub struct ParseError {
    /// Byte offset of the offending token.
    pub position: usize,
    /// 1-based line of the offending token.
    pub line: usize,
    /// 1-based column of the offending token.
    pub column: usize,
    /// What the parser could have accepted here.
    pub expected: String,
    /// What it found instead.
    pub found: String,
}

impl ParseError {
    pub(crate) fn at(
        pos: Pos,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> ParseError {
        ParseError {
            position: pos.offset,
            line: pos.line,
            column: pos.column,
            expected: expected.into(),
            found: found.into(),
        }
    }

    /// Where the error is.
    pub fn pos(&self) -> Pos {
        Pos {
            offset: self.position,
            line: self.line,
            column: self.column,
        }
    }
}

/// What is wrong with a query that parses but cannot run.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ValidationErrorKind {
    /// Operand types that TraceQL rejects, such as `{ 1 = "foo" }`.
    #[error("type mismatch: {0}")]
    TypeMismatch(String),
    /// A spanset filter whose expression is not a condition, such as `{ 1 + 1 }`.
    #[error("a spanset filter needs a condition, found {0}")]
    NotACondition(String),
    /// The pattern of `=~` or `!~` does not compile.
    #[error("invalid regular expression {pattern:?}: {reason}")]
    InvalidRegex {
        /// The pattern as written.
        pattern: String,
        /// Why it does not compile.
        reason: String,
    },
    /// The pattern of `=~` or `!~` is not a string literal.
    #[error("the pattern of {0} must be a string literal")]
    RegexNotLiteral(String),
    /// A quantile outside `[0, 1]`.
    #[error("quantile {0} is outside [0, 1]")]
    QuantileOutOfRange(f64),
    /// `topk`/`bottomk` with k < 1.
    #[error("{0}({1}) needs k of at least 1")]
    InvalidK(&'static str, i64),
    /// An aggregate or metrics function over a value that is not numeric.
    #[error("{function} needs a numeric field, found {field}")]
    NonNumericAggregate {
        /// The aggregate or metrics function.
        function: String,
        /// The field it was given.
        field: String,
    },
    /// An aggregate or grouping that does not read anything from the span.
    #[error("{0} must read an attribute or intrinsic of the span")]
    NoSpanReference(String),
    /// An intrinsic compared with `nil`: intrinsics always exist.
    #[error("{0} always exists and cannot be compared with nil")]
    IntrinsicNil(String),
    /// Bad arguments of `compare()`.
    #[error("compare(): {0}")]
    InvalidCompare(String),
    /// A construct TraceQL parses but Tracewell does not evaluate.
    #[error("unsupported: {0}")]
    Unsupported(String),
}

/// A parsed query that cannot run, and where.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("line {line}, column {column}: {kind}")]
pub struct ValidationError {
    /// Byte offset of the offending construct.
    pub position: usize,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong.
    pub kind: ValidationErrorKind,
}

impl ValidationError {
    pub(crate) fn at(pos: Pos, kind: ValidationErrorKind) -> ValidationError {
        ValidationError {
            position: pos.offset,
            line: pos.line,
            column: pos.column,
            kind,
        }
    }
}

/// Either stage of compiling a query.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum Error {
    /// The text does not parse.
    #[error("parse error: {0}")]
    Parse(#[from] ParseError),
    /// The query parses but is invalid.
    #[error("invalid query: {0}")]
    Validation(#[from] ValidationError),
}
