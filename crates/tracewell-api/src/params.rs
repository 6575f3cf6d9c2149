//! Query-parameter parsing shared by every API surface: the tenant header, durations, timestamps in the units
//! each ecosystem uses, limits. Every error names the parameter it is about.

use axum::http::HeaderMap;
use tracewell_model::{TenantError, TenantId, TraceId};

use crate::ApiError;

/// The tenant of a read request (`X-Scope-OrgID`, default single tenant).
pub(crate) fn tenant(headers: &HeaderMap, allowed: &[String]) -> Result<TenantId, ApiError> {
    let value = headers.get(TenantId::HEADER).map(|v| v.as_bytes());
    TenantId::from_header(value, allowed).map_err(|error| match error {
        TenantError::Invalid(_) => ApiError::BadRequest(error.to_string()),
        TenantError::NotAllowed(_) => ApiError::Forbidden(error.to_string()),
    })
}

pub(crate) fn bad(param: &str, message: impl std::fmt::Display) -> ApiError {
    ApiError::BadRequest(format!("invalid {param}: {message}"))
}

/// A trace id path or query parameter (16 or 32 hex digits).
pub(crate) fn trace_id(param: &str, raw: &str) -> Result<TraceId, ApiError> {
    TraceId::parse_lenient(raw).map_err(|e| bad(param, format!("{raw:?}: {e}")))
}

/// A Go-style duration (`250ms`, `1.5s`, `1h30m`) in nanoseconds; empty means absent.
pub(crate) fn duration_nanos(param: &str, raw: Option<&str>) -> Result<Option<u64>, ApiError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(text) => tracewell_model::parse_duration(text)
            .map(|d| Some(d.as_nanos() as u64))
            .map_err(|e| bad(param, e)),
    }
}

/// An unsigned integer; empty means absent.
pub(crate) fn number(param: &str, raw: Option<&str>) -> Result<Option<u64>, ApiError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(text) => text
            .parse::<u64>()
            .map(Some)
            .map_err(|_| bad(param, format!("{text:?} is not a non-negative integer"))),
    }
}

/// A timestamp given in `unit_nanos` units since the epoch (1 = ns, 1_000 = µs, 1_000_000_000 = s), as nanoseconds.
pub(crate) fn unix_time(
    param: &str,
    raw: Option<&str>,
    unit_nanos: u64,
) -> Result<Option<u64>, ApiError> {
    match number(param, raw)? {
        None => Ok(None),
        Some(v) => v
            .checked_mul(unit_nanos)
            .map(Some)
            .ok_or_else(|| bad(param, "timestamp is out of range")),
    }
}

pub(crate) use tracewell_model::{format_rfc3339, parse_rfc3339};

/// An RFC 3339 timestamp as unix nanoseconds.
pub(crate) fn rfc3339(param: &str, raw: Option<&str>) -> Result<Option<u64>, ApiError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(text) => parse_rfc3339(text).map(Some).ok_or_else(|| {
            bad(
                param,
                format!("{text:?} is not an RFC 3339 time like 2026-11-21T10:00:00Z"),
            )
        }),
    }
}
