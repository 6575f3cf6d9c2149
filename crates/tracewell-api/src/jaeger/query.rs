//! Parsing shared by Jaeger v1 and api_v3 searches: trace ids (hex of 1 to 32 digits, or base64 for v3), the
//! `tags`/`query.attributes` filter (a JSON object of strings, or logfmt), and the search request itself.

use tracewell_model::TraceId;
use tracewell_query::{SearchRequest, TraceSummary};

use crate::params::bad;
use crate::tempo::{base64, logfmt, search::exact_condition};
use crate::{ApiError, ApiState};

use tracewell_model::{Span, TenantId};

/// A Jaeger trace id: 1 to 32 hex digits (left-padded), or with `base64` also 16 bytes in base64.
pub(crate) fn trace_id(param: &str, raw: &str, allow_base64: bool) -> Result<TraceId, ApiError> {
    let parsed = if !raw.is_empty() && raw.len() <= 32 && raw.bytes().all(|b| b.is_ascii_hexdigit())
    {
        TraceId::from_hex(&format!("{raw:0>32}")).ok()
    } else if allow_base64 {
        base64::decode(raw).and_then(|bytes| TraceId::from_slice(&bytes))
    } else {
        None
    };
    match parsed {
        Some(id) if !id.is_zero() => Ok(id),
        Some(_) => Err(bad(param, format!("{raw:?} is all zeros"))),
        None if allow_base64 => Err(bad(
            param,
            format!("{raw:?} is neither 1-32 hex digits nor base64 of 16 bytes"),
        )),
        None => Err(bad(param, format!("{raw:?} is not 1-32 hex digits"))),
    }
}

/// The number of traces a Jaeger search returns: `requested` (absent or 0: `default`), capped at the query
/// service's maximum (`--query-max-limit`) instead of refused, since the Jaeger UI offers limits up to 1500 and
/// Jaeger itself serves any.
pub(crate) fn capped_limit(requested: Option<u64>, default: usize, max: usize) -> usize {
    let limit = match requested {
        None | Some(0) => default,
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
    };
    limit.min(max)
}

/// Tag filters from a JSON object (`{"http.status_code":"500"}`, numbers and booleans taken as text) or logfmt
/// (`http.status_code=500 error=true`).
pub(crate) fn tag_pairs(param: &str, raw: &str) -> Result<Vec<(String, String)>, ApiError> {
    let text = raw.trim();
    if !text.starts_with('{') {
        return logfmt::parse(text).map_err(|e| bad(param, e));
    }
    let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text)
        .map_err(|e| bad(param, format!("not a JSON object of strings: {e}")))?;
    object
        .into_iter()
        .map(|(key, value)| match value {
            serde_json::Value::String(s) => Ok((key, s)),
            serde_json::Value::Number(n) => Ok((key, n.to_string())),
            serde_json::Value::Bool(b) => Ok((key, b.to_string())),
            other => Err(bad(
                param,
                format!("the value of {key:?} must be a string, got {other}"),
            )),
        })
        .collect()
}

/// Adds exact-match conditions for `pairs` (a later value for the same key replaces an earlier one).
pub(crate) fn add_tags(
    req: &mut SearchRequest,
    param: &str,
    pairs: Vec<(String, String)>,
) -> Result<(), ApiError> {
    let mut merged: Vec<(String, String)> = Vec::new();
    for (key, value) in pairs {
        match merged.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => merged.push((key, value)),
        }
    }
    for (key, value) in merged {
        req.attributes.push(exact_condition(param, &key, &value)?);
    }
    Ok(())
}

/// Runs a search and loads each trace found, skipping traces that vanished meanwhile; returns the summaries
/// with their spans, most recent first, and warnings about unreadable blocks.
pub(crate) async fn find_traces(
    state: &ApiState,
    tenant: &TenantId,
    req: &SearchRequest,
) -> Result<(Vec<(TraceSummary, Vec<Span>)>, Vec<String>), ApiError> {
    let result = state.query.search(tenant, req).await?;
    let mut warnings = result.warnings;
    let mut out = Vec::with_capacity(result.traces.len());
    for summary in result.traces {
        let found = state.query.trace(tenant, summary.trace_id).await?;
        if !found.unreadable_blocks.is_empty() {
            warnings.push(format!(
                "trace {} may be incomplete: blocks unreadable: {}",
                summary.trace_id,
                found.unreadable_blocks.join(", ")
            ));
        }
        if !found.spans.is_empty() {
            out.push((summary, found.spans));
        }
    }
    Ok((out, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_ids() {
        assert_eq!(
            trace_id("id", "1", false).unwrap().to_hex(),
            "00000000000000000000000000000001"
        );
        let id = trace_id("id", "AAAAAAAAAAAAAAAAAAAAAQ==", true).unwrap();
        assert_eq!(id.to_hex(), "00000000000000000000000000000001");
        assert!(trace_id("id", "AAAAAAAAAAAAAAAAAAAAAQ==", false).is_err());
        assert!(trace_id("id", "zz", true).is_err());
        assert!(trace_id("id", "0", false).is_err());
    }

    #[test]
    fn limits_are_capped_at_the_maximum() {
        assert_eq!(capped_limit(None, 100, 1000), 100);
        assert_eq!(capped_limit(Some(0), 100, 1000), 100);
        assert_eq!(capped_limit(Some(1500), 100, 1000), 1000);
        assert_eq!(capped_limit(Some(u64::MAX), 20, 1000), 1000);
        assert_eq!(capped_limit(None, 100, 50), 50);
    }

    #[test]
    fn tags_as_json_or_logfmt() {
        let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
            list.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(
            tag_pairs("tags", r#"{"a":"1","b":2,"c":true}"#).unwrap(),
            pairs(&[("a", "1"), ("b", "2"), ("c", "true")])
        );
        assert_eq!(
            tag_pairs("tags", r#"a=1 b="x y""#).unwrap(),
            pairs(&[("a", "1"), ("b", "x y")])
        );
        for bad in [r#"{"a":"#, r#"{"a":{}}"#, r#"a="open"#] {
            assert!(tag_pairs("tags", bad)
                .unwrap_err()
                .to_string()
                .contains("tags"));
        }
    }
}
