//! The user journeys of the simulated shop. Each journey starts with a
//! frontend HTTP server span and fans out into downstream services, giving
//! traces of 6–30 spans with strictly nested timings.

use rand::Rng;

use super::builder::{Builder, Ctx, Window};
use super::calls::{Route, Sql};
use super::catalog::*;

/// High-cardinality identifiers shared by the spans of one journey.
pub struct Ids {
    pub user: String,
    pub sku: String,
}

const fn sql(
    db: &'static str,
    host: &'static str,
    op: &'static str,
    table: &'static str,
    name: &'static str,
    query: &'static str,
) -> Sql {
    Sql {
        db,
        host,
        op,
        table,
        name,
        query,
    }
}

const CATALOG_DB: &str = "catalog-db.shop-prod.svc";
const ORDERS_DB: &str = "orders-db.shop-prod.svc";
const SELECT_PRODUCT: Sql = sql(
    "catalog",
    CATALOG_DB,
    "SELECT",
    "products",
    "SELECT products",
    "SELECT id, name, description, price_usd, categories FROM products WHERE id = $1",
);
const LIST_PRODUCTS: Sql = sql("catalog", CATALOG_DB, "SELECT", "products", "SELECT products", "SELECT id, name, price_usd FROM products WHERE categories && $1 ORDER BY popularity DESC LIMIT $2");
const SELECT_STOCK: Sql = sql(
    "inventory",
    "inventory-db.shop-prod.svc",
    "SELECT",
    "stock",
    "SELECT stock",
    "SELECT sku, warehouse_id, quantity FROM stock WHERE sku = $1",
);
const INSERT_ORDER: Sql = sql(
    "orders",
    ORDERS_DB,
    "INSERT",
    "orders",
    "INSERT orders",
    "INSERT INTO orders (id, user_id, total_usd, status) VALUES ($1, $2, $3, $4)",
);
const SELECT_ORDER: Sql = sql(
    "orders",
    ORDERS_DB,
    "SELECT",
    "orders",
    "SELECT orders",
    "SELECT id, user_id, total_usd, status, created_at FROM orders WHERE id = $1",
);
const SELECT_ITEMS: Sql = sql(
    "orders",
    ORDERS_DB,
    "SELECT",
    "order_items",
    "SELECT order_items",
    "SELECT sku, quantity, price_usd FROM order_items WHERE order_id = $1",
);
const INSERT_SHIPMENT: Sql = sql(
    "orders",
    ORDERS_DB,
    "INSERT",
    "shipments",
    "INSERT shipments",
    "INSERT INTO shipments (order_id, carrier, status) VALUES ($1, $2, 'pending')",
);
const SELECT_SHIPMENT: Sql = sql(
    "orders",
    ORDERS_DB,
    "SELECT",
    "shipments",
    "SELECT shipments",
    "SELECT carrier, tracking_no, status FROM shipments WHERE order_id = $1",
);
const SELECT_RATES: Sql = sql(
    "orders",
    ORDERS_DB,
    "SELECT",
    "rates",
    "SELECT rates",
    "SELECT zone, weight_class, price_usd FROM rates WHERE zone = $1",
);
const INVENTORY_ROUTE: Route = Route {
    method: "GET",
    route: "/inventory/{sku}",
    name: "GET /inventory/{sku}",
};

fn get_product<R: Rng + ?Sized>(b: &mut Builder<'_, R>, p: &Ctx, w: Window, sku: &str) {
    b.grpc(
        p,
        w,
        CATALOG,
        "oteldemo.ProductCatalogService/GetProduct",
        |b, s| {
            let miss = b.rng.random_bool(0.3);
            let ws = b.split(s.w, 1 + miss as usize);
            b.redis(s, ws[0], "GET", format!("GET product:{sku}"));
            if miss {
                b.sql(s, ws[1], &SELECT_PRODUCT);
            }
        },
    );
}

fn list_products<R: Rng + ?Sized>(b: &mut Builder<'_, R>, p: &Ctx, w: Window) {
    b.grpc(
        p,
        w,
        CATALOG,
        "oteldemo.ProductCatalogService/ListProducts",
        |b, s| {
            let ws = b.split(s.w, 1);
            b.sql(s, ws[0], &LIST_PRODUCTS);
        },
    );
}

fn convert<R: Rng + ?Sized>(b: &mut Builder<'_, R>, p: &Ctx, w: Window) {
    b.grpc(
        p,
        w,
        CURRENCY,
        "oteldemo.CurrencyService/Convert",
        |_, _| {},
    );
}

fn get_cart<R: Rng + ?Sized>(b: &mut Builder<'_, R>, p: &Ctx, w: Window, user: &str) {
    b.grpc(p, w, CART, "oteldemo.CartService/GetCart", |b, s| {
        let ws = b.split(s.w, 1);
        b.redis(s, ws[0], "HGETALL", format!("HGETALL cart:{user}"));
    });
}

fn inventory_check<R: Rng + ?Sized>(b: &mut Builder<'_, R>, p: &Ctx, w: Window, sku: &str) {
    b.http(
        p,
        w,
        INVENTORY,
        &INVENTORY_ROUTE,
        format!("/inventory/{sku}"),
        |b, s| {
            let ws = b.split(s.w, 1);
            b.sql(s, ws[0], &SELECT_STOCK);
        },
    );
}

fn recommendations<R: Rng + ?Sized>(b: &mut Builder<'_, R>, p: &Ctx, w: Window, user: &str) {
    b.grpc(
        p,
        w,
        RECOMMENDATION,
        "oteldemo.RecommendationService/ListRecommendations",
        |b, s| {
            let ws = b.split(s.w, 3);
            b.redis(s, ws[0], "GET", format!("GET prefs:{user}"));
            list_products(b, s, ws[1]);
            b.internal(s, ws[2], "rank candidates", |_, _| {});
        },
    );
}

pub fn browse<R: Rng + ?Sized>(b: &mut Builder<'_, R>, root: &Ctx, _ids: &Ids) {
    let ws = b.split(root.w, 3);
    list_products(b, root, ws[0]);
    convert(b, root, ws[1]);
    b.internal(root, ws[2], "render product list", |_, _| {});
}

pub fn product<R: Rng + ?Sized>(b: &mut Builder<'_, R>, root: &Ctx, ids: &Ids) {
    let ws = b.split(root.w, 4);
    get_product(b, root, ws[0], &ids.sku);
    recommendations(b, root, ws[1], &ids.user);
    inventory_check(b, root, ws[2], &ids.sku);
    convert(b, root, ws[3]);
}

pub fn cart<R: Rng + ?Sized>(b: &mut Builder<'_, R>, root: &Ctx, ids: &Ids) {
    let items = b.rng.random_range(0..=5);
    let ws = b.split(root.w, items + 2);
    get_cart(b, root, ws[0], &ids.user);
    for w in &ws[1..=items] {
        let sku = format!("SKU-{:05}", b.rng.random_range(0..PRODUCT_COUNT));
        get_product(b, root, *w, &sku);
    }
    convert(b, root, ws[items + 1]);
}

pub fn add_to_cart<R: Rng + ?Sized>(b: &mut Builder<'_, R>, root: &Ctx, ids: &Ids) {
    let ws = b.split(root.w, 2);
    inventory_check(b, root, ws[0], &ids.sku);
    b.grpc(root, ws[1], CART, "oteldemo.CartService/AddItem", |b, s| {
        let ws = b.split(s.w, 2);
        b.redis(
            s,
            ws[0],
            "HSET",
            format!("HSET cart:{} {} 1", ids.user, ids.sku),
        );
        b.redis(
            s,
            ws[1],
            "EXPIRE",
            format!("EXPIRE cart:{} 604800", ids.user),
        );
    });
}

pub fn checkout<R: Rng + ?Sized>(b: &mut Builder<'_, R>, root: &Ctx, ids: &Ids) {
    let order = format!("ord-{:016x}", b.rng.random::<u64>());
    let ws = b.split(root.w, 1);
    b.grpc(
        root,
        ws[0],
        CHECKOUT,
        "oteldemo.CheckoutService/PlaceOrder",
        |b, s| {
            let items = b.rng.random_range(1..=3);
            let ws = b.split(s.w, items + 7);
            get_cart(b, s, ws[0], &ids.user);
            for w in &ws[1..=items] {
                b.grpc(
                    s,
                    *w,
                    CATALOG,
                    "oteldemo.ProductCatalogService/GetProduct",
                    |_, _| {},
                );
            }
            let rest = &ws[items + 1..];
            convert(b, s, rest[0]);
            charge(b, s, rest[1]);
            b.grpc(
                s,
                rest[2],
                SHIPPING,
                "oteldemo.ShippingService/GetQuote",
                |_, _| {},
            );
            b.sql(s, rest[3], &INSERT_ORDER);
            b.grpc(
                s,
                rest[4],
                CART,
                "oteldemo.CartService/EmptyCart",
                |b, c| {
                    let ws = b.split(c.w, 1);
                    b.redis(c, ws[0], "DEL", format!("DEL cart:{}", ids.user));
                },
            );
            publish_order(b, s, rest[5], order);
        },
    );
}

fn charge<R: Rng + ?Sized>(b: &mut Builder<'_, R>, p: &Ctx, w: Window) {
    b.grpc(p, w, PAYMENT, "oteldemo.PaymentService/Charge", |b, s| {
        let ws = b.split(s.w, 1);
        b.internal(s, ws[0], "validate card", |b, v| {
            let ws = b.split(v.w, 1);
            let url = "https://api.payments.example.net/v1/charges";
            b.external_post(v, ws[0], "api.payments.example.net", url, "payment-gateway");
        });
    });
}

fn publish_order<R: Rng + ?Sized>(b: &mut Builder<'_, R>, p: &Ctx, w: Window, order: String) {
    let producer = b.produce(p, w, "orders", "send orders", order);
    let ws = b.split(producer.w, 2);
    b.consume(
        &producer,
        ws[0],
        EMAIL,
        "orders",
        "process orders",
        "email-consumers",
        |b, c| {
            let ws = b.split(c.w, 2);
            b.internal(c, ws[0], "render confirmation email", |_, _| {});
            let url = "https://api.mail.example.com/v3/mail/send";
            b.external_post(c, ws[1], "api.mail.example.com", url, "mail-provider");
        },
    );
    b.consume(
        &producer,
        ws[1],
        SHIPPING,
        "orders",
        "process orders",
        "shipping-consumers",
        |b, c| {
            let ws = b.split(c.w, 1);
            b.sql(c, ws[0], &INSERT_SHIPMENT);
        },
    );
}

pub fn order<R: Rng + ?Sized>(b: &mut Builder<'_, R>, root: &Ctx, _ids: &Ids) {
    let ws = b.split(root.w, 2);
    b.grpc(
        root,
        ws[0],
        CHECKOUT,
        "oteldemo.CheckoutService/GetOrder",
        |b, s| {
            let ws = b.split(s.w, 2);
            b.sql(s, ws[0], &SELECT_ORDER);
            b.sql(s, ws[1], &SELECT_ITEMS);
        },
    );
    b.grpc(
        root,
        ws[1],
        SHIPPING,
        "oteldemo.ShippingService/GetShipment",
        |b, s| {
            let ws = b.split(s.w, 1);
            b.sql(s, ws[0], &SELECT_SHIPMENT);
        },
    );
}

pub fn recs<R: Rng + ?Sized>(b: &mut Builder<'_, R>, root: &Ctx, ids: &Ids) {
    let ws = b.split(root.w, 1);
    recommendations(b, root, ws[0], &ids.user);
}

pub fn quote<R: Rng + ?Sized>(b: &mut Builder<'_, R>, root: &Ctx, _ids: &Ids) {
    let ws = b.split(root.w, 2);
    b.grpc(
        root,
        ws[0],
        SHIPPING,
        "oteldemo.ShippingService/GetQuote",
        |b, s| {
            let ws = b.split(s.w, 2);
            b.internal(s, ws[0], "compute rate", |_, _| {});
            b.sql(s, ws[1], &SELECT_RATES);
        },
    );
    convert(b, root, ws[1]);
}
