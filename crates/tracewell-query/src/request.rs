//! What a search asks for: span conditions (service, operation, kind, status, attributes, duration), a time
//! range, a limit; and the grammar of attribute conditions shared by every API surface.
//!
//! Attribute condition grammar (one condition per string):
//!
//! | form            | a span matches when                                                        |
//! |-----------------|----------------------------------------------------------------------------|
//! | `key=v`         | some place of the span holds `key` with the value `v`                      |
//! | `key=v1\|v2`    | ... with any of the values (OR); write `\|` for a literal bar              |
//! | `key!=v`        | no place holds `key` with any of the values (missing keys match)           |
//! | `key=~re`       | some place holds `key` with a value the whole regular expression matches   |
//! | `key!~re`       | no place holds `key` with a value the regular expression matches           |
//!
//! As in Jaeger, a key is looked up in every place of a span: its attributes, its resource's (process)
//! attributes, the attributes of its events (logs), of its links, and of its instrumentation scope. A condition
//! holds when any place holds a hit, and a negated one when no place does; several conditions must all hold on
//! the same span, each in any place. Values compare by their text: strings as they are, integers in decimal (and
//! `007` finds 7), doubles as Rust formats them (`72.5`, `1` for 1.0; a typed number equal to the double, such as
//! `72.50`, finds it too), booleans as `true`/`false`. Keys with a dedicated span column (`http.route`, ...)
//! are matched there for the span's own attributes when the value has the column's type. Three keys are span
//! fields rather than attributes: `error` (`true` when the span status is ERROR), `span.kind` (`server`,
//! `client`, ...), and `otel.status_code` / `status` (`ok`, `error`, `unset`).

use regex::Regex;
use tracewell_model::{SpanKind, StatusCode};

use crate::error::{QueryError, Result};

/// How an attribute condition compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchOp {
    Eq,
    NotEq,
    Regex,
    NotRegex,
}

/// What a condition's key refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CondTarget {
    /// An attribute in any place of a span (span, resource, events, links, scope).
    Attribute(String),
    /// The span status is ERROR (`error` key).
    Error,
    /// The span kind (`span.kind`).
    Kind,
    /// The span status code (`otel.status_code`, `status`).
    Status,
}

/// One attribute condition; see the module documentation for the grammar.
#[derive(Debug, Clone)]
pub struct AttrCondition {
    pub target: CondTarget,
    pub op: MatchOp,
    /// Alternatives for `=`/`!=` (OR); empty for regex conditions.
    pub values: Vec<String>,
    /// Integer forms of `values` that parse as integers, for integer attributes.
    pub(crate) ints: Vec<i64>,
    /// Numbers among `values` (`72.5`, `1e3`), for double attributes.
    pub(crate) doubles: Vec<f64>,
    /// The anchored regular expression of `=~` / `!~`.
    pub regex: Option<Regex>,
}

impl PartialEq for AttrCondition {
    fn eq(&self, other: &Self) -> bool {
        self.target == other.target
            && self.op == other.op
            && self.values == other.values
            && self.regex.as_ref().map(Regex::as_str) == other.regex.as_ref().map(Regex::as_str)
    }
}

/// Longest regular expression accepted, and its compiled size limit.
const MAX_REGEX_LEN: usize = 1024;
const REGEX_SIZE_LIMIT: usize = 1 << 20;

impl AttrCondition {
    /// Parses `key=value`, `key!=value`, `key=~regex` or `key!~regex`.
    pub fn parse(text: &str) -> Result<Self> {
        let (key, op, rest) = split_condition(text).ok_or_else(|| {
            QueryError::bad(format!(
                "attribute condition {text:?} is not key=value, key!=value, key=~regex or key!~regex"
            ))
        })?;
        let key = key.trim();
        if key.is_empty() {
            return Err(QueryError::bad(format!(
                "attribute condition {text:?} has an empty key"
            )));
        }
        Self::new(key, op, rest)
    }

    /// A condition from its parts; `value` is one value, `v1|v2` alternatives, or a regular expression.
    pub fn new(key: &str, op: MatchOp, value: &str) -> Result<Self> {
        let target = match key {
            "error" => CondTarget::Error,
            "span.kind" => CondTarget::Kind,
            "otel.status_code" | "status" => CondTarget::Status,
            other => CondTarget::Attribute(other.to_owned()),
        };
        let (values, regex) = match op {
            MatchOp::Eq | MatchOp::NotEq => (split_alternatives(value), None),
            MatchOp::Regex | MatchOp::NotRegex => {
                if value.len() > MAX_REGEX_LEN {
                    return Err(QueryError::bad(format!(
                        "regular expression for {key} is longer than {MAX_REGEX_LEN} bytes"
                    )));
                }
                let re = regex::RegexBuilder::new(&format!("^(?:{value})$"))
                    .size_limit(REGEX_SIZE_LIMIT)
                    .build()
                    .map_err(|e| {
                        QueryError::bad(format!("regular expression for {key} is invalid: {e}"))
                    })?;
                (Vec::new(), Some(re))
            }
        };
        if matches!(target, CondTarget::Kind) {
            for v in &values {
                parse_kind(v).map_err(|e| QueryError::bad(format!("span.kind: {e}")))?;
            }
        }
        let ints = values.iter().filter_map(|v| v.parse().ok()).collect();
        let doubles = values
            .iter()
            .filter_map(|v| v.trim().parse::<f64>().ok())
            .filter(|d| !d.is_nan())
            .collect();
        Ok(Self {
            target,
            op,
            values,
            ints,
            doubles,
            regex,
        })
    }

    /// Whether a present value, given as text, satisfies the positive form of the condition.
    pub(crate) fn text_hits(&self, value: &str) -> bool {
        match &self.regex {
            Some(re) => re.is_match(value),
            None => self.values.iter().any(|v| v == value),
        }
    }

    /// Whether a present integer value satisfies the positive form of the condition.
    pub(crate) fn int_hits(&self, value: i64) -> bool {
        match &self.regex {
            Some(re) => re.is_match(&value.to_string()),
            None => self.ints.contains(&value),
        }
    }

    /// Whether a present double value satisfies the positive form of the condition: by its text
    /// ([`double_text`]), or as equal to a number among the values.
    pub(crate) fn double_hits(&self, value: f64) -> bool {
        match &self.regex {
            Some(re) => re.is_match(&double_text(value)),
            None => {
                self.doubles.contains(&value)
                    || self.values.iter().any(|v| *v == double_text(value))
            }
        }
    }

    /// The texts a value filter is probed with for a double equal to one of the values: its [`double_text`]
    /// (both signs of zero, which compare equal).
    pub(crate) fn double_filter_texts(&self) -> impl Iterator<Item = String> + '_ {
        self.doubles.iter().flat_map(|&d| {
            if d == 0.0 {
                vec!["0".to_owned(), "-0".to_owned()]
            } else {
                vec![double_text(d)]
            }
        })
    }

    /// True for `!=` and `!~`: the span matches when no value hits.
    pub(crate) fn negated(&self) -> bool {
        matches!(self.op, MatchOp::NotEq | MatchOp::NotRegex)
    }
}

/// The text of a double attribute value, as conditions and block value filters see it: Rust's shortest
/// round-trip decimal form without exponent (`72.5`, `1` for 1.0, `-0`, `NaN`, `inf`).
pub(crate) fn double_text(value: f64) -> String {
    value.to_string()
}

fn split_condition(text: &str) -> Option<(&str, MatchOp, &str)> {
    let at = text.find(['=', '!'])?;
    let (key, rest) = text.split_at(at);
    let (op, value) = if let Some(v) = rest.strip_prefix("!=") {
        (MatchOp::NotEq, v)
    } else if let Some(v) = rest.strip_prefix("!~") {
        (MatchOp::NotRegex, v)
    } else if let Some(v) = rest.strip_prefix("=~") {
        (MatchOp::Regex, v)
    } else if let Some(v) = rest.strip_prefix('=') {
        (MatchOp::Eq, v)
    } else {
        return None;
    };
    Some((key, op, value))
}

/// Splits `a|b|c` into alternatives; `\|` is a literal bar and `\\` a literal backslash.
fn split_alternatives(value: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(next @ ('|' | '\\')) => {
                    out.last_mut().unwrap_or(&mut String::new()).push(next)
                }
                Some(other) => {
                    if let Some(last) = out.last_mut() {
                        last.push('\\');
                        last.push(other);
                    }
                }
                None => {
                    if let Some(last) = out.last_mut() {
                        last.push('\\');
                    }
                }
            },
            '|' => out.push(String::new()),
            c => {
                if let Some(last) = out.last_mut() {
                    last.push(c)
                }
            }
        }
    }
    out
}

/// Parses a span kind name (`server`, `SPAN_KIND_SERVER`, `Server`, ...).
pub fn parse_kind(text: &str) -> Result<SpanKind, String> {
    let lower = text.trim().to_ascii_lowercase();
    let name = lower.strip_prefix("span_kind_").unwrap_or(&lower);
    Ok(match name {
        "unspecified" => SpanKind::Unspecified,
        "internal" => SpanKind::Internal,
        "server" => SpanKind::Server,
        "client" => SpanKind::Client,
        "producer" => SpanKind::Producer,
        "consumer" => SpanKind::Consumer,
        _ => {
            return Err(format!(
                "unknown span kind {text:?}; use server, client, producer, consumer, internal or unspecified"
            ))
        }
    })
}

/// Parses a status name (`ok`, `error`, `unset`, `STATUS_CODE_ERROR`, ...).
pub fn parse_status(text: &str) -> Result<StatusCode, String> {
    let lower = text.trim().to_ascii_lowercase();
    let name = lower.strip_prefix("status_code_").unwrap_or(&lower);
    Ok(match name {
        "ok" => StatusCode::Ok,
        "error" => StatusCode::Error,
        "unset" => StatusCode::Unset,
        _ => return Err(format!("unknown status {text:?}; use ok, error or unset")),
    })
}

pub fn status_name(code: StatusCode) -> &'static str {
    match code {
        StatusCode::Ok => "ok",
        StatusCode::Error => "error",
        StatusCode::Unset => "unset",
    }
}

/// Whether duration bounds apply to each matching span (Jaeger) or to the whole trace (Tempo).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DurationScope {
    #[default]
    Span,
    Trace,
}

/// Which traces a search returns when more match than its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SearchOrder {
    /// The most recent, newest first.
    #[default]
    Recent,
    /// The longest in the whole range (by their longest matching span; every block in range is read), longest
    /// first.
    Duration,
}

/// A search: traces with at least one span meeting every span condition, most recent first.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SearchRequest {
    pub service: Option<String>,
    /// Span name.
    pub operation: Option<String>,
    pub kind: Option<SpanKind>,
    pub status: Option<StatusCode>,
    pub attributes: Vec<AttrCondition>,
    pub min_duration_nano: Option<u64>,
    pub max_duration_nano: Option<u64>,
    pub duration_scope: DurationScope,
    /// Unix nanoseconds; traces with a span starting in `[start, end]` qualify. `None`: unbounded.
    pub start_unix_nano: Option<u64>,
    pub end_unix_nano: Option<u64>,
    /// Most traces returned.
    pub limit: usize,
    /// Matching spans returned per trace.
    pub spans_per_trace: usize,
    pub order: SearchOrder,
}

impl SearchRequest {
    /// A request for the most recent `limit` traces, with no conditions.
    pub fn recent(limit: usize) -> Self {
        Self {
            limit,
            spans_per_trace: 3,
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn condition_grammar() {
        let c = AttrCondition::parse("http.response.status_code=500|503").unwrap();
        assert_eq!(
            c.target,
            CondTarget::Attribute("http.response.status_code".into())
        );
        assert_eq!(
            (c.op, c.values.clone(), c.ints.clone()),
            (
                MatchOp::Eq,
                vec!["500".into(), "503".into()],
                vec![500, 503]
            )
        );
        let c = AttrCondition::parse("path!=a\\|b").unwrap();
        assert_eq!(
            (c.op, c.values.clone()),
            (MatchOp::NotEq, vec!["a|b".to_owned()])
        );
        let c = AttrCondition::parse("url.path=~/api/.*").unwrap();
        assert!(c.text_hits("/api/users") && !c.text_hits("x/api/users"));
        let c = AttrCondition::parse("db.system!~post.*").unwrap();
        assert_eq!(c.op, MatchOp::NotRegex);
        assert!(c.negated());
        assert_eq!(
            AttrCondition::parse("error=true").unwrap().target,
            CondTarget::Error
        );
        assert_eq!(
            AttrCondition::parse("k=a=b").unwrap().values,
            vec!["a=b".to_owned()]
        );
        for bad in ["novalue", "=x", "k=~(", "span.kind=sideways"] {
            let err = AttrCondition::parse(bad).unwrap_err().to_string();
            assert!(!err.is_empty(), "{bad}");
        }
    }

    #[test]
    fn doubles_compare_by_their_text_or_as_numbers() {
        let c = AttrCondition::parse("ratio=72.5").unwrap();
        assert!(c.double_hits(72.5) && !c.double_hits(72.25));
        assert!(AttrCondition::parse("ratio=72.50")
            .unwrap()
            .double_hits(72.5));
        assert!(AttrCondition::parse("ratio=1").unwrap().double_hits(1.0));
        assert!(AttrCondition::parse("ratio=~7[0-9]\\.5")
            .unwrap()
            .double_hits(72.5));
        let zero = AttrCondition::parse("ratio=0").unwrap();
        assert!(zero.double_hits(-0.0));
        assert_eq!(zero.double_filter_texts().collect::<Vec<_>>(), ["0", "-0"]);
        assert_eq!(double_text(72.5), "72.5");
        assert_eq!(double_text(1.0), "1");
    }

    #[test]
    fn kind_and_status_names() {
        assert_eq!(parse_kind("SPAN_KIND_SERVER"), Ok(SpanKind::Server));
        assert_eq!(parse_kind("Client"), Ok(SpanKind::Client));
        assert!(parse_kind("x").is_err());
        assert_eq!(parse_status("STATUS_CODE_ERROR"), Ok(StatusCode::Error));
        assert_eq!(parse_status("ok"), Ok(StatusCode::Ok));
    }
}
