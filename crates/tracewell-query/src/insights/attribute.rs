//! Root-cause attribution: for each symptom, a sample of recent traces (the slow or failing ones) and of
//! baseline traces of the same operation names the origin.
//!
//! - Latency: below every span of the symptom operation, the time each (service, operation) spends on the
//!   critical path, averaged per request; the operation whose share grew most against the baseline is the origin.
//!   A slow database grows its own client span's time, not its callers' own time, so it ranks first.
//! - Errors: in failing traces, the deepest failing spans under the symptom whose children did not fail; the most
//!   frequent one is the origin.
//!
//! Symptoms with the same origin become one finding that lists them as `affected`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use futures::StreamExt;
use tracewell_model::{Span, StatusCode, TenantId, TraceId};

use super::detect::{Symptom, SymptomKind};
use super::series::{self, round, Compared, OpKey, Series, Windows};
use super::{Exemplars, Finding, FindingKind, InsightsConfig, OperationRef, SeriesPoint};
use crate::normalize::error_kind;
use crate::shape::TraceShape;
use crate::{QueryService, SearchRequest};

/// A finding before consolidation, with what it says about others.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    pub finding: Finding,
    /// An origin elsewhere that explains this finding (dead letters whose failures start in another service).
    pub cause: Option<OperationRef>,
}

impl Candidate {
    /// A finding nothing else explains.
    pub fn of(finding: Finding) -> Self {
        Self {
            finding,
            cause: None,
        }
    }
}

/// What attribution and pattern detection share: the query service, the windows, and traces read so far.
pub(crate) struct Context<'a> {
    pub query: &'a QueryService,
    pub tenant: &'a TenantId,
    pub windows: &'a Windows,
    pub config: &'a InsightsConfig,
    pub all: &'a BTreeMap<OpKey, Series>,
    traces: HashMap<TraceId, Arc<Vec<Span>>>,
}

/// How many traces are read at once.
const CONCURRENT_READS: usize = 8;

impl<'a> Context<'a> {
    pub fn new(
        query: &'a QueryService,
        tenant: &'a TenantId,
        windows: &'a Windows,
        config: &'a InsightsConfig,
        all: &'a BTreeMap<OpKey, Series>,
    ) -> Self {
        Self {
            query,
            tenant,
            windows,
            config,
            all,
            traces: HashMap::new(),
        }
    }

    pub fn traces_read(&self) -> usize {
        self.traces.len()
    }

    /// A search for `key`'s spans in the recent window (`recent`) or the baseline.
    pub fn search_for(&self, key: &OpKey, recent: bool) -> SearchRequest {
        let w = self.windows;
        let (start, end) = if recent {
            (w.window_start(), w.end_unix_nano)
        } else {
            (w.baseline_start(), w.window_start().saturating_sub(1))
        };
        SearchRequest {
            service: Some(key.service.clone()),
            operation: Some(key.operation.clone()),
            kind: Some(key.span_kind()),
            start_unix_nano: Some(start),
            end_unix_nano: Some(end),
            limit: self.config.sample_traces,
            spans_per_trace: 1,
            ..Default::default()
        }
    }

    /// A search for `key`'s spans in the baseline, ending before `onset` when that falls within it.
    pub fn before_onset(&self, key: &OpKey, onset: u64) -> SearchRequest {
        let mut req = self.search_for(key, false);
        let end = self.windows.window_start().min(onset).saturating_sub(1);
        req.end_unix_nano = Some(end.max(self.windows.baseline_start()));
        req
    }

    /// The traces a search finds, read whole (each trace once per query).
    pub async fn sample(&mut self, req: SearchRequest) -> Vec<(TraceId, Arc<Vec<Span>>)> {
        let found = match self.query.search(self.tenant, &req).await {
            Ok(found) => found.traces,
            Err(error) => {
                tracing::debug!(%error, "insights: search failed");
                return Vec::new();
            }
        };
        let ids: Vec<TraceId> = found.iter().map(|t| t.trace_id).collect();
        let cache = &self.query.samples;
        for id in &ids {
            if !self.traces.contains_key(id) {
                if let Some(spans) = cache.get(self.tenant, id) {
                    self.traces.insert(*id, spans);
                }
            }
        }
        let missing: Vec<TraceId> = ids
            .iter()
            .filter(|id| !self.traces.contains_key(id))
            .copied()
            .collect();
        let (query, tenant) = (self.query, self.tenant);
        let read: Vec<(TraceId, Vec<Span>)> = futures::stream::iter(missing)
            .map(|id| async move { (id, query.trace(tenant, id).await.map(|t| t.spans)) })
            .buffer_unordered(CONCURRENT_READS)
            .filter_map(|(id, spans)| async move { spans.ok().map(|s| (id, s)) })
            .collect()
            .await;
        for (id, spans) in read {
            let spans = Arc::new(spans);
            cache.put(self.tenant, id, Arc::clone(&spans));
            self.traces.insert(id, spans);
        }
        ids.into_iter()
            .filter_map(|id| self.traces.get(&id).map(|t| (id, Arc::clone(t))))
            .collect()
    }

    /// Baseline minutes since the first minute anything was received: the baseline a rate can be measured over.
    pub fn baseline_minutes_with_data(&self) -> usize {
        let range = self.windows.baseline_range();
        let first = range
            .clone()
            .find(|&i| self.all.values().any(|s| s[i].count > 0));
        first.map_or(0, |f| range.end - f)
    }

    pub fn compared(&self, key: &OpKey) -> Option<Compared> {
        self.all.get(key).map(|s| Compared::of(s, self.windows))
    }

    /// Per-minute values of `figure` for `key` over both windows (minutes without data left out).
    pub fn series_of(
        &self,
        key: &OpKey,
        figure: impl Fn(&tracewell_store::rollup::Stats) -> Option<f64>,
    ) -> Vec<SeriesPoint> {
        let Some(s) = self.all.get(key) else {
            return Vec::new();
        };
        series::per_minute(s, 1, figure)
            .into_iter()
            .enumerate()
            .filter_map(|(i, v)| {
                v.map(|value| SeriesPoint {
                    time: self.windows.minute_start(i),
                    value: round(value, 3),
                })
            })
            .collect()
    }
}

pub(crate) fn key_of(span: &Span) -> OpKey {
    OpKey {
        service: span.service_name().to_owned(),
        operation: span.name.clone(),
        kind: span.kind as u8,
    }
}

fn is(span: &Span, key: &OpKey) -> bool {
    span.kind as u8 == key.kind && span.name == key.operation && span.service_name() == key.service
}

pub(crate) fn op_ref(key: &OpKey) -> OperationRef {
    OperationRef {
        service: key.service.clone(),
        operation: key.operation.clone(),
    }
}

/// The error a failing span reports: its status message, else its exception, else its error type or HTTP status.
pub(crate) fn error_message(span: &Span) -> Option<String> {
    if !span.status.message.is_empty() {
        return Some(span.status.message.clone());
    }
    let exception = span
        .events
        .iter()
        .filter(|e| e.name == "exception")
        .flat_map(|e| e.attributes.iter())
        .find(|a| a.key == "exception.message")
        .and_then(|a| a.value.as_str());
    if let Some(text) = exception {
        return Some(text.to_owned());
    }
    if let Some(kind) = span.attribute("error.type").and_then(|v| v.as_str()) {
        return Some(kind.to_owned());
    }
    span.attribute("http.response.status_code")
        .and_then(|v| v.as_int())
        .map(|code| format!("HTTP {code}"))
}

/// Findings from symptoms: grouped by the origin each symptom's traces name.
pub(crate) async fn attribute(ctx: &mut Context<'_>, symptoms: &[Symptom]) -> Vec<Candidate> {
    let mut latency: BTreeMap<OpKey, Vec<(Symptom, LatencyBlame)>> = BTreeMap::new();
    let mut errors: BTreeMap<OpKey, Vec<(Symptom, ErrorBlame)>> = BTreeMap::new();
    for kind in [SymptomKind::Latency, SymptomKind::Errors] {
        let top = symptoms.iter().filter(|s| s.kind == kind);
        for s in top.take(ctx.config.max_symptoms) {
            if kind == SymptomKind::Latency {
                let b = latency_blame(ctx, s).await;
                latency
                    .entry(b.culprit.clone())
                    .or_default()
                    .push((s.clone(), b));
            } else {
                let b = error_blame(ctx, s).await;
                errors
                    .entry(b.culprit.clone())
                    .or_default()
                    .push((s.clone(), b));
            }
        }
    }
    let mut out: Vec<Candidate> = latency
        .into_iter()
        .map(|(culprit, group)| latency_finding(ctx, &culprit, group, symptoms))
        .collect();
    out.extend(
        errors
            .into_iter()
            .map(|(culprit, group)| error_finding(ctx, &culprit, group, symptoms)),
    );
    for s in symptoms
        .iter()
        .filter(|s| s.kind == SymptomKind::ThroughputDrop)
        .take(ctx.config.max_symptoms)
    {
        out.push(throughput_finding(ctx, s));
    }
    out
}

/// Where a latency symptom's added time went.
#[derive(Debug, Clone)]
struct LatencyBlame {
    culprit: OpKey,
    /// Added critical-path time of the culprit per request, milliseconds.
    added_ms: f64,
    /// The culprit's share of all added time.
    share: f64,
    base_ms: f64,
    cur_ms: f64,
    exemplars: Vec<TraceId>,
    baseline_trace: Option<TraceId>,
}

/// Critical-path nanoseconds per operation in one trace.
type TraceTimes = (TraceId, HashMap<OpKey, u64>);

/// Mean critical-path time per (service, operation) below each span of `key`, and each trace's time of every
/// operation.
fn critical_by_key(
    traces: &[(TraceId, Arc<Vec<Span>>)],
    key: &OpKey,
) -> (HashMap<OpKey, f64>, Vec<TraceTimes>) {
    let mut total: HashMap<OpKey, u64> = HashMap::new();
    let mut requests = 0u64;
    let mut per_trace = Vec::new();
    for (id, spans) in traces {
        let shape = TraceShape::new(spans);
        let mut mine: HashMap<OpKey, u64> = HashMap::new();
        for (i, _) in spans.iter().enumerate().filter(|(_, s)| is(s, key)) {
            requests += 1;
            for (j, t) in shape.critical_path(i) {
                *mine.entry(key_of(&spans[j])).or_default() += t;
            }
        }
        for (k, t) in &mine {
            *total.entry(k.clone()).or_default() += t;
        }
        per_trace.push((*id, mine));
    }
    let means = total
        .into_iter()
        .map(|(k, t)| (k, t as f64 / requests.max(1) as f64 / 1e6))
        .collect();
    (means, per_trace)
}

async fn latency_blame(ctx: &mut Context<'_>, symptom: &Symptom) -> LatencyBlame {
    let base_p90 = symptom.compared.base.p90_ms.unwrap_or(0.0);
    let mut recent_req = ctx.search_for(&symptom.key, true);
    recent_req.min_duration_nano = Some((base_p90 * 1e6) as u64);
    let recent = ctx.sample(recent_req).await;
    // Normal traces: from before the onset (which may fall in the baseline's last minutes) and no slower than
    // the baseline's p90.
    let mut baseline_req = ctx.before_onset(&symptom.key, symptom.since);
    baseline_req.max_duration_nano = Some((base_p90 * 1.05e6) as u64);
    let baseline = ctx.sample(baseline_req).await;
    let (cur, per_trace) = critical_by_key(&recent, &symptom.key);
    let (base, _) = critical_by_key(&baseline, &symptom.key);
    let added: Vec<(OpKey, f64)> = cur
        .iter()
        .map(|(k, &t)| (k.clone(), t - base.get(k).copied().unwrap_or(0.0)))
        .collect();
    let positive: f64 = added.iter().map(|(_, a)| a.max(0.0)).sum();
    let best = added
        .iter()
        .max_by(|a, b| a.1.total_cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
        .filter(|(_, a)| *a > 0.0);
    let (culprit, added_ms) = match best {
        Some((k, a)) => (k.clone(), *a),
        None => (symptom.key.clone(), 0.0),
    };
    let mut ranked: Vec<(TraceId, u64)> = per_trace
        .iter()
        .map(|(id, m)| (*id, m.get(&culprit).copied().unwrap_or(0)))
        .collect();
    ranked.sort_by_key(|(_, t)| std::cmp::Reverse(*t));
    let typical = symptom.compared.base.p50_ms.unwrap_or(0.0) * 1e6;
    let baseline_trace = baseline
        .iter()
        .filter_map(|(id, spans)| {
            let d = spans.iter().find(|s| is(s, &symptom.key))?.duration_nano() as f64;
            Some((*id, (d - typical).abs()))
        })
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(id, _)| id);
    LatencyBlame {
        share: if positive > 0.0 {
            added_ms / positive
        } else {
            1.0
        },
        base_ms: base.get(&culprit).copied().unwrap_or(0.0),
        cur_ms: cur.get(&culprit).copied().unwrap_or(0.0),
        culprit,
        added_ms,
        exemplars: ranked.into_iter().take(5).map(|(id, _)| id).collect(),
        baseline_trace,
    }
}

fn figures_of(ctx: &Context<'_>, culprit: &OpKey, fallback: &Compared) -> Compared {
    ctx.compared(culprit)
        .filter(|c| c.cur.count > 0)
        .unwrap_or(*fallback)
}

fn names(ops: &[OperationRef]) -> String {
    let mut services: Vec<&str> = ops.iter().map(|o| o.service.as_str()).collect();
    services.sort();
    services.dedup();
    match services.as_slice() {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn affected_of<'s>(culprit: &OpKey, keys: impl Iterator<Item = &'s OpKey>) -> Vec<OperationRef> {
    let mut out: Vec<OperationRef> = keys.filter(|k| *k != culprit).map(op_ref).collect();
    out.sort();
    out.dedup();
    out
}

/// The highest-scored symptom of a group and its blame.
fn lead<B>(group: &[(Symptom, B)]) -> (&Symptom, &B) {
    let (s, b) = group
        .iter()
        .max_by(|a, b| a.0.score.total_cmp(&b.0.score))
        .expect("a group has a symptom");
    (s, b)
}

/// The culprit's own onset when it has a symptom of `kind`, else the earliest of the group.
fn onset<B>(
    symptoms: &[Symptom],
    culprit: &OpKey,
    kind: SymptomKind,
    group: &[(Symptom, B)],
) -> u64 {
    symptoms
        .iter()
        .find(|s| &s.key == culprit && s.kind == kind)
        .map(|s| s.since)
        .unwrap_or_else(|| group.iter().map(|(s, _)| s.since).min().unwrap_or(0))
}

fn latency_finding(
    ctx: &Context<'_>,
    culprit: &OpKey,
    group: Vec<(Symptom, LatencyBlame)>,
    symptoms: &[Symptom],
) -> Candidate {
    let (lead, blame) = lead(&group);
    let score = group
        .iter()
        .map(|(s, b)| s.score * (0.5 + 0.5 * b.share))
        .fold(0.0, f64::max);
    let since = onset(symptoms, culprit, SymptomKind::Latency, &group);
    let c = figures_of(ctx, culprit, &lead.compared);
    let mut baseline = c.base.to_map();
    let mut current = c.cur.to_map();
    baseline.insert("selfTimeMs", round(blame.base_ms, 2));
    current.insert("selfTimeMs", round(blame.cur_ms, 2));
    let affected = affected_of(culprit, group.iter().map(|(s, _)| &s.key));
    let victims = if affected.is_empty() {
        String::new()
    } else {
        format!("; {} slower because of it", names(&affected))
    };
    let p90 = |f: &series::Figures| f.p90_ms.map(fmt_ms).unwrap_or_else(|| "–".into());
    let summary = format!(
        "{} {} is slower by itself: +{} of its own time per request (p90 {}, was {}){victims}.",
        culprit.service,
        culprit.operation,
        fmt_ms(blame.added_ms.max(0.0)),
        p90(&c.cur),
        p90(&c.base),
    );
    let mut f = Finding::at(FindingKind::Latency, culprit, "p90Ms");
    f.details
        .insert("addedMsPerRequest".into(), round(blame.added_ms, 2).into());
    f.details
        .insert("shareOfAddedTime".into(), round(blame.share, 3).into());
    f.score = round(score, 1);
    f.since = since;
    f.summary = summary;
    f.baseline = baseline;
    f.current = current;
    f.series = ctx.series_of(culprit, series::p90_ms);
    f.exemplars = Exemplars {
        traces: blame.exemplars.clone(),
        baseline: blame.baseline_trace,
    };
    f.affected = affected;
    Candidate::of(f)
}

/// Where a symptom's errors start.
#[derive(Debug, Clone)]
struct ErrorBlame {
    culprit: OpKey,
    message: Option<String>,
    exemplars: Vec<TraceId>,
    baseline_trace: Option<TraceId>,
}

/// Error origins at or below spans of `key` (or anywhere when `key` is `None`), with their messages.
pub(crate) fn origins_below(spans: &[Span], key: Option<&OpKey>) -> Vec<(OpKey, Option<String>)> {
    let shape = TraceShape::new(spans);
    let under_key = |i: usize| key.is_none_or(|k| shape.at_or_below(i, |s| is(s, k)));
    shape
        .error_origins()
        .into_iter()
        .filter(|&i| under_key(i))
        .map(|i| (key_of(&spans[i]), error_message(&spans[i])))
        .collect()
}

/// Traces an error origin appears in, its messages by frequency, and those traces.
type OriginCount = (usize, HashMap<String, usize>, Vec<TraceId>);

async fn error_blame(ctx: &mut Context<'_>, symptom: &Symptom) -> ErrorBlame {
    let mut recent_req = ctx.search_for(&symptom.key, true);
    recent_req.status = Some(StatusCode::Error);
    let recent = ctx.sample(recent_req).await;
    let mut counts: HashMap<OpKey, OriginCount> = HashMap::new();
    for (id, spans) in &recent {
        let mut seen = std::collections::HashSet::new();
        for (origin, message) in origins_below(spans, Some(&symptom.key)) {
            let entry = counts.entry(origin.clone()).or_default();
            if seen.insert(origin) {
                entry.0 += 1;
                entry.2.push(*id);
            }
            if let Some(m) = message {
                *entry.1.entry(m).or_default() += 1;
            }
        }
    }
    let best = counts
        .into_iter()
        .max_by(|a, b| a.1 .0.cmp(&b.1 .0).then_with(|| b.0.cmp(&a.0)));
    let mut baseline_req = ctx.before_onset(&symptom.key, symptom.since);
    baseline_req.status = Some(StatusCode::Unset);
    baseline_req.limit = 1;
    let baseline_trace = ctx.sample(baseline_req).await.first().map(|(id, _)| *id);
    match best {
        Some((culprit, (_, messages, exemplars))) => ErrorBlame {
            culprit,
            message: messages
                .into_iter()
                .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
                .map(|(m, _)| m),
            exemplars: exemplars.into_iter().take(5).collect(),
            baseline_trace,
        },
        None => ErrorBlame {
            culprit: symptom.key.clone(),
            message: None,
            exemplars: recent.iter().take(5).map(|(id, _)| *id).collect(),
            baseline_trace,
        },
    }
}

fn error_finding(
    ctx: &Context<'_>,
    culprit: &OpKey,
    group: Vec<(Symptom, ErrorBlame)>,
    symptoms: &[Symptom],
) -> Candidate {
    let (lead, blame) = lead(&group);
    let score = group.iter().map(|(s, _)| s.score).fold(0.0, f64::max);
    let since = onset(symptoms, culprit, SymptomKind::Errors, &group);
    let c = figures_of(ctx, culprit, &lead.compared);
    let affected = affected_of(culprit, group.iter().map(|(s, _)| &s.key));
    let victims = if affected.is_empty() {
        String::new()
    } else {
        format!("; {} fail because of it", names(&affected))
    };
    let message = blame
        .message
        .as_deref()
        .map(|m| format!(", most often with “{}”", error_kind(m)))
        .unwrap_or_default();
    let summary = format!(
        "{} {} fails: {} of its requests error (was {}){message}{victims}.",
        culprit.service,
        culprit.operation,
        fmt_pct(c.cur.error_rate),
        fmt_pct(c.base.error_rate),
    );
    let mut f = Finding::at(FindingKind::Errors, culprit, "errorRate");
    if let Some(m) = &blame.message {
        f.details.insert("message".into(), m.clone().into());
    }
    f.score = round(score, 1);
    f.since = since;
    f.summary = summary;
    f.baseline = c.base.to_map();
    f.current = c.cur.to_map();
    f.series = ctx.series_of(culprit, series::error_rate);
    f.exemplars = Exemplars {
        traces: blame.exemplars.clone(),
        baseline: blame.baseline_trace,
    };
    f.affected = affected;
    Candidate::of(f)
}

fn throughput_finding(ctx: &Context<'_>, s: &Symptom) -> Candidate {
    let c = &s.compared;
    let drop = 1.0 - c.cur.rate_per_second / c.base.rate_per_second.max(1e-9);
    let summary = format!(
        "{} {} receives {:.2} requests/s, {:.0}% fewer than before ({:.2}/s).",
        s.key.service,
        s.key.operation,
        c.cur.rate_per_second,
        drop * 100.0,
        c.base.rate_per_second
    );
    let mut f = Finding::at(FindingKind::ThroughputDrop, &s.key, "ratePerSecond");
    // A drop in traffic is often the consequence of a change elsewhere; it ranks below causes.
    f.score = round(s.score * 0.5, 1);
    f.since = s.since;
    f.summary = summary;
    f.baseline = c.base.to_map();
    f.current = c.cur.to_map();
    f.series = ctx.series_of(&s.key, |st| Some(st.count as f64 / 60.0));
    Candidate::of(f)
}

pub(crate) fn fmt_ms(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else if ms >= 10.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{ms:.1} ms")
    }
}

pub(crate) fn fmt_pct(rate: f64) -> String {
    if rate > 0.0 && rate < 0.01 {
        format!("{:.1}%", rate * 100.0)
    } else {
        format!("{:.0}%", rate * 100.0)
    }
}
