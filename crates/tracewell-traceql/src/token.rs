//! Tokens produced by the lexer and how they are named in error messages.

use crate::ast::{Attribute, IntrinsicScope};
use crate::error::Pos;

/// What a token is.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum TokenKind {
    LBrace,
    RBrace,
    LParen,
    RParen,
    Comma,
    /// `=`
    Eq,
    /// `!=`
    Neq,
    /// `=~`
    Re,
    /// `!~` (not-regex or not-sibling)
    Nre,
    Gt,
    Gte,
    Lt,
    Lte,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    /// `&&`
    And,
    /// `||`
    Or,
    /// `!`
    Not,
    /// `|`
    Pipe,
    /// `>>`
    Desc,
    /// `<<`
    Ance,
    /// `~`
    Tilde,
    /// `!>`
    NotChild,
    /// `!<`
    NotParent,
    /// `!>>`
    NotDesc,
    /// `!<<`
    NotAnce,
    /// `&>`
    UnionChild,
    /// `&<`
    UnionParent,
    /// `&>>`
    UnionDesc,
    /// `&<<`
    UnionAnce,
    /// `&~`
    UnionSibl,
    Int(i64),
    Float(f64),
    /// Nanoseconds.
    Duration(i64),
    Str(String),
    /// A bare word: keyword, function name, enum value or hint name.
    Ident(String),
    /// A whole attribute reference such as `span.http.url`.
    Attr(Attribute),
    /// `span:`, `trace:`, ...
    ScopeColon(IntrinsicScope),
    Eof,
}

/// A token and where it starts.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Token {
    pub kind: TokenKind,
    pub pos: Pos,
}

impl TokenKind {
    /// How the token is named in "found ..." of error messages.
    pub fn describe(&self) -> String {
        match self {
            TokenKind::Int(i) => format!("number {i}"),
            TokenKind::Float(f) => format!("number {f}"),
            TokenKind::Duration(d) => format!("duration {}", crate::duration::format_duration(*d)),
            TokenKind::Str(s) => format!("string {s:?}"),
            TokenKind::Ident(word) => format!("'{word}'"),
            TokenKind::Attr(a) => format!("attribute {}", crate::display::attribute_text(a)),
            TokenKind::ScopeColon(scope) => format!("'{}:'", scope.word()),
            TokenKind::Eof => "end of query".to_string(),
            other => format!("'{}'", other.symbol()),
        }
    }

    /// The text of punctuation tokens.
    pub fn symbol(&self) -> &'static str {
        match self {
            TokenKind::LBrace => "{",
            TokenKind::RBrace => "}",
            TokenKind::LParen => "(",
            TokenKind::RParen => ")",
            TokenKind::Comma => ",",
            TokenKind::Eq => "=",
            TokenKind::Neq => "!=",
            TokenKind::Re => "=~",
            TokenKind::Nre => "!~",
            TokenKind::Gt => ">",
            TokenKind::Gte => ">=",
            TokenKind::Lt => "<",
            TokenKind::Lte => "<=",
            TokenKind::Add => "+",
            TokenKind::Sub => "-",
            TokenKind::Mul => "*",
            TokenKind::Div => "/",
            TokenKind::Mod => "%",
            TokenKind::Pow => "^",
            TokenKind::And => "&&",
            TokenKind::Or => "||",
            TokenKind::Not => "!",
            TokenKind::Pipe => "|",
            TokenKind::Desc => ">>",
            TokenKind::Ance => "<<",
            TokenKind::Tilde => "~",
            TokenKind::NotChild => "!>",
            TokenKind::NotParent => "!<",
            TokenKind::NotDesc => "!>>",
            TokenKind::NotAnce => "!<<",
            TokenKind::UnionChild => "&>",
            TokenKind::UnionParent => "&<",
            TokenKind::UnionDesc => "&>>",
            TokenKind::UnionAnce => "&<<",
            TokenKind::UnionSibl => "&~",
            TokenKind::Int(_)
            | TokenKind::Float(_)
            | TokenKind::Duration(_)
            | TokenKind::Str(_)
            | TokenKind::Ident(_)
            | TokenKind::Attr(_)
            | TokenKind::ScopeColon(_)
            | TokenKind::Eof => "",
        }
    }
}
