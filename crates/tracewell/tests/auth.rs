//! Bearer-token authentication (`--auth-tokens`) against the real server: every listener refuses requests
//! without a valid token (401 / `UNAUTHENTICATED`) or without the scope they need (403 / `PERMISSION_DENIED`),
//! spans land in the token's tenant, every read surface (native, Jaeger, Tempo HTTP and gRPC, SQL, TraceQL)
//! answers a token's reads from its own tenant only, a self-asserted `X-Scope-OrgID` naming another tenant is
//! refused, health, metrics and the web UI's files stay open, and a bad token file stops start-up.

mod common;

#[path = "../../tracewell-api/src/tempo/proto.rs"]
#[allow(dead_code)]
mod proto;

use std::path::Path;
use std::time::Duration;

use common::traces::{export_request_of, kv_str, now_unix_nano, SentTrace, SpanShape};
use common::Server;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use serde_json::{json, Value};

const SHOP_WRITE: &str = "shop-write-0123456789";
const SHOP_READ: &str = "shop-read-0123456789";
const BANK_WRITE: &str = "bank-write-0123456789";
const BANK_READ: &str = "bank-read-0123456789";

/// `shop-read` is given as the SHA-256 of its secret.
const TOKENS: &str = r#"
[[token]]
name = "shop-write"
token = "shop-write-0123456789"
tenant = "shop"
scopes = ["write"]

[[token]]
name = "shop-read"
token_sha256 = "b82906cf987ca9b24a0dc66ab82ef25954ecc3c4c9af01301b4cbf6485ce2e5a"
tenant = "shop"
scopes = ["read"]

[[token]]
name = "bank-write"
token = "bank-write-0123456789"
tenant = "bank"
scopes = ["write"]

[[token]]
name = "bank-read"
token = "bank-read-0123456789"
tenant = "bank"
scopes = ["read"]
"#;

async fn start(dir: &Path) -> Server {
    let tokens = dir.join("tokens.toml");
    std::fs::write(&tokens, TOKENS).unwrap();
    Server::start(
        &dir.join("data"),
        &["--auth-tokens", tokens.to_str().unwrap()],
    )
    .await
}

fn request_for(service: &str) -> (ExportTraceServiceRequest, SentTrace) {
    let (request, mut sent) = export_request_of(
        1,
        3,
        now_unix_nano() - 5_000_000_000,
        vec![kv_str("service.name", service)],
        |i| SpanShape {
            name: format!("op-{i}"),
            kind: 2,
            duration_nanos: 2_000_000,
            attributes: vec![],
        },
    );
    (request, sent.remove(0))
}

async fn export_grpc(
    server: &Server,
    token: Option<&str>,
    tenant: Option<&str>,
    request: ExportTraceServiceRequest,
) -> Result<(), tonic::Status> {
    let mut client = TraceServiceClient::connect(server.otlp_grpc_url())
        .await
        .expect("connect to the OTLP gRPC port");
    let mut request = tonic::Request::new(request);
    if let Some(token) = token {
        request
            .metadata_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    if let Some(tenant) = tenant {
        request
            .metadata_mut()
            .insert("x-scope-orgid", tenant.parse().unwrap());
    }
    let response = client.export(request).await?.into_inner();
    let rejected = response.partial_success.map_or(0, |p| p.rejected_spans);
    assert_eq!(rejected, 0, "no span rejected");
    Ok(())
}

/// A request with an optional bearer token and tenant header.
fn with(
    request: reqwest::RequestBuilder,
    token: Option<&str>,
    tenant: Option<&str>,
) -> reqwest::RequestBuilder {
    let request = match token {
        Some(t) => request.bearer_auth(t),
        None => request,
    };
    match tenant {
        Some(t) => request.header("X-Scope-OrgID", t),
        None => request,
    }
}

async fn get(server_url: String, token: Option<&str>) -> reqwest::Response {
    with(reqwest::Client::new().get(server_url), token, None)
        .send()
        .await
        .unwrap()
}

async fn get_json(url: String, token: &str) -> Value {
    let response = get(url.clone(), Some(token)).await;
    assert_eq!(response.status(), 200, "{url}");
    response.json().await.unwrap()
}

fn assert_unauthenticated(response: &reqwest::Response, what: &str) {
    assert_eq!(response.status(), 401, "{what}");
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.starts_with("Bearer"), "{what}: {challenge}");
}

#[tokio::test]
async fn ingest_needs_a_write_token_and_writes_to_its_tenant() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let http = reqwest::Client::new();

    // OTLP gRPC with a real tonic client.
    let (request, grpc_trace) = request_for("auth-grpc");
    let status = export_grpc(&server, None, None, request.clone())
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unauthenticated, "{status:?}");
    assert!(
        status.message().contains("Authorization: Bearer"),
        "{status:?}"
    );
    let status = export_grpc(
        &server,
        Some("not-a-token-000000000"),
        None,
        request.clone(),
    )
    .await
    .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unauthenticated, "{status:?}");
    assert_eq!(status.message(), "invalid token");
    let status = export_grpc(&server, Some(SHOP_READ), None, request.clone())
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::PermissionDenied, "{status:?}");
    assert_eq!(
        status.message(),
        r#"token "shop-read" lacks the write scope"#
    );
    let status = export_grpc(&server, Some(SHOP_WRITE), Some("bank"), request.clone())
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::PermissionDenied, "{status:?}");
    assert_eq!(
        status.message(),
        r#"X-Scope-OrgID names tenant "bank", but the token is for tenant "shop""#
    );
    export_grpc(&server, Some(SHOP_WRITE), None, request.clone())
        .await
        .expect("a write token writes");
    // Naming the token's own tenant is fine.
    let (request, _) = request_for("auth-grpc");
    export_grpc(&server, Some(SHOP_WRITE), Some("shop"), request)
        .await
        .expect("the token's own tenant");

    // OTLP HTTP (protobuf).
    let (request, http_trace) = request_for("auth-http");
    let body = request.encode_to_vec();
    let post = |token: Option<&str>, tenant: Option<&str>| {
        with(
            http.post(server.otlp_http_url())
                .header("content-type", "application/x-protobuf")
                .body(body.clone()),
            token,
            tenant,
        )
        .send()
    };
    let response = post(None, None).await.unwrap();
    assert_unauthenticated(&response, "OTLP HTTP without a token");
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["code"], 16, "UNAUTHENTICATED: {answer}");
    let response = post(Some("not-a-token-000000000"), None).await.unwrap();
    assert_unauthenticated(&response, "OTLP HTTP with a wrong token");
    assert!(response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("invalid_token"));
    let response = post(Some(SHOP_READ), None).await.unwrap();
    assert_eq!(response.status(), 403, "a read token writing");
    let response = post(Some(SHOP_WRITE), Some("bank")).await.unwrap();
    assert_eq!(response.status(), 403, "another tenant named");
    let answer: Value = response.json().await.unwrap();
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains(r#"names tenant "bank", but the token is for tenant "shop""#),
        "{answer}"
    );
    let response = post(Some(SHOP_WRITE), None).await.unwrap();
    assert_eq!(response.status(), 200, "a write token writes");

    // Zipkin.
    let zipkin = json!([{
        "traceId": "5af7183fb1d4cf5f5af7183fb1d4cf5f", "id": "6b221d5bc9e6496c", "name": "get /zipkin",
        "timestamp": now_unix_nano() / 1000 - 3_000_000, "duration": 1500, "kind": "SERVER",
        "localEndpoint": {"serviceName": "auth-zipkin"}
    }]);
    let response = http
        .post(server.zipkin_url())
        .json(&zipkin)
        .send()
        .await
        .unwrap();
    assert_unauthenticated(&response, "Zipkin without a token");
    let response = with(
        http.post(server.zipkin_url()).json(&zipkin),
        Some(SHOP_WRITE),
        None,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), 202);

    // Everything landed in the token's tenant: shop reads it, bank does not, nobody reads without a token.
    for trace in [&grpc_trace, &http_trace] {
        let url = server.url(&format!("/api/v1/traces/{}", trace.trace_id));
        let body = get_json(url.clone(), SHOP_READ).await;
        let mut spans = common::traces::span_ids_of(&body);
        spans.sort();
        assert_eq!(spans, trace.span_ids.iter().cloned().collect::<Vec<_>>());
        assert_eq!(get(url.clone(), Some(BANK_READ)).await.status(), 404);
        assert_unauthenticated(&get(url, None).await, "trace by id without a token");
    }
    let url = server.url("/api/v1/traces/5af7183fb1d4cf5f5af7183fb1d4cf5f");
    assert_eq!(get(url.clone(), Some(SHOP_READ)).await.status(), 200);
    assert_eq!(get(url, Some(BANK_READ)).await.status(), 404);

    let metrics = server.metrics().await;
    for series in [
        r#"tracewell_auth_failures_total{listener="otlp_grpc",reason="missing"} 1"#,
        r#"tracewell_auth_failures_total{listener="otlp_grpc",reason="invalid"} 1"#,
        r#"tracewell_auth_failures_total{listener="otlp_grpc",reason="scope"} 1"#,
        r#"tracewell_auth_failures_total{listener="otlp_grpc",reason="tenant_mismatch"} 1"#,
        r#"tracewell_auth_failures_total{listener="otlp_http",reason="missing"} 1"#,
        r#"tracewell_auth_failures_total{listener="zipkin",reason="missing"} 1"#,
        r#"tracewell_auth_requests_total{token="shop-write"} 4"#,
    ] {
        assert!(metrics.contains(series), "{series} in\n{metrics}");
    }
    assert!(!metrics.contains(SHOP_WRITE), "no secret in /metrics");
}

/// Calls the Tempo port's gRPC `Search` and returns the trace ids found.
async fn tempo_grpc_search(
    server: &Server,
    token: Option<&str>,
    service: &str,
) -> Result<Vec<String>, tonic::Status> {
    let mut request = tonic::Request::new(proto::SearchRequest {
        tags: [("service.name".to_owned(), service.to_owned())].into(),
        limit: 20,
        ..Default::default()
    });
    if let Some(token) = token {
        request
            .metadata_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    let messages: Vec<proto::SearchResponse> =
        common::tempo_stream(server, "/tempopb.StreamingQuerier/Search", request).await?;
    Ok(messages
        .into_iter()
        .flat_map(|m| m.traces.into_iter().map(|t| t.trace_id))
        .collect())
}

/// Trace ids in a native, Jaeger or Tempo search answer.
fn ids(answer: &Value, list: &str, field: &str) -> Vec<String> {
    answer[list]
        .as_array()
        .unwrap_or_else(|| panic!("{list} in {answer}"))
        .iter()
        .map(|t| {
            t[field]
                .as_str()
                .unwrap()
                .trim_start_matches('0')
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn every_read_surface_answers_from_the_tokens_tenant_only() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let (request, shop) = request_for("auth-shop");
    export_grpc(&server, Some(SHOP_WRITE), None, request)
        .await
        .unwrap();
    let (request, bank) = request_for("auth-bank");
    export_grpc(&server, Some(BANK_WRITE), None, request)
        .await
        .unwrap();
    let short = |t: &SentTrace| t.trace_id.trim_start_matches('0').to_owned();
    let http = reqwest::Client::new();

    for (token, own, own_service, other, other_service) in [
        (SHOP_READ, &shop, "auth-shop", &bank, "auth-bank"),
        (BANK_READ, &bank, "auth-bank", &shop, "auth-shop"),
    ] {
        // Native API.
        let found = get_json(
            server.url(&format!("/api/v1/search?service={own_service}")),
            token,
        )
        .await;
        assert_eq!(
            ids(&found, "traces", "traceId"),
            vec![short(own)],
            "{token}"
        );
        let found = get_json(
            server.url(&format!("/api/v1/search?service={other_service}")),
            token,
        )
        .await;
        assert!(
            ids(&found, "traces", "traceId").is_empty(),
            "{token}: {found}"
        );
        let services = get_json(server.url("/api/v1/services"), token).await;
        assert_eq!(services["services"], json!([own_service]), "{token}");
        let url = |t: &SentTrace| server.url(&format!("/api/v1/traces/{}", t.trace_id));
        assert_eq!(get(url(own), Some(token)).await.status(), 200);
        assert_eq!(get(url(other), Some(token)).await.status(), 404);

        // Jaeger API.
        let services = get_json(server.url("/api/services"), token).await;
        assert_eq!(services["data"], json!([own_service]), "{token}");
        let found = get_json(
            server.url(&format!("/api/traces?service={own_service}&lookback=1h")),
            token,
        )
        .await;
        assert_eq!(ids(&found, "data", "traceID"), vec![short(own)], "{token}");
        let found = get_json(
            server.url(&format!("/api/traces?service={other_service}&lookback=1h")),
            token,
        )
        .await;
        assert!(
            ids(&found, "data", "traceID").is_empty(),
            "{token}: {found}"
        );
        let url = |t: &SentTrace| server.url(&format!("/api/traces/{}", t.trace_id));
        assert_eq!(get(url(own), Some(token)).await.status(), 200);
        assert_eq!(get(url(other), Some(token)).await.status(), 404);

        // Tempo HTTP and gRPC.
        let search =
            |service: &str| server.tempo_url(&format!("/api/search?tags=service.name%3D{service}"));
        let found = get_json(search(own_service), token).await;
        assert_eq!(
            ids(&found, "traces", "traceID"),
            vec![short(own)],
            "{token}"
        );
        let found = get_json(search(other_service), token).await;
        assert!(
            ids(&found, "traces", "traceID").is_empty(),
            "{token}: {found}"
        );
        let url = |t: &SentTrace| server.tempo_url(&format!("/api/traces/{}", t.trace_id));
        assert_eq!(get(url(own), Some(token)).await.status(), 200);
        assert_eq!(get(url(other), Some(token)).await.status(), 404);
        let found = tempo_grpc_search(&server, Some(token), own_service)
            .await
            .unwrap();
        assert_eq!(
            found
                .iter()
                .map(|id| id.trim_start_matches('0').to_owned())
                .collect::<Vec<_>>(),
            vec![short(own)],
            "{token}"
        );
        let found = tempo_grpc_search(&server, Some(token), other_service)
            .await
            .unwrap();
        assert!(found.is_empty(), "{token}: {found:?}");

        // SQL and TraceQL.
        let sql = with(http.post(server.url("/api/v1/sql")), Some(token), None)
            .json(&json!({"query": "SELECT DISTINCT service_name FROM spans"}))
            .send()
            .await
            .unwrap();
        assert_eq!(sql.status(), 200);
        let sql: Value = sql.json().await.unwrap();
        assert_eq!(sql["rows"], json!([[own_service]]), "{token}: {sql}");
        let traceql = with(http.post(server.url("/api/v1/traceql")), Some(token), None)
            .json(&json!({"query": "{ }", "lookback": "1h"}))
            .send()
            .await
            .unwrap();
        assert_eq!(traceql.status(), 200);
        let traceql: Value = traceql.json().await.unwrap();
        assert_eq!(
            ids(&traceql, "traces", "traceId"),
            vec![short(own)],
            "{token}: {traceql}"
        );
    }

    // Refusals on the read side.
    let search = server.url("/api/v1/search");
    let response = get(search.clone(), None).await;
    assert_unauthenticated(&response, "native search without a token");
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["status"], 401, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("Bearer"),
        "{answer}"
    );
    assert_unauthenticated(
        &get(search.clone(), Some("not-a-token-000000000")).await,
        "wrong token",
    );
    assert_eq!(
        get(search.clone(), Some(SHOP_WRITE)).await.status(),
        403,
        "a write token reading"
    );
    let response = with(http.get(&search), Some(SHOP_READ), Some("bank"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(
        answer["error"],
        r#"X-Scope-OrgID names tenant "bank", but the token is for tenant "shop""#
    );
    let response = get(server.tempo_url("/api/search"), None).await;
    assert_unauthenticated(&response, "Tempo search without a token");
    assert!(response
        .text()
        .await
        .unwrap()
        .starts_with("authentication required"));
    assert_unauthenticated(
        &get(server.tempo_url("/api/echo"), None).await,
        "Tempo echo",
    );
    let status = tempo_grpc_search(&server, None, "auth-shop")
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unauthenticated, "{status:?}");
    let status = tempo_grpc_search(&server, Some(SHOP_WRITE), "auth-shop")
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::PermissionDenied, "{status:?}");
    for (path, what) in [
        ("/api/v1/tail", "live tail"),
        ("/api/v1/insights", "insights"),
        ("/api/v1/alerts", "alerts"),
        ("/api/v1/dependencies", "dependencies"),
        ("/api/v1/no-such-endpoint", "an unknown API path"),
    ] {
        assert_unauthenticated(&get(server.url(path), None).await, what);
    }
    let mcp = http
        .post(server.url("/mcp"))
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}))
        .send()
        .await
        .unwrap();
    assert_unauthenticated(&mcp, "MCP without a token");

    // The live tail opens with a read token.
    let tail = with(http.get(server.url("/api/v1/tail")), Some(SHOP_READ), None)
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .unwrap();
    assert_eq!(tail.status(), 200);
    assert!(tail.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    drop(tail);

    // Open without a token: health, metrics and the web UI's files.
    for url in [
        server.url("/healthz"),
        server.url("/readyz"),
        server.url("/metrics"),
        server.url("/"),
        server.url("/search?service=x"),
        server.tempo_url("/readyz"),
    ] {
        assert_eq!(get(url.clone(), None).await.status(), 200, "{url}");
    }
    let metrics = server.metrics().await;
    assert!(
        metrics.contains(r#"tracewell_auth_failures_total{listener="http",reason="missing"}"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"tracewell_auth_failures_total{listener="tempo",reason="scope"} 1"#),
        "{metrics}"
    );
}

/// The OpenTelemetry SDK's own OTLP exporter, configured as users do with `OTEL_EXPORTER_OTLP_HEADERS`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_exporter_authenticates_with_otel_exporter_otlp_headers() {
    use opentelemetry::trace::{Tracer as _, TracerProvider as _};
    use opentelemetry_otlp::WithExportConfig;

    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    // Read once, when the exporter is built. No other test of this file uses the SDK.
    std::env::set_var(
        "OTEL_EXPORTER_OTLP_HEADERS",
        format!("authorization=Bearer%20{SHOP_WRITE}"),
    );
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(server.otlp_grpc_url())
        .build()
        .expect("build the OTLP exporter");
    std::env::remove_var("OTEL_EXPORTER_OTLP_HEADERS");
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_simple_exporter(exporter)
        .with_resource(
            opentelemetry_sdk::Resource::builder_empty()
                .with_service_name("auth-sdk")
                .build(),
        )
        .build();
    provider.tracer("auth-test").in_span("GET /sdk", |_| {});
    provider.shutdown().expect("spans exported");

    let found = get_json(server.url("/api/v1/services"), SHOP_READ).await;
    assert_eq!(found["services"], json!(["auth-sdk"]), "{found}");
    let found = get_json(server.url("/api/v1/services"), BANK_READ).await;
    assert_eq!(found["services"], json!([]), "{found}");
}

/// Runs `tracewell serve` expecting it to refuse to start; returns its stderr.
async fn refused_start(dir: &Path, tokens: &str, extra: &[&str]) -> String {
    let path = dir.join("tokens.toml");
    std::fs::write(&path, tokens).unwrap();
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_tracewell"));
    command
        .arg("serve")
        .arg("--data-dir")
        .arg(dir.join("data"))
        .arg("--auth-tokens")
        .arg(&path)
        .args(extra);
    for flag in [
        "--otlp-grpc-addr",
        "--otlp-http-addr",
        "--zipkin-addr",
        "--http-addr",
        "--tempo-addr",
    ] {
        command.arg(flag).arg("127.0.0.1:0");
    }
    let output = tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .expect("a bad token file stops start-up")
        .unwrap();
    assert!(!output.status.success());
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn a_bad_token_file_stops_start_up_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let stderr = refused_start(
        dir.path(),
        &TOKENS.replace(r#"scopes = ["read"]"#, r#"scopes = ["read", "delete"]"#),
        &[],
    )
    .await;
    assert!(
        stderr.contains(r#"token "shop-read" has unknown scope "delete""#),
        "{stderr}"
    );
    assert!(stderr.contains("tokens.toml"), "{stderr}");
    let stderr = refused_start(dir.path(), TOKENS, &["--allowed-tenants", "shop"]).await;
    assert!(
        stderr.contains(
            r#"token "bank-write" is for tenant "bank", which allowed_tenants does not list"#
        ),
        "{stderr}"
    );
}
