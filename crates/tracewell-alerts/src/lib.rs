//! # tracewell-alerts
//!
//! Alerting on what Tracewell sees: rules from a TOML file (`rules.rs`) — thresholds on RED figures of a service
//! or operation, or "a finding of this kind with at least this score" from the insights engine — evaluated on a
//! timer (`engine.rs`, `evaluate.rs`), each with a pending → firing → resolved state machine that suppresses
//! flapping (`state.rs`), and webhook notifiers with bounded queues and retries (`notify.rs`) that carry the
//! finding, the figures and links to exemplar traces, as generic JSON or an Alertmanager-compatible body.

mod engine;
mod evaluate;
mod notify;
mod rules;
mod state;

pub use engine::{AlertEngine, AlertsView, HistoryEntry, NotifierView, RuleView};
pub use notify::Notification;
pub use rules::{Condition, Format, Metric, NotifierConfig, Rule, RulesError, RulesFile};
pub use state::State;
