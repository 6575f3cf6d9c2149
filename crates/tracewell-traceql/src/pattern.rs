//! Regular expressions of `=~` and `!~`: always anchored at both ends, as
//! in Tempo and PromQL (`"bar"` means `^(?:bar)$`).

use regex::Regex;

/// Compiles `pattern` anchored at both ends.
pub fn anchored_regex(pattern: &str) -> Result<Regex, regex::Error> {
    regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
        .size_limit(1 << 20)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_are_anchored() {
        let re = anchored_regex("bar").expect("valid pattern");
        assert!(re.is_match("bar"));
        assert!(!re.is_match("foobar"));
        let re = anchored_regex("a|b").expect("valid pattern");
        assert!(re.is_match("a") && re.is_match("b") && !re.is_match("ab"));
        assert!(anchored_regex("[").is_err());
    }
}
