//! Trace by id on the Tempo port: `GET /api/traces/{id}` (v1: `{"batches": [...]}` or `tempopb.Trace`, 404 with
//! an empty body when unknown) and `GET /api/v2/traces/{id}` (`tempopb.TraceByIDResponse`, 200 with an empty
//! trace when unknown, `PARTIAL` when blocks could not be read). `Accept: application/protobuf` selects
//! protobuf; `start`/`end` (unix seconds) are optional hints, validated but not needed.

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use prost::Message;
use serde_json::{json, Value};
use tracewell_model::{otlp, TraceId};
use tracewell_query::TraceResult;

use super::error::{not_found, TempoError};
use super::proto::{PartialStatus, Trace, TraceByIdMetrics, TraceByIdResponse};
use super::{otlp_json, seconds_bounds};
use crate::native::Params;
use crate::params::{bad, tenant};
use crate::{ApiError, ApiState};

/// A Tempo trace id: 1 to 32 hex digits, left-padded with zeros.
pub(crate) fn parse_trace_id(raw: &str) -> Result<TraceId, ApiError> {
    let invalid = |why: &str| bad("trace id", format!("{raw:?} {why}"));
    if raw.is_empty() || raw.len() > 32 {
        return Err(invalid("must be 1 to 32 hex digits"));
    }
    let padded = format!("{raw:0>32}");
    let id = TraceId::from_hex(&padded).map_err(|_| invalid("is not hexadecimal"))?;
    if id.is_zero() {
        return Err(invalid("is all zeros"));
    }
    Ok(id)
}

fn wants_protobuf(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("application/protobuf"))
}

fn protobuf(message: &impl Message) -> Response {
    (
        [(header::CONTENT_TYPE, "application/protobuf")],
        message.encode_to_vec(),
    )
        .into_response()
}

async fn lookup(
    state: &ApiState,
    headers: &HeaderMap,
    raw_id: &str,
    query: Option<String>,
) -> Result<TraceResult, TempoError> {
    let tenant = tenant(headers, &state.allowed_tenants)?;
    let id = parse_trace_id(raw_id)?;
    seconds_bounds(&Params::parse(query)?)?;
    Ok(state.query.trace(&tenant, id).await?)
}

pub(crate) async fn v1(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(raw_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, TempoError> {
    let found = lookup(&state, &headers, &raw_id, query).await?;
    if found.spans.is_empty() {
        return Ok(not_found());
    }
    let trace = Trace {
        resource_spans: otlp::to_resource_spans(&found.spans),
    };
    if wants_protobuf(&headers) {
        return Ok(protobuf(&trace));
    }
    Ok(
        Json(json!({ "batches": otlp_json::resource_spans(&trace.resource_spans) }))
            .into_response(),
    )
}

pub(crate) async fn v2(
    State(state): State<ApiState>,
    headers: HeaderMap,
    Path(raw_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, TempoError> {
    let found = lookup(&state, &headers, &raw_id, query).await?;
    let (status, message) = if found.unreadable_blocks.is_empty() {
        (PartialStatus::Complete, String::new())
    } else {
        (
            PartialStatus::Partial,
            format!(
                "trace may be incomplete: blocks unreadable: {}",
                found.unreadable_blocks.join(", ")
            ),
        )
    };
    let response = TraceByIdResponse {
        trace: Some(Trace {
            resource_spans: otlp::to_resource_spans(&found.spans),
        }),
        metrics: Some(TraceByIdMetrics::default()),
        status: status as i32,
        message,
    };
    if wants_protobuf(&headers) {
        return Ok(protobuf(&response));
    }
    Ok(Json(v2_json(&response)).into_response())
}

fn v2_json(response: &TraceByIdResponse) -> Value {
    let mut trace = serde_json::Map::new();
    let spans = response
        .trace
        .as_ref()
        .map(|t| otlp_json::resource_spans(&t.resource_spans))
        .unwrap_or_default();
    if !spans.is_empty() {
        trace.insert("resourceSpans".into(), Value::Array(spans));
    }
    let mut body = json!({ "trace": trace, "metrics": {} });
    if response.status == PartialStatus::Partial as i32 {
        body["status"] = "PARTIAL".into();
        body["message"] = response.message.clone().into();
    }
    body
}

#[cfg(test)]
mod tests {
    use super::parse_trace_id;

    #[test]
    fn trace_ids_are_left_padded_hex() {
        assert_eq!(
            parse_trace_id("abc").unwrap().to_hex(),
            "00000000000000000000000000000abc"
        );
        for bad in ["", "xyz", "0", &"1".repeat(33)] {
            assert!(parse_trace_id(bad).is_err(), "{bad}");
        }
    }
}
