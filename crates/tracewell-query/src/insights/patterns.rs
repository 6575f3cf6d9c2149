//! Patterns beyond RED figures:
//!
//! - **N+1**: a service's calls of one client operation per request rise (from the rollups), confirmed in
//!   traces by a parent with many sequential calls of the same normalised statement or route.
//! - **Queue backlog**: consumer lag (CONSUMER start − PRODUCER end on the same trace) against the baseline.
//! - **Dead letters**: publishes to dead-letter destinations per minute against the baseline, with where the
//!   failing messages' errors start and how many attempts they took.
//! - **New errors**: error messages of recent failing spans that no baseline failure had.

use std::collections::{BTreeMap, HashMap, HashSet};

use tracewell_model::{SpanKind, StatusCode, TraceId};

use super::attribute::{error_message, fmt_ms, key_of, op_ref, origins_below, Candidate, Context};
use super::series::{self, pooled, round, OpKey};
use super::{Finding, FindingKind};
use crate::normalize::error_kind;
use crate::shape::TraceShape;
use crate::SearchRequest;

pub(crate) async fn find(ctx: &mut Context<'_>) -> Vec<Candidate> {
    let mut out = n_plus_one(ctx).await;
    out.extend(queue_backlog(ctx).await);
    out.extend(dead_letters(ctx).await);
    out.extend(new_errors(ctx).await);
    out
}

fn clamp01(v: f64) -> f64 {
    v.clamp(0.0, 1.0)
}

/// Calls of a client operation per entry request of its service, in one stretch of minutes.
fn calls_per_request(
    ctx: &Context<'_>,
    client: &OpKey,
    range: std::ops::Range<usize>,
) -> (f64, u64) {
    let entries: u64 = ctx
        .all
        .iter()
        .filter(|(k, _)| k.service == client.service && k.is_entry())
        .map(|(_, s)| pooled(s, range.clone()).count)
        .sum();
    let calls = pooled(&ctx.all[client], range).count;
    (calls as f64 / entries.max(1) as f64, calls)
}

async fn n_plus_one(ctx: &mut Context<'_>) -> Vec<Candidate> {
    let w = *ctx.windows;
    let min_calls = ctx.config.n_plus_one_min_calls as f64;
    let mut candidates: Vec<(OpKey, f64, f64, u64)> = Vec::new();
    for key in ctx.all.keys().filter(|k| k.kind == SpanKind::Client as u8) {
        let (_, calls) = calls_per_request(ctx, key, w.window_range());
        // The window's highest minute, so a change shows within the minute it starts in.
        let cur = w
            .window_range()
            .map(|i| calls_per_request(ctx, key, i..i + 1))
            .filter(|(_, n)| *n >= 10)
            .map(|(ratio, _)| ratio)
            .fold(0.0, f64::max);
        let (base, _) = calls_per_request(ctx, key, w.baseline_range());
        let rose = base > 0.0 && cur >= 2.0 * base && cur >= 2.0;
        if calls >= 20 && (rose || cur >= 0.8 * min_calls) {
            candidates.push((key.clone(), cur, base, calls));
        }
    }
    candidates.sort_by(|a, b| (b.1 / b.2.max(0.1)).total_cmp(&(a.1 / a.2.max(0.1))));
    let mut out = Vec::new();
    for (client, cur, base, calls) in candidates.into_iter().take(ctx.config.max_symptoms) {
        let mut req = ctx.search_for(&client, true);
        req.limit = 5;
        let traces = ctx.sample(req).await;
        let mut best: Option<(TraceId, OpKey, String, usize)> = None;
        for (id, spans) in &traces {
            let shape = TraceShape::new(spans);
            for rep in shape.repeated_calls(ctx.config.n_plus_one_min_calls) {
                let parent = &spans[rep.parent];
                if parent.service_name() != client.service {
                    continue;
                }
                if best.as_ref().is_none_or(|b| rep.count > b.3) {
                    best = Some((*id, key_of(parent), rep.statement.clone(), rep.count));
                }
            }
        }
        let Some((exemplar, parent, statement, count)) = best else {
            continue;
        };
        let increase = cur / base.max(0.1);
        let new = base <= 0.0 || increase >= 2.0;
        let score = if new {
            100.0 * (1.0 - (-(increase - 1.0) / 2.0).exp()) * clamp01(calls as f64 / 50.0).max(0.3)
        } else {
            // Present in the baseline too: worth knowing, not a regression.
            15.0
        };
        let threshold = (cur + base) / 2.0;
        let since = if new {
            onset_of_ratio(ctx, &client, threshold)
        } else {
            w.baseline_start()
        };
        let mut f = Finding::at(FindingKind::NPlusOne, &parent, "callsPerRequest");
        f.score = round(score, 1);
        f.since = since;
        f.summary = format!(
            "{} {} makes {count} sequential calls of “{statement}” per request (the service averages {:.1} \
             calls of {} per request, was {:.1}).",
            parent.service, parent.operation, cur, client.operation, base
        );
        f.baseline.insert("callsPerRequest", round(base, 2));
        f.current.insert("callsPerRequest", round(cur, 2));
        f.series = ratio_series(ctx, &client);
        f.exemplars.traces = vec![exemplar];
        f.affected = vec![op_ref(&client)];
        f.details.insert("statement".into(), statement.into());
        f.details.insert("count".into(), count.into());
        f.details
            .insert("parentOperation".into(), parent.operation.clone().into());
        f.details
            .insert("clientOperation".into(), client.operation.clone().into());
        out.push(Candidate::of(f));
    }
    out
}

fn ratio_series(ctx: &Context<'_>, client: &OpKey) -> Vec<super::SeriesPoint> {
    (0..ctx.windows.len())
        .filter_map(|i| {
            let (ratio, calls) = calls_per_request(ctx, client, i..i + 1);
            (calls > 0).then(|| super::SeriesPoint {
                time: ctx.windows.minute_start(i),
                value: round(ratio, 2),
            })
        })
        .collect()
}

fn onset_of_ratio(ctx: &Context<'_>, client: &OpKey, threshold: f64) -> u64 {
    let w = ctx.windows;
    let mut start = w.window_range().start;
    for i in (0..w.len()).rev() {
        let (ratio, calls) = calls_per_request(ctx, client, i..i + 1);
        if calls == 0 {
            continue;
        }
        if ratio >= threshold {
            start = i;
        } else {
            break;
        }
    }
    w.minute_start(start)
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    series::median_mad(&mut v).map(|(m, _)| m)
}

/// Consumer lags (ms) of `key`'s spans in `traces`, with the trace and the consumer's start.
fn lags(
    traces: &[(TraceId, std::sync::Arc<Vec<tracewell_model::Span>>)],
    key: &OpKey,
) -> Vec<(TraceId, u64, f64)> {
    let mut out = Vec::new();
    for (id, spans) in traces {
        for lag in TraceShape::new(spans).message_lags() {
            let consumer = &spans[lag.consumer];
            if &key_of(consumer) == key {
                out.push((*id, consumer.start_unix_nano, lag.lag_nano as f64 / 1e6));
            }
        }
    }
    out
}

async fn queue_backlog(ctx: &mut Context<'_>) -> Vec<Candidate> {
    let w = *ctx.windows;
    let mut consumers: Vec<(OpKey, u64)> = ctx
        .all
        .iter()
        .filter(|(k, _)| k.kind == SpanKind::Consumer as u8)
        .map(|(k, s)| (k.clone(), pooled(s, w.window_range()).count))
        .filter(|(_, n)| *n >= 5)
        .collect();
    consumers.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    let mut out = Vec::new();
    for (key, _) in consumers.into_iter().take(3) {
        let recent = ctx.sample(ctx.search_for(&key, true)).await;
        let baseline = ctx.sample(ctx.search_for(&key, false)).await;
        let mut cur = lags(&recent, &key);
        let base = lags(&baseline, &key);
        let (Some(cur_ms), Some(base_ms)) = (
            median(cur.iter().map(|l| l.2).collect()),
            median(base.iter().map(|l| l.2).collect()),
        ) else {
            continue;
        };
        let added = cur_ms - base_ms;
        if cur.len() < 3 || added < 100.0 || cur_ms < 2.0 * base_ms {
            continue;
        }
        cur.sort_by_key(|l| l.1);
        let half = cur.len() / 2;
        let early = median(cur[..half].iter().map(|l| l.2).collect()).unwrap_or(0.0);
        let late = median(cur[half..].iter().map(|l| l.2).collect()).unwrap_or(0.0);
        let growing = late > early * 1.2;
        let confidence = clamp01(cur.len() as f64 / 8.0).max(0.3);
        let score = 100.0 * (1.0 - (-added / base_ms.max(250.0)).exp()) * confidence;
        let c = ctx.compared(&key).unwrap_or_default();
        let destination = key
            .operation
            .strip_prefix("process ")
            .unwrap_or(&key.operation)
            .to_owned();
        let mut f = Finding::at(FindingKind::QueueBacklog, &key, "lagMs");
        f.score = round(score, 1);
        f.since = cur
            .iter()
            .find(|l| l.2 >= base_ms + added / 2.0)
            .map(|l| l.1)
            .unwrap_or(w.window_start());
        let p90 = |f: Option<f64>| f.map(fmt_ms).unwrap_or_else(|| "–".into());
        f.summary = format!(
            "Messages on {destination} wait {} before {} processes them (was {}){}; processing takes p90 {} \
             (was {}).",
            fmt_ms(cur_ms),
            key.service,
            fmt_ms(base_ms),
            if growing { " and the wait is growing" } else { "" },
            p90(c.cur.p90_ms),
            p90(c.base.p90_ms),
        );
        f.baseline = c.base.to_map();
        f.current = c.cur.to_map();
        f.baseline.insert("lagMs", round(base_ms, 2));
        f.current.insert("lagMs", round(cur_ms, 2));
        f.series = cur
            .iter()
            .map(|l| super::SeriesPoint {
                time: l.1,
                value: round(l.2, 2),
            })
            .collect();
        let mut worst = cur.clone();
        worst.sort_by(|a, b| b.2.total_cmp(&a.2));
        f.exemplars.traces = worst.iter().take(5).map(|l| l.0).collect();
        f.exemplars.baseline = base.first().map(|l| l.0);
        f.details.insert("destination".into(), destination.into());
        f.details.insert("growing".into(), growing.into());
        out.push(Candidate::of(f));
    }
    out
}

/// Whether a producer operation publishes to a dead-letter destination, by the usual names.
fn is_dead_letter_publish(key: &OpKey) -> bool {
    if key.kind != SpanKind::Producer as u8 {
        return false;
    }
    let name = key.operation.to_ascii_lowercase();
    [
        "dead",
        "dlq",
        "dlt",
        "deadletter",
        "dead-letter",
        "dead_letter",
    ]
    .iter()
    .any(|marker| name.contains(marker))
}

/// Whether the share of consumed messages that end in a dead-letter destination rose from `n0` of `d0` in the
/// baseline to `n1` of `d1` in the window, and how strongly (0–100). Both shares are estimates from counts,
/// so the test is a pooled two-proportion z-test: a baseline with few dead letters is itself uncertain, and a
/// few more poison messages by chance in a short window must not read as a regression.
fn share_rise(n0: f64, d0: f64, n1: f64, d1: f64) -> (bool, f64) {
    let (p0, p1) = (n0 / d0, n1 / d1);
    let pooled = (n0 + n1) / (d0 + d1);
    let se = (pooled * (1.0 - pooled) * (1.0 / d0 + 1.0 / d1))
        .sqrt()
        .max(1e-9);
    let delta = p1 - p0;
    let z = delta / se;
    let new = n1 >= 3.0 && delta >= 0.05 && p1 >= 2.0 * p0.max(0.001) && z >= 3.0;
    let score = 100.0 * (1.0 - (-delta / 0.1).exp()) * clamp01((z - 3.0) / 3.0);
    (new, if new { score } else { 0.0 })
}

/// Whether dead-letter publishes per minute rose from `n0` over `t0` baseline minutes to `n1` over `t1`
/// window minutes, and how strongly (0–100), for services that consume too little to judge a share. Given
/// the `n0 + n1` publishes seen, an unchanged rate puts each in the window with probability `t1 / (t0 + t1)`;
/// the z-score is taken against that binomial.
fn rate_rise(n0: f64, t0: f64, n1: f64, t1: f64) -> (bool, f64) {
    let (r0, r1) = (n0 / t0, n1 / t1);
    let total = n0 + n1;
    let q = t1 / (t0 + t1);
    let z = (n1 - total * q) / (total * q * (1.0 - q)).sqrt().max(1e-9);
    let new = n1 >= 3.0 && r1 >= 2.0 * r0 + 0.5 && z >= 2.5;
    let score = 100.0 * (1.0 - (-(r1 - r0) / (r0 + 1.0)).exp()) * clamp01((z - 2.5) / 3.0);
    (new, if new { score } else { 0.0 })
}

async fn dead_letters(ctx: &mut Context<'_>) -> Vec<Candidate> {
    let w = *ctx.windows;
    let keys: Vec<OpKey> = ctx
        .all
        .keys()
        .filter(|k| is_dead_letter_publish(k))
        .cloned()
        .collect();
    let mut out = Vec::new();
    for key in keys {
        let series = &ctx.all[&key];
        // Over the baseline minutes since data started arriving, not minutes before anything was sent.
        let observed = ctx.baseline_minutes_with_data();
        let base_minutes = observed.max(1) as f64;
        let n0 = pooled(series, w.baseline_range()).count as f64;
        let n1 = pooled(series, w.window_range()).count as f64;
        if n1 < 1.0 {
            continue;
        }
        let window_minutes = (w.window_seconds() / 60.0).max(0.5);
        let r0 = n0 / base_minutes;
        let r1 = n1 / window_minutes;
        // Judged as a share of the messages the service consumed when it consumes any (traffic ramps and
        // lulls then do not look like changes), else as a rate.
        let consumed = |range: std::ops::Range<usize>| -> f64 {
            ctx.all
                .iter()
                .filter(|(k, _)| k.service == key.service && k.kind == SpanKind::Consumer as u8)
                .map(|(_, s)| pooled(s, range.clone()).count as f64)
                .sum()
        };
        let (d0, d1) = (consumed(w.baseline_range()), consumed(w.window_range()));
        let (new, score) = if d0 >= 30.0 && d1 >= 10.0 {
            share_rise(n0, d0, n1, d1)
        } else {
            rate_rise(n0, base_minutes, n1, window_minutes)
        };
        let new = new && observed >= 3;
        // Steady dead-lettering: visible, below any regression.
        let score = if new { score } else { (5.0 * r1).min(10.0) };
        let traces = {
            let mut req = ctx.search_for(&key, true);
            req.limit = ctx.config.sample_traces;
            ctx.sample(req).await
        };
        let mut origins: HashMap<OpKey, (usize, Option<String>)> = HashMap::new();
        let mut attempts = Vec::new();
        for (_, spans) in &traces {
            let failures: Vec<_> = origins_below(spans, None)
                .into_iter()
                .filter(|(k, _)| k.kind != SpanKind::Producer as u8)
                .collect();
            let tried = spans
                .iter()
                .filter(|s| s.kind == SpanKind::Consumer && s.status.code == StatusCode::Error)
                .count();
            attempts.push(tried as f64);
            let distinct: HashSet<OpKey> = failures.iter().map(|(k, _)| k.clone()).collect();
            for k in distinct {
                let message = failures
                    .iter()
                    .find(|(f, m)| f == &k && m.is_some())
                    .and_then(|(_, m)| m.clone());
                let e = origins.entry(k).or_insert((0, None));
                e.0 += 1;
                if e.1.is_none() {
                    e.1 = message;
                }
            }
        }
        let origin = origins
            .into_iter()
            .max_by(|a, b| a.1 .0.cmp(&b.1 .0).then_with(|| b.0.cmp(&a.0)));
        let destination = key
            .operation
            .strip_prefix("publish ")
            .unwrap_or(&key.operation)
            .to_owned();
        let mut f = Finding::at(FindingKind::DeadLetters, &key, "perMinute");
        f.score = round(score, 1);
        f.since = if new {
            let values = series::per_minute(series, 0, |s| Some(s.count as f64));
            let mut start = w.window_range().start;
            for i in (0..values.len()).rev() {
                if values[i].unwrap_or(0.0) > r0 + 0.5 {
                    start = i;
                } else if i < w.window_range().start {
                    break;
                }
            }
            w.minute_start(start)
        } else {
            w.baseline_start()
        };
        let failure = origin
            .as_ref()
            .map(|(k, (_, m))| {
                let message = m
                    .as_deref()
                    .map(|m| format!(": “{}”", error_kind(m)))
                    .unwrap_or_default();
                format!("; failures start at {} {}{message}", k.service, k.operation)
            })
            .unwrap_or_default();
        f.summary = if new {
            format!(
                "{} dead-letters {:.1} messages/min to {destination} (was {:.2}/min){failure}.",
                key.service, r1, r0
            )
        } else {
            format!(
                "{} dead-letters a steady {:.2} messages/min to {destination}{failure}.",
                key.service, r1
            )
        };
        f.baseline.insert("perMinute", round(r0, 3));
        f.current.insert("perMinute", round(r1, 3));
        if d0 > 0.0 && d1 > 0.0 {
            f.baseline.insert("shareOfConsumed", round(n0 / d0, 4));
            f.current.insert("shareOfConsumed", round(n1 / d1, 4));
        }
        f.series = ctx.series_of(&key, |s| Some(s.count as f64));
        f.exemplars.traces = traces.iter().take(5).map(|(id, _)| *id).collect();
        f.details.insert("destination".into(), destination.into());
        if let Some(avg) = median(attempts) {
            f.details
                .insert("failedAttemptsPerMessage".into(), avg.into());
        }
        let mut cause = None;
        if let Some((k, (_, m))) = &origin {
            f.details.insert(
                "failureOrigin".into(),
                serde_json::json!({"service": k.service, "operation": k.operation}),
            );
            if let Some(m) = m {
                f.details.insert("message".into(), m.clone().into());
            }
            if k.service != key.service {
                cause = Some(op_ref(k));
            }
        }
        out.push(Candidate { finding: f, cause });
    }
    out
}

async fn new_errors(ctx: &mut Context<'_>) -> Vec<Candidate> {
    let w = *ctx.windows;
    let error_search = |start: u64, end: u64, limit: usize| SearchRequest {
        status: Some(StatusCode::Error),
        start_unix_nano: Some(start),
        end_unix_nano: Some(end),
        limit,
        spans_per_trace: 1,
        ..Default::default()
    };
    let recent = ctx
        .sample(error_search(
            w.window_start(),
            w.end_unix_nano,
            ctx.config.sample_traces * 3,
        ))
        .await;
    // "Not seen before" needs a before: a few minutes of baseline with data.
    if recent.is_empty() || ctx.baseline_minutes_with_data() < 3 {
        return Vec::new();
    }
    let baseline = ctx
        .sample(error_search(
            w.baseline_start(),
            w.window_start().saturating_sub(1),
            ctx.config.sample_traces * 5,
        ))
        .await;
    let known: HashSet<String> = baseline
        .iter()
        .flat_map(|(_, spans)| spans.iter())
        .filter(|s| s.status.code == StatusCode::Error)
        .filter_map(error_message)
        .map(|m| error_kind(&m))
        .collect();
    // (origin, kind of message) → (count, example message, traces)
    let mut fresh: BTreeMap<(OpKey, String), (usize, String, Vec<TraceId>)> = BTreeMap::new();
    for (id, spans) in &recent {
        for (origin, message) in origins_below(spans, None) {
            let Some(message) = message else { continue };
            let kind = error_kind(&message);
            if kind.is_empty() || known.contains(&kind) {
                continue;
            }
            let e = fresh
                .entry((origin, kind))
                .or_insert((0, message, Vec::new()));
            e.0 += 1;
            if !e.2.contains(id) {
                e.2.push(*id);
            }
        }
    }
    fresh
        .into_iter()
        .filter(|(_, (count, _, _))| *count >= 2)
        .map(|((key, kind), (count, example, traces))| {
            let mut f = Finding::at(FindingKind::NewError, &key, "count");
            // A new kind of error alone is worth a look, not a page: it stays below the default alert line.
            f.score = (15.0 + 3.0 * count as f64).min(45.0);
            f.since = traces
                .iter()
                .filter_map(|id| recent.iter().find(|(t, _)| t == id))
                .filter_map(|(_, spans)| spans.iter().map(|s| s.start_unix_nano).min())
                .min()
                .unwrap_or(w.window_start());
            f.summary = format!(
                "{} {} fails with an error not seen in the baseline: “{}” ({count} times in the traces read).",
                key.service, key.operation, kind
            );
            f.baseline.insert("count", 0.0);
            f.current.insert("count", count as f64);
            f.exemplars.traces = traces.into_iter().take(5).collect();
            f.details.insert("message".into(), example.into());
            f.details.insert("errorKind".into(), kind.into());
            Candidate::of(f)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{rate_rise, share_rise};

    #[test]
    fn a_few_more_poison_messages_by_chance_are_not_a_rise() {
        // 2% poison orders: 2 of 200 consumed in the baseline, 8 of 130 in the window.
        let (new, score) = share_rise(2.0, 200.0, 8.0, 130.0);
        assert!(!new, "scored {score}");
        assert_eq!(score, 0.0);
    }

    #[test]
    fn a_poison_burst_is_a_rise_with_a_high_score() {
        // 2% → 40%: 4 of 200 consumed, then 50 of 130.
        let (new, score) = share_rise(4.0, 200.0, 50.0, 130.0);
        assert!(new);
        assert!(score > 90.0, "scored {score}");
    }

    #[test]
    fn an_unchanged_share_is_not_a_rise() {
        let (new, _) = share_rise(6.0, 300.0, 4.0, 200.0);
        assert!(!new);
    }

    #[test]
    fn dead_letters_from_nothing_need_more_than_a_handful() {
        // Three publishes in two minutes after none in three: possible by chance at a low steady rate.
        assert!(!rate_rise(0.0, 3.0, 3.0, 2.0).0);
        // Thirty in two minutes after one in three is not.
        let (new, score) = rate_rise(1.0, 3.0, 30.0, 2.0);
        assert!(new);
        assert!(score > 50.0, "scored {score}");
    }
}
