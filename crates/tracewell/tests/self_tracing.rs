//! Self-tracing against the real binary (`--self-tracing`): the server's own spans — an export request, the
//! flush of its head, an API request with the query span under it — are stored in the tenant `tracewell`
//! under the service `tracewell`, and writing them does not trace itself in a loop.

mod common;

use common::traces::{export_request_of, http_client, kv_str, now_unix_nano, SpanShape};
use common::Server;
use serde_json::Value;

async fn sql(server: &Server, query: &str) -> Value {
    let response = http_client()
        .post(server.url("/api/v1/sql"))
        .header("X-Scope-OrgID", "tracewell")
        .json(&serde_json::json!({ "query": query }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{query}");
    response.json::<Value>().await.unwrap()["rows"].clone()
}

/// Names of the self-traced spans, sorted, once each.
async fn span_names(server: &Server) -> Vec<String> {
    sql(
        server,
        "SELECT DISTINCT name FROM spans WHERE service_name = 'tracewell' ORDER BY name",
    )
    .await
    .as_array()
    .unwrap()
    .iter()
    .map(|row| row[0].as_str().unwrap().to_owned())
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_traces_its_own_work_into_its_own_tenant() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        &dir.path().join("data"),
        &["--self-tracing", "--head-max-age", "1s"],
    )
    .await;
    let (request, _) = export_request_of(
        2,
        3,
        now_unix_nano(),
        vec![kv_str("service.name", "shop")],
        |i| SpanShape {
            name: format!("op {i}"),
            kind: 2,
            duration_nanos: 1_000_000,
            attributes: Vec::new(),
        },
    );
    let response = http_client()
        .post(server.otlp_http_url())
        .header("content-type", "application/x-protobuf")
        .header("X-Scope-OrgID", "shop")
        .body(prost::Message::encode_to_vec(&request))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let search = http_client()
        .get(server.url("/api/v1/search?service=shop"))
        .header("X-Scope-OrgID", "shop")
        .send()
        .await
        .unwrap();
    assert_eq!(search.status(), 200);

    let srv = &server;
    server
        .eventually(
            "the export, the search and the flush traced",
            || async move {
                let names = span_names(srv).await;
                ["GET /api/v1/search", "export spans", "flush", "search"]
                    .iter()
                    .all(|n| names.iter().any(|m| m == n))
            },
        )
        .await;
    // The query's span is a child of its API request's span.
    let children = sql(
        &server,
        "SELECT c.name FROM spans c JOIN spans p ON c.parent_span_id = p.span_id \
         WHERE p.name = 'GET /api/v1/search'",
    )
    .await;
    assert_eq!(children, serde_json::json!([["search"]]));
    // What the spans say about the work.
    let export = sql(
        &server,
        "SELECT kind, status_code FROM spans WHERE name = 'export spans'",
    )
    .await;
    assert_eq!(
        export,
        serde_json::json!([[2, 0]]),
        "a SERVER span, not failed"
    );

    // Writing the server's spans is not traced, so idle means quiet: flushes of the self-tracing tenant (once a
    // second here, as these queries add spans) add no flush spans.
    let flushes = sql(&server, "SELECT count(*) FROM spans WHERE name = 'flush'").await;
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(
        sql(&server, "SELECT count(*) FROM spans WHERE name = 'flush'").await,
        flushes
    );
}
