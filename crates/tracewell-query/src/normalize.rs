//! Normal forms that group spans which differ only in their literals: database statements without their
//! values (`WHERE id = 42` → `WHERE id = ?`), and error messages without ids and numbers.

use tracewell_model::Span;

/// What a CLIENT span called, literals removed: its database statement, else its HTTP route or URL template,
/// else its name.
pub fn statement_key(span: &Span) -> String {
    for key in ["db.query.text", "db.statement"] {
        if let Some(text) = span.attribute(key).and_then(|v| v.as_str()) {
            return strip_literals(text);
        }
    }
    for key in ["http.route", "url.template"] {
        if let Some(route) = span.attribute(key).and_then(|v| v.as_str()) {
            return route.to_owned();
        }
    }
    span.name.clone()
}

/// Replaces string and number literals with `?`, collapses `IN (?, ?, ...)` lists and whitespace.
pub fn strip_literals(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    let mut prev_word = false;
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                // A string literal, with '' as an escaped quote.
                loop {
                    match chars.next() {
                        None => break,
                        Some('\'') if chars.peek() == Some(&'\'') => {
                            chars.next();
                        }
                        Some('\'') => break,
                        Some(_) => {}
                    }
                }
                out.push('?');
                prev_word = false;
            }
            '0'..='9' if !prev_word => {
                while chars
                    .peek()
                    .is_some_and(|d| d.is_ascii_alphanumeric() || *d == '.')
                {
                    chars.next();
                }
                out.push('?');
                prev_word = false;
            }
            c if c.is_whitespace() => {
                if !out.ends_with(' ') && !out.is_empty() {
                    out.push(' ');
                }
                prev_word = false;
            }
            c => {
                out.push(c);
                prev_word = c.is_alphanumeric() || c == '_' || c == '$';
            }
        }
    }
    collapse_lists(out.trim_end())
}

/// `(?, ?, ?)` → `(?)`.
fn collapse_lists(s: &str) -> String {
    let mut out = s.to_owned();
    while out.contains("?, ?") || out.contains("?,?") {
        out = out.replace("?, ?", "?").replace("?,?", "?");
    }
    out
}

/// An error message with digits runs, hex ids and quoted values replaced, so that "order 17 failed" and
/// "order 18 failed" are one kind of error.
pub fn error_kind(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(200));
    let mut chars = message.chars().peekable();
    while let Some(c) = chars.next() {
        if out.len() >= 200 {
            break;
        }
        match c {
            '0'..='9' => {
                while chars
                    .peek()
                    .is_some_and(|d| d.is_ascii_hexdigit() || *d == '-')
                {
                    chars.next();
                }
                out.push('#');
            }
            '"' => {
                for d in chars.by_ref() {
                    if d == '"' {
                        break;
                    }
                }
                out.push_str("\"…\"");
            }
            c => out.push(c),
        }
    }
    out.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_leave_statements() {
        assert_eq!(
            strip_literals("SELECT id, name FROM products WHERE id = 42 AND sku = 'A-1''x'"),
            "SELECT id, name FROM products WHERE id = ? AND sku = ?"
        );
        assert_eq!(
            strip_literals("select * from t where id in (1, 2, 3)  and  v > 2.5"),
            "select * from t where id in (?) and v > ?"
        );
        assert_eq!(
            strip_literals("SELECT * FROM t2 WHERE c = $1"),
            "SELECT * FROM t2 WHERE c = $1"
        );
    }

    #[test]
    fn error_kinds_ignore_ids_and_quoted_values() {
        assert_eq!(
            error_kind("cannot charge order 17: unsupported currency \"USD\""),
            "cannot charge order #: unsupported currency \"…\""
        );
        assert_eq!(
            error_kind("cannot charge order 18: unsupported currency \"GBP\""),
            error_kind("cannot charge order 17: unsupported currency \"USD\"")
        );
        assert_eq!(error_kind("payments answered 500"), "payments answered #");
    }
}
