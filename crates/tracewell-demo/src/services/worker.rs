//! The asynchronous side: `fulfilment-worker` charges each new order through `payments` and marks it
//! paid or declined (a poison order fails every attempt and is dead-lettered);
//! `dead-letter-processor` marks dead-lettered orders failed.

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

/// The fulfilment worker's handler.
pub fn fulfilment(
    db: Db,
    faults: Faults,
    payments_url: String,
    instrumentation: Instrumentation,
    stats: Stats,
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
        async move {
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
            stats.settled.fetch_add(1, Ordering::Relaxed);
            Ok(())
        }
        .boxed()
    })
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
