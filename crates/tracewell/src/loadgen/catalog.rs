//! Static description of the synthetic shop that the load generator simulates:
//! services, their replicas (one OTLP resource each), instrumentation scopes
//! and the small vocabularies (products, user agents, failures) spans draw from.

use std::sync::OnceLock;

use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;

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

/// Prebuilt resources, indexed by [`resource_index`].
pub fn resources() -> &'static [Resource] {
    static CELL: OnceLock<Vec<Resource>> = OnceLock::new();
    CELL.get_or_init(|| (0..resource_count()).map(build_resource).collect())
}

/// Prebuilt instrumentation scopes, indexed by resource index.
pub fn scopes() -> &'static [InstrumentationScope] {
    static CELL: OnceLock<Vec<InstrumentationScope>> = OnceLock::new();
    CELL.get_or_init(|| {
        (0..resource_count())
            .map(|i| {
                let s = resource_service(i);
                InstrumentationScope {
                    name: s.scope.to_string(),
                    version: s.scope_version.to_string(),
                    ..Default::default()
                }
            })
            .collect()
    })
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
        kv_str("service.name", s.name),
        kv_str("service.namespace", "shop"),
        kv_str("service.version", s.version),
        kv_string("service.instance.id", instance),
        kv_string("host.name", host.clone()),
        kv_string("k8s.pod.name", host),
        kv_str("k8s.namespace.name", "shop-prod"),
        kv_str("deployment.environment.name", "production"),
        kv_str("cloud.region", "eu-west-1"),
        kv_str("telemetry.sdk.name", "opentelemetry"),
        kv_str("telemetry.sdk.language", s.language),
        kv_str("telemetry.sdk.version", s.sdk_version),
    ];
    Resource {
        attributes,
        ..Default::default()
    }
}

/// A string attribute from a static value.
pub fn kv_str(key: &str, value: &str) -> KeyValue {
    kv_string(key, value.to_string())
}

/// A string attribute from an owned value.
pub fn kv_string(key: &str, value: String) -> KeyValue {
    kv(key, any_value::Value::StringValue(value))
}

/// An integer attribute.
pub fn kv_int(key: &str, value: i64) -> KeyValue {
    kv(key, any_value::Value::IntValue(value))
}

fn kv(key: &str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue { value: Some(value) }),
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

/// Failures injected into error traces: (exception.type, exception.message).
pub const FAILURES: [(&str, &str); 6] = [
    (
        "io.grpc.StatusRuntimeException",
        "UNAVAILABLE: io exception",
    ),
    ("TimeoutError", "operation timed out after 5000ms"),
    (
        "org.postgresql.util.PSQLException",
        "ERROR: deadlock detected",
    ),
    ("RedisConnectionException", "Connection reset by peer"),
    ("PaymentDeclinedError", "card declined: insufficient funds"),
    (
        "KafkaTimeoutError",
        "Failed to update metadata after 60.0 secs",
    ),
];

/// Number of distinct product SKUs.
pub const PRODUCT_COUNT: u64 = 240;
/// Number of distinct users (high-cardinality attribute values).
pub const USER_COUNT: u64 = 250_000;
