//! `GET /api/v1/traces/{trace_id}`: a trace as OTLP JSON, or in the UI's compact form with
//! `?format=compact`; `GET /api/v1/traces/{trace_id}/spans/{span_id}`: one span as OTLP JSON.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use opentelemetry_proto::tonic::trace::v1::TracesData;
use tracewell_model::otlp;

use axum::http::header::CONTENT_TYPE;
use std::sync::Arc;

use tracewell_model::SpanId;

use crate::compact::compact_json;
use crate::extract::Tenant;
use crate::native::Params;
use crate::params::trace_id;
use crate::{ApiError, ApiState};

pub(crate) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/api/v1/traces/{trace_id}", get(trace_by_id))
        .route("/api/v1/traces/{trace_id}/spans/{span_id}", get(span_by_id))
}

async fn trace_by_id(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Tenant(tenant): Tenant,
    Path(raw_id): Path<String>,
    params: Params,
) -> Result<Response, ApiError> {
    let compact = match params.non_empty("format") {
        None | Some("otlp") => false,
        Some("compact") => true,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "format: unknown format {other:?}, expected otlp or compact"
            )))
        }
    };
    let id = trace_id("trace id", &raw_id)?;
    let mut found = state.query.trace(&tenant, id).await?;
    if found.spans.is_empty() {
        let mut message = format!("trace {id} not found");
        if !found.unreadable_blocks.is_empty() {
            message.push_str(&format!(
                " (blocks unreadable: {})",
                found.unreadable_blocks.join(", ")
            ));
        }
        return Err(ApiError::NotFound(message));
    }
    let warnings = incomplete_warning(&found.unreadable_blocks);
    if compact {
        let body = compact_json(&id.to_hex(), &mut found.spans, &warnings);
        // The UI asks for span details next, one span at a time.
        state.recent.put(&tenant, id, Arc::new(found.spans));
        return Ok(maybe_gzip(&headers, body));
    }
    let data = TracesData {
        resource_spans: otlp::to_resource_spans(&found.spans),
    };
    let mut body = otlp::to_json(&data);
    if !warnings.is_empty() {
        body["warnings"] = serde_json::json!(warnings);
    }
    Ok(Json(body).into_response())
}

/// Large answers are gzipped when the client accepts it (a 100 000-span compact trace shrinks from
/// ~6 MB to well under 1 MB, which matters more than the milliseconds spent compressing).
fn maybe_gzip(headers: &HeaderMap, body: String) -> Response {
    use std::io::Write as _;
    const MIN_GZIP_BYTES: usize = 32 * 1024;
    let accepts_gzip = headers
        .get_all(axum::http::header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or_default().trim();
            let refused = parts.any(|p| p.trim().replace(' ', "") == "q=0");
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        });
    if accepts_gzip && body.len() >= MIN_GZIP_BYTES {
        let mut encoder = flate2::write::GzEncoder::new(
            Vec::with_capacity(body.len() / 8),
            flate2::Compression::fast(),
        );
        if encoder.write_all(body.as_bytes()).is_ok() {
            if let Ok(compressed) = encoder.finish() {
                return (
                    [
                        (CONTENT_TYPE, "application/json"),
                        (axum::http::header::CONTENT_ENCODING, "gzip"),
                        (axum::http::header::VARY, "accept-encoding"),
                    ],
                    compressed,
                )
                    .into_response();
            }
        }
    }
    (
        [
            (CONTENT_TYPE, "application/json"),
            (axum::http::header::VARY, "accept-encoding"),
        ],
        body,
    )
        .into_response()
}

fn incomplete_warning(unreadable_blocks: &[String]) -> Vec<String> {
    if unreadable_blocks.is_empty() {
        return Vec::new();
    }
    vec![format!(
        "trace may be incomplete: blocks unreadable: {}",
        unreadable_blocks.join(", ")
    )]
}

async fn span_by_id(
    State(state): State<ApiState>,
    Tenant(tenant): Tenant,
    Path((raw_trace, raw_span)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id = trace_id("trace id", &raw_trace)?;
    let span_id = SpanId::from_hex(&raw_span)
        .ok()
        .filter(|s| !s.is_zero())
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "span id: {raw_span:?} is not 16 hex digits (all zeros is invalid)"
            ))
        })?;
    let all = match state.recent.get(&tenant, id) {
        Some(spans) => spans,
        None => {
            let spans = Arc::new(state.query.trace(&tenant, id).await?.spans);
            state.recent.put(&tenant, id, spans.clone());
            spans
        }
    };
    let spans: Vec<_> = all
        .iter()
        .filter(|s| s.span_id == span_id)
        .cloned()
        .collect();
    if spans.is_empty() {
        return Err(ApiError::NotFound(format!(
            "span {} not found in trace {id}",
            span_id.to_hex()
        )));
    }
    let data = TracesData {
        resource_spans: otlp::to_resource_spans(&spans),
    };
    Ok(Json(otlp::to_json(&data)).into_response())
}
