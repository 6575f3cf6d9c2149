//! logfmt as Tempo's `tags` parameter (and Tracewell's Jaeger `tags`) take it: `key=value` pairs separated by
//! spaces, values optionally double-quoted with backslash escapes (`http.url="/a b" name=\"x\"`), a bare `key`
//! meaning an empty value.

/// Parses logfmt into pairs in order (duplicates kept); the error says what is wrong and where.
pub(crate) fn parse(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    let mut chars = text.char_indices().peekable();
    loop {
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        let Some(&(start, _)) = chars.peek() else {
            return Ok(pairs);
        };
        let mut key = String::new();
        while let Some((at, c)) = chars.next_if(|(_, c)| !c.is_whitespace() && *c != '=') {
            if c == '"' {
                return Err(format!("unexpected '\"' in a key at byte {at}"));
            }
            key.push(c);
        }
        if key.is_empty() {
            return Err(format!("missing key at byte {start}"));
        }
        if chars.next_if(|(_, c)| *c == '=').is_none() {
            pairs.push((key, String::new()));
            continue;
        }
        let mut value = String::new();
        if chars.next_if(|(_, c)| *c == '"').is_some() {
            loop {
                match chars.next() {
                    None => return Err(format!("unterminated quoted value of {key:?}")),
                    Some((_, '"')) => break,
                    Some((at, '\\')) => match chars.next() {
                        Some((_, 'n')) => value.push('\n'),
                        Some((_, 't')) => value.push('\t'),
                        Some((_, 'r')) => value.push('\r'),
                        Some((_, c @ ('"' | '\\' | '/'))) => value.push(c),
                        _ => {
                            return Err(format!("bad escape in the value of {key:?} at byte {at}"))
                        }
                    },
                    Some((_, c)) => value.push(c),
                }
            }
            if let Some(&(at, c)) = chars.peek() {
                if !c.is_whitespace() {
                    return Err(format!(
                        "expected a space after the quoted value of {key:?} at byte {at}"
                    ));
                }
            }
        } else {
            while let Some((at, c)) = chars.next_if(|(_, c)| !c.is_whitespace()) {
                if c == '"' || c == '=' {
                    return Err(format!(
                        "unexpected {c:?} in the value of {key:?} at byte {at}"
                    ));
                }
                value.push(c);
            }
        }
        pairs.push((key, value));
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn parses_plain_quoted_and_bare() {
        assert_eq!(
            parse(r#" service.name=cart  http.url="/a b" q="say \"hi\"" flag error=true "#)
                .unwrap(),
            pairs(&[
                ("service.name", "cart"),
                ("http.url", "/a b"),
                ("q", "say \"hi\""),
                ("flag", ""),
                ("error", "true")
            ])
        );
        assert_eq!(parse("").unwrap(), pairs(&[]));
        assert_eq!(parse("k=").unwrap(), pairs(&[("k", "")]));
    }

    #[test]
    fn refuses_malformed() {
        for bad in [
            "=v",
            "k=\"open",
            "k=\"a\"b",
            "k=a\"b",
            "\"k\"=v",
            "k=a=b",
            r#"k="\x""#,
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
