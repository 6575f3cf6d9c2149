//! The asynchronous side: `fulfilment-worker` charges each new order through `payments` and marks it
//! paid or declined (a poison order fails every attempt and is dead-lettered);
//! `dead-letter-processor` marks dead-lettered orders failed. A failed attempt is logged in the span of
//! that attempt: a warning while attempts are left, an error on the last one.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use futures::FutureExt;
use reqwest_middleware::ClientWithMiddleware;
use tracewell_instrument::Instrumentation;

use super::orders::OrderCreated;
use super::Stats;
use crate::broker::{Handler, Message};
use crate::db::Db;
use crate::faults::Faults;

/// The fulfilment worker's handler; `max_attempts` is the retry policy's (the last attempt's failure
/// dead-letters the order).
pub fn fulfilment(
    db: Db,
    faults: Faults,
    payments_url: String,
    instrumentation: Instrumentation,
    stats: Stats,
    max_attempts: u32,
) -> Handler {
    let client: ClientWithMiddleware = super::client(&instrumentation);
    Arc::new(move |message: Message| {
        let (db, faults, client, url, instrumentation, stats) = (
            db.clone(),
            faults.clone(),
            client.clone(),
            payments_url.clone(),
            instrumentation.clone(),
            stats.clone(),
        );
        let attempt = message.attempt;
        async move {
            let outcome = fulfil(message, db, faults, client, url, instrumentation, stats).await;
            if let Err(error) = &outcome {
                if attempt >= max_attempts {
                    tracing::error!(
                        attempt,
                        max_attempts,
                        error = error.as_str(),
                        "order failed its last attempt: dead-lettering it"
                    );
                } else {
                    tracing::warn!(
                        attempt,
                        max_attempts,
                        error = error.as_str(),
                        "order processing failed: it will be retried"
                    );
                }
            }
            outcome
        }
        .boxed()
    })
}

/// One attempt at an order: charge it, record the outcome.
async fn fulfil(
    message: Message,
    db: Db,
    faults: Faults,
    client: ClientWithMiddleware,
    url: String,
    instrumentation: Instrumentation,
    stats: Stats,
) -> Result<(), String> {
    let slow = faults.slow_consumer();
    if !slow.is_zero() {
        tokio::time::sleep(slow).await;
    }
    let order: OrderCreated = serde_json::from_slice(&message.payload)
        .map_err(|e| format!("cannot decode order: {e}"))?;
    if order.currency != "EUR" {
        return Err(format!(
            "cannot charge order {}: unsupported currency {:?}",
            order.order_id, order.currency
        ));
    }
    let response = client
        .post(format!("{url}/charges"))
        .json(&serde_json::json!({"orderId": order.order_id, "amountCents": order.total_cents}))
        .send()
        .await
        .map_err(|e| format!("payments unreachable: {e}"))?;
    let status = match response.status().as_u16() {
        201 => "paid",
        402 => "declined",
        other => return Err(format!("payments answered {other}")),
    };
    db.set_order_status(&instrumentation, order.order_id, status)
        .await
        .map_err(|e| e.to_string())?;
    if status == "declined" {
        tracing::warn!(
            order_id = order.order_id,
            total_cents = order.total_cents,
            "payment declined: order not fulfilled"
        );
    }
    stats.settled.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

/// The dead-letter processor's handler.
pub fn dead_letters(db: Db, instrumentation: Instrumentation, stats: Stats) -> Handler {
    Arc::new(move |message: Message| {
        let (db, instrumentation, stats) = (db.clone(), instrumentation.clone(), stats.clone());
        async move {
            let reason = message.dead_letter_reason.unwrap_or_default();
            let order: Option<OrderCreated> = serde_json::from_slice(&message.payload).ok();
            if let Some(order) = &order {
                db.set_order_status(&instrumentation, order.order_id, "failed")
                    .await
                    .map_err(|e| e.to_string())?;
            }
            tracing::warn!(
                order = order.as_ref().map(|o| o.order_id),
                reason,
                "order dead-lettered"
            );
            stats.dead_lettered.fetch_add(1, Ordering::Relaxed);
            stats.settled.fetch_add(1, Ordering::Relaxed);
            Ok(())
        }
        .boxed()
    })
}
