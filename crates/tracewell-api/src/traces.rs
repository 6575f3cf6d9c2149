//! `GET /api/v1/traces/{trace_id}`: a trace as OTLP JSON.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use opentelemetry_proto::tonic::trace::v1::TracesData;
use tracewell_model::otlp;

use crate::params::{tenant, trace_id};
use crate::{ApiError, ApiState};

pub(crate) fn routes() -> Router<ApiState> {
    Router::new().route("/api/v1/traces/{trace_id}", get(trace_by_id))
}

async fn trace_by_id(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(raw_id): Path<String>,
) -> Result<Response, ApiError> {
    let tenant = tenant(&headers, &state.allowed_tenants)?;
    let id = trace_id("trace id", &raw_id)?;
    let found = state.query.trace(&tenant, id).await?;
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
    let data = TracesData {
        resource_spans: otlp::to_resource_spans(&found.spans),
    };
    let mut body = otlp::to_json(&data);
    if !found.unreadable_blocks.is_empty() {
        body["warnings"] = serde_json::json!([format!(
            "trace may be incomplete: blocks unreadable: {}",
            found.unreadable_blocks.join(", ")
        )]);
    }
    Ok(Json(body).into_response())
}
