//! The synthetic users: requests to the gateway at a configured rate with a configured mix of browsing
//! a category, viewing a product (some ids unknown), checking out and looking up an order. Requests
//! carry no trace context, so the gateway starts (and samples) every trace.

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::sync::{watch, Semaphore};

use crate::db::{CATEGORIES, PRODUCT_COUNT};

/// Requests in flight at most; beyond it the generator waits rather than piling up.
const MAX_IN_FLIGHT: usize = 128;

/// Relative weights of the user actions.
#[derive(Clone, Debug, PartialEq)]
pub struct Mix {
    pub browse: u32,
    pub view: u32,
    pub checkout: u32,
    pub lookup: u32,
}

impl Default for Mix {
    fn default() -> Self {
        Mix {
            browse: 40,
            view: 35,
            checkout: 20,
            lookup: 5,
        }
    }
}

impl FromStr for Mix {
    type Err = String;

    /// `browse=40,view=35,checkout=20,lookup=5`; actions left out weigh 0.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut mix = Mix {
            browse: 0,
            view: 0,
            checkout: 0,
            lookup: 0,
        };
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, weight) = part
                .split_once('=')
                .ok_or_else(|| format!("mix entry {part:?} must be action=weight"))?;
            let weight: u32 = weight.trim().parse().map_err(|_| {
                format!("mix weight of {name} must be a whole number, got {weight:?}")
            })?;
            match name.trim() {
                "browse" => mix.browse = weight,
                "view" => mix.view = weight,
                "checkout" => mix.checkout = weight,
                "lookup" => mix.lookup = weight,
                other => {
                    return Err(format!(
                        "unknown action {other:?} in the mix: expected browse, view, checkout or lookup"
                    ))
                }
            }
        }
        if mix.browse + mix.view + mix.checkout + mix.lookup == 0 {
            return Err("the mix needs at least one action with a weight above 0".into());
        }
        Ok(mix)
    }
}

/// What the generator did.
#[derive(Debug, Default)]
pub struct TrafficStats {
    pub sent: AtomicU64,
    pub ok: AtomicU64,
    pub client_errors: AtomicU64,
    pub server_errors: AtomicU64,
    pub failed: AtomicU64,
}

impl std::fmt::Display for TrafficStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} requests: {} ok, {} 4xx, {} 5xx, {} failed",
            self.sent.load(Ordering::Relaxed),
            self.ok.load(Ordering::Relaxed),
            self.client_errors.load(Ordering::Relaxed),
            self.server_errors.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed)
        )
    }
}

enum Action {
    Browse,
    View,
    Checkout,
    Lookup,
}

fn pick(mix: &Mix) -> Action {
    let total = mix.browse + mix.view + mix.checkout + mix.lookup;
    let mut n = rand::rng().random_range(0..total.max(1));
    for (weight, action) in [
        (mix.browse, Action::Browse),
        (mix.view, Action::View),
        (mix.checkout, Action::Checkout),
    ] {
        if n < weight {
            return action;
        }
        n -= weight;
    }
    Action::Lookup
}

/// Sends requests to `gateway` (`http://host:port`) at `rate` per second until `stop` turns true.
pub async fn run(
    gateway: String,
    rate: f64,
    mix: Mix,
    stats: Arc<TrafficStats>,
    mut stop: watch::Receiver<bool>,
) {
    if rate <= 0.0 {
        return;
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap_or_default();
    let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let last_order = Arc::new(AtomicU64::new(0));
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.changed() => break,
        }
        if *stop.borrow() {
            break;
        }
        let Ok(permit) = in_flight.clone().acquire_owned().await else {
            break;
        };
        let (client, gateway, stats, last_order) = (
            client.clone(),
            gateway.clone(),
            stats.clone(),
            last_order.clone(),
        );
        let action = pick(&mix);
        tokio::spawn(async move {
            let _permit = permit;
            stats.sent.fetch_add(1, Ordering::Relaxed);
            let request = {
                let mut rng = rand::rng();
                match action {
                    Action::Browse => client.get(format!(
                        "{gateway}/api/products?category={}",
                        CATEGORIES[rng.random_range(0..CATEGORIES.len())]
                    )),
                    Action::View => {
                        // One view in twenty asks for a product that does not exist.
                        let id = if rng.random_bool(0.05) {
                            PRODUCT_COUNT + rng.random_range(1..1000)
                        } else {
                            rng.random_range(1..=PRODUCT_COUNT)
                        };
                        client.get(format!("{gateway}/api/products/{id}"))
                    }
                    Action::Checkout => {
                        let items: Vec<_> = (0..rng.random_range(1..=3))
                            .map(|_| {
                                serde_json::json!({
                                    "productId": rng.random_range(1..=PRODUCT_COUNT),
                                    "quantity": rng.random_range(1..=3),
                                })
                            })
                            .collect();
                        client
                            .post(format!("{gateway}/api/checkout"))
                            .json(&serde_json::json!({
                                "customer": format!("user-{}", rng.random_range(1..500)),
                                "items": items,
                            }))
                    }
                    Action::Lookup => {
                        let id = last_order.load(Ordering::Relaxed).max(1);
                        client.get(format!("{gateway}/api/orders/{id}"))
                    }
                }
            };
            match request.send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let counter = match status {
                        200..=299 => &stats.ok,
                        400..=499 => &stats.client_errors,
                        _ => &stats.server_errors,
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                    if status == 201 {
                        if let Ok(body) = response.json::<serde_json::Value>().await {
                            if let Some(id) = body["orderId"].as_u64() {
                                last_order.store(id, Ordering::Relaxed);
                            }
                        }
                    }
                }
                Err(_) => {
                    stats.failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    // Let requests in flight finish.
    let _ = in_flight.acquire_many(MAX_IN_FLIGHT as u32).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix_parses_and_names_mistakes() {
        assert_eq!(
            "browse=1, checkout=3".parse::<Mix>().unwrap(),
            Mix {
                browse: 1,
                view: 0,
                checkout: 3,
                lookup: 0
            }
        );
        assert!("shop=1".parse::<Mix>().unwrap_err().contains("shop"));
        assert!("browse"
            .parse::<Mix>()
            .unwrap_err()
            .contains("action=weight"));
        assert!("browse=x".parse::<Mix>().unwrap_err().contains("browse"));
        assert!("browse=0"
            .parse::<Mix>()
            .unwrap_err()
            .contains("at least one"));
    }
}
