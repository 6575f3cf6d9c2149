//! Static description of the synthetic shop that the load generator simulates:
//! services, their replicas (one OTLP resource each), instrumentation scopes
//! and the small vocabularies (products, user agents, failures) spans draw from.

use std::sync::OnceLock;

use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;

/// Semantic-conventions schema URL stamped on every resource and scope.
pub const SCHEMA_URL: &str = "https://opentelemetry.io/schemas/1.30.0";

/// Number of replicas (pods) per service; each replica is its own resource.
pub const REPLICAS: usize = 3;

/// One simulated service.
pub struct Service {
    pub name: &'static str,
    pub version: &'static str,
    pub language: &'static str,
    pub sdk_version: &'static str,
    pub scope: &'static str,
    pub scope_version: &'static str,
}

const fn svc(
    name: &'static str,
    version: &'static str,
    language: &'static str,
    sdk_version: &'static str,
    scope: &'static str,
    scope_version: &'static str,
) -> Service {
    Service {
        name,
        version,
        language,
        sdk_version,
        scope,
        scope_version,
    }
}

pub const FRONTEND: usize = 0;
pub const CHECKOUT: usize = 1;
pub const CART: usize = 2;
pub const PAYMENT: usize = 3;
pub const INVENTORY: usize = 4;
pub const SHIPPING: usize = 5;
pub const EMAIL: usize = 6;
pub const CATALOG: usize = 7;
pub const RECOMMENDATION: usize = 8;
pub const CURRENCY: usize = 9;

pub const SERVICES: [Service; 10] = [
    svc(
        "frontend",
        "2.4.1",
        "nodejs",
        "1.30.1",
        "@opentelemetry/instrumentation-http",
        "0.57.2",
    ),
    svc(
        "checkout",
        "1.19.0",
        "go",
        "1.35.0",
        "go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc",
        "0.60.0",
    ),
    svc(
        "cart",
        "3.2.0",
        "dotnet",
        "1.11.2",
        "OpenTelemetry.Instrumentation.AspNetCore",
        "1.11.1",
    ),
    svc(
        "payment",
        "1.7.3",
        "nodejs",
        "1.30.1",
        "@opentelemetry/instrumentation-grpc",
        "0.57.2",
    ),
    svc(
        "inventory",
        "5.0.2",
        "java",
        "1.48.0",
        "io.opentelemetry.spring-webmvc-6.0",
        "2.14.0-alpha",
    ),
    svc(
        "shipping",
        "0.9.4",
        "rust",
        "0.29.0",
        "tracing-opentelemetry",
        "0.30.0",
    ),
    svc(
        "email",
        "1.3.0",
        "python",
        "1.31.1",
        "opentelemetry.instrumentation.kafka",
        "0.52b1",
    ),
    svc(
        "product-catalog",
        "1.12.0",
        "go",
        "1.35.0",
        "go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc",
        "0.60.0",
    ),
    svc(
        "recommendation",
        "2.0.5",
        "python",
        "1.31.1",
        "opentelemetry.instrumentation.grpc",
        "0.52b1",
    ),
    svc(
        "currency",
        "1.4.2",
        "cpp",
        "1.19.0",
        "opentelemetry-cpp",
        "1.19.0",
    ),
];

/// Index of the OTLP resource for one replica of one service.
pub fn resource_index(service: usize, replica: usize) -> usize {
    service * REPLICAS + replica
}

/// The service an OTLP resource index belongs to.
pub fn resource_service(resource: usize) -> &'static Service {
    &SERVICES[resource / REPLICAS]
}

/// Total number of distinct resources.
pub fn resource_count() -> usize {
    SERVICES.len() * REPLICAS
}

/// Pre-encoded `Resource` and `InstrumentationScope` messages of one resource.
pub struct EncodedResource {
    pub resource: Vec<u8>,
    pub scope: Vec<u8>,
}

/// Pre-encoded resources and scopes, indexed by [`resource_index`].
pub fn encoded_resources() -> &'static [EncodedResource] {
    static CELL: OnceLock<Vec<EncodedResource>> = OnceLock::new();
    CELL.get_or_init(|| {
        (0..resource_count())
            .map(|i| EncodedResource {
                resource: build_resource(i).encode_to_vec(),
                scope: build_scope(i).encode_to_vec(),
            })
            .collect()
    })
}

fn build_scope(index: usize) -> InstrumentationScope {
    let s = resource_service(index);
    InstrumentationScope {
        name: s.scope.to_string(),
        version: s.scope_version.to_string(),
        ..Default::default()
    }
}

fn build_resource(index: usize) -> Resource {
    let s = resource_service(index);
    let replica = index % REPLICAS;
    let pod_hash = 0x5f3a_9c1du32.wrapping_mul(index as u32 + 7) & 0xff_ffff;
    let host = format!(
        "{}-{:06x}-{}",
        s.name,
        pod_hash,
        ["x2k4p", "m8qzt", "c7wvn"][replica]
    );
    let instance = format!("{:08x}-7a1e-4c2b-9d3f-{:012x}", pod_hash, index * 7919 + 1);
    let attributes = vec![
        kv("service.name", s.name),
        kv("service.namespace", "shop"),
        kv("service.version", s.version),
        kv("service.instance.id", &instance),
        kv("host.name", &host),
        kv("k8s.pod.name", &host),
        kv("k8s.namespace.name", "shop-prod"),
        kv("deployment.environment.name", "production"),
        kv("cloud.region", "eu-west-1"),
        kv("telemetry.sdk.name", "opentelemetry"),
        kv("telemetry.sdk.language", s.language),
        kv("telemetry.sdk.version", s.sdk_version),
    ];
    Resource {
        attributes,
        ..Default::default()
    }
}

fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_string())),
        }),
        ..Default::default()
    }
}

/// Browser user agents seen by the frontend.
pub const USER_AGENTS: [&str; 4] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
];

/// A failure injected into error traces.
pub struct Failure {
    pub kind: &'static str,
    pub message: &'static str,
    pub stacktrace: &'static str,
}

/// Failures injected into error traces (`exception.*` attributes).
pub const FAILURES: [Failure; 6] = [
    Failure {
        kind: "io.grpc.StatusRuntimeException",
        message: "UNAVAILABLE: io exception",
        stacktrace: "io.grpc.StatusRuntimeException: UNAVAILABLE: io exception\n\tat io.grpc.stub.ClientCalls.toStatusRuntimeException(ClientCalls.java:268)\n\tat io.grpc.stub.ClientCalls.blockingUnaryCall(ClientCalls.java:249)\n\tat shop.inventory.StockClient.reserve(StockClient.java:88)",
    },
    Failure {
        kind: "TimeoutError",
        message: "operation timed out after 5000ms",
        stacktrace: "TimeoutError: operation timed out after 5000ms\n    at Timeout._onTimeout (/app/src/lib/rpc.js:41:23)\n    at listOnTimeout (node:internal/timers:581:17)",
    },
    Failure {
        kind: "org.postgresql.util.PSQLException",
        message: "ERROR: deadlock detected",
        stacktrace: "org.postgresql.util.PSQLException: ERROR: deadlock detected\n\tat org.postgresql.core.v3.QueryExecutorImpl.receiveErrorResponse(QueryExecutorImpl.java:2725)\n\tat shop.inventory.StockRepository.reserve(StockRepository.java:57)",
    },
    Failure {
        kind: "StackExchange.Redis.RedisConnectionException",
        message: "No connection is active/available to service this operation: HGETALL",
        stacktrace: "StackExchange.Redis.RedisConnectionException: No connection is active/available to service this operation: HGETALL\n   at cart.cartstore.RedisCartStore.GetCartAsync(String userId) in /app/src/cartstore/RedisCartStore.cs:line 178",
    },
    Failure {
        kind: "PaymentDeclinedError",
        message: "card declined: insufficient funds",
        stacktrace: "PaymentDeclinedError: card declined: insufficient funds\n    at charge (/app/charge.js:73:11)\n    at async Object.chargeServiceHandler [as charge] (/app/index.js:21:22)",
    },
    Failure {
        kind: "kafka.errors.KafkaTimeoutError",
        message: "Failed to update metadata after 60.0 secs.",
        stacktrace: "Traceback (most recent call last):\n  File \"/app/email_server.py\", line 112, in process\n    producer.send(topic, value)\nkafka.errors.KafkaTimeoutError: Failed to update metadata after 60.0 secs.",
    },
];

/// Number of distinct product SKUs.
pub const PRODUCT_COUNT: u64 = 240;
/// Number of distinct users (high-cardinality attribute values).
pub const USER_COUNT: u64 = 250_000;
