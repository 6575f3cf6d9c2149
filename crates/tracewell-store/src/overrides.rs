//! Per-tenant overrides: a TOML file (`--tenant-overrides`) that replaces server-wide limits for named tenants.
//!
//! ```toml
//! [tenants.shop]
//! retention = "30d"            # raw spans kept this long (store retention)
//! max_spans_per_trace = 50000  # spans accepted per trace in a head block
//! ingest_rate_spans = 20000    # spans per second (token bucket)...
//! ingest_burst_spans = 40000   # ...holding at most this many (default: one second of the rate)
//! max_request_bytes = "8MiB"   # largest export request body
//! query_max_limit = 500        # largest search limit the tenant may ask for
//! ```
//!
//! Every key is optional; a tenant absent from the file (or a key absent from its table) uses the server
//! default. Unknown keys are errors, and every error names the tenant and key. The file is polled for changes
//! ([`watcher`]): a valid edit applies without restart, an invalid one is logged and counted in
//! `tracewell_tenant_overrides_reloads{outcome="error"}` while the previous overrides stay in force.
//!
//! Overrides are shared through an [`OverridesHandle`]: the store reads retention and spans per trace, the
//! ingest pipeline reads the rate limit and request size, the query service the search limit.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;
use prometheus_client::registry::Registry;
use serde::Deserialize;
use tracewell_model::{parse_duration, parse_size, TenantId};

use crate::watch::ConfigWatcher;

/// Why an overrides file was refused.
#[derive(Debug, thiserror::Error)]
pub enum OverridesError {
    #[error("cannot read tenant overrides {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("tenant overrides {path}: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("tenant overrides {path}: tenant {tenant:?}, {key}: {message}")]
    Invalid {
        path: PathBuf,
        tenant: String,
        key: &'static str,
        message: String,
    },
}

/// The limits one tenant overrides; `None` means the server default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TenantOverrides {
    pub retention: Option<Duration>,
    pub max_spans_per_trace: Option<usize>,
    /// Spans per second accepted from the tenant.
    pub ingest_rate_spans: Option<u64>,
    /// Spans the tenant may send at once above the rate (the token bucket's size); defaults to the rate.
    pub ingest_burst_spans: Option<u64>,
    pub max_request_bytes: Option<usize>,
    /// Largest search `limit` (traces) the tenant may ask for.
    pub query_max_limit: Option<usize>,
}

/// The parsed overrides file: tenant id → overrides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    tenants: BTreeMap<String, TenantOverrides>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    tenants: BTreeMap<String, RawTenant>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawSize {
    Bytes(u64),
    Text(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTenant {
    retention: Option<String>,
    max_spans_per_trace: Option<u64>,
    ingest_rate_spans: Option<u64>,
    ingest_burst_spans: Option<u64>,
    max_request_bytes: Option<RawSize>,
    query_max_limit: Option<u64>,
}

impl Overrides {
    /// Parses and validates overrides; `path` only names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, OverridesError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| OverridesError::Syntax {
            path: path.to_owned(),
            message: e.to_string().trim().replace('\n', " "),
        })?;
        let mut tenants = BTreeMap::new();
        for (name, raw) in raw.tenants {
            let invalid = |key: &'static str, message: String| OverridesError::Invalid {
                path: path.to_owned(),
                tenant: name.clone(),
                key,
                message,
            };
            TenantId::new(&name).map_err(|e| invalid("tenant id", e.to_string()))?;
            let positive = |key: &'static str, value: Option<u64>| match value {
                Some(0) => Err(invalid(key, "must be greater than 0".into())),
                v => Ok(v),
            };
            let retention = raw
                .retention
                .map(|text| match parse_duration(&text) {
                    Ok(d) if d.is_zero() => {
                        Err(invalid("retention", "must be longer than 0".into()))
                    }
                    Ok(d) => Ok(d),
                    Err(message) => Err(invalid("retention", message)),
                })
                .transpose()?;
            let max_request_bytes = match raw.max_request_bytes {
                None => None,
                Some(RawSize::Bytes(n)) => Some(n),
                Some(RawSize::Text(text)) => Some(
                    parse_size(&text).map_err(|message| invalid("max_request_bytes", message))?,
                ),
            };
            let overrides = TenantOverrides {
                retention,
                max_spans_per_trace: positive("max_spans_per_trace", raw.max_spans_per_trace)?
                    .map(|n| n as usize),
                ingest_rate_spans: positive("ingest_rate_spans", raw.ingest_rate_spans)?,
                ingest_burst_spans: positive("ingest_burst_spans", raw.ingest_burst_spans)?,
                max_request_bytes: positive("max_request_bytes", max_request_bytes)?
                    .map(|n| n as usize),
                query_max_limit: positive("query_max_limit", raw.query_max_limit)?
                    .map(|n| n as usize),
            };
            if overrides.ingest_burst_spans.is_some() && overrides.ingest_rate_spans.is_none() {
                return Err(invalid(
                    "ingest_burst_spans",
                    "needs ingest_rate_spans (the rate the bucket refills at)".into(),
                ));
            }
            tenants.insert(name, overrides);
        }
        Ok(Self { tenants })
    }

    /// Reads and parses the file at `path`.
    pub fn load(path: &Path) -> Result<Self, OverridesError> {
        let text = std::fs::read_to_string(path).map_err(|source| OverridesError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// The overrides of `tenant`, if the file names it.
    pub fn tenant(&self, tenant: &str) -> Option<&TenantOverrides> {
        self.tenants.get(tenant)
    }

    /// Tenants whose overrides differ between `self` and `newer` (added, removed or changed).
    pub fn changed_tenants(&self, newer: &Self) -> Vec<String> {
        let mut names: Vec<String> = self
            .tenants
            .keys()
            .chain(newer.tenants.keys())
            .filter(|name| self.tenants.get(*name) != newer.tenants.get(*name))
            .cloned()
            .collect();
        names.sort();
        names.dedup();
        names
    }
}

/// Shared, swappable overrides; cheap to clone. The default holds no overrides.
#[derive(Clone, Default)]
pub struct OverridesHandle(Arc<RwLock<Arc<Overrides>>>);

impl std::fmt::Debug for OverridesHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("OverridesHandle")
            .field(&*self.current())
            .finish()
    }
}

impl OverridesHandle {
    pub fn new(overrides: Overrides) -> Self {
        Self(Arc::new(RwLock::new(Arc::new(overrides))))
    }

    /// The overrides in force.
    pub fn current(&self) -> Arc<Overrides> {
        Arc::clone(&self.0.read())
    }

    /// Puts `overrides` in force.
    pub fn replace(&self, overrides: Overrides) {
        *self.0.write() = Arc::new(overrides);
    }

    /// The overrides of `tenant` (all `None` when it has none).
    pub fn tenant(&self, tenant: &str) -> TenantOverrides {
        self.0.read().tenant(tenant).copied().unwrap_or_default()
    }
}

/// A watcher of an overrides file whose contents are already in `handle`: valid edits replace them
/// (`tracewell_tenant_overrides_reloads{outcome}` counts reloads).
pub fn watcher(path: PathBuf, handle: OverridesHandle, registry: &mut Registry) -> ConfigWatcher {
    ConfigWatcher::new(
        path,
        "tenant overrides",
        "tracewell_tenant_overrides_reloads",
        registry,
        Box::new(move |path| {
            let overrides = Overrides::load(path).map_err(|e| e.to_string())?;
            let changed = handle.current().changed_tenants(&overrides);
            handle.replace(overrides);
            Ok(format!("tenants {changed:?}"))
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Overrides, String> {
        Overrides::parse(text, Path::new("o.toml")).map_err(|e| e.to_string())
    }

    #[test]
    fn parses_every_key_and_leaves_absent_ones_to_defaults() {
        let o = parse(
            r#"
            [tenants.shop]
            retention = "30d"
            max_spans_per_trace = 50000
            ingest_rate_spans = 20000
            ingest_burst_spans = 40000
            max_request_bytes = "8MiB"
            query_max_limit = 500
            [tenants.blog]
            max_request_bytes = 1024
            "#,
        )
        .unwrap();
        let shop = o.tenant("shop").unwrap();
        assert_eq!(shop.retention, Some(Duration::from_secs(30 * 86_400)));
        assert_eq!(shop.max_spans_per_trace, Some(50_000));
        assert_eq!(shop.ingest_rate_spans, Some(20_000));
        assert_eq!(shop.ingest_burst_spans, Some(40_000));
        assert_eq!(shop.max_request_bytes, Some(8 << 20));
        assert_eq!(shop.query_max_limit, Some(500));
        let blog = o.tenant("blog").unwrap();
        assert_eq!(blog.max_request_bytes, Some(1024));
        assert_eq!(blog.retention, None);
        assert!(o.tenant("other").is_none());
        assert_eq!(parse("").unwrap(), Overrides::default());
    }

    #[test]
    fn errors_name_the_tenant_and_key() {
        let cases = [
            (
                "[tenants.shop]\nretention = \"soon\"",
                "tenant \"shop\", retention",
            ),
            (
                "[tenants.shop]\nretention = \"0s\"",
                "retention: must be longer",
            ),
            (
                "[tenants.shop]\nmax_spans_per_trace = 0",
                "max_spans_per_trace: must be",
            ),
            (
                "[tenants.shop]\nmax_request_bytes = \"8 parsecs\"",
                "max_request_bytes",
            ),
            (
                "[tenants.shop]\ningest_burst_spans = 5",
                "ingest_burst_spans: needs",
            ),
            (
                "[tenants.shop]\nretension = \"1d\"",
                "unknown field `retension`",
            ),
            ("[tenant.shop]", "unknown field `tenant`"),
            ("[tenants.\"a/b\"]", "tenant \"a/b\", tenant id"),
            ("[tenants.shop]\nmax_spans_per_trace = \"many\"", "o.toml"),
        ];
        for (text, want) in cases {
            let error = parse(text).expect_err(text);
            assert!(error.contains(want), "{text:?}: {error}");
        }
    }

    #[test]
    fn changed_tenants_lists_added_removed_and_changed() {
        let a = parse("[tenants.x]\nmax_spans_per_trace = 1\n[tenants.y]\nmax_spans_per_trace = 1")
            .unwrap();
        let b = parse("[tenants.y]\nmax_spans_per_trace = 2\n[tenants.z]\nmax_spans_per_trace = 1")
            .unwrap();
        assert_eq!(a.changed_tenants(&b), ["x", "y", "z"]);
        assert!(a.changed_tenants(&a).is_empty());
    }

    #[test]
    fn watcher_applies_good_edits_and_keeps_overrides_after_bad_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("o.toml");
        std::fs::write(&path, "[tenants.x]\nmax_spans_per_trace = 1\n").unwrap();
        let handle = OverridesHandle::new(Overrides::load(&path).unwrap());
        let mut watcher = watcher(path.clone(), handle.clone(), &mut Registry::default());
        assert!(!watcher.poll(), "unchanged");
        std::fs::write(&path, "[tenants.x]\nmax_spans_per_trace = 22\n").unwrap();
        assert!(watcher.poll());
        assert_eq!(handle.tenant("x").max_spans_per_trace, Some(22));
        std::fs::write(&path, "[tenants.x]\nmax_spans_per_trace = -3\n").unwrap();
        assert!(!watcher.poll());
        assert_eq!(handle.tenant("x").max_spans_per_trace, Some(22));
    }
}
