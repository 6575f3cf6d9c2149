//! `tracewell serve` configuration: command-line flags, `TRACEWELL_*` environment variables and an optional
//! TOML file (`--config`), in that order of precedence over built-in defaults. Everything is validated here,
//! at the edge: unknown file keys, unknown `TRACEWELL_*` variables and invalid values stop start-up with a
//! message naming them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use serde::Deserialize;
use tracewell_ingest::IngestConfig;
use tracewell_model::otlp::SpanLimits;
use tracewell_model::TenantId;
use tracewell_query::QueryConfig;
use tracewell_store::StoreConfig;

use crate::units::{parse_duration, parse_size};

/// Flags of `tracewell serve` (each also readable from the environment variable shown in `--help`). All are
/// optional so that the file and defaults can fill what is not given.
#[derive(clap::Args, Debug, Default, Clone)]
pub struct ServeArgs {
    /// TOML configuration file; its keys are the flag names with `_` instead of `-`.
    #[arg(long, env = "TRACEWELL_CONFIG")]
    pub config: Option<PathBuf>,
    /// Directory for the WAL and (by default) blocks [default: ./tracewell-data].
    #[arg(long, env = "TRACEWELL_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Where blocks, metas, rollups and catalogs go: `local` (`<data_dir>/blocks`, the default) or
    /// `s3://bucket/prefix` (credentials, region and endpoint from the standard `AWS_*` environment).
    #[arg(long, env = "TRACEWELL_STORAGE")]
    pub storage: Option<String>,
    /// OTLP gRPC listen address [default: 0.0.0.0:4317]; port 0 picks a free port.
    #[arg(long, env = "TRACEWELL_OTLP_GRPC_ADDR")]
    pub otlp_grpc_addr: Option<SocketAddr>,
    /// OTLP HTTP listen address [default: 0.0.0.0:4318].
    #[arg(long, env = "TRACEWELL_OTLP_HTTP_ADDR")]
    pub otlp_http_addr: Option<SocketAddr>,
    /// Zipkin v2 listen address [default: 0.0.0.0:9411].
    #[arg(long, env = "TRACEWELL_ZIPKIN_ADDR")]
    pub zipkin_addr: Option<SocketAddr>,
    /// Query API, metrics and health listen address [default: 0.0.0.0:16686].
    #[arg(long, env = "TRACEWELL_HTTP_ADDR")]
    pub http_addr: Option<SocketAddr>,
    /// Tempo-compatible query API listen address [default: 0.0.0.0:3200].
    #[arg(long, env = "TRACEWELL_TEMPO_ADDR")]
    pub tempo_addr: Option<SocketAddr>,
    /// Keep RED and dependency rollups this long (usually longer than raw spans) [default: 90d].
    #[arg(long, env = "TRACEWELL_ROLLUP_RETENTION")]
    pub rollup_retention: Option<String>,
    /// Distinct RED series (service, operation, kind, status) a tenant's head block rolls up; spans of further
    /// series are counted in an `other` operation of their service (or `other` service) [default: 10000].
    #[arg(long, env = "TRACEWELL_MAX_ROLLUP_SERIES")]
    pub max_rollup_series: Option<usize>,
    /// Stop queries running longer than this [default: 30s].
    #[arg(long, env = "TRACEWELL_QUERY_TIMEOUT")]
    pub query_timeout: Option<String>,
    /// Largest search limit a client may ask for [default: 1000].
    #[arg(long, env = "TRACEWELL_QUERY_MAX_LIMIT")]
    pub query_max_limit: Option<usize>,
    /// Longest time range a query may cover [default: 31d].
    #[arg(long, env = "TRACEWELL_QUERY_MAX_RANGE")]
    pub query_max_range: Option<String>,
    /// Candidate traces a TraceQL search reads and evaluates at most [default: 5000].
    #[arg(long, env = "TRACEWELL_TRACEQL_MAX_TRACES")]
    pub traceql_max_traces: Option<usize>,
    /// Searches, SQL, TraceQL, heatmap, breakdown and insights queries run at once (every API together); one more
    /// gets 429 with Retry-After (gRPC: RESOURCE_EXHAUSTED) [default: twice the CPUs, at least 4].
    #[arg(long, env = "TRACEWELL_MAX_CONCURRENT_QUERIES")]
    pub max_concurrent_queries: Option<usize>,
    /// Largest request body, also after decompression [default: 16MiB].
    #[arg(long, env = "TRACEWELL_MAX_REQUEST_BYTES")]
    pub max_request_bytes: Option<String>,
    /// Attributes kept per span, event, link and resource [default: 128].
    #[arg(long, env = "TRACEWELL_MAX_ATTRIBUTES_PER_SPAN")]
    pub max_attributes_per_span: Option<usize>,
    /// Longer attribute values are truncated [default: 16KiB].
    #[arg(long, env = "TRACEWELL_MAX_ATTRIBUTE_VALUE_BYTES")]
    pub max_attribute_value_bytes: Option<String>,
    /// Spans starting or ending further than this after the server's clock are refused (partial success); 0 = no
    /// limit [default: 15m].
    #[arg(long, env = "TRACEWELL_MAX_SPAN_FUTURE")]
    pub max_span_future: Option<String>,
    /// Spans that started longer than this before the server's clock are refused (partial success); 0 = no limit
    /// [default: the retention].
    #[arg(long, env = "TRACEWELL_MAX_SPAN_AGE")]
    pub max_span_age: Option<String>,
    /// Tenants this server holds; writes for further new tenants get 403 [default: 1000].
    #[arg(long, env = "TRACEWELL_MAX_TENANTS")]
    pub max_tenants: Option<usize>,
    /// Spans accepted per trace while it is in the head block [default: 50000].
    #[arg(long, env = "TRACEWELL_MAX_SPANS_PER_TRACE")]
    pub max_spans_per_trace: Option<usize>,
    /// Flush a tenant's head block at this size [default: 64MiB].
    #[arg(long, env = "TRACEWELL_HEAD_MAX_BYTES")]
    pub head_max_bytes: Option<String>,
    /// Flush a tenant's head block at this age [default: 2m].
    #[arg(long, env = "TRACEWELL_HEAD_MAX_AGE")]
    pub head_max_age: Option<String>,
    /// Memory budget of all head blocks; writes beyond it get retryable errors [default: 512MiB].
    #[arg(long, env = "TRACEWELL_MEMORY_BUDGET")]
    pub memory_budget: Option<String>,
    /// Delete blocks older than this [default: 7d].
    #[arg(long, env = "TRACEWELL_RETENTION")]
    pub retention: Option<String>,
    /// Per tenant, delete the oldest blocks beyond this total size; 0 = unlimited [default: 0].
    #[arg(long, env = "TRACEWELL_RETENTION_MAX_BYTES")]
    pub retention_max_bytes: Option<String>,
    /// Delete logs blocks whose newest record is older than this [default: the retention].
    #[arg(long, env = "TRACEWELL_LOG_RETENTION")]
    pub log_retention: Option<String>,
    /// Compaction merges small blocks starting in the same window of this length [default: 1h].
    #[arg(long, env = "TRACEWELL_COMPACTION_WINDOW")]
    pub compaction_window: Option<String>,
    /// Spans one compaction merge decodes at most (it holds them in memory) [default: 500000].
    #[arg(long, env = "TRACEWELL_COMPACTION_MAX_SPANS")]
    pub compaction_max_spans: Option<usize>,
    /// How often compaction and retention run [default: 1m].
    #[arg(long, env = "TRACEWELL_MAINTENANCE_INTERVAL")]
    pub maintenance_interval: Option<String>,
    /// Seconds clients are told to wait when the server is overloaded [default: 1s].
    #[arg(long, env = "TRACEWELL_RETRY_AFTER")]
    pub retry_after: Option<String>,
    /// Export requests processed at once; more get retryable 429 / RESOURCE_EXHAUSTED [default: 512].
    #[arg(long, env = "TRACEWELL_MAX_INFLIGHT_REQUESTS")]
    pub max_inflight_requests: Option<usize>,
    /// On SIGTERM, how long to wait for in-flight requests and idle connections before flushing anyway [default: 10s].
    #[arg(long, env = "TRACEWELL_SHUTDOWN_TIMEOUT")]
    pub shutdown_timeout: Option<String>,
    /// Comma-separated tenants allowed to read and write; empty = any [default: empty].
    #[arg(long, env = "TRACEWELL_ALLOWED_TENANTS", value_delimiter = ',')]
    pub allowed_tenants: Option<Vec<String>>,
    /// Insights compare this recent window against the baseline before it [default: 2m].
    #[arg(long, env = "TRACEWELL_INSIGHTS_WINDOW")]
    pub insights_window: Option<String>,
    /// Length of the baseline insights compare against [default: 30m].
    #[arg(long, env = "TRACEWELL_INSIGHTS_BASELINE")]
    pub insights_baseline: Option<String>,
    /// Live tails (`/api/v1/tail`) open at once; one more gets 429 [default: 16].
    #[arg(long, env = "TRACEWELL_TAIL_MAX_CLIENTS")]
    pub tail_max_clients: Option<usize>,
    /// Spans buffered per live tail; a slower reader loses spans and is told how many [default: 10000].
    #[arg(long, env = "TRACEWELL_TAIL_BUFFER_SPANS")]
    pub tail_buffer_spans: Option<usize>,
    /// TOML file of alerting rules and webhook notifiers (see README) [default: none].
    #[arg(long, env = "TRACEWELL_ALERT_RULES")]
    pub alert_rules: Option<PathBuf>,
    /// How often alerting rules are evaluated [default: 15s].
    #[arg(long, env = "TRACEWELL_ALERT_INTERVAL")]
    pub alert_interval: Option<String>,
    /// The URL users open the UI at, for links in alert notifications [default: http://localhost:16686].
    #[arg(long, env = "TRACEWELL_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// TOML file of bearer tokens, each bound to a tenant and scopes; every listener then requires a token and
    /// the tenant comes from it (see README) [default: none, no authentication].
    #[arg(long, env = "TRACEWELL_AUTH_TOKENS")]
    pub auth_tokens: Option<PathBuf>,
    /// PEM certificate (chain) to serve every listener over TLS; needs --tls-key [default: none, plain TCP].
    #[arg(long, env = "TRACEWELL_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, env = "TRACEWELL_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// PEM CA certificate(s): OTLP clients (gRPC and HTTP) must present a certificate signed by one (mutual TLS);
    /// needs --tls-cert [default: none].
    #[arg(long, env = "TRACEWELL_TLS_CLIENT_CA")]
    pub tls_client_ca: Option<PathBuf>,
    /// TOML file of per-tenant overrides (retention, max spans per trace, ingest rate, request size, search
    /// limit), reloaded when it changes (see README) [default: none, every tenant uses the server settings].
    #[arg(long, env = "TRACEWELL_TENANT_OVERRIDES")]
    pub tenant_overrides: Option<PathBuf>,
    /// How often the tenant overrides, redaction and tail-sampling files are checked for changes [default: 10s].
    #[arg(long, env = "TRACEWELL_TENANT_OVERRIDES_INTERVAL")]
    pub tenant_overrides_interval: Option<String>,
    /// TOML file of redaction rules (drop, mask and hash attributes, per tenant), applied before spans are
    /// written and reloaded when it changes (see README) [default: none].
    #[arg(long, env = "TRACEWELL_REDACTION")]
    pub redaction: Option<PathBuf>,
    /// TOML file of tail-sampling policies per tenant (keep errors, slow traces, attribute matches, a rate or a
    /// share of the rest), decided when a head block is flushed (see README) [default: none, every trace kept].
    #[arg(long, env = "TRACEWELL_TAIL_SAMPLING")]
    pub tail_sampling: Option<PathBuf>,
    /// Trace the server itself (ingest requests, flushes, compactions, API requests and queries) into the
    /// tenant `tracewell`, service `tracewell` [default: off].
    #[arg(long, env = "TRACEWELL_SELF_TRACING", num_args = 0..=1, default_missing_value = "true")]
    pub self_tracing: Option<bool>,
    /// What this process does in a cluster: all (one process does everything), distributor, block-builder,
    /// querier or compactor (see README, "Distributed mode") [default: all].
    #[arg(long, env = "TRACEWELL_ROLE", value_enum)]
    pub role: Option<crate::cluster::Role>,
    /// Kafka bootstrap servers (host:port[,host:port...]) of the request topic; distributors and block-builders
    /// need them.
    #[arg(long, env = "TRACEWELL_KAFKA_BROKERS")]
    pub kafka_brokers: Option<String>,
    /// The request topic [default: tracewell-requests].
    #[arg(long, env = "TRACEWELL_KAFKA_TOPIC")]
    pub kafka_topic: Option<String>,
    /// Partitions of the request topic when a distributor creates it [default: 8].
    #[arg(long, env = "TRACEWELL_KAFKA_TOPIC_PARTITIONS")]
    pub kafka_topic_partitions: Option<i32>,
    /// The partitions a block-builder consumes, e.g. 0,1 [default: all].
    #[arg(long, env = "TRACEWELL_KAFKA_PARTITIONS")]
    pub kafka_partitions: Option<String>,
    /// How long a distributor waits for Kafka's acknowledgement before refusing a request as retryable
    /// [default: 10s].
    #[arg(long, env = "TRACEWELL_KAFKA_PRODUCE_TIMEOUT")]
    pub kafka_produce_timeout: Option<String>,
    /// How often queriers and compactors list the bucket for blocks other processes wrote [default: 5s].
    #[arg(long, env = "TRACEWELL_BLOCK_REFRESH_INTERVAL")]
    pub block_refresh_interval: Option<String>,
    /// Base URLs of the block-builders' HTTP API (e.g. http://builder-0:16686,http://builder-1:16686), which a
    /// querier asks for spans not flushed yet when it looks a trace up [default: none].
    #[arg(long, env = "TRACEWELL_BLOCK_BUILDERS", value_delimiter = ',')]
    pub block_builders: Option<Vec<String>>,
}

/// Default of `max_span_future`: generous for hosts whose clocks drift or batch exporters, small enough that a
/// wrong clock cannot stretch a block's time range far ahead (retention keeps a block until its newest span expires).
pub const DEFAULT_MAX_SPAN_FUTURE: Duration = Duration::from_secs(15 * 60);

/// The TOML file: same keys as the flags, nothing else.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    storage: Option<String>,
    otlp_grpc_addr: Option<SocketAddr>,
    otlp_http_addr: Option<SocketAddr>,
    zipkin_addr: Option<SocketAddr>,
    http_addr: Option<SocketAddr>,
    tempo_addr: Option<SocketAddr>,
    rollup_retention: Option<String>,
    max_rollup_series: Option<usize>,
    query_timeout: Option<String>,
    query_max_limit: Option<usize>,
    query_max_range: Option<String>,
    traceql_max_traces: Option<usize>,
    max_concurrent_queries: Option<usize>,
    max_request_bytes: Option<toml::Value>,
    max_attributes_per_span: Option<usize>,
    max_attribute_value_bytes: Option<toml::Value>,
    max_span_future: Option<String>,
    max_span_age: Option<String>,
    max_spans_per_trace: Option<usize>,
    max_tenants: Option<usize>,
    head_max_bytes: Option<toml::Value>,
    head_max_age: Option<String>,
    memory_budget: Option<toml::Value>,
    retention: Option<String>,
    retention_max_bytes: Option<toml::Value>,
    log_retention: Option<String>,
    compaction_window: Option<String>,
    compaction_max_spans: Option<usize>,
    maintenance_interval: Option<String>,
    retry_after: Option<String>,
    shutdown_timeout: Option<String>,
    max_inflight_requests: Option<usize>,
    allowed_tenants: Option<Vec<String>>,
    insights_window: Option<String>,
    insights_baseline: Option<String>,
    tail_max_clients: Option<usize>,
    tail_buffer_spans: Option<usize>,
    alert_rules: Option<PathBuf>,
    alert_interval: Option<String>,
    public_url: Option<String>,
    auth_tokens: Option<PathBuf>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    tls_client_ca: Option<PathBuf>,
    tenant_overrides: Option<PathBuf>,
    tenant_overrides_interval: Option<String>,
    redaction: Option<PathBuf>,
    tail_sampling: Option<PathBuf>,
    self_tracing: Option<bool>,
    role: Option<crate::cluster::Role>,
    kafka_brokers: Option<String>,
    kafka_topic: Option<String>,
    kafka_topic_partitions: Option<i32>,
    kafka_partitions: Option<String>,
    kafka_produce_timeout: Option<String>,
    block_refresh_interval: Option<String>,
    block_builders: Option<Vec<String>>,
}

/// Environment variables Tracewell reads; any other `TRACEWELL_*` variable is refused as a likely typo.
const KNOWN_ENV: &[&str] = &[
    "TRACEWELL_CONFIG",
    "TRACEWELL_DATA_DIR",
    "TRACEWELL_STORAGE",
    "TRACEWELL_OTLP_GRPC_ADDR",
    "TRACEWELL_OTLP_HTTP_ADDR",
    "TRACEWELL_ZIPKIN_ADDR",
    "TRACEWELL_HTTP_ADDR",
    "TRACEWELL_TEMPO_ADDR",
    "TRACEWELL_ROLLUP_RETENTION",
    "TRACEWELL_MAX_ROLLUP_SERIES",
    "TRACEWELL_QUERY_TIMEOUT",
    "TRACEWELL_QUERY_MAX_LIMIT",
    "TRACEWELL_QUERY_MAX_RANGE",
    "TRACEWELL_TRACEQL_MAX_TRACES",
    "TRACEWELL_MAX_CONCURRENT_QUERIES",
    "TRACEWELL_MAX_REQUEST_BYTES",
    "TRACEWELL_MAX_ATTRIBUTES_PER_SPAN",
    "TRACEWELL_MAX_ATTRIBUTE_VALUE_BYTES",
    "TRACEWELL_MAX_SPAN_FUTURE",
    "TRACEWELL_MAX_SPAN_AGE",
    "TRACEWELL_MAX_SPANS_PER_TRACE",
    "TRACEWELL_MAX_TENANTS",
    "TRACEWELL_HEAD_MAX_BYTES",
    "TRACEWELL_HEAD_MAX_AGE",
    "TRACEWELL_MEMORY_BUDGET",
    "TRACEWELL_RETENTION",
    "TRACEWELL_RETENTION_MAX_BYTES",
    "TRACEWELL_LOG_RETENTION",
    "TRACEWELL_COMPACTION_WINDOW",
    "TRACEWELL_COMPACTION_MAX_SPANS",
    "TRACEWELL_MAINTENANCE_INTERVAL",
    "TRACEWELL_RETRY_AFTER",
    "TRACEWELL_SHUTDOWN_TIMEOUT",
    "TRACEWELL_MAX_INFLIGHT_REQUESTS",
    "TRACEWELL_ALLOWED_TENANTS",
    "TRACEWELL_INSIGHTS_WINDOW",
    "TRACEWELL_INSIGHTS_BASELINE",
    "TRACEWELL_TAIL_MAX_CLIENTS",
    "TRACEWELL_TAIL_BUFFER_SPANS",
    "TRACEWELL_ALERT_RULES",
    "TRACEWELL_ALERT_INTERVAL",
    "TRACEWELL_PUBLIC_URL",
    "TRACEWELL_AUTH_TOKENS",
    "TRACEWELL_TLS_CERT",
    "TRACEWELL_TLS_KEY",
    "TRACEWELL_TLS_CLIENT_CA",
    "TRACEWELL_TENANT_OVERRIDES",
    "TRACEWELL_TENANT_OVERRIDES_INTERVAL",
    "TRACEWELL_REDACTION",
    // The conventional `hash_key_env` of a redaction rules file.
    "TRACEWELL_REDACTION_KEY",
    "TRACEWELL_TAIL_SAMPLING",
    "TRACEWELL_SELF_TRACING",
    "TRACEWELL_ROLE",
    "TRACEWELL_KAFKA_BROKERS",
    "TRACEWELL_KAFKA_TOPIC",
    "TRACEWELL_KAFKA_TOPIC_PARTITIONS",
    "TRACEWELL_KAFKA_PARTITIONS",
    "TRACEWELL_KAFKA_PRODUCE_TIMEOUT",
    "TRACEWELL_BLOCK_REFRESH_INTERVAL",
    "TRACEWELL_BLOCK_BUILDERS",
    "TRACEWELL_LOG",
    // Read by `tracewell query`, not by the server; set in the same shells.
    "TRACEWELL_QUERY_URL",
    "TRACEWELL_QUERY_TOKEN",
    "TRACEWELL_QUERY_CA_CERT",
];

/// Listen addresses.
#[derive(Debug, Clone, Copy)]
pub struct Addrs {
    pub otlp_grpc: SocketAddr,
    pub otlp_http: SocketAddr,
    pub zipkin: SocketAddr,
    pub http: SocketAddr,
    pub tempo: SocketAddr,
}

/// The validated configuration of `tracewell serve`.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub addrs: Addrs,
    pub store: StoreConfig,
    /// Where blocks are kept (`--storage`).
    pub storage: crate::storage::StorageUrl,
    pub query: QueryConfig,
    pub ingest: IngestConfig,
    /// How long shutdown waits for connections to finish before flushing anyway.
    pub shutdown_timeout: Duration,
    pub tail_max_clients: usize,
    pub tail_buffer_spans: usize,
    /// Alerting rules file, if any.
    pub alert_rules: Option<PathBuf>,
    pub alert_interval: Duration,
    /// Base URL of the UI in notifications.
    pub public_url: String,
    /// Bearer token file; authentication is off without one.
    pub auth_tokens: Option<PathBuf>,
    /// Certificate and key for TLS on every listener; plain TCP without.
    pub tls: Option<TlsFiles>,
    /// Per-tenant overrides file (already loaded into `store.overrides`), polled every `tenant_overrides_interval`.
    pub tenant_overrides: Option<PathBuf>,
    pub tenant_overrides_interval: Duration,
    /// Redaction rules file (already loaded into `ingest.redaction`), polled every `tenant_overrides_interval`.
    pub redaction: Option<PathBuf>,
    /// The tenant the server's own spans go to, when self-tracing is on.
    pub self_tracing: Option<tracewell_model::TenantId>,
    /// Tail-sampling policies file (already loaded into `store.tail_sampling`), polled every
    /// `tenant_overrides_interval`.
    pub tail_sampling: Option<PathBuf>,
    /// `--role` and the Kafka request topic.
    pub cluster: crate::cluster::ClusterConfig,
}

/// PEM files for TLS.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// CA certificates OTLP clients' certificates must be signed by (mutual TLS), if any.
    pub client_ca: Option<PathBuf>,
}

impl ServeConfig {
    /// Resolves flags/env (already merged by clap), the file and defaults, and validates the result.
    pub fn resolve(args: ServeArgs) -> anyhow::Result<Self> {
        check_env(std::env::vars().map(|(k, _)| k))?;
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        build(args, file)
    }
}

fn check_env(keys: impl Iterator<Item = String>) -> anyhow::Result<()> {
    let unknown: Vec<String> = keys
        .filter(|k| k.starts_with("TRACEWELL_") && !KNOWN_ENV.contains(&k.as_str()))
        .collect();
    if !unknown.is_empty() {
        bail!(
            "unknown environment variable(s) {}; known: {}",
            unknown.join(", "),
            KNOWN_ENV.join(", ")
        );
    }
    Ok(())
}

fn read_file(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading config file {}", path.display()))?;
    toml::from_str(&text)
        .map_err(|e| anyhow::anyhow!("config file {}: {}", path.display(), e.message()))
}

/// A size from a flag string, or a file value that is an integer or a string.
fn size(
    flag: Option<String>,
    file: Option<toml::Value>,
    key: &str,
    default: u64,
) -> anyhow::Result<u64> {
    let text = match (flag, file) {
        (Some(s), _) => s,
        (None, Some(toml::Value::Integer(i))) if i >= 0 => return Ok(i as u64),
        (None, Some(toml::Value::String(s))) => s,
        (None, Some(other)) => bail!("invalid value for {key}: {other} is not a size"),
        (None, None) => return Ok(default),
    };
    parse_size(&text).map_err(|e| anyhow::anyhow!("invalid value for {key}: {e}"))
}

fn duration(
    flag: Option<String>,
    file: Option<String>,
    key: &str,
    default: Duration,
) -> anyhow::Result<Duration> {
    match flag.or(file) {
        Some(text) => {
            parse_duration(&text).map_err(|e| anyhow::anyhow!("invalid value for {key}: {e}"))
        }
        None => Ok(default),
    }
}

/// A time bound: a duration, or `0` (with or without a unit) for none.
fn bound(
    flag: Option<String>,
    file: Option<String>,
    key: &str,
    default: Option<Duration>,
) -> anyhow::Result<Option<Duration>> {
    match flag.or(file) {
        Some(text) if text.trim() == "0" => Ok(None),
        Some(text) => {
            let value = parse_duration(&text)
                .map_err(|e| anyhow::anyhow!("invalid value for {key}: {e} (or 0 for no limit)"))?;
            Ok(Some(value).filter(|d| !d.is_zero()))
        }
        None => Ok(default),
    }
}

fn build(args: ServeArgs, file: FileConfig) -> anyhow::Result<ServeConfig> {
    let addr = |flag: Option<SocketAddr>, file: Option<SocketAddr>, port: u16| {
        flag.or(file)
            .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], port)))
    };
    let addrs = Addrs {
        otlp_grpc: addr(args.otlp_grpc_addr, file.otlp_grpc_addr, 4317),
        otlp_http: addr(args.otlp_http_addr, file.otlp_http_addr, 4318),
        zipkin: addr(args.zipkin_addr, file.zipkin_addr, 9411),
        http: addr(args.http_addr, file.http_addr, 16686),
        tempo: addr(args.tempo_addr, file.tempo_addr, 3200),
    };
    let data_dir = args
        .data_dir
        .or(file.data_dir)
        .unwrap_or_else(|| PathBuf::from("tracewell-data"));
    let mut store = StoreConfig::new(data_dir);
    let storage = match args.storage.or(file.storage) {
        Some(url) => crate::storage::StorageUrl::parse(&url)?,
        None => crate::storage::StorageUrl::Local,
    };
    let defaults = StoreConfig::new("");
    store.head_max_bytes = usize_of(
        size(
            args.head_max_bytes,
            file.head_max_bytes,
            "head_max_bytes",
            defaults.head_max_bytes as u64,
        )?,
        "head_max_bytes",
    )?;
    store.head_max_age = duration(
        args.head_max_age,
        file.head_max_age,
        "head_max_age",
        defaults.head_max_age,
    )?;
    store.memory_budget_bytes = usize_of(
        size(
            args.memory_budget,
            file.memory_budget,
            "memory_budget",
            defaults.memory_budget_bytes as u64,
        )?,
        "memory_budget",
    )?;
    store.max_spans_per_trace = args
        .max_spans_per_trace
        .or(file.max_spans_per_trace)
        .unwrap_or(defaults.max_spans_per_trace);
    store.max_tenants = args
        .max_tenants
        .or(file.max_tenants)
        .unwrap_or(defaults.max_tenants);
    store.retention = duration(
        args.retention,
        file.retention,
        "retention",
        defaults.retention,
    )?;
    store.log_retention = duration(
        args.log_retention,
        file.log_retention,
        "log_retention",
        store.retention,
    )?;
    store.retention_max_bytes = size(
        args.retention_max_bytes,
        file.retention_max_bytes,
        "retention_max_bytes",
        0,
    )?;
    store.compaction_window = duration(
        args.compaction_window,
        file.compaction_window,
        "compaction_window",
        defaults.compaction_window,
    )?;
    store.compaction_max_spans = args
        .compaction_max_spans
        .or(file.compaction_max_spans)
        .unwrap_or(defaults.compaction_max_spans);
    store.maintenance_interval = duration(
        args.maintenance_interval,
        file.maintenance_interval,
        "maintenance_interval",
        defaults.maintenance_interval,
    )?;

    let ingest_defaults = IngestConfig::default();
    let max_request_bytes = usize_of(
        size(
            args.max_request_bytes,
            file.max_request_bytes,
            "max_request_bytes",
            ingest_defaults.max_request_bytes as u64,
        )?,
        "max_request_bytes",
    )?;
    let span_limits = SpanLimits {
        max_attributes: args
            .max_attributes_per_span
            .or(file.max_attributes_per_span)
            .unwrap_or(ingest_defaults.span_limits.max_attributes),
        max_attribute_value_bytes: usize_of(
            size(
                args.max_attribute_value_bytes,
                file.max_attribute_value_bytes,
                "max_attribute_value_bytes",
                ingest_defaults.span_limits.max_attribute_value_bytes as u64,
            )?,
            "max_attribute_value_bytes",
        )?,
        max_span_future: bound(
            args.max_span_future,
            file.max_span_future,
            "max_span_future",
            Some(DEFAULT_MAX_SPAN_FUTURE),
        )?,
        // Spans older than the retention would be deleted with their block soon anyway, and one such span widens
        // its block's time range so that every query reads the block.
        max_span_age: bound(
            args.max_span_age,
            file.max_span_age,
            "max_span_age",
            Some(store.retention),
        )?,
    };
    let allowed_tenants = args
        .allowed_tenants
        .or(file.allowed_tenants)
        .unwrap_or_default();
    let allowed_tenants: Vec<String> = allowed_tenants
        .into_iter()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .collect();
    for tenant in &allowed_tenants {
        TenantId::new(tenant)
            .map_err(|e| anyhow::anyhow!("invalid value for allowed_tenants: {e}"))?;
    }
    let mut ingest = IngestConfig {
        max_request_bytes,
        span_limits,
        retry_after: duration(
            args.retry_after,
            file.retry_after,
            "retry_after",
            ingest_defaults.retry_after,
        )?,
        allowed_tenants,
        max_inflight_requests: args
            .max_inflight_requests
            .or(file.max_inflight_requests)
            .unwrap_or(ingest_defaults.max_inflight_requests),
        redaction: Default::default(),
    };
    store.rollup_retention = duration(
        args.rollup_retention,
        file.rollup_retention,
        "rollup_retention",
        defaults.rollup_retention,
    )?;
    store.max_rollup_series = args
        .max_rollup_series
        .or(file.max_rollup_series)
        .unwrap_or(defaults.max_rollup_series);
    let query_defaults = QueryConfig::default();
    let mut query = QueryConfig {
        timeout: duration(
            args.query_timeout,
            file.query_timeout,
            "query_timeout",
            query_defaults.timeout,
        )?,
        max_limit: args
            .query_max_limit
            .or(file.query_max_limit)
            .unwrap_or(query_defaults.max_limit),
        max_range: duration(
            args.query_max_range,
            file.query_max_range,
            "query_max_range",
            query_defaults.max_range,
        )?,
        traceql_max_traces: args
            .traceql_max_traces
            .or(file.traceql_max_traces)
            .unwrap_or(query_defaults.traceql_max_traces),
        insights: tracewell_query::InsightsConfig {
            window: duration(
                args.insights_window,
                file.insights_window,
                "insights_window",
                query_defaults.insights.window,
            )?,
            baseline: duration(
                args.insights_baseline,
                file.insights_baseline,
                "insights_baseline",
                query_defaults.insights.baseline,
            )?,
            ..query_defaults.insights.clone()
        },
        max_concurrent: args
            .max_concurrent_queries
            .or(file.max_concurrent_queries)
            .unwrap_or(query_defaults.max_concurrent),
        retry_after: ingest.retry_after,
        ..query_defaults
    };
    if query.insights.window < Duration::from_secs(60) {
        bail!("invalid value for insights_window: at least 1m (rollups are per minute)");
    }
    if query.insights.baseline < query.insights.window {
        bail!("invalid value for insights_baseline: at least as long as insights_window");
    }
    let tail_max_clients = args
        .tail_max_clients
        .or(file.tail_max_clients)
        .unwrap_or(16);
    let tail_buffer_spans = args
        .tail_buffer_spans
        .or(file.tail_buffer_spans)
        .unwrap_or(10_000);
    if tail_buffer_spans == 0 {
        bail!("invalid value for tail_buffer_spans: must be greater than 0");
    }
    let alert_interval = duration(
        args.alert_interval,
        file.alert_interval,
        "alert_interval",
        Duration::from_secs(15),
    )?;
    if alert_interval < Duration::from_secs(1) {
        bail!("invalid value for alert_interval: at least 1s");
    }
    let public_url = args
        .public_url
        .or(file.public_url)
        .unwrap_or_else(|| "http://localhost:16686".to_owned())
        .trim_end_matches('/')
        .to_owned();
    if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
        bail!("invalid value for public_url: {public_url:?} is not an http(s) URL");
    }
    if query.traceql_max_traces == 0 {
        bail!("invalid value for traceql_max_traces: must be greater than 0");
    }
    if query.max_limit == 0 {
        bail!("invalid value for query_max_limit: must be greater than 0");
    }
    if query.max_concurrent == 0 {
        bail!("invalid value for max_concurrent_queries: must be greater than 0");
    }
    for (key, value) in [
        ("rollup_retention", store.rollup_retention),
        ("query_timeout", query.timeout),
        ("query_max_range", query.max_range),
    ] {
        if value.is_zero() {
            bail!("invalid value for {key}: must be longer than 0");
        }
    }
    // Keep WAL records able to hold the largest request.
    store.wal_max_record_bytes =
        u32::try_from(max_request_bytes.saturating_add(1024)).unwrap_or(u32::MAX);
    validate(&store, &ingest)?;
    let shutdown_timeout = duration(
        args.shutdown_timeout,
        file.shutdown_timeout,
        "shutdown_timeout",
        Duration::from_secs(10),
    )?;
    let tls = match (
        args.tls_cert.or(file.tls_cert),
        args.tls_key.or(file.tls_key),
        args.tls_client_ca.or(file.tls_client_ca),
    ) {
        (Some(cert), Some(key), client_ca) => Some(TlsFiles {
            cert,
            key,
            client_ca,
        }),
        (None, None, None) => None,
        (Some(_), None, _) => bail!("invalid value for tls_key: missing; tls_cert needs tls_key"),
        (None, Some(_), _) => bail!("invalid value for tls_cert: missing; tls_key needs tls_cert"),
        (None, None, Some(_)) => {
            bail!("invalid value for tls_client_ca: needs tls_cert and tls_key (mutual TLS is TLS)")
        }
    };
    let tenant_overrides = args.tenant_overrides.or(file.tenant_overrides);
    if let Some(path) = &tenant_overrides {
        store.overrides = tracewell_store::OverridesHandle::new(
            tracewell_store::Overrides::load(path).map_err(|e| anyhow::anyhow!("{e}"))?,
        );
    }
    let tenant_overrides_interval = duration(
        args.tenant_overrides_interval,
        file.tenant_overrides_interval,
        "tenant_overrides_interval",
        Duration::from_secs(10),
    )?;
    if tenant_overrides_interval.is_zero() {
        bail!("invalid value for tenant_overrides_interval: must be longer than 0");
    }
    let tail_sampling = args.tail_sampling.or(file.tail_sampling);
    if let Some(path) = &tail_sampling {
        let policies = tracewell_store::sampling::SamplingPolicies::load(path)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        store.tail_sampling =
            std::sync::Arc::new(tracewell_store::sampling::TailSampler::new(policies));
    }
    let cluster = cluster_config(
        ClusterArgs {
            role: args.role.or(file.role),
            kafka_brokers: args.kafka_brokers.or(file.kafka_brokers),
            kafka_topic: args.kafka_topic.or(file.kafka_topic),
            kafka_topic_partitions: args.kafka_topic_partitions.or(file.kafka_topic_partitions),
            kafka_partitions: args.kafka_partitions.or(file.kafka_partitions),
            kafka_produce_timeout: duration(
                args.kafka_produce_timeout,
                file.kafka_produce_timeout,
                "kafka_produce_timeout",
                Duration::from_secs(10),
            )?,
            block_refresh_interval: duration(
                args.block_refresh_interval,
                file.block_refresh_interval,
                "block_refresh_interval",
                Duration::from_secs(5),
            )?,
        },
        &storage,
    )?;
    store.maintenance = cluster.role.maintains_blocks();
    let block_builders = args
        .block_builders
        .or(file.block_builders)
        .unwrap_or_default();
    for url in &block_builders {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            bail!("invalid value for block_builders: {url:?} is not an http:// or https:// URL");
        }
    }
    query.block_builders = block_builders;
    let self_tracing = args
        .self_tracing
        .or(file.self_tracing)
        .unwrap_or(false)
        .then(|| tracewell_model::TenantId::new(crate::self_tracing::DEFAULT_TENANT))
        .transpose()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    store.self_tracing_tenant = self_tracing.as_ref().map(|t| t.to_string());
    let redaction = args.redaction.or(file.redaction);
    if let Some(path) = &redaction {
        ingest.redaction = tracewell_ingest::redact::RedactionHandle::new(
            tracewell_ingest::redact::RedactionRules::load(path)
                .map_err(|e| anyhow::anyhow!("{e}"))?,
        );
    }
    Ok(ServeConfig {
        addrs,
        store,
        storage,
        ingest,
        query,
        shutdown_timeout,
        tail_max_clients,
        tail_buffer_spans,
        alert_rules: args.alert_rules.or(file.alert_rules),
        alert_interval,
        public_url,
        auth_tokens: args.auth_tokens.or(file.auth_tokens),
        tls,
        tenant_overrides,
        tenant_overrides_interval,
        redaction,
        self_tracing,
        tail_sampling,
        cluster,
    })
}

/// The cluster settings before validation.
struct ClusterArgs {
    role: Option<crate::cluster::Role>,
    kafka_brokers: Option<String>,
    kafka_topic: Option<String>,
    kafka_topic_partitions: Option<i32>,
    kafka_partitions: Option<String>,
    kafka_produce_timeout: Duration,
    block_refresh_interval: Duration,
}

fn cluster_config(
    args: ClusterArgs,
    storage: &crate::storage::StorageUrl,
) -> anyhow::Result<crate::cluster::ClusterConfig> {
    use crate::cluster::{ClusterConfig, KafkaConfig, Role};
    let role = args.role.unwrap_or_default();
    let topic_partitions = args.kafka_topic_partitions.unwrap_or(8);
    if !(1..=10_000).contains(&topic_partitions) {
        bail!("invalid value for kafka_topic_partitions: {topic_partitions} (1 to 10000)");
    }
    if args.kafka_produce_timeout.is_zero() || args.block_refresh_interval.is_zero() {
        bail!("invalid value for kafka_produce_timeout or block_refresh_interval: must be longer than 0");
    }
    let kafka = match args.kafka_brokers.filter(|b| !b.trim().is_empty()) {
        Some(brokers) => Some(KafkaConfig {
            brokers,
            topic: args
                .kafka_topic
                .unwrap_or_else(|| "tracewell-requests".into()),
            topic_partitions,
            partitions: crate::cluster::parse_partitions(
                args.kafka_partitions.as_deref().unwrap_or("all"),
            )?,
            produce_timeout: args.kafka_produce_timeout,
        }),
        None => None,
    };
    if matches!(role, Role::Distributor | Role::BlockBuilder) && kafka.is_none() {
        bail!(
            "role {} needs --kafka-brokers (the request topic's Kafka cluster)",
            role.as_str()
        );
    }
    if matches!(role, Role::BlockBuilder | Role::Querier | Role::Compactor)
        && *storage == crate::storage::StorageUrl::Local
    {
        bail!(
            "role {} needs --storage s3://bucket/prefix shared by the cluster (a local data directory is one process's own)",
            role.as_str()
        );
    }
    Ok(ClusterConfig {
        role,
        kafka,
        block_refresh_interval: args.block_refresh_interval,
    })
}

fn usize_of(value: u64, key: &str) -> anyhow::Result<usize> {
    usize::try_from(value)
        .map_err(|_| anyhow::anyhow!("invalid value for {key}: {value} is too large"))
}

fn validate(store: &StoreConfig, ingest: &IngestConfig) -> anyhow::Result<()> {
    let positive = [
        ("max_request_bytes", ingest.max_request_bytes as u64),
        (
            "max_attributes_per_span",
            ingest.span_limits.max_attributes as u64,
        ),
        (
            "max_attribute_value_bytes",
            ingest.span_limits.max_attribute_value_bytes as u64,
        ),
        ("max_spans_per_trace", store.max_spans_per_trace as u64),
        ("max_tenants", store.max_tenants as u64),
        ("compaction_max_spans", store.compaction_max_spans as u64),
        ("max_inflight_requests", ingest.max_inflight_requests as u64),
        ("max_rollup_series", store.max_rollup_series as u64),
        ("head_max_bytes", store.head_max_bytes as u64),
        ("memory_budget", store.memory_budget_bytes as u64),
    ];
    for (key, value) in positive {
        if value == 0 {
            bail!("invalid value for {key}: must be greater than 0");
        }
    }
    if ingest.max_request_bytes > 1 << 30 {
        bail!("invalid value for max_request_bytes: at most 1GiB");
    }
    for (key, value) in [
        ("head_max_age", store.head_max_age),
        ("retention", store.retention),
        ("log_retention", store.log_retention),
        ("compaction_window", store.compaction_window),
        ("maintenance_interval", store.maintenance_interval),
    ] {
        if value.is_zero() {
            bail!("invalid value for {key}: must be longer than 0");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
