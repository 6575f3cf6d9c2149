//! `GET /api/v1/traces/{trace_id}`: a trace as OTLP JSON.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use opentelemetry_proto::tonic::trace::v1::TracesData;
use tracewell_model::{otlp, TenantId, TraceId};

use crate::{ApiError, ApiState};

pub(crate) fn routes() -> Router<ApiState> {
    Router::new().route("/api/v1/traces/{trace_id}", get(trace_by_id))
}

/// The tenant of a read request.
pub(crate) fn tenant(headers: &HeaderMap, allowed: &[String]) -> Result<TenantId, ApiError> {
    let tenant = match headers.get("x-scope-orgid") {
        None => TenantId::default_tenant(),
        Some(v) => {
            let text = v
                .to_str()
                .map_err(|_| ApiError::BadRequest("invalid X-Scope-OrgID: not ASCII".into()))?;
            TenantId::new(text.trim())
                .map_err(|e| ApiError::BadRequest(format!("invalid X-Scope-OrgID: {e}")))?
        }
    };
    if !allowed.is_empty() && !allowed.iter().any(|t| t == tenant.as_str()) {
        return Err(ApiError::Forbidden(format!(
            "unknown tenant {:?}",
            tenant.as_str()
        )));
    }
    Ok(tenant)
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
