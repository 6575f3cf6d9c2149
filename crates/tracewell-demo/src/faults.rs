//! Fault injection: the faults the analysis features must find, switched by flags at start and by the
//! control endpoint while the demo runs: `GET /faults`, `PUT /faults` (replaces the whole set), `PATCH /faults`
//! (changes only the fields given), `POST /faults/reset`.
//!
//! - `latency`: extra delay on one service, optionally one route (`catalog /products/{id} +300ms`).
//! - `errorBursts`: a share of one service's (or route's) requests answer 500 for some seconds.
//! - `nPlusOne`: the catalog lists products with one query per product instead of one query.
//! - `slowConsumerMs`: the fulfilment worker takes this long per message, so the queue backs up.
//! - `poisonRate`: this share of orders carries a payload the worker can never process; after its
//!   retries it ends in the dead-letter queue.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use parking_lot::RwLock;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Extra latency on a service (and route).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LatencyFault {
    pub service: String,
    /// A route template such as `/products/{id}`; absent means every route of the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    pub ms: u64,
}

/// A burst of 500s.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ErrorBurst {
    pub service: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    /// Share of requests that fail, 0 to 1.
    pub rate: f64,
    /// How long the burst lasts from when it is set; absent means until it is cleared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<u64>,
}

/// Every fault, as the control endpoint reads and writes it.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultSpec {
    #[serde(default)]
    pub latency: Vec<LatencyFault>,
    #[serde(default)]
    pub error_bursts: Vec<ErrorBurst>,
    #[serde(default)]
    pub n_plus_one: bool,
    #[serde(default)]
    pub slow_consumer_ms: u64,
    #[serde(default)]
    pub poison_rate: f64,
}

impl FaultSpec {
    /// Rejects values that make no sense, naming the field.
    pub fn validate(&self) -> Result<(), String> {
        for burst in &self.error_bursts {
            if !(0.0..=1.0).contains(&burst.rate) {
                return Err(format!(
                    "errorBursts.rate must be between 0 and 1, got {}",
                    burst.rate
                ));
            }
        }
        if !(0.0..=1.0).contains(&self.poison_rate) {
            return Err(format!(
                "poisonRate must be between 0 and 1, got {}",
                self.poison_rate
            ));
        }
        for latency in &self.latency {
            if latency.ms > 60_000 {
                return Err(format!(
                    "latency.ms must be at most 60000, got {}",
                    latency.ms
                ));
            }
        }
        if self.slow_consumer_ms > 60_000 {
            return Err(format!(
                "slowConsumerMs must be at most 60000, got {}",
                self.slow_consumer_ms
            ));
        }
        Ok(())
    }
}

/// The live fault state shared by every service.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    inner: Arc<RwLock<Active>>,
}

#[derive(Debug, Default)]
struct Active {
    spec: FaultSpec,
    /// When each error burst (same index) ends.
    burst_ends: Vec<Option<Instant>>,
}

impl Faults {
    pub fn new(spec: FaultSpec) -> Self {
        let faults = Faults::default();
        faults.set(spec);
        faults
    }

    pub fn set(&self, spec: FaultSpec) {
        let now = Instant::now();
        let burst_ends = spec
            .error_bursts
            .iter()
            .map(|b| b.seconds.map(|s| now + Duration::from_secs(s)))
            .collect();
        *self.inner.write() = Active { spec, burst_ends };
    }

    /// The current faults (expired bursts left out).
    pub fn get(&self) -> FaultSpec {
        let active = self.inner.read();
        let now = Instant::now();
        let mut spec = active.spec.clone();
        spec.error_bursts = active
            .spec
            .error_bursts
            .iter()
            .zip(&active.burst_ends)
            .filter(|(_, end)| end.is_none_or(|e| e > now))
            .map(|(b, end)| ErrorBurst {
                seconds: end.map(|e| e.saturating_duration_since(now).as_secs()),
                ..b.clone()
            })
            .collect();
        spec
    }

    fn matches(
        service: &str,
        route: Option<&str>,
        want_service: &str,
        want_route: &Option<String>,
    ) -> bool {
        want_service == service && want_route.as_deref().is_none_or(|r| Some(r) == route)
    }

    /// Injected delay for a request to `service` `route`.
    pub fn latency(&self, service: &str, route: Option<&str>) -> Duration {
        let active = self.inner.read();
        let ms: u64 = active
            .spec
            .latency
            .iter()
            .filter(|l| Self::matches(service, route, &l.service, &l.route))
            .map(|l| l.ms)
            .sum();
        Duration::from_millis(ms)
    }

    /// Whether this request to `service` `route` fails by an active error burst.
    pub fn should_fail(&self, service: &str, route: Option<&str>) -> bool {
        let active = self.inner.read();
        let now = Instant::now();
        let rate = active
            .spec
            .error_bursts
            .iter()
            .zip(&active.burst_ends)
            .filter(|(b, end)| {
                end.is_none_or(|e| e > now) && Self::matches(service, route, &b.service, &b.route)
            })
            .map(|(b, _)| b.rate)
            .fold(0.0_f64, f64::max);
        rate > 0.0 && rand::rng().random_bool(rate.min(1.0))
    }

    pub fn n_plus_one(&self) -> bool {
        self.inner.read().spec.n_plus_one
    }

    pub fn slow_consumer(&self) -> Duration {
        Duration::from_millis(self.inner.read().spec.slow_consumer_ms)
    }

    pub fn poison_rate(&self) -> f64 {
        self.inner.read().spec.poison_rate
    }
}

/// Axum middleware applying latency and error faults to `service`; install inside the trace layer so
/// the spans show them.
pub async fn inject(
    State((faults, service)): State<(Faults, &'static str)>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string());
    let delay = faults.latency(service, route.as_deref());
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if faults.should_fail(service, route.as_deref()) {
        tracing::error!(
            service,
            route = route.as_deref().unwrap_or(""),
            "injected error burst: answering 500"
        );
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("{service}: injected error burst"),
        )
            .into_response();
    }
    next.run(request).await
}

/// The control endpoint's routes.
pub fn control_router(faults: Faults) -> Router {
    Router::new()
        .route(
            "/faults",
            get(get_faults).put(put_faults).patch(patch_faults),
        )
        .route("/faults/reset", post(reset_faults))
        .with_state(faults)
}

async fn get_faults(State(faults): State<Faults>) -> Json<FaultSpec> {
    Json(faults.get())
}

/// A 400 answer naming what was wrong.
type Refused = (StatusCode, Json<serde_json::Value>);

fn bad(message: String) -> Refused {
    (
        StatusCode::BAD_REQUEST,
        Json(serde_json::json!({"error": message, "status": 400})),
    )
}

async fn put_faults(
    State(faults): State<Faults>,
    body: axum::body::Bytes,
) -> Result<Json<FaultSpec>, Refused> {
    let spec: FaultSpec =
        serde_json::from_slice(&body).map_err(|e| bad(format!("invalid fault spec: {e}")))?;
    spec.validate().map_err(bad)?;
    faults.set(spec);
    Ok(Json(faults.get()))
}

/// Merges the fields present in the body into the current faults (lists given replace lists).
async fn patch_faults(
    State(faults): State<Faults>,
    body: axum::body::Bytes,
) -> Result<Json<FaultSpec>, Refused> {
    let patch: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| bad(format!("invalid fault patch: {e}")))?;
    let serde_json::Value::Object(patch) = patch else {
        return Err(bad("a fault patch is a JSON object".into()));
    };
    let mut merged = serde_json::to_value(faults.get()).map_err(|e| bad(e.to_string()))?;
    if let Some(current) = merged.as_object_mut() {
        current.extend(patch);
    }
    let spec: FaultSpec =
        serde_json::from_value(merged).map_err(|e| bad(format!("invalid fault patch: {e}")))?;
    spec.validate().map_err(bad)?;
    faults.set(spec);
    Ok(Json(faults.get()))
}

async fn reset_faults(State(faults): State<Faults>) -> Json<FaultSpec> {
    faults.set(FaultSpec::default());
    Json(faults.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_and_bursts_match_service_and_route() {
        let faults = Faults::new(FaultSpec {
            latency: vec![
                LatencyFault {
                    service: "catalog".into(),
                    route: Some("/products/{id}".into()),
                    ms: 300,
                },
                LatencyFault {
                    service: "catalog".into(),
                    route: None,
                    ms: 20,
                },
            ],
            error_bursts: vec![ErrorBurst {
                service: "payments".into(),
                route: None,
                rate: 1.0,
                seconds: None,
            }],
            ..Default::default()
        });
        assert_eq!(
            faults.latency("catalog", Some("/products/{id}")),
            Duration::from_millis(320)
        );
        assert_eq!(
            faults.latency("catalog", Some("/products")),
            Duration::from_millis(20)
        );
        assert_eq!(faults.latency("orders", Some("/orders")), Duration::ZERO);
        assert!(faults.should_fail("payments", Some("/charges")));
        assert!(!faults.should_fail("orders", Some("/orders")));
    }

    #[test]
    fn bursts_expire() {
        let faults = Faults::new(FaultSpec {
            error_bursts: vec![ErrorBurst {
                service: "payments".into(),
                route: None,
                rate: 1.0,
                seconds: Some(0),
            }],
            ..Default::default()
        });
        assert!(!faults.should_fail("payments", None));
        assert!(faults.get().error_bursts.is_empty());
    }

    #[test]
    fn validation_names_the_field() {
        let spec = FaultSpec {
            poison_rate: 2.0,
            ..Default::default()
        };
        assert!(spec.validate().unwrap_err().contains("poisonRate"));
        let spec: Result<FaultSpec, _> = serde_json::from_str(r#"{"latency": [{"service": "x"}]}"#);
        assert!(spec.unwrap_err().to_string().contains("ms"));
        let spec: Result<FaultSpec, _> = serde_json::from_str(r#"{"typo": 1}"#);
        assert!(spec.is_err());
    }
}
