//! `orders`: takes an order (prices each item from the catalogue over HTTP, stores it, publishes
//! `demo.orders.created` for the fulfilment worker) and answers order lookups.

use std::sync::atomic::Ordering;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rand::Rng;
use reqwest_middleware::ClientWithMiddleware;
use serde::{Deserialize, Serialize};
use tracewell_instrument::Instrumentation;

use super::{error_response, Stats};
use crate::broker::{Broker, ORDERS_SUBJECT};
use crate::db::Db;
use crate::faults::Faults;

/// Items per order, at most.
const MAX_ITEMS: usize = 20;

#[derive(Clone)]
struct Orders {
    db: Db,
    broker: Broker,
    faults: Faults,
    catalog: String,
    client: ClientWithMiddleware,
    instrumentation: Instrumentation,
    stats: Stats,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Item {
    product_id: i64,
    quantity: i64,
}

#[derive(Deserialize)]
struct NewOrder {
    customer: String,
    items: Vec<Item>,
}

/// The event the fulfilment worker consumes.
#[derive(Serialize, Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct OrderCreated {
    pub order_id: i64,
    pub customer: String,
    pub total_cents: i64,
    /// A currency the worker cannot handle: the injected poison message.
    pub currency: String,
}

pub fn router(
    db: Db,
    broker: Broker,
    faults: Faults,
    catalog_url: String,
    instrumentation: Instrumentation,
    stats: Stats,
) -> Router {
    Router::new()
        .route("/orders", post(create))
        .route("/orders/{id}", get(lookup))
        .with_state(Orders {
            db,
            broker,
            faults,
            catalog: catalog_url,
            client: super::client(&instrumentation),
            instrumentation,
            stats,
        })
}

async fn create(State(o): State<Orders>, body: axum::body::Bytes) -> Response {
    let order: NewOrder = match serde_json::from_slice(&body) {
        Ok(order) => order,
        Err(e) => return error_response(StatusCode::BAD_REQUEST, format!("invalid order: {e}")),
    };
    if order.items.is_empty() || order.items.len() > MAX_ITEMS {
        return error_response(
            StatusCode::BAD_REQUEST,
            format!(
                "an order has 1 to {MAX_ITEMS} items, got {}",
                order.items.len()
            ),
        );
    }
    let mut total = 0_i64;
    for item in &order.items {
        if !(1..=100).contains(&item.quantity) {
            return error_response(StatusCode::BAD_REQUEST, "quantity must be 1 to 100");
        }
        let url = format!("{}/products/{}", o.catalog, item.product_id);
        let response = match o.client.get(&url).send().await {
            Ok(r) => r,
            Err(e) => return error_response(StatusCode::BAD_GATEWAY, format!("catalog: {e}")),
        };
        match response.status().as_u16() {
            200 => {}
            404 => {
                return error_response(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!("unknown product {}", item.product_id),
                )
            }
            status => {
                return error_response(
                    StatusCode::BAD_GATEWAY,
                    format!("catalog answered {status}"),
                )
            }
        }
        let body: serde_json::Value = match response.json().await {
            Ok(b) => b,
            Err(e) => return error_response(StatusCode::BAD_GATEWAY, format!("catalog: {e}")),
        };
        let price = body["product"]["price_cents"].as_i64().unwrap_or(0);
        total += price * item.quantity;
    }
    let order_id = rand::rng().random_range(1..i64::MAX);
    if let Err(e) =
        o.db.insert_order(&o.instrumentation, order_id, &order.customer, total)
            .await
    {
        return error_response(StatusCode::INTERNAL_SERVER_ERROR, e.to_string());
    }
    let poison = rand::rng().random_bool(o.faults.poison_rate().clamp(0.0, 1.0));
    let event = OrderCreated {
        order_id,
        customer: order.customer,
        total_cents: total,
        currency: if poison { "XXX".into() } else { "EUR".into() },
    };
    let payload = serde_json::to_vec(&event).unwrap_or_default();
    if let Err(e) = o
        .broker
        .publish(&o.instrumentation, ORDERS_SUBJECT, payload.into())
        .await
    {
        return error_response(StatusCode::SERVICE_UNAVAILABLE, e.to_string());
    }
    o.stats.published.fetch_add(1, Ordering::Relaxed);
    tracing::info!(
        order_id,
        customer = event.customer.as_str(),
        items = order.items.len(),
        total_cents = total,
        "order received"
    );
    (
        StatusCode::CREATED,
        Json(serde_json::json!({"orderId": order_id, "totalCents": total})),
    )
        .into_response()
}

async fn lookup(State(o): State<Orders>, Path(id): Path<i64>) -> Response {
    match o.db.order(&o.instrumentation, id).await {
        Ok(Some((status, total))) => {
            Json(serde_json::json!({"orderId": id, "status": status, "totalCents": total}))
                .into_response()
        }
        Ok(None) => error_response(StatusCode::NOT_FOUND, format!("no order {id}")),
        Err(e) => error_response(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}
