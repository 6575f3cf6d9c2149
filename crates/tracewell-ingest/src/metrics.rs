//! Prometheus metrics of the receivers: spans received, accepted and rejected (by reason), requests by outcome,
//! attributes truncated, dropped and redacted.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

type Labels = Vec<(&'static str, String)>;

#[derive(Clone)]
pub struct IngestMetrics {
    received_spans: Family<Labels, Counter>,
    accepted_spans: Family<Labels, Counter>,
    rejected_spans: Family<Labels, Counter>,
    requests: Family<Labels, Counter>,
    pub truncated_values: Counter,
    pub dropped_attributes: Counter,
    redacted_attributes: Family<Labels, Counter>,
    received_logs: Family<Labels, Counter>,
    accepted_logs: Family<Labels, Counter>,
    rejected_logs: Family<Labels, Counter>,
}

impl IngestMetrics {
    pub fn new(registry: &mut Registry) -> Self {
        let m = Self {
            received_spans: Family::default(),
            accepted_spans: Family::default(),
            rejected_spans: Family::default(),
            requests: Family::default(),
            truncated_values: Counter::default(),
            dropped_attributes: Counter::default(),
            redacted_attributes: Family::default(),
            received_logs: Family::default(),
            accepted_logs: Family::default(),
            rejected_logs: Family::default(),
        };
        registry.register(
            "tracewell_received_spans",
            "Spans received, by receiver",
            m.received_spans.clone(),
        );
        registry.register(
            "tracewell_accepted_spans",
            "Spans made durable, by receiver",
            m.accepted_spans.clone(),
        );
        registry.register(
            "tracewell_rejected_spans",
            "Spans rejected, by receiver and reason",
            m.rejected_spans.clone(),
        );
        registry.register(
            "tracewell_export_requests",
            "Export requests, by receiver and outcome",
            m.requests.clone(),
        );
        registry.register(
            "tracewell_truncated_attribute_values",
            "Attribute values cut to the size limit",
            m.truncated_values.clone(),
        );
        registry.register(
            "tracewell_dropped_attributes",
            "Attributes dropped by the per-span count limit",
            m.dropped_attributes.clone(),
        );
        registry.register(
            "tracewell_redacted_attributes",
            "Attributes changed by the redaction rules, by action (drop, hash, mask)",
            m.redacted_attributes.clone(),
        );
        for (name, help, family) in [
            (
                "tracewell_received_log_records",
                "Log records received, by receiver",
                &m.received_logs,
            ),
            (
                "tracewell_accepted_log_records",
                "Log records made durable, by receiver",
                &m.accepted_logs,
            ),
            (
                "tracewell_rejected_log_records",
                "Log records rejected (invalid, or their request refused), by receiver",
                &m.rejected_logs,
            ),
        ] {
            registry.register(name, help, family.clone());
        }
        m
    }

    pub fn received(&self, receiver: &'static str, spans: u64) {
        self.received_spans
            .get_or_create(&vec![("receiver", receiver.into())])
            .inc_by(spans);
    }

    pub fn accepted(&self, receiver: &'static str, spans: u64) {
        self.accepted_spans
            .get_or_create(&vec![("receiver", receiver.into())])
            .inc_by(spans);
    }

    pub fn rejected(&self, receiver: &'static str, reason: &str, spans: u64) {
        if spans > 0 {
            let labels = vec![("receiver", receiver.into()), ("reason", reason.to_owned())];
            self.rejected_spans.get_or_create(&labels).inc_by(spans);
        }
    }

    pub fn logs_received(&self, receiver: &'static str, records: u64) {
        self.received_logs
            .get_or_create(&vec![("receiver", receiver.into())])
            .inc_by(records);
    }

    pub fn logs_accepted(&self, receiver: &'static str, records: u64) {
        self.accepted_logs
            .get_or_create(&vec![("receiver", receiver.into())])
            .inc_by(records);
    }

    pub fn logs_rejected(&self, receiver: &'static str, records: u64) {
        if records > 0 {
            self.rejected_logs
                .get_or_create(&vec![("receiver", receiver.into())])
                .inc_by(records);
        }
    }

    pub fn redacted(&self, report: &crate::redact::RedactionReport) {
        for (action, count) in [
            ("drop", report.dropped),
            ("hash", report.hashed),
            ("mask", report.masked),
        ] {
            if count > 0 {
                self.redacted_attributes
                    .get_or_create(&vec![("action", action.to_owned())])
                    .inc_by(count);
            }
        }
    }

    pub fn request(&self, receiver: &'static str, outcome: &str) {
        self.requests
            .get_or_create(&vec![
                ("receiver", receiver.into()),
                ("outcome", outcome.to_owned()),
            ])
            .inc();
    }
}
