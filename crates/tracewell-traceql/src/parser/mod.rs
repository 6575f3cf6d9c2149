//! The TraceQL parser: tokens to [`Query`].
//!
//! Parsing happens in two steps. [`syntax`] reads the token stream with
//! TraceQL's operator precedence into a loose tree in which `>` may still be
//! "greater than" or "child of"; [`lower`] then decides what each part is
//! (spanset expression, scalar filter, metrics pipeline, metrics arithmetic)
//! and builds the typed AST, reporting misplaced constructs with positions.
//! [`field`] parses the expressions inside `{ }` and function arguments.
//!
//! Precedence, loosest first, as in Tempo: `|`; `&&` `||`; comparisons and
//! structural operators; `+` `-`; prefix `!`; `*` `/` `%`; `^` (right
//! associative). Prefix `-` binds like `+`/`-` inside field expressions and
//! tightest between metrics operands.

mod field;
mod lower;
mod syntax;

use crate::ast::Query;
use crate::error::{ParseError, Pos};
use crate::lexer::tokenize;
use crate::token::{Token, TokenKind};

/// Nesting budget of the parser: every parenthesis, prefix operator and
/// binary operator of a chain spends one level, so e.g. a filter with more
/// than about 120 conditions joined by `&&` is rejected. Bounding the tree
/// depth keeps parsing, printing, validating and evaluating within the
/// stack of any thread.
pub const MAX_DEPTH: usize = 128;

/// Parses TraceQL text into a [`Query`]. The query is not validated; see
/// [`Query::validate`](crate::Query::validate) or [`crate::compile`].
pub fn parse(text: &str) -> Result<Query, ParseError> {
    let tokens = tokenize(text)?;
    let mut parser = Parser {
        tokens,
        index: 0,
        depth: 0,
    };
    let node = parser.root()?;
    let hints = parser.hints()?;
    if parser.peek_kind() != &TokenKind::Eof {
        return Err(parser.error("an operator, '|', 'with(...)' or the end of the query"));
    }
    let root = lower::root(node)?;
    Ok(Query { root, hints })
}

pub(crate) struct Parser {
    tokens: Vec<Token>,
    index: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        let last = self.tokens.len().saturating_sub(1);
        &self.tokens[self.index.min(last)]
    }

    fn peek_kind(&self) -> &TokenKind {
        &self.peek().kind
    }

    fn peek_pos(&self) -> Pos {
        self.peek().pos
    }

    fn advance(&mut self) -> Token {
        let token = self.peek().clone();
        if token.kind != TokenKind::Eof {
            self.index += 1;
        }
        token
    }

    fn is_word(&self, word: &str) -> bool {
        matches!(self.peek_kind(), TokenKind::Ident(w) if w == word)
    }

    fn error(&self, expected: impl Into<String>) -> ParseError {
        ParseError::at(self.peek_pos(), expected, self.peek_kind().describe())
    }

    /// Consumes `kind` (compared by variant) or fails with `expected`.
    fn expect(&mut self, kind: &TokenKind, expected: &str) -> Result<Pos, ParseError> {
        if std::mem::discriminant(self.peek_kind()) == std::mem::discriminant(kind) {
            Ok(self.advance().pos)
        } else {
            Err(self.error(expected))
        }
    }

    /// Enters one level of nesting.
    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(format!(
                "an expression nested at most {MAX_DEPTH} levels deep"
            )));
        }
        Ok(())
    }

    fn leave(&mut self, levels: usize) {
        self.depth = self.depth.saturating_sub(levels);
    }
}
