//! The resource describing the process: service name and version, host, process, and Kubernetes pod,
//! namespace and node from the downward-API environment variables when present.
//!
//! Precedence, lowest first: detected attributes, attributes given in code, `OTEL_RESOURCE_ATTRIBUTES`,
//! `OTEL_SERVICE_NAME`. A process with no service name anywhere is `unknown_service:<executable>`, as
//! the OpenTelemetry specification says.

use opentelemetry::{Key, KeyValue, Value};
use opentelemetry_sdk::resource::{ResourceDetector, TelemetryResourceDetector};
use opentelemetry_sdk::Resource;

/// Downward-API variables read for Kubernetes attributes: the attribute, then the variables tried in order.
const KUBERNETES_ENV: &[(&str, &[&str])] = &[
    ("k8s.pod.name", &["K8S_POD_NAME", "POD_NAME"]),
    ("k8s.pod.uid", &["K8S_POD_UID", "POD_UID"]),
    (
        "k8s.namespace.name",
        &["K8S_NAMESPACE_NAME", "K8S_NAMESPACE", "POD_NAMESPACE"],
    ),
    ("k8s.node.name", &["K8S_NODE_NAME", "NODE_NAME"]),
    (
        "k8s.container.name",
        &["K8S_CONTAINER_NAME", "CONTAINER_NAME"],
    ),
];

/// What code says about the service; the environment may override it.
#[derive(Clone, Debug, Default)]
pub struct ServiceInfo {
    pub name: Option<String>,
    pub version: Option<String>,
    pub attributes: Vec<KeyValue>,
}

/// Builds the resource from detection, `info` and the environment (see the module doc for precedence).
pub fn build_resource(info: &ServiceInfo) -> Resource {
    build_resource_with_env(info, &|name| std::env::var(name).ok())
}

/// [`build_resource`] reading variables through `env` (tests pass their own).
pub fn build_resource_with_env(
    info: &ServiceInfo,
    env: &dyn Fn(&str) -> Option<String>,
) -> Resource {
    let mut attributes: Vec<KeyValue> = Vec::with_capacity(24);
    attributes.extend(TelemetryResourceDetector.detect().iter().map(to_key_value));
    attributes.extend(detected_attributes(env));
    if let Some(name) = &info.name {
        attributes.push(KeyValue::new("service.name", name.clone()));
    }
    if let Some(version) = &info.version {
        attributes.push(KeyValue::new("service.version", version.clone()));
    }
    attributes.extend(info.attributes.iter().cloned());
    if let Some(raw) = env("OTEL_RESOURCE_ATTRIBUTES") {
        attributes.extend(parse_resource_attributes(&raw));
    }
    if let Some(name) = env("OTEL_SERVICE_NAME").filter(|n| !n.trim().is_empty()) {
        attributes.push(KeyValue::new("service.name", name.trim().to_string()));
    }
    if !attributes
        .iter()
        .any(|kv| kv.key.as_str() == "service.name")
    {
        attributes.push(KeyValue::new(
            "service.name",
            format!("unknown_service:{}", executable_name().unwrap_or_default()),
        ));
    }
    // Later entries win: the builder keeps the last value for a repeated key.
    Resource::builder_empty()
        .with_attributes(attributes)
        .build()
}

/// `OTEL_RESOURCE_ATTRIBUTES` (`key1=value1,key2=value2`, values percent-encoded); parsed here rather
/// than by the SDK's detector so that the variables can come from `env`.
fn parse_resource_attributes(raw: &str) -> Vec<KeyValue> {
    raw.split(',')
        .filter_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            let key = key.trim();
            if key.is_empty() {
                return None;
            }
            Some(KeyValue::new(key.to_string(), percent_decode(value.trim())))
        })
        .collect()
}

fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(byte) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn detected_attributes(env: &dyn Fn(&str) -> Option<String>) -> Vec<KeyValue> {
    let mut attributes = vec![
        KeyValue::new("host.arch", std::env::consts::ARCH),
        KeyValue::new("os.type", std::env::consts::OS),
        KeyValue::new("process.pid", i64::from(std::process::id())),
        KeyValue::new("process.runtime.name", "rust"),
    ];
    if let Some(host) = host_name(env) {
        attributes.push(KeyValue::new("host.name", host));
    }
    if let Some(exe) = executable_name() {
        attributes.push(KeyValue::new("process.executable.name", exe));
    }
    for (attribute, variables) in KUBERNETES_ENV {
        if let Some(value) = variables
            .iter()
            .find_map(|v| env(v).filter(|value| !value.trim().is_empty()))
        {
            attributes.push(KeyValue::new(*attribute, value.trim().to_string()));
        }
    }
    attributes
}

fn host_name(env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| env("HOSTNAME"))
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
}

fn executable_name() -> Option<String> {
    std::env::current_exe()
        .ok()?
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
}

fn to_key_value((key, value): (&Key, &Value)) -> KeyValue {
    KeyValue::new(key.clone(), value.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn get(resource: &Resource, key: &str) -> Option<String> {
        resource
            .get(&Key::from(key.to_string()))
            .map(|v| v.to_string())
    }

    fn with(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn environment_overrides_code_and_service_name_overrides_attributes() {
        let info = ServiceInfo {
            name: Some("from-code".into()),
            version: Some("1.2.3".into()),
            attributes: vec![KeyValue::new("deployment.environment.name", "dev")],
        };
        let r = build_resource_with_env(&info, &with(&[]));
        assert_eq!(get(&r, "service.name").as_deref(), Some("from-code"));
        assert_eq!(get(&r, "service.version").as_deref(), Some("1.2.3"));
        assert_eq!(
            get(&r, "deployment.environment.name").as_deref(),
            Some("dev")
        );
        assert_eq!(get(&r, "telemetry.sdk.language").as_deref(), Some("rust"));
        assert!(get(&r, "process.pid").is_some());

        let env = with(&[(
            "OTEL_RESOURCE_ATTRIBUTES",
            "service.name=from-attrs, deployment.environment.name=prod,team=a%2Cb,=skipped,novalue",
        )]);
        let r = build_resource_with_env(&info, &env);
        assert_eq!(get(&r, "service.name").as_deref(), Some("from-attrs"));
        assert_eq!(
            get(&r, "deployment.environment.name").as_deref(),
            Some("prod")
        );
        assert_eq!(get(&r, "team").as_deref(), Some("a,b"));

        let env = with(&[
            ("OTEL_RESOURCE_ATTRIBUTES", "service.name=from-attrs"),
            ("OTEL_SERVICE_NAME", "from-env"),
        ]);
        assert_eq!(
            get(&build_resource_with_env(&info, &env), "service.name").as_deref(),
            Some("from-env")
        );
    }

    #[test]
    fn kubernetes_downward_api_and_unknown_service() {
        let env = with(&[
            ("POD_NAME", "checkout-7d9f"),
            ("K8S_NAMESPACE", "shop"),
            ("NODE_NAME", "node-3"),
        ]);
        let r = build_resource_with_env(&ServiceInfo::default(), &env);
        assert_eq!(get(&r, "k8s.pod.name").as_deref(), Some("checkout-7d9f"));
        assert_eq!(get(&r, "k8s.namespace.name").as_deref(), Some("shop"));
        assert_eq!(get(&r, "k8s.node.name").as_deref(), Some("node-3"));
        assert!(get(&r, "k8s.pod.uid").is_none());
        let name = get(&r, "service.name").unwrap();
        assert!(name.starts_with("unknown_service:"), "{name}");
    }

    #[test]
    fn percent_decoding_keeps_bad_escapes() {
        assert_eq!(percent_decode("a%20b"), "a b");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }
}
