//! OTLP over HTTP: `POST /v1/traces` and `POST /v1/logs` with `application/x-protobuf` or `application/json`
//! bodies (OTLP/JSON: hex ids, integer enums, unknown fields ignored), optionally gzip-encoded. The response
//! uses the request's content type, as the OTLP specification requires.

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use bytes::Bytes;
use prost::Message;
use tracewell_model::TenantId;

use super::signal::{Logs, Signal, Traces};
use super::{header_str, json_error, tenant_header, with_retry_after};
use crate::decode::decode_body;
use crate::error::IngestError;
use crate::pipeline::{Ingester, Receiver};

const PROTOBUF: &str = "application/x-protobuf";
const JSON: &str = "application/json";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Protobuf,
    Json,
}

/// Routes of the OTLP/HTTP receiver.
pub fn router(ingester: Ingester) -> Router {
    Router::new()
        .route("/v1/traces", post(export::<Traces>))
        .route("/v1/logs", post(export::<Logs>))
        .with_state(ingester)
}

async fn export<S: Signal>(
    State(ingester): State<Ingester>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let format = match content_format(&headers) {
        Ok(f) => f,
        Err(error) => {
            ingester.refused(Receiver::OtlpHttp, &error);
            return json_error(&error);
        }
    };
    let _permit = match ingester.admit() {
        Ok(permit) => permit,
        Err(error) => {
            ingester.refused(Receiver::OtlpHttp, &error);
            return error_response(format, &error);
        }
    };
    let (tenant, request) = match decode_request::<S>(&ingester, &headers, format, body).await {
        Ok(decoded) => decoded,
        Err(error) => {
            ingester.refused(Receiver::OtlpHttp, &error);
            return error_response(format, &error);
        }
    };
    let (request, encoded) = request;
    match S::export(ingester, Receiver::OtlpHttp, tenant, request, encoded).await {
        Ok(response) => match format {
            Format::Protobuf => {
                ([(header::CONTENT_TYPE, PROTOBUF)], response.encode_to_vec()).into_response()
            }
            Format::Json => axum::Json(tracewell_model::otlp::to_json(&response)).into_response(),
        },
        Err(error) => error_response(format, &error),
    }
}

async fn decode_request<S: Signal>(
    ingester: &Ingester,
    headers: &HeaderMap,
    format: Format,
    body: Body,
) -> Result<(TenantId, (S::Request, Option<Bytes>)), IngestError> {
    let tenant = ingester.tenant(tenant_header(headers))?;
    let body = read_body(ingester, headers, body).await?;
    let decoded = match format {
        Format::Protobuf => {
            let request = S::Request::decode(body.clone())
                .map_err(|e| IngestError::Malformed(format!("invalid OTLP protobuf: {e}")))?;
            (request, Some(body))
        }
        Format::Json => {
            let request = serde_json::from_slice(&body)
                .map_err(|e| IngestError::Malformed(format!("invalid OTLP JSON: {e}")))?;
            (request, None)
        }
    };
    Ok((tenant, decoded))
}

/// Reads the body with the size limit on both the raw and the decompressed bytes.
pub(crate) async fn read_body(
    ingester: &Ingester,
    headers: &HeaderMap,
    body: Body,
) -> Result<Bytes, IngestError> {
    let limit = ingester.max_request_bytes(super::tenant_header(headers));
    let raw = read_limited(body, limit).await?;
    decode_body(
        header_str(headers, header::CONTENT_ENCODING.as_str()),
        raw,
        limit,
    )
}

/// Bytes of an oversize body read and dropped before the refusal is sent: a client writes its whole body before it
/// reads the answer, so a server that stops reading at the limit and closes the connection leaves it with a broken
/// pipe instead of the 413. Past this much, the connection is closed anyway.
const OVERSIZE_DRAIN_BYTES: usize = 64 * 1024 * 1024;

/// The body, or `TooLarge` once it passes `limit` bytes (after draining up to [`OVERSIZE_DRAIN_BYTES`] more).
async fn read_limited(mut body: Body, limit: usize) -> Result<Bytes, IngestError> {
    use http_body::Body as _;
    let too_large = IngestError::TooLarge {
        limit,
        decompressed: false,
    };
    let mut collected = bytes::BytesMut::new();
    let mut over = false;
    let mut drained = 0usize;
    while let Some(frame) =
        std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await
    {
        let Ok(frame) = frame else {
            return Err(if over {
                too_large
            } else {
                IngestError::Malformed("the request body could not be read".into())
            });
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if over {
            drained += data.len();
            if drained > OVERSIZE_DRAIN_BYTES {
                break;
            }
        } else if collected.len() + data.len() > limit {
            over = true;
            collected = bytes::BytesMut::new();
        } else {
            collected.extend_from_slice(&data);
        }
    }
    if over {
        return Err(too_large);
    }
    Ok(collected.freeze())
}

fn content_format(headers: &HeaderMap) -> Result<Format, IngestError> {
    let raw = header_str(headers, header::CONTENT_TYPE.as_str()).unwrap_or("");
    let essence = raw
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        PROTOBUF | "application/protobuf" => Ok(Format::Protobuf),
        JSON => Ok(Format::Json),
        _ => Err(IngestError::UnsupportedMediaType {
            got: raw.to_owned(),
            accepted: "application/x-protobuf or application/json",
        }),
    }
}

/// An error body in the request's format: `google.rpc.Status` as protobuf, or its JSON form.
fn error_response(format: Format, error: &IngestError) -> Response {
    match format {
        Format::Json => json_error(error),
        Format::Protobuf => {
            let status = RpcStatus {
                code: error.grpc_code() as i32,
                message: error.to_string(),
            };
            let status_code: StatusCode = error.http_status();
            let response = (
                status_code,
                [(header::CONTENT_TYPE, PROTOBUF)],
                status.encode_to_vec(),
            )
                .into_response();
            with_retry_after(error, response)
        }
    }
}

/// `google.rpc.Status` without details.
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}
