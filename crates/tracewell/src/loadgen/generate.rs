//! Entry point of trace generation: picks a weighted user journey, builds
//! its frontend root span with high-cardinality request attributes, runs the
//! journey's flow and occasionally injects a failure.

use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use rand::seq::IndexedRandom;
use rand::Rng;

use super::builder::{int, owned, s, Attr, Builder, Ctx, GeneratedTrace, Window};
use super::calls::Route;
use super::catalog::{FRONTEND, PRODUCT_COUNT, USER_AGENTS, USER_COUNT};
use super::scenarios::{add_to_cart, browse, cart, checkout, order, product, quote, recs, Ids};

/// Probability that a trace fails.
const ERROR_RATE: f64 = 0.02;

type Flow<R> = fn(&mut Builder<'_, R>, &Ctx, &Ids);

struct Journey {
    weight: u32,
    route: Route,
    base_ms: f64,
}

const fn journey(
    weight: u32,
    method: &'static str,
    route: &'static str,
    name: &'static str,
    base_ms: f64,
) -> Journey {
    Journey {
        weight,
        route: Route {
            method,
            route,
            name,
        },
        base_ms,
    }
}

const JOURNEYS: [Journey; 8] = [
    journey(22, "GET", "/api/products", "GET /api/products", 25.0),
    journey(
        25,
        "GET",
        "/api/products/{id}",
        "GET /api/products/{id}",
        60.0,
    ),
    journey(14, "GET", "/api/cart", "GET /api/cart", 40.0),
    journey(12, "POST", "/api/cart/items", "POST /api/cart/items", 30.0),
    journey(7, "POST", "/api/checkout", "POST /api/checkout", 300.0),
    journey(8, "GET", "/api/orders/{id}", "GET /api/orders/{id}", 35.0),
    journey(
        7,
        "GET",
        "/api/recommendations",
        "GET /api/recommendations",
        45.0,
    ),
    journey(
        5,
        "GET",
        "/api/shipping/quote",
        "GET /api/shipping/quote",
        25.0,
    ),
];

fn flows<R: Rng + ?Sized>() -> [Flow<R>; 8] {
    [
        browse,
        product,
        cart,
        add_to_cart,
        checkout,
        order,
        recs,
        quote,
    ]
}

/// Builds one realistic trace whose root ends shortly before `now_unix_nano`.
pub fn generate_trace<R: Rng + ?Sized>(rng: &mut R, now_unix_nano: u64) -> GeneratedTrace {
    let mut b = Builder::new(rng);
    let pick = pick_journey(b.rng);
    let j = &JOURNEYS[pick];
    let ids = Ids {
        user: format!("u{:07}", b.rng.random_range(0..USER_COUNT)),
        sku: format!("SKU-{:05}", b.rng.random_range(0..PRODUCT_COUNT)),
    };
    let factor = 0.5 + (-(1.0 - b.rng.random::<f64>()).ln() * 0.7).min(20.0);
    let dur = (j.base_ms * factor * 1e6) as u64;
    let end = now_unix_nano.saturating_sub(b.rng.random_range(0..50_000_000));
    let w = Window {
        start: end.saturating_sub(dur),
        end,
    };
    let id = match j.route.route {
        "/api/orders/{id}" => format!("ord-{:016x}", b.rng.random::<u64>()),
        _ => ids.sku.clone(),
    };
    let path = j.route.route.replace("{id}", &id);
    let attrs = root_attrs(b.rng, &j.route, path, &ids.user);
    let res = b.replica(FRONTEND);
    let root = b.push(None, res, j.route.name, SpanKind::Server, w, attrs);
    flows::<R>()[pick](&mut b, &root, &ids);
    if b.rng.random_bool(ERROR_RATE) {
        b.inject_error();
    }
    b.finish()
}

fn pick_journey<R: Rng + ?Sized>(rng: &mut R) -> usize {
    let total: u32 = JOURNEYS.iter().map(|j| j.weight).sum();
    let mut roll = rng.random_range(0..total);
    for (i, j) in JOURNEYS.iter().enumerate() {
        if roll < j.weight {
            return i;
        }
        roll -= j.weight;
    }
    0
}

fn root_attrs<R: Rng + ?Sized>(rng: &mut R, r: &Route, path: String, user: &str) -> Vec<Attr> {
    let ip: u32 = rng.random();
    vec![
        s("http.request.method", r.method),
        s("http.route", r.route),
        owned("url.path", path),
        s("url.scheme", "https"),
        s("server.address", "shop.example.com"),
        int("server.port", 443),
        int("http.response.status_code", 200),
        s("network.protocol.version", "2"),
        owned("client.address", std::net::Ipv4Addr::from(ip).to_string()),
        s(
            "user_agent.original",
            USER_AGENTS.choose(rng).unwrap_or(&USER_AGENTS[0]),
        ),
        owned("app.user.id", user.to_string()),
    ]
}
