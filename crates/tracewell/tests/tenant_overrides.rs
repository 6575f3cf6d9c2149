//! Per-tenant overrides against the real binary (`--tenant-overrides`): a tenant over its ingest rate gets 429
//! naming its limit while another tenant is accepted, refusals are counted in /metrics, edits to the file apply
//! without restart (raising a rate, lowering a request size), a broken edit keeps the previous overrides, a
//! retention override deletes only that tenant's old blocks, and a broken file stops start-up with an error naming
//! the tenant and key.

mod common;

use std::path::Path;

use common::traces::{export_request_of, http_client, now_unix_nano, SpanShape};
use common::Server;

/// Posts one OTLP/HTTP protobuf request of `spans` spans for `tenant`: status and body.
async fn post(
    client: &reqwest::Client,
    server: &Server,
    tenant: &str,
    spans: usize,
) -> (u16, String) {
    post_at(client, server, tenant, spans, now_unix_nano())
        .await
        .0
}

/// [`post`] of one trace starting at `start_unix_nano`; also returns its trace id.
async fn post_at(
    client: &reqwest::Client,
    server: &Server,
    tenant: &str,
    spans: usize,
    start_unix_nano: u64,
) -> ((u16, String), String) {
    let (request, sent) = export_request_of(1, spans, start_unix_nano, Vec::new(), |i| SpanShape {
        name: format!("op {i}"),
        kind: 2,
        duration_nanos: 1_000_000,
        attributes: Vec::new(),
    });
    let response = client
        .post(server.otlp_http_url())
        .header("content-type", "application/x-protobuf")
        .header("X-Scope-OrgID", tenant)
        .body(prost::Message::encode_to_vec(&request))
        .send()
        .await
        .expect("export request");
    let status = response.status().as_u16();
    let body = response.text().await.unwrap_or_default();
    ((status, body), sent[0].trace_id.clone())
}

/// `GET /api/v1/traces/{id}` as `tenant`: the status.
async fn trace_status(
    client: &reqwest::Client,
    server: &Server,
    tenant: &str,
    trace_id: &str,
) -> u16 {
    client
        .get(server.url(&format!("/api/v1/traces/{trace_id}")))
        .header("X-Scope-OrgID", tenant)
        .send()
        .await
        .expect("get trace")
        .status()
        .as_u16()
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

#[tokio::test]
async fn rate_and_size_overrides_apply_per_tenant_and_reload_without_restart() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("overrides.toml");
    write(
        &file,
        "[tenants.slow]\ningest_rate_spans = 1\ningest_burst_spans = 10\n",
    );
    let server = Server::start(
        &dir.path().join("data"),
        &[
            "--tenant-overrides",
            file.to_str().unwrap(),
            "--tenant-overrides-interval",
            "100ms",
        ],
    )
    .await;
    let client = http_client();

    // The burst passes, the next request is over the rate; another tenant is not limited.
    assert_eq!(post(&client, &server, "slow", 10).await.0, 200);
    let (status, body) = post(&client, &server, "slow", 10).await;
    assert_eq!(status, 429, "{body}");
    assert!(
        body.contains(r#"tenant "slow" is over its ingest rate limit of 1 spans/s (burst 10)"#),
        "{body}"
    );
    for _ in 0..3 {
        assert_eq!(post(&client, &server, "fast", 10).await.0, 200);
    }
    assert_eq!(
        server
            .metric(r#"tracewell_rejected_spans_total{receiver="otlp_http",reason="rate_limited"}"#)
            .await,
        10.0
    );

    // A broken edit is refused and counted; the previous overrides stay in force.
    write(&file, "[tenants.slow]\ningest_rate_spans = \"lots\"\n");
    let (srv, http) = (&server, &client);
    server
        .eventually("the broken edit counted", move || async move {
            srv.metric(r#"tracewell_tenant_overrides_reloads_total{outcome="error"}"#)
                .await
                == 1.0
        })
        .await;
    assert_eq!(post(&client, &server, "slow", 10).await.0, 429);

    // Raising the rate lets the tenant in; a new size limit for the other tenant refuses its large requests.
    write(
        &file,
        "[tenants.slow]\ningest_rate_spans = 100000\n\n[tenants.fast]\nmax_request_bytes = \"1KiB\"\nquery_max_limit = 2\n",
    );
    server
        .eventually("the raised rate applied", move || async move {
            post(http, srv, "slow", 10).await.0 == 200
        })
        .await;
    let (status, body) = post(&client, &server, "fast", 50).await;
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("1024 bytes"), "{body}");
    assert_eq!(post(&client, &server, "other", 50).await.0, 200);
    // The search limit override: more than 2 traces is refused for this tenant only.
    let search = |tenant: &'static str| {
        client
            .get(server.url("/api/v1/search?limit=3"))
            .header("X-Scope-OrgID", tenant)
            .send()
    };
    let refused = search("fast").await.unwrap();
    assert_eq!(refused.status().as_u16(), 400);
    let body = refused.text().await.unwrap();
    assert!(body.contains("limit 3 exceeds the maximum of 2"), "{body}");
    assert_eq!(search("other").await.unwrap().status().as_u16(), 200);
    assert!(
        server.logs().contains("tenant overrides reloaded"),
        "{}",
        server.logs()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_override_deletes_only_that_tenants_old_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("overrides.toml");
    write(&file, "[tenants.short]\nretention = \"1h\"\n");
    let flags = [
        "--tenant-overrides",
        file.to_str().unwrap(),
        "--maintenance-interval",
        "1s",
        "--head-max-age",
        "1s",
    ];
    let server = Server::start(&dir.path().join("data"), &flags).await;
    let client = http_client();
    let three_hours_ago = now_unix_nano() - 3 * 3600 * 1_000_000_000;
    let (status, long) = post_at(&client, &server, "long", 5, three_hours_ago).await;
    assert_eq!(status.0, 200, "{}", status.1);
    let (status, short) = post_at(&client, &server, "short", 5, three_hours_ago).await;
    assert_eq!(status.0, 200, "{}", status.1);

    let (srv, http) = (&server, &client);
    let short_id = short.clone();
    server
        .eventually("the short-retention tenant's block deleted", move || {
            let id = short_id.clone();
            async move { trace_status(http, srv, "short", &id).await == 404 }
        })
        .await;
    assert_eq!(
        server
            .metric(r#"tracewell_retention_deleted_blocks_total{reason="age"}"#)
            .await,
        1.0
    );
    assert_eq!(trace_status(&client, &server, "long", &long).await, 200);
    assert!(server.logs().contains("retention deleted block"));
}

#[tokio::test]
async fn a_broken_overrides_file_stops_start_up_naming_the_tenant_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("overrides.toml");
    write(&file, "[tenants.shop]\nretention = \"forever\"\n");
    let stderr = common::serve_fails(
        &dir.path().join("data"),
        &["--tenant-overrides".as_ref(), file.as_os_str()],
    );
    assert!(stderr.contains(r#"tenant "shop", retention"#), "{stderr}");
}
