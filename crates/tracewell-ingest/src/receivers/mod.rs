//! The receivers: each decodes one wire format and calls [`crate::Ingester::export`] (spans) or
//! [`crate::Ingester::export_logs`] (log records).

pub mod otlp_grpc;
pub mod otlp_http;
pub mod signal;
pub mod zipkin;

use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};

use crate::error::IngestError;

/// Header value as text, if present and ASCII.
pub(crate) fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The tenant header's raw bytes.
pub(crate) fn tenant_header(headers: &HeaderMap) -> Option<&[u8]> {
    headers.get(crate::TENANT_HEADER).map(HeaderValue::as_bytes)
}

/// An error as a JSON HTTP response (`{"code": <grpc code>, "message": "..."}`, the JSON form of
/// `google.rpc.Status`), with `Retry-After` on retryable errors.
pub(crate) fn json_error(error: &IngestError) -> Response {
    let body =
        serde_json::json!({ "code": error.grpc_code() as i32, "message": error.to_string() });
    with_retry_after(
        error,
        (error.http_status(), axum::Json(body)).into_response(),
    )
}

pub(crate) fn with_retry_after(error: &IngestError, mut response: Response) -> Response {
    if let Some(delay) = error.retry_after() {
        let secs = delay.as_secs().max(1).to_string();
        if let Ok(value) = HeaderValue::from_str(&secs) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
    }
    response
}
