//! Webhook notifications: each notifier has a bounded queue and one delivery task that posts the generic JSON or
//! the Alertmanager body, retrying failed deliveries with doubling backoff. Full queues drop (and count) new
//! notifications rather than grow; every outcome is counted in `/metrics`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use serde::Serialize;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tracewell_model::{format_rfc3339, TraceId};
use tracewell_query::Finding;

use crate::rules::{Format, NotifierConfig};
use crate::state::State;

/// One alert event.
#[derive(Debug, Clone)]
pub struct Notification {
    pub rule: String,
    /// `Firing` or `Inactive` (resolved).
    pub state: State,
    pub labels: std::collections::BTreeMap<String, String>,
    pub description: String,
    pub summary: String,
    pub value: Option<f64>,
    pub starts_at: u64,
    /// Set when resolved.
    pub ends_at: Option<u64>,
    pub exemplars: Vec<TraceId>,
    pub finding: Option<Finding>,
    /// Base URL of the web UI, for links.
    pub public_url: String,
}

impl Notification {
    fn status(&self) -> &'static str {
        if self.state == State::Firing {
            "firing"
        } else {
            "resolved"
        }
    }

    fn trace_url(&self, id: &TraceId) -> String {
        format!("{}/trace/{}", self.public_url, id.to_hex())
    }

    pub fn body(&self, format: Format) -> Value {
        let exemplars: Vec<Value> = self
            .exemplars
            .iter()
            .map(|id| json!({"traceId": id.to_hex(), "url": self.trace_url(id)}))
            .collect();
        match format {
            Format::Json => json!({
                "status": self.status(),
                "rule": self.rule,
                "labels": self.labels,
                "description": self.description,
                "summary": self.summary,
                "value": self.value,
                "startsAt": format_rfc3339(self.starts_at),
                "endsAt": self.ends_at.map(format_rfc3339),
                "exemplars": exemplars,
                "finding": self.finding,
                "alertsUrl": format!("{}/alerts", self.public_url),
            }),
            Format::Alertmanager => {
                let mut labels = self.labels.clone();
                labels.insert("alertname".into(), self.rule.clone());
                if let Some(f) = &self.finding {
                    labels.insert("service".into(), f.service.clone());
                    labels.insert("finding".into(), f.kind.as_str().into());
                }
                let links: Vec<String> =
                    self.exemplars.iter().map(|id| self.trace_url(id)).collect();
                let mut alert = json!({
                    "labels": labels,
                    "annotations": {
                        "summary": self.summary,
                        "description": self.description,
                        "exemplar_traces": links.join(" "),
                    },
                    "startsAt": format_rfc3339(self.starts_at),
                    "generatorURL": links.first().cloned().unwrap_or_else(|| format!("{}/alerts", self.public_url)),
                });
                if let Some(end) = self.ends_at {
                    alert["endsAt"] = json!(format_rfc3339(end));
                }
                json!([alert])
            }
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ResultLabels {
    pub notifier: String,
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct NotifierLabels {
    pub notifier: String,
}

/// Notification metrics shared by all notifiers.
#[derive(Clone, Default)]
pub(crate) struct NotifyMetrics {
    pub outcomes: Family<ResultLabels, Counter>,
    pub queued: Family<NotifierLabels, Gauge>,
}

/// Counters of one notifier, for the API.
#[derive(Debug, Default, Serialize)]
pub struct NotifierStats {
    pub sent: AtomicU64,
    pub failed: AtomicU64,
    pub dropped: AtomicU64,
    pub queued: AtomicU64,
}

pub struct Notifier {
    pub config: NotifierConfig,
    tx: mpsc::Sender<Notification>,
    pub stats: Arc<NotifierStats>,
    metrics: NotifyMetrics,
}

impl Notifier {
    /// Starts the delivery task (needs a Tokio runtime).
    pub(crate) fn start(
        config: NotifierConfig,
        client: reqwest::Client,
        metrics: NotifyMetrics,
    ) -> Self {
        let (tx, rx) = mpsc::channel(config.max_queue);
        let stats = Arc::new(NotifierStats::default());
        tokio::spawn(deliver(
            config.clone(),
            client,
            rx,
            Arc::clone(&stats),
            metrics.clone(),
        ));
        Self {
            config,
            tx,
            stats,
            metrics,
        }
    }

    fn count(&self, result: &str) {
        self.metrics
            .outcomes
            .get_or_create(&ResultLabels {
                notifier: self.config.name.clone(),
                result: result.into(),
            })
            .inc();
    }

    pub(crate) fn send(&self, n: Notification) {
        match self.tx.try_send(n) {
            Ok(()) => {
                let queued = self.stats.queued.fetch_add(1, Ordering::Relaxed) + 1;
                self.metrics
                    .queued
                    .get_or_create(&NotifierLabels {
                        notifier: self.config.name.clone(),
                    })
                    .set(queued as i64);
            }
            Err(_) => {
                self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                self.count("dropped");
                tracing::warn!(notifier = %self.config.name, "notification queue full; notification dropped");
            }
        }
    }
}

async fn deliver(
    config: NotifierConfig,
    client: reqwest::Client,
    mut rx: mpsc::Receiver<Notification>,
    stats: Arc<NotifierStats>,
    metrics: NotifyMetrics,
) {
    let labels = NotifierLabels {
        notifier: config.name.clone(),
    };
    let count = |result: &str| {
        metrics
            .outcomes
            .get_or_create(&ResultLabels {
                notifier: config.name.clone(),
                result: result.into(),
            })
            .inc();
    };
    while let Some(n) = rx.recv().await {
        let body = n.body(config.format);
        let mut backoff = config.initial_backoff;
        let mut delivered = false;
        for attempt in 1..=config.max_attempts {
            let mut req = client.post(&config.url).timeout(config.timeout).json(&body);
            for (k, v) in &config.headers {
                req = req.header(k, v);
            }
            let retry = match req.send().await {
                Ok(r) if r.status().is_success() => {
                    delivered = true;
                    break;
                }
                Ok(r) => {
                    let status = r.status();
                    tracing::warn!(notifier = %config.name, %status, attempt, "webhook refused the notification");
                    status.is_server_error() || status.as_u16() == 429 || status.as_u16() == 408
                }
                Err(error) => {
                    tracing::warn!(notifier = %config.name, %error, attempt, "webhook unreachable");
                    true
                }
            };
            if !retry || attempt == config.max_attempts {
                break;
            }
            count("retried");
            tokio::time::sleep(backoff).await;
            backoff = backoff.saturating_mul(2);
        }
        if delivered {
            stats.sent.fetch_add(1, Ordering::Relaxed);
            count("sent");
        } else {
            stats.failed.fetch_add(1, Ordering::Relaxed);
            count("failed");
        }
        let queued = stats
            .queued
            .fetch_sub(1, Ordering::Relaxed)
            .saturating_sub(1);
        metrics.queued.get_or_create(&labels).set(queued as i64);
    }
}
