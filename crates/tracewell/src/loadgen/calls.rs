//! Span helpers for the interaction patterns of the simulated shop: gRPC and
//! HTTP calls (client span on the caller, server span on a callee replica),
//! PostgreSQL and Redis client spans, Kafka producer/consumer spans and
//! internal work, all attributed per OpenTelemetry semantic conventions.

use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use rand::Rng;

use super::builder::{Builder, Ctx, Window};
use super::catalog::{kv_int, kv_str, kv_string, resource_index, REPLICAS, SERVICES};

/// Fraction of a client window spent on the network at each end.
const NET_FRAC: f64 = 0.08;

impl<R: Rng + ?Sized> Builder<'_, R> {
    /// A random replica (resource index) of `svc`.
    pub fn replica(&mut self, svc: usize) -> usize {
        resource_index(svc, self.rng.random_range(0..REPLICAS))
    }

    /// A gRPC call from `parent` to `svc`; `body` adds the server's children.
    pub fn grpc(
        &mut self,
        parent: &Ctx,
        w: Window,
        svc: usize,
        rpc_service: &str,
        method: &str,
        body: impl FnOnce(&mut Self, &Ctx),
    ) {
        let name = format!("{rpc_service}/{method}");
        let peer = SERVICES[svc].name;
        let client_attrs = vec![
            kv_str("rpc.system", "grpc"),
            kv_str("rpc.service", rpc_service),
            kv_str("rpc.method", method),
            kv_int("rpc.grpc.status_code", 0),
            kv_str("server.address", peer),
            kv_int("server.port", 8080),
            kv_str("peer.service", peer),
        ];
        let client = self.push(
            Some(parent),
            parent.res,
            name.clone(),
            SpanKind::Client,
            w,
            client_attrs,
        );
        let server_attrs = vec![
            kv_str("rpc.system", "grpc"),
            kv_str("rpc.service", rpc_service),
            kv_str("rpc.method", method),
            kv_int("rpc.grpc.status_code", 0),
            kv_str("server.address", peer),
            kv_int("server.port", 8080),
        ];
        let res = self.replica(svc);
        let sw = w.inset(self.rng, NET_FRAC);
        let server = self.push(Some(&client), res, name, SpanKind::Server, sw, server_attrs);
        body(self, &server);
    }

    /// An HTTP call from `parent` to `svc` for `method route` (path `path`).
    #[allow(clippy::too_many_arguments)]
    pub fn http(
        &mut self,
        parent: &Ctx,
        w: Window,
        svc: usize,
        method: &str,
        route: &str,
        path: String,
        body: impl FnOnce(&mut Self, &Ctx),
    ) {
        let peer = SERVICES[svc].name;
        let client_attrs = vec![
            kv_str("http.request.method", method),
            kv_string("url.full", format!("http://{peer}:8080{path}")),
            kv_str("server.address", peer),
            kv_int("server.port", 8080),
            kv_int("http.response.status_code", 200),
            kv_str("peer.service", peer),
        ];
        let client = self.push(
            Some(parent),
            parent.res,
            method.to_string(),
            SpanKind::Client,
            w,
            client_attrs,
        );
        let server_attrs = vec![
            kv_str("http.request.method", method),
            kv_str("http.route", route),
            kv_string("url.path", path),
            kv_str("url.scheme", "http"),
            kv_str("server.address", peer),
            kv_int("server.port", 8080),
            kv_int("http.response.status_code", 200),
            kv_str("network.protocol.version", "1.1"),
        ];
        let res = self.replica(svc);
        let sw = w.inset(self.rng, NET_FRAC);
        let server = self.push(
            Some(&client),
            res,
            format!("{method} {route}"),
            SpanKind::Server,
            sw,
            server_attrs,
        );
        body(self, &server);
    }

    /// An HTTP call to a third-party API outside the shop (leaf span).
    pub fn external(
        &mut self,
        parent: &Ctx,
        w: Window,
        method: &str,
        host: &str,
        path: &str,
        peer: &str,
    ) {
        let attrs = vec![
            kv_str("http.request.method", method),
            kv_string("url.full", format!("https://{host}{path}")),
            kv_str("server.address", host),
            kv_int("server.port", 443),
            kv_int("http.response.status_code", 200),
            kv_str("peer.service", peer),
        ];
        self.push(
            Some(parent),
            parent.res,
            method.to_string(),
            SpanKind::Client,
            w,
            attrs,
        );
    }

    /// A PostgreSQL statement (leaf client span).
    pub fn sql(&mut self, parent: &Ctx, w: Window, db: &str, op: &str, table: &str, query: &str) {
        let attrs = vec![
            kv_str("db.system", "postgresql"),
            kv_str("db.system.name", "postgresql"),
            kv_str("db.namespace", db),
            kv_str("db.collection.name", table),
            kv_str("db.operation.name", op),
            kv_str("db.query.text", query),
            kv_string("server.address", format!("{db}-db.shop-prod.svc")),
            kv_int("server.port", 5432),
            kv_str("peer.service", "postgres"),
        ];
        self.push(
            Some(parent),
            parent.res,
            format!("{op} {table}"),
            SpanKind::Client,
            w,
            attrs,
        );
    }

    /// A Redis command on `key` (leaf client span).
    pub fn redis(&mut self, parent: &Ctx, w: Window, op: &str, key: &str) {
        let attrs = vec![
            kv_str("db.system", "redis"),
            kv_str("db.system.name", "redis"),
            kv_str("db.namespace", "0"),
            kv_str("db.operation.name", op),
            kv_string("db.query.text", format!("{op} {key}")),
            kv_str("server.address", "redis-cart.shop-prod.svc"),
            kv_int("server.port", 6379),
            kv_str("peer.service", "redis"),
        ];
        self.push(
            Some(parent),
            parent.res,
            op.to_string(),
            SpanKind::Client,
            w,
            attrs,
        );
    }

    /// A Kafka send; returns the producer context consumers attach to.
    pub fn produce(&mut self, parent: &Ctx, w: Window, topic: &str, key: &str) -> Ctx {
        let partition = self.rng.random_range(0..12i64);
        let mut attrs = kafka_attrs(topic, "send", "send", partition);
        attrs.push(kv_str("messaging.kafka.message.key", key));
        attrs.push(kv_str("peer.service", "kafka"));
        self.push(
            Some(parent),
            parent.res,
            format!("send {topic}"),
            SpanKind::Producer,
            w,
            attrs,
        )
    }

    /// A Kafka consumer in `svc` processing the message sent by `producer`.
    pub fn consume(
        &mut self,
        producer: &Ctx,
        w: Window,
        svc: usize,
        topic: &str,
        body: impl FnOnce(&mut Self, &Ctx),
    ) {
        let partition = self.rng.random_range(0..12i64);
        let mut attrs = kafka_attrs(topic, "process", "process", partition);
        attrs.push(kv_string(
            "messaging.consumer.group.name",
            format!("{}-consumers", SERVICES[svc].name),
        ));
        attrs.push(kv_int(
            "messaging.kafka.offset",
            self.rng.random_range(1_000_000..90_000_000),
        ));
        let res = self.replica(svc);
        let ctx = self.push(
            Some(producer),
            res,
            format!("process {topic}"),
            SpanKind::Consumer,
            w,
            attrs,
        );
        body(self, &ctx);
    }

    /// Internal work inside the current service.
    pub fn internal(
        &mut self,
        parent: &Ctx,
        w: Window,
        name: &str,
        body: impl FnOnce(&mut Self, &Ctx),
    ) {
        let ctx = self.push(
            Some(parent),
            parent.res,
            name.to_string(),
            SpanKind::Internal,
            w,
            Vec::new(),
        );
        body(self, &ctx);
    }
}

fn kafka_attrs(
    topic: &str,
    op_name: &str,
    op_type: &str,
    partition: i64,
) -> Vec<opentelemetry_proto::tonic::common::v1::KeyValue> {
    vec![
        kv_str("messaging.system", "kafka"),
        kv_str("messaging.destination.name", topic),
        kv_str("messaging.operation.name", op_name),
        kv_str("messaging.operation.type", op_type),
        kv_string("messaging.destination.partition.id", partition.to_string()),
        kv_str("server.address", "kafka-broker-1.shop-prod.svc"),
        kv_int("server.port", 9092),
    ]
}
