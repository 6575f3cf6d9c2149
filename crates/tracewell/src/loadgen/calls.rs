//! Span helpers for the interaction patterns of the simulated shop: gRPC and
//! HTTP calls (client span on the caller, server span on a callee replica),
//! PostgreSQL and Redis client spans, Kafka producer/consumer spans and
//! internal work, all attributed per OpenTelemetry semantic conventions.

use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use rand::Rng;

use super::builder::{int, owned, s, Builder, Ctx, Window};
use super::catalog::{resource_index, REPLICAS, SERVICES};

/// Fraction of a client window spent on the network at each end.
const NET_FRAC: f64 = 0.08;

/// Kafka partition ids as strings (`messaging.destination.partition.id`).
const PARTITIONS: [&str; 12] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11"];

/// An HTTP endpoint of a shop service.
pub struct Route {
    pub method: &'static str,
    pub route: &'static str,
    /// Server span name: `{method} {route}`.
    pub name: &'static str,
}

/// A parameterised PostgreSQL statement.
pub struct Sql {
    pub db: &'static str,
    pub host: &'static str,
    pub op: &'static str,
    pub table: &'static str,
    /// Span name: `{op} {table}`.
    pub name: &'static str,
    pub query: &'static str,
}

impl<R: Rng + ?Sized> Builder<'_, R> {
    /// A random replica (resource index) of `svc`.
    pub fn replica(&mut self, svc: usize) -> usize {
        resource_index(svc, self.rng.random_range(0..REPLICAS))
    }

    /// A gRPC call of `full_method` ("pkg.Service/Method") from `parent` to
    /// `svc`; `body` adds the server span's children.
    pub fn grpc(
        &mut self,
        parent: &Ctx,
        w: Window,
        svc: usize,
        full_method: &'static str,
        body: impl FnOnce(&mut Self, &Ctx),
    ) {
        let (service, method) = full_method.split_once('/').unwrap_or((full_method, ""));
        let peer = SERVICES[svc].name;
        let attrs = |client: bool| {
            let mut a = vec![
                s("rpc.system", "grpc"),
                s("rpc.service", service),
                s("rpc.method", method),
                int("rpc.grpc.status_code", 0),
                s("server.address", peer),
                int("server.port", 8080),
            ];
            if client {
                a.push(s("peer.service", peer));
            }
            a
        };
        let client = self.push(
            Some(parent),
            parent.res,
            full_method,
            SpanKind::Client,
            w,
            attrs(true),
        );
        let res = self.replica(svc);
        let sw = w.inset(self.rng, NET_FRAC);
        let server = self.push(
            Some(&client),
            res,
            full_method,
            SpanKind::Server,
            sw,
            attrs(false),
        );
        body(self, &server);
    }

    /// An HTTP call of `route` (concrete `path`) from `parent` to `svc`.
    pub fn http(
        &mut self,
        parent: &Ctx,
        w: Window,
        svc: usize,
        route: &Route,
        path: String,
        body: impl FnOnce(&mut Self, &Ctx),
    ) {
        let peer = SERVICES[svc].name;
        let client_attrs = vec![
            s("http.request.method", route.method),
            owned("url.full", format!("http://{peer}:8080{path}")),
            s("server.address", peer),
            int("server.port", 8080),
            int("http.response.status_code", 200),
            s("peer.service", peer),
        ];
        let client = self.push(
            Some(parent),
            parent.res,
            route.method,
            SpanKind::Client,
            w,
            client_attrs,
        );
        let server_attrs = vec![
            s("http.request.method", route.method),
            s("http.route", route.route),
            owned("url.path", path),
            s("url.scheme", "http"),
            s("server.address", peer),
            int("server.port", 8080),
            int("http.response.status_code", 200),
            s("network.protocol.version", "1.1"),
        ];
        let res = self.replica(svc);
        let sw = w.inset(self.rng, NET_FRAC);
        let server = self.push(
            Some(&client),
            res,
            route.name,
            SpanKind::Server,
            sw,
            server_attrs,
        );
        body(self, &server);
    }

    /// A `POST` to a third-party API outside the shop (leaf client span).
    pub fn external_post(
        &mut self,
        parent: &Ctx,
        w: Window,
        host: &'static str,
        url: &'static str,
        peer: &'static str,
    ) {
        let attrs = vec![
            s("http.request.method", "POST"),
            s("url.full", url),
            s("server.address", host),
            int("server.port", 443),
            int("http.response.status_code", 200),
            s("peer.service", peer),
        ];
        self.push(Some(parent), parent.res, "POST", SpanKind::Client, w, attrs);
    }

    /// A PostgreSQL statement (leaf client span).
    pub fn sql(&mut self, parent: &Ctx, w: Window, q: &Sql) {
        let attrs = vec![
            s("db.system", "postgresql"),
            s("db.system.name", "postgresql"),
            s("db.namespace", q.db),
            s("db.collection.name", q.table),
            s("db.operation.name", q.op),
            s("db.query.text", q.query),
            s("server.address", q.host),
            int("server.port", 5432),
            s("peer.service", "postgres"),
        ];
        self.push(Some(parent), parent.res, q.name, SpanKind::Client, w, attrs);
    }

    /// A Redis command (leaf client span); `text` is the full command line.
    pub fn redis(&mut self, parent: &Ctx, w: Window, op: &'static str, text: String) {
        let attrs = vec![
            s("db.system", "redis"),
            s("db.system.name", "redis"),
            s("db.namespace", "0"),
            s("db.operation.name", op),
            owned("db.query.text", text),
            s("server.address", "redis-cart.shop-prod.svc"),
            int("server.port", 6379),
            s("peer.service", "redis"),
        ];
        self.push(Some(parent), parent.res, op, SpanKind::Client, w, attrs);
    }

    /// A Kafka send to `topic` (span `name`); returns the producer context
    /// consumers attach to.
    pub fn produce(
        &mut self,
        parent: &Ctx,
        w: Window,
        topic: &'static str,
        name: &'static str,
        key: String,
    ) -> Ctx {
        let mut attrs = self.kafka_attrs(topic, "send");
        attrs.push(owned("messaging.kafka.message.key", key));
        attrs.push(s("peer.service", "kafka"));
        self.push(Some(parent), parent.res, name, SpanKind::Producer, w, attrs)
    }

    /// A Kafka consumer in `svc` (consumer group `group`) processing the
    /// message sent by `producer`.
    #[allow(clippy::too_many_arguments)]
    pub fn consume(
        &mut self,
        producer: &Ctx,
        w: Window,
        svc: usize,
        topic: &'static str,
        name: &'static str,
        group: &'static str,
        body: impl FnOnce(&mut Self, &Ctx),
    ) {
        let mut attrs = self.kafka_attrs(topic, "process");
        attrs.push(s("messaging.consumer.group.name", group));
        attrs.push(int(
            "messaging.kafka.offset",
            self.rng.random_range(1_000_000..90_000_000),
        ));
        let res = self.replica(svc);
        let ctx = self.push(Some(producer), res, name, SpanKind::Consumer, w, attrs);
        body(self, &ctx);
    }

    fn kafka_attrs(&mut self, topic: &'static str, op: &'static str) -> Vec<super::builder::Attr> {
        let partition = PARTITIONS[self.rng.random_range(0..PARTITIONS.len())];
        vec![
            s("messaging.system", "kafka"),
            s("messaging.destination.name", topic),
            s("messaging.operation.name", op),
            s("messaging.operation.type", op),
            s("messaging.destination.partition.id", partition),
            s("server.address", "kafka-broker-1.shop-prod.svc"),
            int("server.port", 9092),
        ]
    }

    /// Internal work inside the current service.
    pub fn internal(
        &mut self,
        parent: &Ctx,
        w: Window,
        name: &'static str,
        body: impl FnOnce(&mut Self, &Ctx),
    ) {
        let ctx = self.push(
            Some(parent),
            parent.res,
            name,
            SpanKind::Internal,
            w,
            Vec::new(),
        );
        body(self, &ctx);
    }
}
