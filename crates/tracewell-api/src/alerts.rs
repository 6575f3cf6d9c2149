//! `GET /api/v1/alerts`: the alerting rules of the requesting tenant with their states, recent transitions, and
//! the notifiers' delivery counters. Without a rules file the lists are empty.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::extract::Tenant;
use crate::{ApiError, ApiState};

pub(crate) fn routes() -> Router<ApiState> {
    Router::new().route("/api/v1/alerts", get(alerts))
}

async fn alerts(
    State(state): State<ApiState>,
    Tenant(tenant): Tenant,
) -> Result<Response, ApiError> {
    Ok(match &state.alerts {
        Some(engine) => Json(engine.view(&tenant)).into_response(),
        None => Json(json!({
            "evaluationIntervalMs": null,
            "rules": [],
            "history": [],
            "notifiers": [],
        }))
        .into_response(),
    })
}
