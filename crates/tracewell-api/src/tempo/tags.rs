//! Attribute names and values for Grafana's autocomplete: `GET /api/search/tags` (`tagNames`),
//! `GET /api/v2/search/tags` (`scopes`), `GET /api/search/tag/{tag}/values` (`tagValues` as strings) and
//! `GET /api/v2/search/tag/{tag}/values` (`tagValues` with TraceQL types; `{tag}` is a TraceQL identifier such as
//! `resource.service.name`, `span.http.method`, `.service.name`, `name`, `status` or `kind`). `start`/`end` are
//! unix seconds (default: the last 24 hours). A TraceQL query in `q` narrows tag names and v2 tag values to the
//! spans it selects (in the newest 500 matching traces). The gRPC streaming querier (`grpc.rs`) answers through the
//! same functions.

use std::collections::BTreeSet;
use std::time::Duration;

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use tracewell_model::TenantId;
use tracewell_query::{TagNames, TagValues, ValueKind};

use super::error::TempoError;
use super::seconds_range;
use crate::native::Params;
use crate::params::{bad, number, tenant};
use crate::{ApiError, ApiState};

const LOOKBACK: Duration = Duration::from_secs(24 * 3600);
const DEFAULT_VALUES: usize = 1000;
const MAX_VALUES: usize = 10_000;

/// Span fields TraceQL names without a scope; values are answered for `kind`, `name` and `status`.
const INTRINSICS: [&str; 4] = ["duration", "kind", "name", "status"];

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    All,
    Resource,
    Span,
    Intrinsic,
    /// Scopes Tracewell keeps no names for (`event`, `link`, `instrumentation`).
    Empty,
}

fn scope(params: &Params) -> Result<Scope, ApiError> {
    Ok(match params.get("scope").unwrap_or("") {
        "" | "all" | "none" => Scope::All,
        "resource" => Scope::Resource,
        "span" => Scope::Span,
        "intrinsic" => Scope::Intrinsic,
        "event" | "link" | "instrumentation" => Scope::Empty,
        other => {
            return Err(bad(
                "scope",
                format!(
                    "{other:?} is not resource, span, intrinsic, event, link or instrumentation"
                ),
            ))
        }
    })
}

pub(crate) async fn names(
    state: &ApiState,
    headers: &HeaderMap,
    params: &Params,
) -> Result<(Scope, TagNames), ApiError> {
    let tenant = tenant(headers, &state.allowed_tenants)?;
    let scope = scope(params)?;
    let range = seconds_range(params, LOOKBACK)?;
    let mut names = match narrowing_query(params) {
        Some(q) => state.query.traceql_tag_names(&tenant, q, &range).await?,
        None => state.query.tag_names(&tenant, &range).await?,
    };
    if let Some(limit) = number("limit", params.get("limit"))?.filter(|&l| l > 0) {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        names.span.truncate(limit);
        names.resource.truncate(limit);
    }
    Ok((scope, names))
}

/// The names of one scope (v1 lists all scopes' names together).
pub(crate) fn names_of_scope(scope: Scope, names: TagNames) -> Vec<String> {
    match scope {
        Scope::All => {
            let all: BTreeSet<String> = names.span.into_iter().chain(names.resource).collect();
            all.into_iter().collect()
        }
        Scope::Resource => names.resource,
        Scope::Span => names.span,
        Scope::Intrinsic => INTRINSICS.iter().map(|s| (*s).to_owned()).collect(),
        Scope::Empty => Vec::new(),
    }
}

/// The names by scope (v2).
pub(crate) fn scopes_of(scope: Scope, names: TagNames) -> Vec<(&'static str, Vec<String>)> {
    let mut scopes = Vec::new();
    if matches!(scope, Scope::All | Scope::Resource) {
        scopes.push(("resource", names.resource));
    }
    if matches!(scope, Scope::All | Scope::Span) {
        scopes.push(("span", names.span));
    }
    if matches!(scope, Scope::All | Scope::Intrinsic) {
        scopes.push((
            "intrinsic",
            INTRINSICS.iter().map(|s| (*s).to_owned()).collect(),
        ));
    }
    scopes
}

pub(crate) async fn names_v1(
    State(state): State<ApiState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, TempoError> {
    let (scope, names) = names(&state, &headers, &Params::parse(query)?).await?;
    let list = names_of_scope(scope, names);
    Ok(Json(json!({ "tagNames": list, "metrics": {} })).into_response())
}

pub(crate) async fn names_v2(
    State(state): State<ApiState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, TempoError> {
    let (scope, names) = names(&state, &headers, &Params::parse(query)?).await?;
    let scopes: Vec<Value> = scopes_of(scope, names)
        .into_iter()
        .map(|(name, tags)| json!({"name": name, "tags": tags}))
        .collect();
    Ok(Json(json!({ "scopes": scopes, "metrics": {} })).into_response())
}

/// The TraceQL query in `q`, unless it is absent or matches everything (`{}`).
fn narrowing_query(params: &Params) -> Option<&str> {
    params.get("q").map(str::trim).filter(|q| {
        !q.is_empty() && q.chars().filter(|c| !c.is_whitespace()).collect::<String>() != "{}"
    })
}

/// Values of a TraceQL identifier narrowed by the TraceQL query in `q`, or `None` when `q` is absent or matches
/// everything (`{}`).
pub(crate) async fn values_for_query(
    state: &ApiState,
    headers: &HeaderMap,
    tag: &str,
    params: &Params,
) -> Result<Option<TagValues>, ApiError> {
    let Some(q) = narrowing_query(params) else {
        return Ok(None);
    };
    let tenant: TenantId = tenant(headers, &state.allowed_tenants)?;
    let range = seconds_range(params, LOOKBACK)?;
    let limit = value_limit(params)?;
    Ok(Some(
        state
            .query
            .traceql_tag_values(&tenant, q, tag, &range, limit)
            .await?,
    ))
}

fn value_limit(params: &Params) -> Result<usize, ApiError> {
    Ok(match number("limit", params.get("limit"))? {
        None | Some(0) => DEFAULT_VALUES,
        Some(n) if n as usize > MAX_VALUES => {
            return Err(bad("limit", format!("must be at most {MAX_VALUES}")))
        }
        Some(n) => n as usize,
    })
}

pub(crate) async fn values(
    state: &ApiState,
    headers: &HeaderMap,
    key: &str,
    params: &Params,
) -> Result<TagValues, ApiError> {
    let tenant: TenantId = tenant(headers, &state.allowed_tenants)?;
    let range = seconds_range(params, LOOKBACK)?;
    let limit = value_limit(params)?;
    if key.is_empty() {
        return Err(bad("tag", "is empty"));
    }
    Ok(state.query.tag_values(&tenant, key, &range, limit).await?)
}

pub(crate) async fn values_v1(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(tag): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, TempoError> {
    let found = values(&state, &headers, &tag, &Params::parse(query)?).await?;
    let list: Vec<&str> = found.values.iter().map(|v| v.value.as_str()).collect();
    Ok(Json(json!({ "tagValues": list, "metrics": {} })).into_response())
}

/// The attribute key a TraceQL identifier names, and whether its values are TraceQL keywords.
pub(crate) fn traceql_key(tag: &str) -> (&str, bool) {
    match tag {
        "kind" | "span:kind" => ("span.kind", true),
        "status" | "span:status" => ("status", true),
        "name" | "span:name" => ("name", false),
        _ => {
            let key = ["resource.", "span.", "."]
                .iter()
                .find_map(|prefix| tag.strip_prefix(prefix))
                .unwrap_or(tag);
            (key, false)
        }
    }
}

pub(crate) async fn values_v2(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(tag): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, TempoError> {
    let (key, keyword) = traceql_key(&tag);
    let params = Params::parse(query)?;
    let found = match values_for_query(&state, &headers, &tag, &params).await? {
        Some(found) => found,
        None => values(&state, &headers, key, &params).await?,
    };
    let list: Vec<Value> = found
        .values
        .iter()
        .map(|v| {
            let kind = match v.kind {
                _ if keyword => "keyword",
                ValueKind::String => "string",
                ValueKind::Int => "int",
                ValueKind::Double => "float",
                ValueKind::Bool => "bool",
            };
            json!({"type": kind, "value": v.value})
        })
        .collect();
    Ok(Json(json!({ "tagValues": list, "metrics": {} })).into_response())
}

#[cfg(test)]
mod tests {
    use super::traceql_key;

    #[test]
    fn traceql_identifiers_map_to_keys() {
        assert_eq!(
            traceql_key("resource.service.name"),
            ("service.name", false)
        );
        assert_eq!(traceql_key("span.http.method"), ("http.method", false));
        assert_eq!(traceql_key(".service.name"), ("service.name", false));
        assert_eq!(traceql_key("status"), ("status", true));
        assert_eq!(traceql_key("kind"), ("span.kind", true));
        assert_eq!(traceql_key("name"), ("name", false));
    }
}
