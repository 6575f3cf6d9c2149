//! The alert engine: evaluates every rule on a timer, advances each rule's state machine, records transitions
//! in a bounded history, notifies on firing and resolving, and exports states to `/metrics`.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use serde::Serialize;
use tokio::sync::watch;
use tracewell_model::TenantId;
use tracewell_query::{Finding, InsightsResult, QueryService};

use crate::evaluate::{self, Observation};
use crate::notify::{Notification, Notifier, NotifyMetrics};
use crate::rules::{Condition, Rule, RulesFile};
use crate::state::{Machine, State};

/// Transitions kept for the API.
const HISTORY: usize = 500;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    rule: String,
    state: String,
}

#[derive(Default)]
struct RuleStatus {
    machine: Machine,
    last: Observation,
    last_evaluation: u64,
    last_error: Option<String>,
}

/// A transition, as the API lists it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    #[serde(serialize_with = "nanos")]
    pub time: u64,
    pub rule: String,
    pub from: State,
    pub to: State,
    pub value: Option<f64>,
    pub summary: String,
}

fn nanos<S: serde::Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

fn opt_nanos<S: serde::Serializer>(v: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.collect_str(v),
        None => s.serialize_none(),
    }
}

/// One rule as the API shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleView {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub description: String,
    pub labels: std::collections::BTreeMap<String, String>,
    pub state: State,
    #[serde(serialize_with = "opt_nanos")]
    pub active_since: Option<u64>,
    pub value: Option<f64>,
    #[serde(serialize_with = "opt_nanos")]
    pub last_evaluation: Option<u64>,
    pub last_error: Option<String>,
    pub summary: String,
    pub exemplars: Vec<String>,
    pub finding: Option<Finding>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NotifierView {
    pub name: String,
    pub url: String,
    pub format: &'static str,
    pub sent: u64,
    pub failed: u64,
    pub dropped: u64,
    pub queued: u64,
}

/// Rules, recent transitions and notifiers of one tenant.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertsView {
    pub evaluation_interval_ms: u64,
    pub rules: Vec<RuleView>,
    pub history: Vec<HistoryEntry>,
    pub notifiers: Vec<NotifierView>,
}

pub struct AlertEngine {
    rules: Vec<Rule>,
    status: Mutex<Vec<RuleStatus>>,
    history: Mutex<VecDeque<HistoryEntry>>,
    notifiers: Vec<Notifier>,
    query: QueryService,
    interval: Duration,
    public_url: String,
    states: Family<StateLabels, Gauge>,
    failures: Counter,
}

impl std::fmt::Debug for AlertEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertEngine")
            .field("rules", &self.rules.len())
            .field("notifiers", &self.notifiers.len())
            .finish()
    }
}

fn now_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

impl AlertEngine {
    /// Builds the engine and starts the notifiers' delivery tasks (needs a Tokio runtime).
    pub fn new(
        file: RulesFile,
        query: QueryService,
        interval: Duration,
        public_url: String,
        registry: &mut Registry,
    ) -> Self {
        let notify_metrics = NotifyMetrics::default();
        registry.register(
            "tracewell_alert_notifications",
            "Alert notifications by notifier and result (sent, failed, retried, dropped)",
            notify_metrics.outcomes.clone(),
        );
        registry.register(
            "tracewell_alert_notification_queue",
            "Alert notifications waiting for delivery, per notifier",
            notify_metrics.queued.clone(),
        );
        let states = Family::<StateLabels, Gauge>::default();
        registry.register(
            "tracewell_alert_state",
            "1 for the state each alerting rule is in (inactive, pending, firing), 0 for the others",
            states.clone(),
        );
        let failures = Counter::default();
        registry.register(
            "tracewell_alert_evaluation_failures",
            "Rule evaluations that failed (the rule keeps its state)",
            failures.clone(),
        );
        let client = reqwest::Client::builder()
            .user_agent(concat!("tracewell/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        let notifiers = file
            .notifiers
            .into_iter()
            .map(|c| Notifier::start(c, client.clone(), notify_metrics.clone()))
            .collect();
        let status = file.rules.iter().map(|_| RuleStatus::default()).collect();
        let engine = Self {
            rules: file.rules,
            status: Mutex::new(status),
            history: Mutex::new(VecDeque::new()),
            notifiers,
            query,
            interval,
            public_url,
            states,
            failures,
        };
        for rule in &engine.rules {
            engine.publish_state(rule, State::Inactive);
        }
        engine
    }

    fn publish_state(&self, rule: &Rule, current: State) {
        for s in [State::Inactive, State::Pending, State::Firing] {
            self.states
                .get_or_create(&StateLabels {
                    rule: rule.name.clone(),
                    state: s.as_str().into(),
                })
                .set(i64::from(s == current));
        }
    }

    /// Evaluates every rule once.
    pub async fn evaluate_once(&self) {
        let now = now_nanos();
        let mut insights: HashMap<TenantId, Option<InsightsResult>> = HashMap::new();
        for (i, rule) in self.rules.iter().enumerate() {
            let observed = match &rule.condition {
                Condition::Threshold { .. } => evaluate::threshold(&self.query, rule, now)
                    .await
                    .map_err(|e| e.to_string()),
                Condition::Finding { .. } => {
                    if !insights.contains_key(&rule.tenant) {
                        let mut req = self.query.insights_request();
                        req.end_unix_nano = now;
                        req.limit = tracewell_query::insights::MAX_FINDINGS;
                        let result = self.query.insights(&rule.tenant, &req).await;
                        if let Err(error) = &result {
                            tracing::warn!(%error, tenant = %rule.tenant, "insights for alerting failed");
                        }
                        insights.insert(rule.tenant.clone(), result.ok());
                    }
                    match &insights[&rule.tenant] {
                        Some(result) => Ok(evaluate::finding(rule, result)),
                        None => Err("insights failed".to_owned()),
                    }
                }
            };
            self.apply(i, rule, now, observed);
        }
    }

    fn apply(&self, i: usize, rule: &Rule, now: u64, observed: Result<Observation, String>) {
        let mut status = self.status.lock();
        let s = &mut status[i];
        s.last_evaluation = now;
        let observation = match observed {
            Ok(o) => o,
            Err(error) => {
                self.failures.inc();
                tracing::warn!(rule = %rule.name, %error, "rule evaluation failed");
                s.last_error = Some(error);
                return;
            }
        };
        s.last_error = None;
        let transition = s.machine.step(
            now,
            observation.holds,
            rule.for_duration.as_nanos() as u64,
            rule.keep_firing_for.as_nanos() as u64,
        );
        // A resolving rule keeps the exemplars and finding of when it fired.
        let fired_with = (!observation.holds).then(|| s.last.clone());
        s.last = observation;
        let Some(t) = transition else { return };
        let starts_at = s.machine.active_since.unwrap_or(now);
        self.publish_state(rule, t.to);
        tracing::info!(rule = %rule.name, from = t.from.as_str(), to = t.to.as_str(), summary = %s.last.summary, "alert");
        {
            let mut history = self.history.lock();
            history.push_front(HistoryEntry {
                time: now,
                rule: rule.name.clone(),
                from: t.from,
                to: t.to,
                value: s.last.value,
                summary: s.last.summary.clone(),
            });
            history.truncate(HISTORY);
        }
        if t.notifies() {
            let evidence = match (&fired_with, t.to) {
                (Some(previous), State::Inactive) => previous,
                _ => &s.last,
            };
            let n = Notification {
                rule: rule.name.clone(),
                state: t.to,
                labels: rule.labels.clone(),
                description: rule.describe(),
                summary: s.last.summary.clone(),
                value: s.last.value,
                starts_at: if t.to == State::Firing {
                    starts_at
                } else {
                    now
                },
                ends_at: (t.to == State::Inactive).then_some(now),
                exemplars: evidence.exemplars.clone(),
                finding: evidence.finding.clone(),
                public_url: self.public_url.clone(),
            };
            for notifier in &self.notifiers {
                notifier.send(n.clone());
            }
        }
    }

    /// Evaluates on the configured interval until `stop` turns true.
    pub fn spawn(self: Arc<Self>, mut stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(self.interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            while !*stop.borrow() {
                tokio::select! {
                    changed = stop.changed() => if changed.is_err() { break },
                    _ = tick.tick() => self.evaluate_once().await,
                }
            }
        })
    }

    /// The rules of `tenant`, recent transitions and notifiers.
    pub fn view(&self, tenant: &TenantId) -> AlertsView {
        let status = self.status.lock();
        let rules = self
            .rules
            .iter()
            .zip(status.iter())
            .filter(|(r, _)| &r.tenant == tenant)
            .map(|(r, s)| RuleView {
                name: r.name.clone(),
                kind: r.kind(),
                description: r.describe(),
                labels: r.labels.clone(),
                state: s.machine.state,
                active_since: s.machine.active_since,
                value: s.last.value,
                last_evaluation: (s.last_evaluation > 0).then_some(s.last_evaluation),
                last_error: s.last_error.clone(),
                summary: s.last.summary.clone(),
                exemplars: s.last.exemplars.iter().map(|t| t.to_hex()).collect(),
                finding: s.last.finding.clone(),
            })
            .collect();
        let names: std::collections::HashSet<&str> = self
            .rules
            .iter()
            .filter(|r| &r.tenant == tenant)
            .map(|r| r.name.as_str())
            .collect();
        let history = self
            .history
            .lock()
            .iter()
            .filter(|h| names.contains(h.rule.as_str()))
            .cloned()
            .collect();
        let notifiers = self
            .notifiers
            .iter()
            .map(|n| {
                let load =
                    |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
                NotifierView {
                    name: n.config.name.clone(),
                    url: n.config.url.clone(),
                    format: n.config.format.as_str(),
                    sent: load(&n.stats.sent),
                    failed: load(&n.stats.failed),
                    dropped: load(&n.stats.dropped),
                    queued: load(&n.stats.queued),
                }
            })
            .collect();
        AlertsView {
            evaluation_interval_ms: self.interval.as_millis() as u64,
            rules,
            history,
            notifiers,
        }
    }
}
