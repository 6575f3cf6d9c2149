//! Live tail: `GET /api/v1/tail` streams spans as they are acknowledged, as Server-Sent Events, filtered by the
//! search conditions (`service`, `operation`, `kind`, `status`, `tag`).
//!
//! Each client has a bounded buffer of spans; when it reads too slowly, spans are dropped and a `dropped` event
//! says how many once there is room again. Concurrent tails are capped (one more is answered 429). Ingest pays
//! nothing while nobody tails: the store copies spans for the broadcast only when it has subscribers. Streams end
//! when the server shuts down.

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::sync::{broadcast, mpsc, watch};
use tracewell_model::{AttrValue, Span};
use tracewell_query::{status_name, SpanFilter};

use crate::extract::Tenant;
use crate::native::{search_request, Params};
use crate::{ApiError, ApiState};

/// Limits of live tails and the switch that ends them at shutdown.
#[derive(Debug)]
pub struct TailHub {
    max_clients: usize,
    buffer_spans: usize,
    active: AtomicUsize,
    closing: watch::Sender<bool>,
}

impl TailHub {
    /// `max_clients` concurrent tails, each buffering up to `buffer_spans` spans.
    pub fn new(max_clients: usize, buffer_spans: usize) -> Self {
        Self {
            max_clients,
            buffer_spans: buffer_spans.max(1),
            active: AtomicUsize::new(0),
            closing: watch::channel(false).0,
        }
    }

    /// Ends every open tail (at shutdown, so graceful shutdown does not wait for endless streams).
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    pub fn active(&self) -> usize {
        self.active.load(Ordering::Relaxed)
    }
}

impl Default for TailHub {
    fn default() -> Self {
        Self::new(16, 10_000)
    }
}

/// Releases a tail slot when the stream ends.
struct Slot(Arc<TailHub>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::Relaxed);
    }
}

pub(crate) fn routes() -> Router<ApiState> {
    Router::new().route("/api/v1/tail", get(tail))
}

fn attr_json(v: &AttrValue) -> Value {
    match v {
        AttrValue::Str(s) => json!(s),
        AttrValue::Bool(b) => json!(b),
        AttrValue::Int(i) => json!(i),
        AttrValue::Double(d) => json!(d),
        AttrValue::Bytes(b) => json!(hex::encode(b)),
        AttrValue::Array(items) => Value::Array(items.iter().map(attr_json).collect()),
        AttrValue::Map(entries) => Value::Object(
            entries
                .iter()
                .map(|a| (a.key.clone(), attr_json(&a.value)))
                .collect(),
        ),
        AttrValue::Empty => Value::Null,
    }
}

fn span_json(span: &Span) -> Value {
    json!({
        "traceId": span.trace_id.to_hex(),
        "spanId": span.span_id.to_hex(),
        "parentSpanId": span.parent_span_id.map(|p| p.to_hex()),
        "service": span.service_name(),
        "name": span.name,
        "kind": span.kind.as_str(),
        "startUnixNano": span.start_unix_nano.to_string(),
        "durationNano": span.duration_nano().to_string(),
        "status": status_name(span.status.code),
        "statusMessage": span.status.message,
        "attributes": span.attributes.iter().map(|a| (a.key.clone(), attr_json(&a.value))).collect::<serde_json::Map<_, _>>(),
    })
}

enum Item {
    Span(Value),
    Dropped { spans: u64, batches: u64 },
}

async fn tail(
    State(state): State<ApiState>,
    Tenant(tenant): Tenant,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(q)?;
    let filter = SpanFilter::new(search_request(&params, 1)?);
    let hub = Arc::clone(&state.tail);
    if hub.active.fetch_add(1, Ordering::Relaxed) >= hub.max_clients {
        hub.active.fetch_sub(1, Ordering::Relaxed);
        let message = format!(
            "too many live tails (limit {}); close one or try again later",
            hub.max_clients
        );
        return Ok((
            StatusCode::TOO_MANY_REQUESTS,
            Json(json!({"error": message, "status": 429})),
        )
            .into_response());
    }
    let slot = Slot(Arc::clone(&hub));
    let mut batches = state.store.subscribe_live();
    let mut closing = hub.closing.subscribe();
    let (tx, rx) = mpsc::channel::<Item>(hub.buffer_spans);
    tokio::spawn(async move {
        let _slot = slot;
        let (mut dropped_spans, mut dropped_batches) = (0u64, 0u64);
        loop {
            let batch = tokio::select! {
                _ = tx.closed() => break,
                _ = closing.wait_for(|c| *c) => break,
                batch = batches.recv() => batch,
            };
            let batch = match batch {
                Ok(batch) => batch,
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    dropped_batches += n;
                    continue;
                }
                Err(broadcast::error::RecvError::Closed) => break,
            };
            if batch.tenant != tenant {
                continue;
            }
            for span in batch.spans.iter().filter(|s| filter.matches(s)) {
                if dropped_spans + dropped_batches > 0 {
                    let notice = Item::Dropped {
                        spans: dropped_spans,
                        batches: dropped_batches,
                    };
                    match tx.try_send(notice) {
                        Ok(()) => (dropped_spans, dropped_batches) = (0, 0),
                        Err(mpsc::error::TrySendError::Full(_)) => {
                            dropped_spans += 1;
                            continue;
                        }
                        Err(mpsc::error::TrySendError::Closed(_)) => return,
                    }
                }
                match tx.try_send(Item::Span(span_json(span))) {
                    Ok(()) => {}
                    Err(mpsc::error::TrySendError::Full(_)) => dropped_spans += 1,
                    Err(mpsc::error::TrySendError::Closed(_)) => return,
                }
            }
        }
    });
    let events = futures::stream::unfold(rx, |mut rx| async move {
        let item = rx.recv().await?;
        let event = match item {
            Item::Span(v) => Event::default().event("span").data(v.to_string()),
            Item::Dropped { spans, batches } => Event::default()
                .event("dropped")
                .data(json!({"spans": spans, "batches": batches}).to_string()),
        };
        Some((Ok::<_, Infallible>(event), rx))
    });
    Ok(Sse::new(events)
        .keep_alive(
            KeepAlive::new()
                .interval(Duration::from_secs(15))
                .text("keep-alive"),
        )
        .into_response())
}
