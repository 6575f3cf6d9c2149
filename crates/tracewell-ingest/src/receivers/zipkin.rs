//! Zipkin v2 JSON: `POST /api/v2/spans`. Spans are converted to an OTLP request (`tracewell_model::zipkin`) and
//! take the same path as OTLP. Zipkin has no partial-success response, so rejected spans are reported in the
//! `X-Tracewell-Rejected-Spans` header (and in metrics) while the request still answers 202.

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;

use super::otlp_http::read_body;
use super::{header_str, json_error, tenant_header};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use tracewell_model::TenantId;

use crate::error::IngestError;
use crate::pipeline::{Ingester, Receiver};

/// Routes of the Zipkin receiver.
pub fn router(ingester: Ingester) -> Router {
    Router::new()
        .route("/api/v2/spans", post(spans))
        .with_state(ingester)
}

async fn spans(State(ingester): State<Ingester>, headers: HeaderMap, body: Body) -> Response {
    let _permit = match ingester.admit() {
        Ok(permit) => permit,
        Err(error) => {
            ingester.refused(Receiver::Zipkin, &error);
            return json_error(&error);
        }
    };
    let (tenant, request) = match decode_request(&ingester, &headers, body).await {
        Ok(decoded) => decoded,
        Err(error) => {
            ingester.refused(Receiver::Zipkin, &error);
            return json_error(&error);
        }
    };
    let outcome = match ingester.export(Receiver::Zipkin, &tenant, request).await {
        Ok(outcome) => outcome,
        Err(error) => return json_error(&error),
    };
    let mut response = StatusCode::ACCEPTED.into_response();
    if outcome.rejected > 0 {
        let headers = response.headers_mut();
        headers.insert(
            "x-tracewell-rejected-spans",
            HeaderValue::from(outcome.rejected),
        );
        if let Ok(message) = HeaderValue::from_str(&outcome.message) {
            headers.insert("x-tracewell-rejected-reason", message);
        }
    }
    response
}

async fn decode_request(
    ingester: &Ingester,
    headers: &HeaderMap,
    body: Body,
) -> Result<(TenantId, ExportTraceServiceRequest), IngestError> {
    let content_type =
        header_str(headers, header::CONTENT_TYPE.as_str()).unwrap_or("application/json");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence != "application/json" {
        return Err(IngestError::UnsupportedMediaType {
            got: content_type.to_owned(),
            accepted: "application/json (Zipkin v2 JSON)",
        });
    }
    let tenant = ingester.tenant(tenant_header(headers))?;
    let body = read_body(ingester, headers, body).await?;
    let request = tracewell_model::zipkin::decode_zipkin_json(&body)
        .map_err(|e| IngestError::Malformed(e.to_string()))?;
    Ok((tenant, request))
}
