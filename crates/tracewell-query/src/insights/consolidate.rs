//! One finding per origin. Candidates that another finding explains are folded into it (listed in its
//! `affected`, its score raised to the larger of the two):
//!
//! 1. a candidate of the same nature (slowness, failures) whose operation is among a latency or error finding's
//!    victims, in another service;
//! 2. a candidate whose `cause` (dead letters failing elsewhere) is another finding's origin;
//! 3. in the same service: N+1 explains latency; a queue backlog explains its consumer's latency; dead letters
//!    explain errors and new errors; errors explain new errors (their message kept in `details.newErrors`).
//!
//! The rest is ordered by score, highest first.

use super::attribute::Candidate;
use super::{Finding, FindingKind, OperationRef};

fn op(f: &Finding) -> OperationRef {
    OperationRef {
        service: f.service.clone(),
        operation: f.operation.clone(),
    }
}

/// Whether `absorber` explains `other`.
fn explains(absorber: &Finding, other: &Candidate) -> bool {
    use FindingKind::*;
    let f = &other.finding;
    if std::ptr::eq(absorber, f) {
        return false;
    }
    // A victim shows the same kind of trouble as its origin; a pattern of its own (N+1) stays a finding.
    let same_nature = match absorber.kind {
        Latency => matches!(f.kind, Latency | QueueBacklog | ThroughputDrop),
        Errors => matches!(f.kind, Errors | NewError | DeadLetters | ThroughputDrop),
        _ => false,
    };
    let victim = same_nature && absorber.service != f.service && absorber.affected.contains(&op(f));
    let caused = other.cause.as_ref().is_some_and(|c| {
        c.service == absorber.service && matches!(absorber.kind, Latency | Errors)
    });
    let same_service = absorber.service == f.service
        && match (absorber.kind, f.kind) {
            (NPlusOne, Latency) => true,
            (QueueBacklog, Latency) => absorber.operation == f.operation,
            (DeadLetters, Errors | NewError) => true,
            (Errors, NewError) => true,
            _ => false,
        };
    victim || caused || same_service
}

fn absorb(into: &mut Finding, other: Finding) {
    into.score = into.score.max(other.score);
    into.since = into.since.min(other.since);
    if other.kind == FindingKind::NewError {
        let message = other
            .details
            .get("message")
            .cloned()
            .unwrap_or(serde_json::Value::Null);
        let list = into
            .details
            .entry("newErrors")
            .or_insert_with(|| serde_json::Value::Array(Vec::new()));
        if let Some(list) = list.as_array_mut() {
            list.push(message);
        }
    }
    let me = op(into);
    let mut affected = std::mem::take(&mut into.affected);
    affected.push(op(&other));
    affected.extend(other.affected);
    affected.retain(|a| *a != me);
    affected.sort();
    affected.dedup();
    into.affected = affected;
    for id in other.exemplars.traces {
        if into.exemplars.traces.len() < 8 && !into.exemplars.traces.contains(&id) {
            into.exemplars.traces.push(id);
        }
    }
    if into.exemplars.baseline.is_none() {
        into.exemplars.baseline = other.exemplars.baseline;
    }
}

pub(crate) fn consolidate(mut candidates: Vec<Candidate>) -> Vec<Finding> {
    // Same kind and operation twice (two symptom groups): keep one.
    candidates.sort_by(|a, b| b.finding.score.total_cmp(&a.finding.score));
    let mut merged: Vec<Candidate> = Vec::new();
    for c in candidates {
        match merged.iter_mut().find(|m| {
            m.finding.kind == c.finding.kind
                && m.finding.service == c.finding.service
                && m.finding.operation == c.finding.operation
        }) {
            Some(m) => absorb(&mut m.finding, c.finding),
            None => merged.push(c),
        }
    }
    // Fold until nothing changes; each pass removes one candidate, so this ends.
    loop {
        let pair = (0..merged.len()).find_map(|i| {
            (0..merged.len())
                .find(|&j| j != i && explains(&merged[i].finding, &merged[j]))
                .map(|j| (i, j))
        });
        let Some((into, from)) = pair else { break };
        let other = merged.remove(from);
        let into = if from < into { into - 1 } else { into };
        absorb(&mut merged[into].finding, other.finding);
    }
    let mut findings: Vec<Finding> = merged.into_iter().map(|c| c.finding).collect();
    findings.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.kind.cmp(&b.kind))
            .then_with(|| a.service.cmp(&b.service))
    });
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::insights::Exemplars;

    fn finding(kind: FindingKind, service: &str, operation: &str, score: f64) -> Finding {
        Finding {
            kind,
            service: service.into(),
            operation: operation.into(),
            span_kind: "server",
            score,
            since: 100,
            summary: String::new(),
            metric: "p90Ms",
            baseline: Default::default(),
            current: Default::default(),
            series: Vec::new(),
            exemplars: Exemplars::default(),
            affected: Vec::new(),
            details: Default::default(),
        }
    }

    fn candidate(f: Finding) -> Candidate {
        Candidate {
            finding: f,
            cause: None,
        }
    }

    #[test]
    fn victims_and_consequences_fold_into_their_origin() {
        let mut payments = finding(FindingKind::Errors, "payments", "POST /charges", 70.0);
        payments.affected = vec![OperationRef {
            service: "worker".into(),
            operation: "process orders".into(),
        }];
        let worker_errors = finding(FindingKind::Errors, "worker", "process orders", 40.0);
        let mut dead = candidate(finding(
            FindingKind::DeadLetters,
            "worker",
            "publish dead",
            90.0,
        ));
        dead.cause = Some(OperationRef {
            service: "payments".into(),
            operation: "POST /charges".into(),
        });
        let unrelated = finding(FindingKind::Latency, "catalog", "GET /p", 30.0);
        let out = consolidate(vec![
            candidate(worker_errors),
            dead,
            candidate(payments),
            candidate(unrelated),
        ]);
        assert_eq!(out.len(), 2, "{out:#?}");
        assert_eq!(out[0].service, "payments");
        assert_eq!(out[0].score, 90.0, "the origin takes the larger score");
        assert!(out[0]
            .affected
            .iter()
            .any(|a| a.operation == "publish dead"));
        assert_eq!(out[1].service, "catalog");
    }

    #[test]
    fn new_errors_join_the_errors_of_their_service() {
        let mut new = finding(FindingKind::NewError, "orders", "POST /orders", 30.0);
        new.details.insert("message".into(), "disk full".into());
        let errors = finding(FindingKind::Errors, "orders", "POST /orders", 80.0);
        let out = consolidate(vec![candidate(new), candidate(errors)]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].kind, FindingKind::Errors);
        assert_eq!(out[0].details["newErrors"][0], "disk full");
    }
}
