//! The user journeys of the simulated shop. Each journey starts with a
//! frontend HTTP server span and fans out into downstream services, giving
//! traces of 6–30 spans with strictly nested timings.

use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use rand::seq::IndexedRandom;
use rand::Rng;

use super::builder::{Builder, Ctx, GeneratedTrace, Window};
use super::catalog::*;

/// Probability that a trace fails.
const ERROR_RATE: f64 = 0.02;

type Flow<R> = fn(&mut Builder<'_, R>, &Ctx, &Ids);

/// High-cardinality identifiers shared by the spans of one journey.
pub struct Ids {
    user: String,
    sku: String,
}

struct Journey {
    weight: u32,
    method: &'static str,
    route: &'static str,
    base_ms: f64,
}

const JOURNEYS: [Journey; 8] = [
    Journey {
        weight: 22,
        method: "GET",
        route: "/api/products",
        base_ms: 25.0,
    },
    Journey {
        weight: 25,
        method: "GET",
        route: "/api/products/{id}",
        base_ms: 60.0,
    },
    Journey {
        weight: 14,
        method: "GET",
        route: "/api/cart",
        base_ms: 40.0,
    },
    Journey {
        weight: 12,
        method: "POST",
        route: "/api/cart/items",
        base_ms: 30.0,
    },
    Journey {
        weight: 7,
        method: "POST",
        route: "/api/checkout",
        base_ms: 300.0,
    },
    Journey {
        weight: 8,
        method: "GET",
        route: "/api/orders/{id}",
        base_ms: 35.0,
    },
    Journey {
        weight: 7,
        method: "GET",
        route: "/api/recommendations",
        base_ms: 45.0,
    },
    Journey {
        weight: 5,
        method: "GET",
        route: "/api/shipping/quote",
        base_ms: 25.0,
    },
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
    let end = now_unix_nano - b.rng.random_range(0..50_000_000);
    let w = Window {
        start: end - dur,
        end,
    };
    let id = match pick {
        5 => format!("ord-{:016x}", b.rng.random::<u64>()),
        _ => ids.sku.clone(),
    };
    let path = j.route.replace("{id}", &id);
    let attrs = root_attrs(b.rng, j, path, &ids.user);
    let res = b.replica(FRONTEND);
    let root = b.push(
        None,
        res,
        format!("{} {}", j.method, j.route),
        SpanKind::Server,
        w,
        attrs,
    );
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

fn root_attrs<R: Rng + ?Sized>(
    rng: &mut R,
    j: &Journey,
    path: String,
    user: &str,
) -> Vec<opentelemetry_proto::tonic::common::v1::KeyValue> {
    let ip: u32 = rng.random();
    vec![
        kv_str("http.request.method", j.method),
        kv_str("http.route", j.route),
        kv_string("url.path", path),
        kv_str("url.scheme", "https"),
        kv_str("server.address", "shop.example.com"),
        kv_int("server.port", 443),
        kv_int("http.response.status_code", 200),
        kv_str("network.protocol.version", "2"),
        kv_string("client.address", std::net::Ipv4Addr::from(ip).to_string()),
        kv_str(
            "user_agent.original",
            USER_AGENTS.choose(rng).unwrap_or(&USER_AGENTS[0]),
        ),
        kv_str("app.user.id", user),
    ]
}

const CATALOG_RPC: &str = "oteldemo.ProductCatalogService";
const CART_RPC: &str = "oteldemo.CartService";

fn get_product<R: Rng + ?Sized>(b: &mut Builder<'_, R>, p: &Ctx, w: Window, sku: &str) {
    b.grpc(p, w, CATALOG, CATALOG_RPC, "GetProduct", |b, s| {
        let miss = b.rng.random_bool(0.3);
        let ws = b.split(s.w, 1 + miss as usize);
        b.redis(s, ws[0], "GET", &format!("product:{sku}"));
        if miss {
            b.sql(
                s,
                ws[1],
                "catalog",
                "SELECT",
                "products",
                "SELECT id, name, description, price_usd, categories FROM products WHERE id = $1",
            );
        }
    });
}

fn list_products<R: Rng + ?Sized>(b: &mut Builder<'_, R>, p: &Ctx, w: Window) {
    b.grpc(p, w, CATALOG, CATALOG_RPC, "ListProducts", |b, s| {
        let ws = b.split(s.w, 1);
        b.sql(s, ws[0], "catalog", "SELECT", "products", "SELECT id, name, price_usd FROM products WHERE categories && $1 ORDER BY popularity DESC LIMIT $2");
    });
}

fn convert<R: Rng + ?Sized>(b: &mut Builder<'_, R>, p: &Ctx, w: Window) {
    b.grpc(
        p,
        w,
        CURRENCY,
        "oteldemo.CurrencyService",
        "Convert",
        |_, _| {},
    );
}

fn get_cart<R: Rng + ?Sized>(b: &mut Builder<'_, R>, p: &Ctx, w: Window, user: &str) {
    b.grpc(p, w, CART, CART_RPC, "GetCart", |b, s| {
        let ws = b.split(s.w, 1);
        b.redis(s, ws[0], "HGETALL", &format!("cart:{user}"));
    });
}

fn inventory_check<R: Rng + ?Sized>(b: &mut Builder<'_, R>, p: &Ctx, w: Window, sku: &str) {
    b.http(
        p,
        w,
        INVENTORY,
        "GET",
        "/inventory/{sku}",
        format!("/inventory/{sku}"),
        |b, s| {
            let ws = b.split(s.w, 1);
            b.sql(
                s,
                ws[0],
                "inventory",
                "SELECT",
                "stock",
                "SELECT sku, warehouse_id, quantity FROM stock WHERE sku = $1",
            );
        },
    );
}

fn recommendations<R: Rng + ?Sized>(b: &mut Builder<'_, R>, p: &Ctx, w: Window, user: &str) {
    b.grpc(
        p,
        w,
        RECOMMENDATION,
        "oteldemo.RecommendationService",
        "ListRecommendations",
        |b, s| {
            let ws = b.split(s.w, 3);
            b.redis(s, ws[0], "GET", &format!("prefs:{user}"));
            list_products(b, s, ws[1]);
            b.internal(s, ws[2], "rank candidates", |_, _| {});
        },
    );
}

fn browse<R: Rng + ?Sized>(b: &mut Builder<'_, R>, root: &Ctx, _ids: &Ids) {
    let ws = b.split(root.w, 3);
    list_products(b, root, ws[0]);
    convert(b, root, ws[1]);
    b.internal(root, ws[2], "render product list", |_, _| {});
}

fn product<R: Rng + ?Sized>(b: &mut Builder<'_, R>, root: &Ctx, ids: &Ids) {
    let ws = b.split(root.w, 4);
    get_product(b, root, ws[0], &ids.sku);
    recommendations(b, root, ws[1], &ids.user);
    inventory_check(b, root, ws[2], &ids.sku);
    convert(b, root, ws[3]);
}

fn cart<R: Rng + ?Sized>(b: &mut Builder<'_, R>, root: &Ctx, ids: &Ids) {
    let items = b.rng.random_range(0..=5);
    let ws = b.split(root.w, items + 2);
    get_cart(b, root, ws[0], &ids.user);
    for w in &ws[1..=items] {
        let sku = format!("SKU-{:05}", b.rng.random_range(0..PRODUCT_COUNT));
        get_product(b, root, *w, &sku);
    }
    convert(b, root, ws[items + 1]);
}

fn add_to_cart<R: Rng + ?Sized>(b: &mut Builder<'_, R>, root: &Ctx, ids: &Ids) {
    let ws = b.split(root.w, 2);
    inventory_check(b, root, ws[0], &ids.sku);
    b.grpc(root, ws[1], CART, CART_RPC, "AddItem", |b, s| {
        let ws = b.split(s.w, 2);
        b.redis(
            s,
            ws[0],
            "HSET",
            &format!("cart:{} {} 1", ids.user, ids.sku),
        );
        b.redis(s, ws[1], "EXPIRE", &format!("cart:{} 604800", ids.user));
    });
}

fn checkout<R: Rng + ?Sized>(b: &mut Builder<'_, R>, root: &Ctx, ids: &Ids) {
    let order = format!("ord-{:016x}", b.rng.random::<u64>());
    let ws = b.split(root.w, 1);
    b.grpc(
        root,
        ws[0],
        CHECKOUT,
        "oteldemo.CheckoutService",
        "PlaceOrder",
        |b, s| {
            let items = b.rng.random_range(1..=3);
            let ws = b.split(s.w, items + 7);
            get_cart(b, s, ws[0], &ids.user);
            for w in &ws[1..=items] {
                b.grpc(s, *w, CATALOG, CATALOG_RPC, "GetProduct", |_, _| {});
            }
            let rest = &ws[items + 1..];
            convert(b, s, rest[0]);
            charge(b, s, rest[1]);
            b.grpc(
                s,
                rest[2],
                SHIPPING,
                "oteldemo.ShippingService",
                "GetQuote",
                |_, _| {},
            );
            b.sql(
                s,
                rest[3],
                "orders",
                "INSERT",
                "orders",
                "INSERT INTO orders (id, user_id, total_usd, status) VALUES ($1, $2, $3, $4)",
            );
            b.grpc(s, rest[4], CART, CART_RPC, "EmptyCart", |b, c| {
                let ws = b.split(c.w, 1);
                b.redis(c, ws[0], "DEL", &format!("cart:{}", ids.user));
            });
            publish_order(b, s, rest[5], &order);
        },
    );
}

fn charge<R: Rng + ?Sized>(b: &mut Builder<'_, R>, p: &Ctx, w: Window) {
    b.grpc(
        p,
        w,
        PAYMENT,
        "oteldemo.PaymentService",
        "Charge",
        |b, s| {
            let ws = b.split(s.w, 1);
            b.internal(s, ws[0], "validate card", |b, v| {
                let ws = b.split(v.w, 1);
                b.external(
                    v,
                    ws[0],
                    "POST",
                    "api.payments.example.net",
                    "/v1/charges",
                    "payment-gateway",
                );
            });
        },
    );
}

fn publish_order<R: Rng + ?Sized>(b: &mut Builder<'_, R>, p: &Ctx, w: Window, order: &str) {
    let producer = b.produce(p, w, "orders", order);
    let ws = b.split(producer.w, 2);
    b.consume(&producer, ws[0], EMAIL, "orders", |b, c| {
        let ws = b.split(c.w, 2);
        b.internal(c, ws[0], "render confirmation email", |_, _| {});
        b.external(
            c,
            ws[1],
            "POST",
            "api.mail.example.com",
            "/v3/mail/send",
            "mail-provider",
        );
    });
    b.consume(&producer, ws[1], SHIPPING, "orders", |b, c| {
        let ws = b.split(c.w, 1);
        b.sql(
            c,
            ws[0],
            "shipping",
            "INSERT",
            "shipments",
            "INSERT INTO shipments (order_id, carrier, status) VALUES ($1, $2, 'pending')",
        );
    });
}

fn order<R: Rng + ?Sized>(b: &mut Builder<'_, R>, root: &Ctx, _ids: &Ids) {
    let ws = b.split(root.w, 2);
    b.grpc(
        root,
        ws[0],
        CHECKOUT,
        "oteldemo.CheckoutService",
        "GetOrder",
        |b, s| {
            let ws = b.split(s.w, 2);
            b.sql(
                s,
                ws[0],
                "orders",
                "SELECT",
                "orders",
                "SELECT id, user_id, total_usd, status, created_at FROM orders WHERE id = $1",
            );
            b.sql(
                s,
                ws[1],
                "orders",
                "SELECT",
                "order_items",
                "SELECT sku, quantity, price_usd FROM order_items WHERE order_id = $1",
            );
        },
    );
    b.grpc(
        root,
        ws[1],
        SHIPPING,
        "oteldemo.ShippingService",
        "GetShipment",
        |b, s| {
            let ws = b.split(s.w, 1);
            b.sql(
                s,
                ws[0],
                "shipping",
                "SELECT",
                "shipments",
                "SELECT carrier, tracking_no, status FROM shipments WHERE order_id = $1",
            );
        },
    );
}

fn recs<R: Rng + ?Sized>(b: &mut Builder<'_, R>, root: &Ctx, ids: &Ids) {
    let ws = b.split(root.w, 1);
    recommendations(b, root, ws[0], &ids.user);
}

fn quote<R: Rng + ?Sized>(b: &mut Builder<'_, R>, root: &Ctx, _ids: &Ids) {
    let ws = b.split(root.w, 2);
    b.grpc(
        root,
        ws[0],
        SHIPPING,
        "oteldemo.ShippingService",
        "GetQuote",
        |b, s| {
            let ws = b.split(s.w, 2);
            b.internal(s, ws[0], "compute rate", |_, _| {});
            b.sql(
                s,
                ws[1],
                "shipping",
                "SELECT",
                "rates",
                "SELECT zone, weight_class, price_usd FROM rates WHERE zone = $1",
            );
        },
    );
    convert(b, root, ws[1]);
}
