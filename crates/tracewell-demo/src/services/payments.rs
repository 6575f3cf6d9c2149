//! `payments`: authorises a charge after a short, variable processing delay; charges above 500.00
//! are declined (402), as a card network would.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use opentelemetry::trace::{TraceContextExt, Tracer};
use opentelemetry::KeyValue;
use rand::Rng;
use serde::Deserialize;
use tracewell_instrument::Instrumentation;

use super::error_response;

/// Charges above this many cents are declined.
pub const DECLINE_ABOVE_CENTS: i64 = 50_000;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Charge {
    order_id: i64,
    amount_cents: i64,
}

pub fn router(instrumentation: Instrumentation) -> Router {
    Router::new()
        .route("/charges", post(charge))
        .with_state(instrumentation)
}

async fn charge(
    State(instrumentation): State<Instrumentation>,
    body: axum::body::Bytes,
) -> Response {
    let charge: Charge = match serde_json::from_slice(&body) {
        Ok(c) => c,
        Err(e) => return error_response(StatusCode::BAD_REQUEST, format!("invalid charge: {e}")),
    };
    // The card network round trip, as an INTERNAL span of its own.
    let tracer = instrumentation.tracer();
    let span = tracer
        .span_builder("authorize card")
        .with_attributes([
            KeyValue::new("payment.order_id", charge.order_id),
            KeyValue::new("payment.amount_cents", charge.amount_cents),
        ])
        .start(tracer);
    let cx = opentelemetry::Context::current_with_span(span);
    let delay = Duration::from_millis(rand::rng().random_range(5..25));
    tokio::time::sleep(delay).await;
    let declined = charge.amount_cents > DECLINE_ABOVE_CENTS;
    cx.span()
        .set_attribute(KeyValue::new("payment.declined", declined));
    if declined {
        let _authorizing = cx.clone().attach();
        tracing::warn!(
            order_id = charge.order_id,
            amount_cents = charge.amount_cents,
            limit_cents = DECLINE_ABOVE_CENTS,
            "card declined: amount over limit"
        );
    }
    cx.span().end();
    if declined {
        return error_response(
            StatusCode::PAYMENT_REQUIRED,
            "card declined: amount over limit",
        );
    }
    (
        StatusCode::CREATED,
        Json(serde_json::json!({"chargeId": format!("ch_{}", charge.order_id), "orderId": charge.order_id})),
    )
        .into_response()
}
