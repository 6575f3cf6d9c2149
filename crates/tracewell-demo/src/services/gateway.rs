//! `gateway`: the edge. It starts the traces (and samples them, `--sample-ratio`) and routes the public
//! API to the catalogue and order services.

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use reqwest_middleware::ClientWithMiddleware;
use tracewell_instrument::Instrumentation;

use super::relay;

#[derive(Clone)]
struct Gateway {
    catalog: String,
    orders: String,
    client: ClientWithMiddleware,
}

pub fn router(
    catalog_url: String,
    orders_url: String,
    instrumentation: &Instrumentation,
) -> Router {
    Router::new()
        .route("/api/products", get(products))
        .route("/api/products/{id}", get(product))
        .route("/api/checkout", post(checkout))
        .route("/api/orders/{id}", get(order))
        .with_state(Gateway {
            catalog: catalog_url,
            orders: orders_url,
            client: super::client(instrumentation),
        })
}

async fn products(State(g): State<Gateway>, RawQuery(query): RawQuery) -> Response {
    let url = match query {
        Some(q) => format!("{}/products?{q}", g.catalog),
        None => format!("{}/products", g.catalog),
    };
    relay(g.client.get(url).send().await, "catalog").await
}

async fn product(State(g): State<Gateway>, Path(id): Path<String>) -> Response {
    relay(
        g.client
            .get(format!("{}/products/{id}", g.catalog))
            .send()
            .await,
        "catalog",
    )
    .await
}

async fn checkout(State(g): State<Gateway>, body: axum::body::Bytes) -> Response {
    relay(
        g.client
            .post(format!("{}/orders", g.orders))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await,
        "orders",
    )
    .await
}

async fn order(State(g): State<Gateway>, Path(id): Path<String>) -> Response {
    relay(
        g.client
            .get(format!("{}/orders/{id}", g.orders))
            .send()
            .await,
        "orders",
    )
    .await
}
