//! SQL text for database spans, read by one small hand-written scanner (no SQL parser: statements are
//! tokenised, never validated):
//!
//! - [`sanitize`] replaces every literal with `?` for `db.query.text`: strings (`'...'` with `''`
//!   doubled, `E'...'` and MySQL's backslash escapes, `B'..'`, `X'..'`, `N'..'`, `U&'..'`, charset
//!   introducers such as `_utf8mb4'..'`, PostgreSQL's `$tag$...$tag$`, MySQL's `"..."`), numbers (with
//!   fractions, exponents, `0x` hex, `0b` binary) and `TRUE`/`FALSE` (kept after `IS` and `IS NOT`);
//!   `IN (...)` lists of literals and `?` collapse to `IN (?)`. Placeholders (`$1`, `?`, `?1`, `:name`,
//!   `@name`) and identifiers (`"quoted"`, `` `quoted` ``, `[quoted]` on SQL Server) stay. Comments are
//!   removed (they can carry anything, such as sqlcommenter's `traceparent`) and whitespace runs become
//!   one space. An unterminated string or comment swallows the rest of the text rather than leak it.
//! - [`parse_statement`] finds the operation (`SELECT`, `INSERT`, ... as written, `CREATE TABLE` for
//!   DDL; the main statement's after a `WITH` clause) and the first collection it works on (`FROM t`,
//!   `INSERT INTO t`, `UPDATE t`, `DELETE FROM t`, `MERGE INTO t`, `CREATE TABLE t`, `TRUNCATE t`; none
//!   for a subquery, a table function or a CTE name), or the stored procedure of `CALL p`.

/// The SQL dialect details that change what a literal is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Dialect {
    /// Standard SQL as PostgreSQL, SQLite and most others read it: `'...'` strings without backslash
    /// escapes (except `E'...'`), `"..."` identifiers, nested `/* */` comments.
    #[default]
    Standard,
    /// MySQL and MariaDB: backslash escapes in strings, `"..."` strings, `#` comments, no nesting.
    MySql,
    /// Microsoft SQL Server: `[...]` identifiers, `EXEC procedure`.
    SqlServer,
}

impl Dialect {
    /// The dialect of a `db.system.name`.
    pub fn of_system(system: &str) -> Dialect {
        match system {
            "mysql" | "mariadb" => Dialect::MySql,
            "microsoft.sql_server" => Dialect::SqlServer,
            _ => Dialect::Standard,
        }
    }
}

/// What [`parse_statement`] finds in a statement.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatementInfo {
    /// `db.operation.name`: the statement's first keyword as written (`SELECT`, `insert`), two for DDL
    /// (`CREATE TABLE`), the main statement's after `WITH`.
    pub operation: Option<String>,
    /// `db.collection.name`: the first table the statement works on, as written (`public.users`,
    /// `"Order Details"`).
    pub collection: Option<String>,
    /// `db.stored_procedure.name`: the procedure of `CALL p` (and `EXEC p` on SQL Server).
    pub stored_procedure: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Identifiers and keywords.
    Word,
    /// `"identifier"`, `` `identifier` ``, `[identifier]`.
    QuotedIdent,
    /// A string literal of any form.
    Str,
    /// A numeric literal.
    Num,
    /// `$1`, `?`, `?1`, `:name`, `@name`.
    Placeholder,
    /// Anything else, one character (or `::`).
    Punct,
    Space,
    Comment,
}

#[derive(Clone, Copy, Debug)]
struct Token {
    kind: Kind,
    start: usize,
    end: usize,
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

fn is_ident_continue(b: u8) -> bool {
    is_ident_start(b) || b.is_ascii_digit() || b == b'$'
}

/// The end of a quoted run starting at `start` (the opening `quote`): after the closing quote, a
/// doubled quote being part of the run, or the end of the text when it is unterminated.
fn quoted_end(bytes: &[u8], start: usize, quote: u8, backslash_escapes: bool) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        let b = bytes[i];
        if backslash_escapes && b == b'\\' {
            i += 2;
        } else if b == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2;
            } else {
                return i + 1;
            }
        } else {
            i += 1;
        }
    }
    bytes.len()
}

/// The end of a PostgreSQL dollar-quoted string (`$$...$$`, `$tag$...$tag$`) starting at `start`, or
/// `None` when the `$` does not open one.
fn dollar_quoted_end(sql: &str, start: usize) -> Option<usize> {
    let bytes = sql.as_bytes();
    let mut i = start + 1;
    if bytes.get(i).is_some_and(|b| b.is_ascii_digit()) {
        return None;
    }
    while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
        i += 1;
    }
    if bytes.get(i) != Some(&b'$') {
        return None;
    }
    let tag = &sql[start..=i];
    Some(
        sql[i + 1..]
            .find(tag)
            .map_or(bytes.len(), |at| i + 1 + at + tag.len()),
    )
}

/// The end of a `/* */` comment starting at `start` (nested ones counted when `nested`).
fn block_comment_end(bytes: &[u8], start: usize, nested: bool) -> usize {
    let mut depth = 0usize;
    let mut i = start;
    while i + 1 < bytes.len() {
        if bytes[i] == b'/' && bytes[i + 1] == b'*' {
            if depth == 0 || nested {
                depth += 1;
            }
            i += 2;
        } else if bytes[i] == b'*' && bytes[i + 1] == b'/' {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    bytes.len()
}

/// The end of a number starting at `start`: digits, letters (hex, binary, exponent markers and any
/// suffix), `_`, `.`, and a sign right after a decimal exponent marker.
fn number_end(bytes: &[u8], start: usize) -> usize {
    let radix_prefix = bytes[start] == b'0'
        && matches!(
            bytes.get(start + 1),
            Some(b'x' | b'X' | b'b' | b'B' | b'o' | b'O')
        );
    let mut i = start;
    while i < bytes.len() {
        let b = bytes[i];
        let part = b.is_ascii_alphanumeric() || b == b'_' || b == b'.';
        let exponent_sign = (b == b'+' || b == b'-')
            && !radix_prefix
            && matches!(bytes[i - 1], b'e' | b'E')
            && bytes.get(i + 1).is_some_and(u8::is_ascii_digit);
        if !(part || exponent_sign) {
            break;
        }
        i += 1;
    }
    i
}

fn tokenize(sql: &str, dialect: Dialect) -> Vec<Token> {
    let bytes = sql.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let b = bytes[i];
        let next = bytes.get(i + 1).copied();
        let kind = if b.is_ascii_whitespace() {
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            Kind::Space
        } else if (b == b'-' && next == Some(b'-')) || (b == b'#' && dialect == Dialect::MySql) {
            i = sql[i..].find('\n').map_or(bytes.len(), |at| i + at);
            Kind::Comment
        } else if b == b'/' && next == Some(b'*') {
            i = block_comment_end(bytes, i, dialect != Dialect::MySql);
            Kind::Comment
        } else if b == b'\'' {
            i = quoted_end(bytes, i, b'\'', dialect == Dialect::MySql);
            Kind::Str
        } else if b == b'"' {
            if dialect == Dialect::MySql {
                i = quoted_end(bytes, i, b'"', true);
                Kind::Str
            } else {
                i = quoted_end(bytes, i, b'"', false);
                Kind::QuotedIdent
            }
        } else if b == b'`' {
            i = quoted_end(bytes, i, b'`', false);
            Kind::QuotedIdent
        } else if b == b'[' && dialect == Dialect::SqlServer {
            i = quoted_end(bytes, i, b']', false);
            Kind::QuotedIdent
        } else if b == b'$' {
            if next.is_some_and(|n| n.is_ascii_digit()) {
                i += 1;
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
                Kind::Placeholder
            } else if let Some(end) = dollar_quoted_end(sql, i) {
                i = end;
                Kind::Str
            } else {
                i += 1;
                Kind::Punct
            }
        } else if b == b'?' {
            i += 1;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            Kind::Placeholder
        } else if b == b':' && next == Some(b':') {
            i += 2;
            Kind::Punct
        } else if (b == b':' || b == b'@') && next.is_some_and(is_ident_start) {
            i += 1;
            while i < bytes.len() && is_ident_continue(bytes[i]) {
                i += 1;
            }
            Kind::Placeholder
        } else if b == b'@' && next == Some(b'@') {
            i += 2;
            while i < bytes.len() && is_ident_continue(bytes[i]) {
                i += 1;
            }
            Kind::Word
        } else if b.is_ascii_digit() || (b == b'.' && next.is_some_and(|n| n.is_ascii_digit())) {
            i = number_end(bytes, i);
            Kind::Num
        } else if is_ident_start(b) {
            while i < bytes.len() && is_ident_continue(bytes[i]) {
                i += 1;
            }
            let word = &sql[start..i];
            let prefixes_string = word.eq_ignore_ascii_case("e")
                || word.eq_ignore_ascii_case("b")
                || word.eq_ignore_ascii_case("x")
                || word.eq_ignore_ascii_case("n")
                || (word.starts_with('_') && dialect == Dialect::MySql);
            if bytes.get(i) == Some(&b'\'') && prefixes_string {
                let escapes = dialect == Dialect::MySql || word.eq_ignore_ascii_case("e");
                i = quoted_end(bytes, i, b'\'', escapes);
                Kind::Str
            } else if word.eq_ignore_ascii_case("u")
                && bytes.get(i) == Some(&b'&')
                && bytes.get(i + 1) == Some(&b'\'')
            {
                i = quoted_end(bytes, i + 1, b'\'', false);
                Kind::Str
            } else {
                Kind::Word
            }
        } else {
            i += 1;
            Kind::Punct
        };
        tokens.push(Token {
            kind,
            start,
            end: i.min(bytes.len()),
        });
    }
    tokens
}

fn is_keyword(sql: &str, token: &Token, keyword: &str) -> bool {
    token.kind == Kind::Word && sql[token.start..token.end].eq_ignore_ascii_case(keyword)
}

fn is_punct(sql: &str, token: &Token, punct: &str) -> bool {
    token.kind == Kind::Punct && &sql[token.start..token.end] == punct
}

/// `statement` with every literal replaced by `?` (see the module doc).
pub fn sanitize(statement: &str, dialect: Dialect) -> String {
    let tokens: Vec<Token> = tokenize(statement, dialect);
    let significant: Vec<Token> = tokens
        .iter()
        .copied()
        .filter(|t| !matches!(t.kind, Kind::Space | Kind::Comment))
        .collect();
    let mut out = String::with_capacity(statement.len());
    let mut k = 0;
    while k < significant.len() {
        let token = significant[k];
        // Separate tokens that were separated (by whitespace or a comment) in the statement.
        if k > 0 && significant[k - 1].end < token.start && !out.is_empty() {
            out.push(' ');
        }
        let text = &statement[token.start..token.end];
        match token.kind {
            Kind::Str | Kind::Num => out.push('?'),
            Kind::Word
                if text.eq_ignore_ascii_case("true") || text.eq_ignore_ascii_case("false") =>
            {
                let after_is = k >= 1
                    && (is_keyword(statement, &significant[k - 1], "is")
                        || (is_keyword(statement, &significant[k - 1], "not")
                            && k >= 2
                            && is_keyword(statement, &significant[k - 2], "is")));
                out.push_str(if after_is { text } else { "?" });
            }
            Kind::Word if text.eq_ignore_ascii_case("in") => {
                out.push_str(text);
                if let Some(close) = literal_list_end(statement, &significant, k + 1) {
                    out.push_str(" (?)");
                    k = close;
                }
            }
            _ => out.push_str(text),
        }
        k += 1;
    }
    out
}

/// When `significant[open]` opens a list of literals (strings, numbers, booleans, `NULL`, `?`, with a
/// sign before numbers), the index of its closing parenthesis.
fn literal_list_end(sql: &str, significant: &[Token], open: usize) -> Option<usize> {
    if !is_punct(sql, significant.get(open)?, "(") {
        return None;
    }
    let mut k = open + 1;
    loop {
        let mut item = significant.get(k)?;
        if is_punct(sql, item, "-") || is_punct(sql, item, "+") {
            k += 1;
            item = significant.get(k)?;
            if item.kind != Kind::Num {
                return None;
            }
        }
        let literal = match item.kind {
            Kind::Str | Kind::Num => true,
            Kind::Placeholder => &sql[item.start..item.end] == "?",
            Kind::Word => ["true", "false", "null"]
                .iter()
                .any(|w| sql[item.start..item.end].eq_ignore_ascii_case(w)),
            _ => false,
        };
        if !literal {
            return None;
        }
        let after = significant.get(k + 1)?;
        if is_punct(sql, after, ")") {
            return Some(k + 1);
        }
        if !is_punct(sql, after, ",") {
            return None;
        }
        k += 2;
    }
}

/// The operation and first collection (or stored procedure) of `statement` (see the module doc).
pub fn parse_statement(statement: &str, dialect: Dialect) -> StatementInfo {
    let tokens = tokenize(statement, dialect)
        .into_iter()
        .filter(|t| !matches!(t.kind, Kind::Space | Kind::Comment))
        .collect();
    Parser {
        sql: statement,
        tokens,
        at: 0,
        dialect,
    }
    .statement()
}

struct Parser<'a> {
    sql: &'a str,
    tokens: Vec<Token>,
    at: usize,
    dialect: Dialect,
}

impl<'a> Parser<'a> {
    fn current(&self) -> Option<Token> {
        self.tokens.get(self.at).copied()
    }

    fn text(&self, token: Token) -> &'a str {
        &self.sql[token.start..token.end]
    }

    /// The current token's text when it is a word (keyword or identifier).
    fn word(&self) -> Option<&'a str> {
        self.current()
            .filter(|t| t.kind == Kind::Word)
            .map(|t| self.text(t))
    }

    fn at_keyword(&self, keyword: &str) -> bool {
        self.current()
            .is_some_and(|t| is_keyword(self.sql, &t, keyword))
    }

    fn at_punct(&self, punct: &str) -> bool {
        self.current()
            .is_some_and(|t| is_punct(self.sql, &t, punct))
    }

    fn skip_keywords(&mut self, keywords: &[&str]) {
        while keywords.iter().any(|k| self.at_keyword(k)) {
            self.at += 1;
        }
    }

    /// At `(`: moves past its matching `)` (or to the end).
    fn skip_parens(&mut self) {
        let mut depth = 0usize;
        while let Some(token) = self.current() {
            self.at += 1;
            if is_punct(self.sql, &token, "(") {
                depth += 1;
            } else if is_punct(self.sql, &token, ")") {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return;
                }
            }
        }
    }

    /// A possibly qualified name (`t`, `public.users`, `"My Table"`, `` `db`.`t` ``), as written.
    fn name(&mut self) -> Option<String> {
        let is_part = |t: Token| matches!(t.kind, Kind::Word | Kind::QuotedIdent);
        let first = self.current().filter(|t| is_part(*t))?;
        self.at += 1;
        let mut name = self.text(first).to_string();
        while self.at_punct(".") {
            match self
                .tokens
                .get(self.at + 1)
                .copied()
                .filter(|t| is_part(*t))
            {
                Some(part) => {
                    name.push('.');
                    name.push_str(self.text(part));
                    self.at += 2;
                }
                None => break,
            }
        }
        Some(name)
    }

    fn statement(&mut self) -> StatementInfo {
        while self.at_punct("(") {
            self.at += 1;
        }
        let Some(first) = self.word() else {
            return StatementInfo::default();
        };
        self.at += 1;
        let mut info = StatementInfo {
            operation: Some(first.to_string()),
            ..StatementInfo::default()
        };
        match first.to_ascii_uppercase().as_str() {
            "WITH" => return self.with_clause(),
            "SELECT" => info.collection = self.select_from(),
            "INSERT" | "REPLACE" | "UPSERT" => {
                self.skip_or_conflict();
                self.skip_keywords(&["low_priority", "delayed", "high_priority", "ignore"]);
                self.skip_keywords(&["into"]);
                info.collection = self.name();
            }
            "MERGE" => {
                self.skip_keywords(&["into"]);
                info.collection = self.name();
            }
            "UPDATE" => {
                self.skip_or_conflict();
                self.skip_keywords(&["low_priority", "ignore", "only"]);
                info.collection = self.name();
            }
            "DELETE" => {
                self.skip_keywords(&["low_priority", "quick", "ignore"]);
                if self.at_keyword("from") {
                    self.at += 1;
                    self.skip_keywords(&["only"]);
                }
                info.collection = self.name();
            }
            "TRUNCATE" => {
                self.skip_keywords(&["table", "only"]);
                info.collection = self.name();
            }
            "CALL" => info.stored_procedure = self.name(),
            "EXEC" | "EXECUTE" if self.dialect == Dialect::SqlServer => {
                info.stored_procedure = self.name();
            }
            "CREATE" | "DROP" | "ALTER" => {
                self.skip_keywords(&[
                    "or",
                    "replace",
                    "temp",
                    "temporary",
                    "unlogged",
                    "global",
                    "local",
                    "unique",
                    "materialized",
                    "foreign",
                    "virtual",
                ]);
                if let Some(object) = self.word() {
                    self.at += 1;
                    info.operation = Some(format!("{first} {object}"));
                    if object.eq_ignore_ascii_case("table") {
                        self.skip_keywords(&["if", "not", "exists", "only"]);
                        info.collection = self.name();
                    }
                }
            }
            _ => {}
        }
        info
    }

    /// SQLite's `INSERT OR REPLACE`, `UPDATE OR IGNORE`, ...
    fn skip_or_conflict(&mut self) {
        if self.at_keyword("or") {
            self.at += 2;
        }
    }

    /// `WITH [RECURSIVE] name [(columns)] AS [[NOT] MATERIALIZED] (query) [, ...] main-statement`: the
    /// main statement's operation and collection (none when the collection is one of the CTEs).
    fn with_clause(&mut self) -> StatementInfo {
        self.skip_keywords(&["recursive"]);
        let mut names = Vec::new();
        loop {
            let Some(name) = self.name() else {
                return StatementInfo::default();
            };
            names.push(name);
            if self.at_punct("(") {
                self.skip_parens();
            }
            if !self.at_keyword("as") {
                return StatementInfo::default();
            }
            self.at += 1;
            self.skip_keywords(&["not", "materialized"]);
            if !self.at_punct("(") {
                return StatementInfo::default();
            }
            self.skip_parens();
            if !self.at_punct(",") {
                break;
            }
            self.at += 1;
        }
        let mut main = self.statement();
        if main
            .collection
            .as_ref()
            .is_some_and(|c| names.iter().any(|n| n.eq_ignore_ascii_case(c)))
        {
            main.collection = None;
        }
        main
    }

    /// The first table after a `FROM` of the SELECT itself (not of a subquery, a function such as
    /// `EXTRACT(x FROM y)` or `IS DISTINCT FROM`); none when that `FROM` reads a subquery or a table
    /// function.
    fn select_from(&mut self) -> Option<String> {
        let mut depth = 0usize;
        let mut previous: Option<Token> = None;
        while let Some(token) = self.current() {
            self.at += 1;
            if is_punct(self.sql, &token, "(") {
                depth += 1;
            } else if is_punct(self.sql, &token, ")") {
                depth = depth.saturating_sub(1);
            } else if depth == 0 && is_punct(self.sql, &token, ";") {
                return None;
            } else if depth == 0
                && is_keyword(self.sql, &token, "from")
                && !previous.is_some_and(|p| is_keyword(self.sql, &p, "distinct"))
            {
                self.skip_keywords(&["only", "lateral"]);
                let name = self.name()?;
                return (!self.at_punct("(")).then_some(name);
            }
            previous = Some(token);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(sql: &str) -> String {
        sanitize(sql, Dialect::Standard)
    }

    #[test]
    fn strings_and_numbers_become_placeholders() {
        for (sql, expected) in [
            (
                "SELECT * FROM users WHERE name = 'O''Brien' AND id = 42",
                "SELECT * FROM users WHERE name = ? AND id = ?",
            ),
            ("SELECT 'it''s', ''", "SELECT ?, ?"),
            (
                "SELECT 1.5e-3, .5, 7., 1E10, -7, +3, 1_000_000",
                "SELECT ?, ?, ?, ?, -?, +?, ?",
            ),
            (
                "WHERE h = 0xDEADBEEF OR b = 0b1010 OR x = X'ff' OR bits = B'0101'",
                "WHERE h = ? OR b = ? OR x = ? OR bits = ?",
            ),
            // E'' strings take backslash escapes: the escaped quote does not end them.
            (
                r"SELECT E'it\'s', e'a\\', 'C:\' AS path",
                "SELECT ?, ?, ? AS path",
            ),
            ("SELECT N'unicode', U&'d\\0061t'", "SELECT ?, ?"),
            (
                "SELECT DATE '2024-01-01', INTERVAL '1 day', TIMESTAMP '2024-01-01 10:00'",
                "SELECT DATE ?, INTERVAL ?, TIMESTAMP ?",
            ),
            (
                "SELECT * FROM t LIMIT 10 OFFSET 20",
                "SELECT * FROM t LIMIT ? OFFSET ?",
            ),
            ("SELECT 'café' FROM naïve", "SELECT ? FROM naïve"),
            // Digits inside identifiers are not numbers.
            (
                "SELECT t1.col2 FROM t1 WHERE t1.c3 = 3",
                "SELECT t1.col2 FROM t1 WHERE t1.c3 = ?",
            ),
        ] {
            assert_eq!(clean(sql), expected, "{sql}");
        }
    }

    #[test]
    fn placeholders_identifiers_and_casts_stay() {
        for sql in [
            "SELECT * FROM t WHERE a = $1 AND b = $12",
            "SELECT * FROM t WHERE a = ? AND b = ?2",
            "SELECT * FROM t WHERE a = :name AND b = @id",
            "SELECT $1::int, created::date FROM t",
            r#"SELECT "Name", "we""ird" FROM "My Table""#,
            "SELECT `order` FROM `db`.`t`",
            "SELECT @@version",
            "SELECT * FROM t WHERE x IS NULL",
        ] {
            assert_eq!(clean(sql), sql);
        }
        // Type modifiers are numbers too: nothing to keep there.
        assert_eq!(clean("SELECT x::numeric(10,2)"), "SELECT x::numeric(?,?)");
    }

    #[test]
    fn booleans_in_comparisons_but_not_after_is() {
        assert_eq!(
            clean("WHERE active = true AND deleted = FALSE AND a IS TRUE AND b IS NOT false"),
            "WHERE active = ? AND deleted = ? AND a IS TRUE AND b IS NOT false"
        );
    }

    #[test]
    fn in_lists_collapse() {
        for (sql, expected) in [
            ("WHERE id IN (1, 2, 3)", "WHERE id IN (?)"),
            ("WHERE id in ('a','b')", "WHERE id in (?)"),
            ("WHERE id NOT IN (?, ?, ?)", "WHERE id NOT IN (?)"),
            ("WHERE id IN (-1, +2, NULL, TRUE)", "WHERE id IN (?)"),
            // Numbered and named placeholders are kept: each names a parameter.
            ("WHERE id IN ($1, $2)", "WHERE id IN ($1, $2)"),
            ("WHERE id IN ($1, 5)", "WHERE id IN ($1, ?)"),
            (
                "WHERE id IN (SELECT id FROM u WHERE v = 5)",
                "WHERE id IN (SELECT id FROM u WHERE v = ?)",
            ),
            (
                "WHERE (a, b) IN ((1, 2), (3, 4))",
                "WHERE (a, b) IN ((?, ?), (?, ?))",
            ),
            ("WHERE x IN ()", "WHERE x IN ()"),
            ("WHERE x IN (1", "WHERE x IN (?"),
        ] {
            assert_eq!(clean(sql), expected, "{sql}");
        }
    }

    #[test]
    fn quotes_in_comments_and_comments_in_quotes() {
        for (sql, expected) in [
            ("-- it's a comment\nSELECT 'x'", "SELECT ?"),
            (
                "SELECT a /* don't */ FROM t -- isn't\nWHERE b = 'x'",
                "SELECT a FROM t WHERE b = ?",
            ),
            (
                "/* nested /* it's */ still ' a comment */ SELECT 1",
                "SELECT ?",
            ),
            ("SELECT '-- not a comment', '/* nor this */' FROM t", "SELECT ?, ? FROM t"),
            (
                "/* traceparent='00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' */ SELECT 1",
                "SELECT ?",
            ),
            ("SELECT a--comment\nFROM t", "SELECT a FROM t"),
            ("SELECT a/*c*/FROM t", "SELECT a FROM t"),
            ("SELECT\n  a,\n\tb\nFROM   t", "SELECT a, b FROM t"),
        ] {
            assert_eq!(clean(sql), expected, "{sql}");
        }
    }

    #[test]
    fn dollar_quoting() {
        assert_eq!(
            clean("SELECT $$it's$$, $tag$ a $$ b ' $tag$, $1, $_x$y$_x$"),
            "SELECT ?, ?, $1, ?"
        );
        assert_eq!(
            clean("CREATE FUNCTION f() RETURNS int AS $body$ SELECT 42 $body$ LANGUAGE sql"),
            "CREATE FUNCTION f() RETURNS int AS ? LANGUAGE sql"
        );
        // A `$` that opens nothing stays.
        assert_eq!(clean("SELECT a$b, $ FROM t"), "SELECT a$b, $ FROM t");
    }

    #[test]
    fn unterminated_literals_swallow_the_rest() {
        assert_eq!(clean("SELECT 'abc"), "SELECT ?");
        assert_eq!(clean("SELECT $$never closed"), "SELECT ?");
        assert_eq!(clean("SELECT 1 /* open comment 'x'"), "SELECT ?");
    }

    #[test]
    fn mysql_strings_take_backslashes_and_double_quotes() {
        let mysql = |sql| sanitize(sql, Dialect::MySql);
        assert_eq!(
            mysql(r#"SELECT * FROM t WHERE a = "secret" AND b = 'O\'Brien' AND c = 'x' # it's"#),
            "SELECT * FROM t WHERE a = ? AND b = ? AND c = ?"
        );
        assert_eq!(
            mysql("SELECT _utf8mb4'abc', `col` FROM t"),
            "SELECT ?, `col` FROM t"
        );
        // In standard SQL the same backslash is an ordinary character and the quote ends the string.
        assert_eq!(clean(r"SELECT 'C:\' AS p"), "SELECT ? AS p");
        // MySQL comments do not nest.
        assert_eq!(mysql("/* a /* b */ SELECT 1"), "SELECT ?");
    }

    #[test]
    fn sql_server_brackets() {
        let mssql = |sql| sanitize(sql, Dialect::SqlServer);
        assert_eq!(
            mssql("SELECT [Order Details 2024].[Qty] FROM [Order Details 2024] WHERE id = 5"),
            "SELECT [Order Details 2024].[Qty] FROM [Order Details 2024] WHERE id = ?"
        );
    }

    fn info(sql: &str) -> (Option<String>, Option<String>) {
        let info = parse_statement(sql, Dialect::Standard);
        (info.operation, info.collection)
    }

    fn op(operation: &str, collection: Option<&str>) -> (Option<String>, Option<String>) {
        (Some(operation.to_string()), collection.map(str::to_string))
    }

    #[test]
    fn operations_and_collections() {
        for (sql, expected) in [
            (
                "SELECT * FROM users WHERE id = $1",
                op("SELECT", Some("users")),
            ),
            (
                "select o.id from public.orders o join customers c on c.id = o.customer_id",
                op("select", Some("public.orders")),
            ),
            ("SELECT 1", op("SELECT", None)),
            ("SELECT now(), 'FROM x' AS label", op("SELECT", None)),
            (
                "SELECT count(*) FROM (SELECT * FROM t) sub",
                op("SELECT", None),
            ),
            (
                "SELECT EXTRACT(YEAR FROM created), SUBSTRING(name FROM 2) FROM orders",
                op("SELECT", Some("orders")),
            ),
            (
                "SELECT (SELECT max(id) FROM inner_t) AS m FROM outer_t",
                op("SELECT", Some("outer_t")),
            ),
            (
                "SELECT a IS DISTINCT FROM b FROM t",
                op("SELECT", Some("t")),
            ),
            (
                r#"SELECT "from" FROM "Order Details""#,
                op("SELECT", Some(r#""Order Details""#)),
            ),
            ("SELECT * FROM `db`.`tbl`", op("SELECT", Some("`db`.`tbl`"))),
            (
                "SELECT * FROM ONLY measurements",
                op("SELECT", Some("measurements")),
            ),
            ("SELECT * FROM generate_series(1, 10)", op("SELECT", None)),
            (
                "SELECT * FROM a, b WHERE a.id = b.id",
                op("SELECT", Some("a")),
            ),
            (
                "  /* FROM x */ (SELECT a FROM t1) UNION (SELECT a FROM t2)",
                op("SELECT", Some("t1")),
            ),
            (
                "select * from users; delete from users",
                op("select", Some("users")),
            ),
            (
                "INSERT INTO demo_orders (id, customer) VALUES ($1, $2) RETURNING id",
                op("INSERT", Some("demo_orders")),
            ),
            (
                "INSERT OR REPLACE INTO kv VALUES (?, ?)",
                op("INSERT", Some("kv")),
            ),
            ("INSERT IGNORE INTO t SET a = 1", op("INSERT", Some("t"))),
            ("INSERT t VALUES (1)", op("INSERT", Some("t"))),
            ("REPLACE INTO t VALUES (1)", op("REPLACE", Some("t"))),
            (
                "INSERT INTO shipping (order_id) SELECT id FROM orders",
                op("INSERT", Some("shipping")),
            ),
            (
                "UPDATE demo_orders SET status = $1 WHERE id = $2 RETURNING id",
                op("UPDATE", Some("demo_orders")),
            ),
            ("UPDATE ONLY parent SET x = 1", op("UPDATE", Some("parent"))),
            ("UPDATE OR IGNORE t SET x = 1", op("UPDATE", Some("t"))),
            (
                "DELETE FROM sessions WHERE expires < now()",
                op("DELETE", Some("sessions")),
            ),
            (
                "DELETE t1 FROM t1 JOIN t2 ON t1.id = t2.id",
                op("DELETE", Some("t1")),
            ),
            (
                "DELETE LOW_PRIORITY FROM ONLY logs",
                op("DELETE", Some("logs")),
            ),
            (
                "MERGE INTO target t USING source s ON t.id = s.id",
                op("MERGE", Some("target")),
            ),
            (
                "CREATE TABLE IF NOT EXISTS demo_products (id BIGINT PRIMARY KEY)",
                op("CREATE TABLE", Some("demo_products")),
            ),
            (
                "create temporary table scratch (x int)",
                op("create table", Some("scratch")),
            ),
            ("CREATE UNIQUE INDEX idx ON t (a)", op("CREATE INDEX", None)),
            (
                "CREATE OR REPLACE VIEW v AS SELECT 1",
                op("CREATE VIEW", None),
            ),
            ("DROP TABLE IF EXISTS t", op("DROP TABLE", Some("t"))),
            (
                "ALTER TABLE ONLY t ADD COLUMN c int",
                op("ALTER TABLE", Some("t")),
            ),
            ("TRUNCATE TABLE logs", op("TRUNCATE", Some("logs"))),
            ("BEGIN", op("BEGIN", None)),
            ("COMMIT", op("COMMIT", None)),
            ("SET search_path TO app", op("SET", None)),
            ("EXPLAIN ANALYZE SELECT * FROM t", op("EXPLAIN", None)),
            ("VALUES (1), (2)", op("VALUES", None)),
            ("", (None, None)),
            ("   ", (None, None)),
            ("-- only a comment", (None, None)),
            ("'not a statement'", (None, None)),
        ] {
            assert_eq!(info(sql), expected, "{sql}");
        }
    }

    #[test]
    fn common_table_expressions_take_the_main_statement() {
        for (sql, expected) in [
            (
                "WITH recent AS (SELECT * FROM orders WHERE created > $1) SELECT count(*) FROM recent",
                op("SELECT", None),
            ),
            (
                "WITH recent AS (SELECT id FROM orders) SELECT * FROM customers c JOIN recent r ON r.id = c.id",
                op("SELECT", Some("customers")),
            ),
            (
                "WITH RECURSIVE t(n) AS (VALUES (1) UNION ALL SELECT n + 1 FROM t WHERE n < 100) SELECT sum(n) FROM t",
                op("SELECT", None),
            ),
            (
                "WITH moved AS (DELETE FROM a RETURNING *), other AS MATERIALIZED (SELECT 1) INSERT INTO b SELECT * FROM moved",
                op("INSERT", Some("b")),
            ),
            (
                "with totals as not materialized (select 1) update accounts set x = 1 from totals",
                op("update", Some("accounts")),
            ),
            ("WITH broken", (None, None)),
        ] {
            assert_eq!(info(sql), expected, "{sql}");
        }
    }

    #[test]
    fn stored_procedures() {
        let call = parse_statement("CALL refresh_stats($1)", Dialect::Standard);
        assert_eq!(call.operation.as_deref(), Some("CALL"));
        assert_eq!(call.stored_procedure.as_deref(), Some("refresh_stats"));
        assert_eq!(call.collection, None);
        let exec = parse_statement("EXEC dbo.GetCustomer @id = 1", Dialect::SqlServer);
        assert_eq!(exec.operation.as_deref(), Some("EXEC"));
        assert_eq!(exec.stored_procedure.as_deref(), Some("dbo.GetCustomer"));
        // PostgreSQL's EXECUTE runs a prepared statement, not a procedure.
        let execute = parse_statement("EXECUTE plan1(1)", Dialect::Standard);
        assert_eq!(execute.stored_procedure, None);
    }
}
