//! The TraceQL lexer: turns query text into tokens with positions.
//!
//! Attribute references are lexed whole: after `.`, `span.`, `resource.`,
//! `event.`, `link.`, `instrumentation.` or `parent.` everything up to a
//! whitespace or one of `{ } ( ) = ~ ! < > & | ^ ,` is part of the name, so
//! `span.http.status_code`, `.k8s:pod-name/x` and `span.a."b c"` are single
//! tokens. Quoted parts accept the escapes `\"` and `\\`.
//!
//! Numbers directly followed by a duration unit are durations
//! (`250ms`, `1h30m`). Words are returned as identifiers; keywords are
//! interpreted by the parser. `//` and `/* */` comments are skipped.

use crate::ast::{Attribute, AttributeScope, IntrinsicScope};
use crate::duration::{parse_duration, DurationError};
use crate::error::{ParseError, Pos};
use crate::token::{Token, TokenKind};

/// Lexes the whole query. The last token is always [`TokenKind::Eof`].
pub(crate) fn tokenize(text: &str) -> Result<Vec<Token>, ParseError> {
    let mut lexer = Lexer {
        text,
        offset: 0,
        line: 1,
        column: 1,
    };
    let mut tokens = Vec::new();
    loop {
        let token = lexer.next_token()?;
        let done = token.kind == TokenKind::Eof;
        tokens.push(token);
        if done {
            return Ok(tokens);
        }
    }
}

/// Characters that may appear unquoted in attribute names.
pub(crate) fn is_attribute_char(c: char) -> bool {
    !c.is_whitespace()
        && !matches!(
            c,
            '{' | '}' | '(' | ')' | '=' | '~' | '!' | '<' | '>' | '&' | '|' | '^' | ','
        )
}

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn is_duration_char(c: char) -> bool {
    c.is_ascii_digit() || matches!(c, '.' | 'n' | 's' | 'u' | 'm' | 'h' | 'µ' | 'd' | 'w' | 'y')
}

struct Lexer<'a> {
    text: &'a str,
    offset: usize,
    line: usize,
    column: usize,
}

impl Lexer<'_> {
    fn pos(&self) -> Pos {
        Pos {
            offset: self.offset,
            line: self.line,
            column: self.column,
        }
    }

    fn rest(&self) -> &str {
        &self.text[self.offset..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn peek_nth(&self, n: usize) -> Option<char> {
        self.rest().chars().nth(n)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.offset += c.len_utf8();
        if c == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some(c)
    }

    fn bump_n(&mut self, n: usize) {
        for _ in 0..n {
            self.bump();
        }
    }

    fn found_here(&self) -> String {
        match self.peek() {
            Some(c) => format!("{c:?}"),
            None => "end of query".to_string(),
        }
    }

    fn skip_trivia(&mut self) -> Result<(), ParseError> {
        loop {
            let rest = self.rest();
            if rest.starts_with("//") {
                while let Some(c) = self.peek() {
                    if c == '\n' {
                        break;
                    }
                    self.bump();
                }
            } else if rest.starts_with("/*") {
                let start = self.pos();
                self.bump_n(2);
                loop {
                    if self.rest().starts_with("*/") {
                        self.bump_n(2);
                        break;
                    }
                    if self.bump().is_none() {
                        return Err(ParseError::at(
                            start,
                            "'*/' to close the comment",
                            "end of query",
                        ));
                    }
                }
            } else if self.peek().is_some_and(char::is_whitespace) {
                self.bump();
            } else {
                return Ok(());
            }
        }
    }

    fn next_token(&mut self) -> Result<Token, ParseError> {
        self.skip_trivia()?;
        let pos = self.pos();
        let Some(c) = self.peek() else {
            return Ok(Token {
                kind: TokenKind::Eof,
                pos,
            });
        };
        let kind = match c {
            '{' => self.punct(1, TokenKind::LBrace),
            '}' => self.punct(1, TokenKind::RBrace),
            '(' => self.punct(1, TokenKind::LParen),
            ')' => self.punct(1, TokenKind::RParen),
            ',' => self.punct(1, TokenKind::Comma),
            '+' => self.punct(1, TokenKind::Add),
            '-' => self.punct(1, TokenKind::Sub),
            '*' => self.punct(1, TokenKind::Mul),
            '/' => self.punct(1, TokenKind::Div),
            '%' => self.punct(1, TokenKind::Mod),
            '^' => self.punct(1, TokenKind::Pow),
            '~' => self.punct(1, TokenKind::Tilde),
            '=' => self.longest(&[("=~", TokenKind::Re), ("=", TokenKind::Eq)]),
            '!' => self.longest(&[
                ("!>>", TokenKind::NotDesc),
                ("!<<", TokenKind::NotAnce),
                ("!=", TokenKind::Neq),
                ("!~", TokenKind::Nre),
                ("!>", TokenKind::NotChild),
                ("!<", TokenKind::NotParent),
                ("!", TokenKind::Not),
            ]),
            '>' => self.longest(&[
                (">>", TokenKind::Desc),
                (">=", TokenKind::Gte),
                (">", TokenKind::Gt),
            ]),
            '<' => self.longest(&[
                ("<<", TokenKind::Ance),
                ("<=", TokenKind::Lte),
                ("<", TokenKind::Lt),
            ]),
            '|' => self.longest(&[("||", TokenKind::Or), ("|", TokenKind::Pipe)]),
            '&' => {
                let kind = self.longest(&[
                    ("&&", TokenKind::And),
                    ("&>>", TokenKind::UnionDesc),
                    ("&<<", TokenKind::UnionAnce),
                    ("&>", TokenKind::UnionChild),
                    ("&<", TokenKind::UnionParent),
                    ("&~", TokenKind::UnionSibl),
                ]);
                if kind == TokenKind::Eof {
                    return Err(ParseError::at(
                        pos,
                        "'&&' or a union structural operator ('&>', '&>>', '&<', '&<<', '&~')",
                        "'&'",
                    ));
                }
                kind
            }
            '"' => TokenKind::Str(self.quoted_string(pos)?),
            '`' => TokenKind::Str(self.raw_string(pos)?),
            '.' if self.peek_nth(1).is_some_and(|d| d.is_ascii_digit()) => self.number(pos)?,
            '.' => {
                self.bump();
                TokenKind::Attr(self.attribute(AttributeScope::Unscoped, false, ".")?)
            }
            c if c.is_ascii_digit() => self.number(pos)?,
            c if is_ident_start(c) => self.word()?,
            other => {
                return Err(ParseError::at(pos, "a TraceQL token", format!("{other:?}")));
            }
        };
        Ok(Token { kind, pos })
    }

    fn punct(&mut self, len: usize, kind: TokenKind) -> TokenKind {
        self.bump_n(len);
        kind
    }

    /// Consumes the first (longest) spelling that matches; `Eof` if none does.
    fn longest(&mut self, options: &[(&str, TokenKind)]) -> TokenKind {
        for (spelling, kind) in options {
            if self.rest().starts_with(spelling) {
                self.bump_n(spelling.chars().count());
                return kind.clone();
            }
        }
        TokenKind::Eof
    }

    fn word(&mut self) -> Result<TokenKind, ParseError> {
        let start = self.offset;
        while self.peek().is_some_and(is_ident_char) {
            self.bump();
        }
        let word = &self.text[start..self.offset];
        match self.peek() {
            Some('.') => {
                let scope = match word {
                    "span" => Some((AttributeScope::Span, false)),
                    "resource" => Some((AttributeScope::Resource, false)),
                    "event" => Some((AttributeScope::Event, false)),
                    "link" => Some((AttributeScope::Link, false)),
                    "instrumentation" => Some((AttributeScope::Instrumentation, false)),
                    "parent" => Some((AttributeScope::Unscoped, true)),
                    _ => None,
                };
                if let Some((scope, parent)) = scope {
                    let prefix = format!("{word}.");
                    self.bump();
                    if parent {
                        return self.parent_attribute(&prefix).map(TokenKind::Attr);
                    }
                    return self.attribute(scope, parent, &prefix).map(TokenKind::Attr);
                }
            }
            Some(':') => {
                let scope = match word {
                    "trace" => Some(IntrinsicScope::Trace),
                    "span" => Some(IntrinsicScope::Span),
                    "event" => Some(IntrinsicScope::Event),
                    "link" => Some(IntrinsicScope::Link),
                    "instrumentation" => Some(IntrinsicScope::Instrumentation),
                    _ => None,
                };
                if let Some(scope) = scope {
                    self.bump();
                    return Ok(TokenKind::ScopeColon(scope));
                }
            }
            _ => {}
        }
        Ok(TokenKind::Ident(word.to_string()))
    }

    /// After `parent.`: an optional `span.` or `resource.` scope, then the name.
    fn parent_attribute(&mut self, prefix: &str) -> Result<Attribute, ParseError> {
        for (word, scope) in [
            ("span.", AttributeScope::Span),
            ("resource.", AttributeScope::Resource),
        ] {
            if self.rest().starts_with(word) {
                self.bump_n(word.len());
                return self.attribute(scope, true, &format!("{prefix}{word}"));
            }
        }
        self.attribute(AttributeScope::Unscoped, true, prefix)
    }

    /// Reads an attribute name after its scope prefix.
    fn attribute(
        &mut self,
        scope: AttributeScope,
        parent: bool,
        prefix: &str,
    ) -> Result<Attribute, ParseError> {
        let mut name = String::new();
        let mut quoted_any = false;
        loop {
            match self.peek() {
                Some('"') => {
                    quoted_any = true;
                    self.quoted_attribute_part(&mut name)?;
                }
                Some(c) if is_attribute_char(c) => {
                    name.push(c);
                    self.bump();
                }
                _ => break,
            }
        }
        if name.is_empty() && !quoted_any {
            return Err(ParseError::at(
                self.pos(),
                format!("an attribute name after '{prefix}'"),
                self.found_here(),
            ));
        }
        if name.is_empty() {
            return Err(ParseError::at(
                self.pos(),
                "a non-empty attribute name",
                "\"\"",
            ));
        }
        Ok(Attribute {
            scope,
            parent,
            name,
        })
    }

    fn quoted_attribute_part(&mut self, name: &mut String) -> Result<(), ParseError> {
        let start = self.pos();
        self.bump();
        loop {
            let here = self.pos();
            match self.bump() {
                None => {
                    return Err(ParseError::at(
                        start,
                        "'\"' to close the attribute name",
                        "end of query",
                    ))
                }
                Some('"') => return Ok(()),
                Some('\\') => match self.bump() {
                    Some(c @ ('"' | '\\')) => name.push(c),
                    Some(other) => {
                        return Err(ParseError::at(
                            here,
                            "'\\\"' or '\\\\' in a quoted attribute name",
                            format!("'\\{other}'"),
                        ))
                    }
                    None => {
                        return Err(ParseError::at(
                            start,
                            "'\"' to close the attribute name",
                            "end of query",
                        ))
                    }
                },
                Some(c) => name.push(c),
            }
        }
    }

    fn quoted_string(&mut self, start: Pos) -> Result<String, ParseError> {
        self.bump();
        let mut out = String::new();
        loop {
            let here = self.pos();
            match self.bump() {
                None | Some('\n') => {
                    return Err(ParseError::at(
                        start,
                        "'\"' to close the string",
                        "end of line",
                    ));
                }
                Some('"') => return Ok(out),
                Some('\\') => out.push(self.escape(here)?),
                Some(c) => out.push(c),
            }
        }
    }

    fn escape(&mut self, at: Pos) -> Result<char, ParseError> {
        let invalid = |found: String| ParseError::at(at, "a valid escape sequence", found);
        let Some(c) = self.bump() else {
            return Err(invalid("end of query".into()));
        };
        let hex = |lexer: &mut Self, digits: usize| -> Result<char, ParseError> {
            let mut code: u32 = 0;
            for _ in 0..digits {
                let d = lexer
                    .bump()
                    .and_then(|d| d.to_digit(16))
                    .ok_or_else(|| invalid(format!("'\\{c}' with too few hex digits")))?;
                code = code * 16 + d;
            }
            char::from_u32(code).ok_or_else(|| invalid(format!("'\\{c}' of an invalid code point")))
        };
        Ok(match c {
            'a' => '\u{7}',
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'v' => '\u{b}',
            '\\' => '\\',
            '"' => '"',
            '\'' => '\'',
            'x' => hex(self, 2)?,
            'u' => hex(self, 4)?,
            'U' => hex(self, 8)?,
            '0'..='7' => {
                let mut code = c.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    let d = self
                        .bump()
                        .and_then(|d| d.to_digit(8))
                        .ok_or_else(|| invalid("an octal escape with too few digits".into()))?;
                    code = code * 8 + d;
                }
                char::from_u32(code)
                    .ok_or_else(|| invalid("an octal escape out of range".into()))?
            }
            other => return Err(invalid(format!("'\\{other}'"))),
        })
    }

    fn raw_string(&mut self, start: Pos) -> Result<String, ParseError> {
        self.bump();
        let mut out = String::new();
        loop {
            match self.bump() {
                None => {
                    return Err(ParseError::at(
                        start,
                        "'`' to close the string",
                        "end of query",
                    ))
                }
                Some('`') => return Ok(out),
                Some(c) => out.push(c),
            }
        }
    }

    fn number(&mut self, start: Pos) -> Result<TokenKind, ParseError> {
        let begin = self.offset;
        let mut is_float = false;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
        }
        if self.peek() == Some('.') && self.peek_nth(1).is_some_and(|c| c.is_ascii_digit()) {
            is_float = true;
            self.bump();
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.bump();
            }
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            let sign = usize::from(matches!(self.peek_nth(1), Some('+' | '-')));
            if self.peek_nth(1 + sign).is_some_and(|c| c.is_ascii_digit()) {
                is_float = true;
                self.bump_n(1 + sign);
                while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    self.bump();
                }
            }
        }
        let number = &self.text[begin..self.offset];

        // A duration if unit characters follow and the whole run parses.
        let unit_len: usize = self
            .rest()
            .chars()
            .take_while(|c| is_duration_char(*c))
            .map(char::len_utf8)
            .sum();
        if unit_len > 0 {
            let candidate = &self.text[begin..self.offset + unit_len];
            match parse_duration(candidate) {
                Ok(nanos) => {
                    self.bump_n(
                        self.text[self.offset..self.offset + unit_len]
                            .chars()
                            .count(),
                    );
                    return Ok(TokenKind::Duration(nanos));
                }
                Err(DurationError::OutOfRange) => {
                    return Err(ParseError::at(
                        start,
                        "a duration that fits in 64 bits of nanoseconds",
                        format!("duration {candidate}"),
                    ));
                }
                Err(DurationError::Malformed) => {}
            }
        }

        if is_float {
            match number.parse::<f64>() {
                Ok(f) if f.is_finite() => Ok(TokenKind::Float(f)),
                _ => Err(ParseError::at(
                    start,
                    "a finite number",
                    format!("number {number}"),
                )),
            }
        } else {
            number.parse::<i64>().map(TokenKind::Int).map_err(|_| {
                ParseError::at(
                    start,
                    "an integer that fits in 64 bits",
                    format!("number {number}"),
                )
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<TokenKind> {
        tokenize(text)
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .into_iter()
            .map(|t| t.kind)
            .collect()
    }

    fn attr(scope: AttributeScope, name: &str) -> TokenKind {
        TokenKind::Attr(Attribute {
            scope,
            parent: false,
            name: name.into(),
        })
    }

    #[test]
    fn attributes_are_single_tokens() {
        assert_eq!(
            kinds("span.http.status_code>=200"),
            vec![
                attr(AttributeScope::Span, "http.status_code"),
                TokenKind::Gte,
                TokenKind::Int(200),
                TokenKind::Eof
            ]
        );
        assert_eq!(
            kinds(".k8s:pod-name/x")[0],
            attr(AttributeScope::Unscoped, "k8s:pod-name/x")
        );
        assert_eq!(
            kinds(r#"span.attribute."name with \"space\"""#)[0],
            attr(AttributeScope::Span, "attribute.name with \"space\"")
        );
        assert_eq!(
            kinds("parent.resource.a")[0],
            TokenKind::Attr(Attribute {
                scope: AttributeScope::Resource,
                parent: true,
                name: "a".into()
            })
        );
        assert_eq!(
            kinds("instrumentation.x")[0],
            attr(AttributeScope::Instrumentation, "x")
        );
    }

    #[test]
    fn numbers_and_durations() {
        assert_eq!(kinds("250ms")[0], TokenKind::Duration(250_000_000));
        assert_eq!(kinds("1.5s")[0], TokenKind::Duration(1_500_000_000));
        assert_eq!(kinds("1h30m")[0], TokenKind::Duration(5_400_000_000_000));
        assert_eq!(kinds("5µs")[0], TokenKind::Duration(5_000));
        assert_eq!(kinds(".99")[0], TokenKind::Float(0.99));
        assert_eq!(kinds("1e3")[0], TokenKind::Float(1000.0));
        assert_eq!(kinds("42")[0], TokenKind::Int(42));
        assert_eq!(
            kinds("10s*2"),
            vec![
                TokenKind::Duration(10_000_000_000),
                TokenKind::Mul,
                TokenKind::Int(2),
                TokenKind::Eof
            ]
        );
        assert!(tokenize("100000000000000000000000000000").is_err());
    }

    #[test]
    fn operators_take_the_longest_spelling() {
        assert_eq!(
            kinds("!>> !<< != !~ !> !< ! >> >= > << <= < &&  &>> &<< &> &< &~ || | =~ ="),
            vec![
                TokenKind::NotDesc,
                TokenKind::NotAnce,
                TokenKind::Neq,
                TokenKind::Nre,
                TokenKind::NotChild,
                TokenKind::NotParent,
                TokenKind::Not,
                TokenKind::Desc,
                TokenKind::Gte,
                TokenKind::Gt,
                TokenKind::Ance,
                TokenKind::Lte,
                TokenKind::Lt,
                TokenKind::And,
                TokenKind::UnionDesc,
                TokenKind::UnionAnce,
                TokenKind::UnionChild,
                TokenKind::UnionParent,
                TokenKind::UnionSibl,
                TokenKind::Or,
                TokenKind::Pipe,
                TokenKind::Re,
                TokenKind::Eq,
                TokenKind::Eof
            ]
        );
    }

    #[test]
    fn strings_and_scopes() {
        assert_eq!(
            kinds(r#""a\"b\n\u00e9""#)[0],
            TokenKind::Str("a\"b\né".into())
        );
        assert_eq!(kinds("`raw\\n`")[0], TokenKind::Str("raw\\n".into()));
        assert_eq!(
            kinds("span:name"),
            vec![
                TokenKind::ScopeColon(IntrinsicScope::Span),
                TokenKind::Ident("name".into()),
                TokenKind::Eof
            ]
        );
        assert!(tokenize("\"open").is_err());
        assert!(tokenize(r#""\q""#).is_err());
    }

    #[test]
    fn errors_have_positions() {
        let err = tokenize("{ .a = 1 }\n{ . }").unwrap_err();
        assert_eq!((err.line, err.column), (2, 4));
        assert_eq!(err.expected, "an attribute name after '.'");
        let err = tokenize("{ a & b }").unwrap_err();
        assert_eq!(err.column, 5);
    }
}
