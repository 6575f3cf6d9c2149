//! `GET /api/v1/traces/{trace_id}`: a trace as OTLP JSON.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use opentelemetry_proto::tonic::trace::v1::TracesData;
use tracewell_model::{otlp, TenantError, TenantId, TraceId};

use crate::{ApiError, ApiState};

pub(crate) fn routes() -> Router<ApiState> {
    Router::new().route("/api/v1/traces/{trace_id}", get(trace_by_id))
}

/// The tenant of a read request.
pub(crate) fn tenant(headers: &HeaderMap, allowed: &[String]) -> Result<TenantId, ApiError> {
    let value = headers.get(TenantId::HEADER).map(|v| v.as_bytes());
    TenantId::from_header(value, allowed).map_err(|error| match error {
        TenantError::Invalid(_) => ApiError::BadRequest(error.to_string()),
        TenantError::NotAllowed(_) => ApiError::Forbidden(error.to_string()),
    })
}

async fn trace_by_id(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(raw_id): Path<String>,
) -> Result<Response, ApiError> {
    let tenant = tenant(&headers, &state.allowed_tenants)?;
    let trace_id = TraceId::parse_lenient(&raw_id)
        .map_err(|e| ApiError::BadRequest(format!("invalid trace id {raw_id:?}: {e}")))?;
    let lookup = state
        .store
        .find_trace(&tenant, trace_id)
        .await
        .map_err(|error| {
            tracing::error!(%error, trace_id = %trace_id, "trace lookup failed");
            ApiError::Internal
        })?;
    if lookup.spans.is_empty() {
        let mut message = format!("trace {trace_id} not found");
        if !lookup.unreadable_blocks.is_empty() {
            message.push_str(&format!(
                " (blocks unreadable: {})",
                lookup.unreadable_blocks.join(", ")
            ));
        }
        return Err(ApiError::NotFound(message));
    }
    let data = TracesData {
        resource_spans: otlp::to_resource_spans(&lookup.spans),
    };
    let mut body = otlp::to_json(&data);
    if !lookup.unreadable_blocks.is_empty() {
        body["warnings"] = serde_json::json!([format!(
            "trace may be incomplete: blocks unreadable: {}",
            lookup.unreadable_blocks.join(", ")
        )]);
    }
    Ok(Json(body).into_response())
}
