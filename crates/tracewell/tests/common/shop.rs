//! A synthetic shop for diagnosis tests, sent as OTLP/HTTP JSON with timestamps in the past (rollups are keyed by
//! span start, so half an hour of baseline can be sent in a second).
//!
//! Each checkout: `web GET /checkout` (SERVER) → `web POST api` (CLIENT) → `api POST /orders` (SERVER), which runs
//! `INSERT orders` (CLIENT, postgresql), `SELECT items` (CLIENT, once or `n_plus_one` times in sequence), calls
//! `pay POST /charges` (CLIENT → SERVER) and publishes `publish orders` (PRODUCER) that `worker process orders`
//! (CONSUMER) takes after `queue_lag_ms`. One checkout a minute also dead-letters (`worker publish orders.dlq`).

use serde_json::{json, Value};

use super::traces::random_id;

/// How one checkout behaves.
#[derive(Debug, Clone, Copy)]
pub struct Checkout {
    pub start_unix_nano: u64,
    /// Own time of `pay POST /charges`.
    pub pay_ms: u64,
    /// `INSERT orders` fails with "deadlock detected".
    pub db_fails: bool,
    /// `SELECT items` calls in sequence.
    pub n_plus_one: u32,
    pub queue_lag_ms: u64,
    pub dead_letter: bool,
    /// Adds `app.region=eu-west` (else us-east) to the web span.
    pub eu: bool,
}

impl Checkout {
    pub fn normal(start_unix_nano: u64) -> Self {
        Self {
            start_unix_nano,
            pay_ms: 8,
            db_fails: false,
            n_plus_one: 1,
            queue_lag_ms: 4,
            dead_letter: false,
            eu: false,
        }
    }
}

const MS: u64 = 1_000_000;

struct SpanOut {
    service: &'static str,
    value: Value,
}

/// A span of `service` with `(trace id, span id, parent id)`.
fn span(
    service: &'static str,
    (trace, id, parent): (&str, &str, Option<&str>),
    name: &str,
    kind: i32,
    (start, end): (u64, u64),
    attributes: Vec<Value>,
    error: Option<&str>,
) -> SpanOut {
    let mut value = json!({
        "traceId": trace, "spanId": id, "name": name, "kind": kind,
        "startTimeUnixNano": start.to_string(), "endTimeUnixNano": end.to_string(),
        "attributes": attributes,
    });
    if let Some(p) = parent {
        value["parentSpanId"] = json!(p);
    }
    if let Some(message) = error {
        value["status"] = json!({"code": 2, "message": message});
    }
    SpanOut { service, value }
}

pub fn attr(key: &str, value: &str) -> Value {
    json!({"key": key, "value": {"stringValue": value}})
}

fn id8() -> String {
    hex::encode(random_id::<8>())
}

/// The spans of one checkout, and its trace id.
fn checkout(c: &Checkout) -> (String, Vec<SpanOut>) {
    let trace = hex::encode(random_id::<16>());
    let t = |ms: u64| c.start_unix_nano + ms * MS;
    let (web, web_call, api, insert, pay_call, pay, publish, process) =
        (id8(), id8(), id8(), id8(), id8(), id8(), id8(), id8());
    let db_error = c.db_fails.then_some("deadlock detected");
    let mut cursor = 6u64;
    let mut spans = Vec::new();
    spans.push(span(
        "api",
        (&trace, &insert, Some(&api)),
        "INSERT orders",
        3,
        (t(cursor), t(cursor + 2)),
        vec![
            attr("db.system.name", "postgresql"),
            attr("db.namespace", "shop"),
            attr(
                "db.query.text",
                "INSERT INTO orders (id, total) VALUES (41, 99)",
            ),
        ],
        db_error,
    ));
    cursor += 3;
    for i in 0..c.n_plus_one {
        spans.push(span(
            "api",
            (&trace, &id8(), Some(&api)),
            "SELECT items",
            3,
            (t(cursor), t(cursor + 1)),
            vec![
                attr("db.system.name", "postgresql"),
                attr(
                    "db.query.text",
                    &format!("SELECT * FROM items WHERE id = {}", 100 + i),
                ),
            ],
            None,
        ));
        cursor += 2;
    }
    let pay_start = cursor;
    let pay_end = pay_start + 2 + c.pay_ms;
    spans.push(span(
        "api",
        (&trace, &pay_call, Some(&api)),
        "POST pay",
        3,
        (t(pay_start), t(pay_end)),
        vec![],
        None,
    ));
    spans.push(span(
        "pay",
        (&trace, &pay, Some(&pay_call)),
        "POST /charges",
        2,
        (t(pay_start + 1), t(pay_end - 1)),
        vec![attr("http.route", "/charges")],
        None,
    ));
    cursor = pay_end + 1;
    spans.push(span(
        "api",
        (&trace, &publish, Some(&api)),
        "publish orders",
        4,
        (t(cursor), t(cursor + 1)),
        vec![
            attr("messaging.system", "kafka"),
            attr("messaging.destination.name", "orders"),
        ],
        None,
    ));
    let api_end = cursor + 3;
    let consume_start = cursor + 1 + c.queue_lag_ms;
    spans.push(span(
        "worker",
        (&trace, &process, Some(&publish)),
        "process orders",
        5,
        (t(consume_start), t(consume_start + 5)),
        vec![
            attr("messaging.system", "kafka"),
            attr("messaging.destination.name", "orders"),
        ],
        None,
    ));
    if c.dead_letter {
        spans.push(span(
            "worker",
            (&trace, &id8(), Some(&process)),
            "publish orders.dlq",
            4,
            (t(consume_start + 3), t(consume_start + 4)),
            vec![attr("messaging.destination.name", "orders.dlq")],
            None,
        ));
    }
    let api_error = c.db_fails.then_some("could not store the order");
    spans.push(span(
        "api",
        (&trace, &api, Some(&web_call)),
        "POST /orders",
        2,
        (t(5), t(api_end)),
        vec![attr("http.route", "/orders")],
        api_error,
    ));
    spans.push(span(
        "web",
        (&trace, &web_call, Some(&web)),
        "POST api",
        3,
        (t(4), t(api_end + 1)),
        vec![],
        api_error,
    ));
    let region = if c.eu { "eu-west" } else { "us-east" };
    spans.push(span(
        "web",
        (&trace, &web, None),
        "GET /checkout",
        2,
        (t(0), t(api_end + 3)),
        vec![attr("http.route", "/checkout"), attr("app.region", region)],
        c.db_fails.then_some("HTTP 500"),
    ));
    (trace, spans)
}

/// OTLP/JSON of many checkouts, one resource per service; returns the body and the trace ids.
pub fn body(checkouts: &[Checkout]) -> (Value, Vec<String>) {
    let mut by_service: std::collections::BTreeMap<&str, Vec<Value>> = Default::default();
    let mut ids = Vec::new();
    for c in checkouts {
        let (trace, spans) = checkout(c);
        ids.push(trace);
        for s in spans {
            by_service.entry(s.service).or_default().push(s.value);
        }
    }
    let resource_spans: Vec<Value> = by_service
        .into_iter()
        .map(|(service, spans)| {
            json!({
                "resource": {"attributes": [attr("service.name", service)]},
                "scopeSpans": [{"scope": {"name": "shop"}, "spans": spans}],
            })
        })
        .collect();
    (json!({ "resourceSpans": resource_spans }), ids)
}

/// Sends checkouts in requests of at most 200.
pub async fn send(
    http: &reqwest::Client,
    otlp_http_url: &str,
    checkouts: &[Checkout],
) -> Vec<String> {
    let mut ids = Vec::new();
    for chunk in checkouts.chunks(200) {
        let (body, mut sent) = body(chunk);
        let r = http.post(otlp_http_url).json(&body).send().await.unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        ids.append(&mut sent);
    }
    ids
}

const MINUTE: u64 = 60_000_000_000;
const SECOND: u64 = 1_000_000_000;

/// Start of the insights window a server computes for a 2m lookback ending at `now`.
pub fn window_start(now: u64) -> u64 {
    (now - 2 * MINUTE).div_ceil(MINUTE) * MINUTE
}

/// Checkouts for an insights test ending at `now`: 29 minutes of normal traffic before the recent window (20 a
/// minute, `baseline` applied to each, with its index in the minute), then 40 checkouts spread over the window
/// with `recent` applied (with their index).
pub fn regression(
    now: u64,
    baseline: impl Fn(&mut Checkout, u64),
    recent: impl Fn(&mut Checkout, u64),
) -> Vec<Checkout> {
    let ws = window_start(now);
    let mut checkouts = Vec::new();
    for minute in 1..=29u64 {
        for i in 0..20u64 {
            let mut c = Checkout::normal(ws - minute * MINUTE + i * 2 * SECOND + 500_000_000);
            c.pay_ms = 8 + i % 3;
            baseline(&mut c, i);
            checkouts.push(c);
        }
    }
    let span = now - SECOND - ws;
    for i in 0..40u64 {
        let mut c = Checkout::normal(ws + span * i / 40);
        recent(&mut c, i);
        checkouts.push(c);
    }
    checkouts
}
