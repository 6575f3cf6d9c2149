//! `catalog`: products by category and by id, from the database. With the N+1 fault on, a category
//! listing runs one query for the ids and two more per product.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use tracewell_instrument::Instrumentation;

use super::error_response;
use crate::db::{Db, CATEGORIES};
use crate::faults::Faults;

#[derive(Clone)]
struct Catalog {
    db: Db,
    faults: Faults,
    instrumentation: Instrumentation,
}

pub fn router(db: Db, faults: Faults, instrumentation: Instrumentation) -> Router {
    Router::new()
        .route("/products", get(list))
        .route("/products/{id}", get(one))
        .with_state(Catalog {
            db,
            faults,
            instrumentation,
        })
}

#[derive(Deserialize)]
struct ListQuery {
    category: Option<String>,
}

async fn list(State(c): State<Catalog>, Query(q): Query<ListQuery>) -> Response {
    let category = q.category.unwrap_or_else(|| CATEGORIES[0].to_string());
    if !CATEGORIES.contains(&category.as_str()) {
        return error_response(
            StatusCode::BAD_REQUEST,
            format!(
                "unknown category {category:?}; known: {}",
                CATEGORIES.join(", ")
            ),
        );
    }
    let products = if c.faults.n_plus_one() {
        let ids = match c.db.product_ids_in(&c.instrumentation, &category).await {
            Ok(ids) => ids,
            Err(e) => return error_response(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        };
        let queries = 1 + 2 * ids.len();
        let mut products = Vec::with_capacity(ids.len());
        for id in ids {
            match c.db.product(&c.instrumentation, id).await {
                Ok(Some(p)) => products.push(p),
                Ok(None) => {}
                Err(e) => return error_response(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
            }
            if let Err(e) = c.db.stock(&c.instrumentation, id).await {
                return error_response(StatusCode::INTERNAL_SERVER_ERROR, e.to_string());
            }
        }
        tracing::warn!(
            category = category.as_str(),
            products = products.len(),
            queries,
            "N+1 queries: the listing ran two queries per product"
        );
        products
    } else {
        match c.db.products_in(&c.instrumentation, &category).await {
            Ok(p) => p,
            Err(e) => return error_response(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        }
    };
    Json(products).into_response()
}

async fn one(State(c): State<Catalog>, Path(id): Path<i64>) -> Response {
    match c.db.product(&c.instrumentation, id).await {
        Ok(Some(product)) => {
            let stock = c.db.stock(&c.instrumentation, id).await.unwrap_or(0);
            Json(serde_json::json!({"product": product, "stock": stock})).into_response()
        }
        Ok(None) => error_response(StatusCode::NOT_FOUND, format!("no product {id}")),
        Err(e) => error_response(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}
