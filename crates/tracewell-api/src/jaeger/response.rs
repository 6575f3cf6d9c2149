//! Jaeger's response shapes: the v1 envelope `{data,total,limit,offset,errors}` (all five keys always present,
//! errors as `[{code,msg}]` with `code` equal to the HTTP status), `?prettyPrint` indentation, and api_v3's
//! `{"error":{"httpCode","message"}}`.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{json, Value};

use crate::native::Params;
use crate::ApiError;

/// A v1 answer: `data` in the envelope, `total` as Jaeger sets it (only the catalog endpoints count).
pub(crate) fn envelope(data: Value, total: usize, params: &Params) -> Response {
    envelope_with_errors(data, total, Value::Null, params)
}

/// A v1 answer whose `errors` lists per-trace problems while the status stays 200 (multi-id lookups).
pub(crate) fn envelope_with_errors(
    data: Value,
    total: usize,
    errors: Value,
    params: &Params,
) -> Response {
    let body = json!({"data": data, "total": total, "limit": 0, "offset": 0, "errors": errors});
    json_response(StatusCode::OK, &body, pretty(params))
}

/// `prettyPrint` given with any value but `false`.
fn pretty(params: &Params) -> bool {
    params.get("prettyPrint").is_some_and(|v| v != "false")
}

/// A JSON body, indented by four spaces when asked.
pub(crate) fn json_response(status: StatusCode, body: &impl Serialize, pretty: bool) -> Response {
    let text = if pretty {
        let mut out = Vec::new();
        let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
        let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
        match body.serialize(&mut ser) {
            Ok(()) => String::from_utf8(out).unwrap_or_default(),
            Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        }
    } else {
        match serde_json::to_string(body) {
            Ok(text) => text,
            Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        }
    };
    (status, [(header::CONTENT_TYPE, "application/json")], text).into_response()
}

/// An error on the v1 API: the envelope with `data: null` and one `{code, msg}`.
#[derive(Debug)]
pub(crate) struct V1Error(pub ApiError);

impl<E: Into<ApiError>> From<E> for V1Error {
    fn from(error: E) -> Self {
        Self(error.into())
    }
}

impl IntoResponse for V1Error {
    fn into_response(self) -> Response {
        let status = self.0.status();
        let body = json!({
            "data": null, "total": 0, "limit": 0, "offset": 0,
            "errors": [{"code": status.as_u16(), "msg": self.0.to_string()}],
        });
        self.0.with_retry_after(json_response(status, &body, false))
    }
}

/// An error on api_v3: `{"error":{"httpCode":N,"message":"..."}}`.
#[derive(Debug)]
pub(crate) struct V3Error(pub ApiError);

impl<E: Into<ApiError>> From<E> for V3Error {
    fn from(error: E) -> Self {
        Self(error.into())
    }
}

impl IntoResponse for V3Error {
    fn into_response(self) -> Response {
        let status = self.0.status();
        let body = json!({"error": {"httpCode": status.as_u16(), "message": self.0.to_string()}});
        self.0.with_retry_after(json_response(status, &body, false))
    }
}
