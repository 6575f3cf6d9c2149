//! The shop's services. HTTP services share one way of being served (trace layer outermost, fault
//! injection inside it so spans show injected latency and errors); each has its own tracer and logger
//! provider, so its spans and log records carry its own `service.name`: each request is handled under
//! the service's `tracing` dispatcher (`Telemetry::log_dispatch`), which exports the events of the
//! handler as the service's log records, with the ids of the span they were emitted in.

pub mod catalog;
pub mod gateway;
pub mod orders;
pub mod payments;
pub mod worker;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use reqwest_middleware::ClientWithMiddleware;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracewell_instrument::http::TraceLayer;
use tracewell_instrument::Instrumentation;
use tracing::instrument::WithSubscriber;

use crate::faults::{self, Faults};

/// Counters the demo and its tests read: orders accepted and orders that reached a final state
/// (paid, declined, or failed through the dead-letter queue).
#[derive(Debug, Default)]
pub struct OrderStats {
    pub published: AtomicU64,
    pub settled: AtomicU64,
    pub dead_lettered: AtomicU64,
}

impl OrderStats {
    pub fn pending(&self) -> u64 {
        self.published
            .load(Ordering::Relaxed)
            .saturating_sub(self.settled.load(Ordering::Relaxed))
    }
}

/// Binds `addr` and serves `router` for service `name` until `stop` turns true; requests are handled
/// under `logs`, the service's `tracing` dispatcher.
pub async fn serve(
    name: &'static str,
    addr: SocketAddr,
    router: Router,
    instrumentation: &Instrumentation,
    logs: tracing::Dispatch,
    faults: &Faults,
    mut stop: watch::Receiver<bool>,
) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let router = router
        .layer(axum::middleware::from_fn_with_state(
            (faults.clone(), name),
            faults::inject,
        ))
        .layer(TraceLayer::new(instrumentation.clone()))
        .layer(axum::middleware::from_fn(
            move |request: Request, next: Next| {
                let logs = logs.clone();
                async move { next.run(request).with_subscriber(logs).await }
            },
        ));
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let task = tokio::spawn(async move {
        let shutdown = async move {
            while !*stop.borrow() {
                if stop.changed().await.is_err() {
                    break;
                }
            }
        };
        if let Err(error) = axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(%error, service = name, "demo service stopped");
        }
    });
    Ok((bound, task))
}

/// An error answer with a JSON body `{"error": message}`.
pub fn error_response(status: StatusCode, message: impl Into<String>) -> Response {
    (
        status,
        axum::Json(serde_json::json!({"error": message.into()})),
    )
        .into_response()
}

/// Forwards a downstream answer (status and JSON body) to the caller.
pub async fn relay(result: reqwest_middleware::Result<reqwest::Response>, what: &str) -> Response {
    match result {
        Ok(response) => {
            let status =
                StatusCode::from_u16(response.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
            match response.bytes().await {
                Ok(body) => (
                    status,
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    body,
                )
                    .into_response(),
                Err(e) => error_response(StatusCode::BAD_GATEWAY, format!("{what}: {e}")),
            }
        }
        Err(e) => {
            tracing::warn!(downstream = what, error = %e, "downstream call failed");
            error_response(StatusCode::BAD_GATEWAY, format!("{what}: {e}"))
        }
    }
}

/// A traced HTTP client for one service.
pub fn client(instrumentation: &Instrumentation) -> ClientWithMiddleware {
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .unwrap_or_default();
    tracewell_instrument::http::reqwest::traced_client(http, instrumentation.clone())
}

/// Shared counters, for handlers.
pub type Stats = Arc<OrderStats>;
