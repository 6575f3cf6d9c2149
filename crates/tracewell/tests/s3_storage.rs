//! Blocks on a real S3-compatible server (`moto_server`, started here): spans sent over OTLP flush into the
//! bucket under the prefix, and a server restarted on the same bucket with an empty data directory reads them back
//! by trace id and by search. `scripts/test-deps` installs moto into the test virtual environment (`TEST_PYTHON`);
//! without it, `pip install "moto[server]"` and put `moto_server` on the PATH.

mod common;

use common::moto::{object_keys, Moto};
use common::traces::*;
use common::Server;

const BUCKET: &str = "tracewell-test";
const PREFIX: &str = "cluster-a/blocks";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_flush_to_s3_and_read_back_after_restart_with_an_empty_data_dir() {
    let moto = Moto::start().await;
    moto.create_bucket(BUCKET).await;
    let env = moto.env();
    let storage = format!("s3://{BUCKET}/{PREFIX}");
    let args = ["--storage", storage.as_str(), "--head-max-age", "1s"];

    // Write and flush: the head flushes by age into the bucket.
    let first_dir = tempfile::tempdir().unwrap();
    let server = Server::start_with_env(first_dir.path(), &args, &env).await;
    let resource = vec![kv_str("service.name", "s3-checkout")];
    let (request, sent) = export_request_of(3, 4, now_unix_nano(), resource, |i| SpanShape {
        name: format!("charge {i}"),
        kind: 2,
        duration_nanos: 1_000_000,
        attributes: vec![kv_int("span.index", i as i64)],
    });
    export_ok(&mut grpc_client(&server).await, request).await;
    server
        .eventually("a block flushed to the bucket", || async {
            let keys = object_keys(&moto, BUCKET).await;
            keys.iter().any(|k| k.ends_with("/data.parquet"))
                && keys.iter().any(|k| k.ends_with("/meta.json"))
        })
        .await;
    let keys = object_keys(&moto, BUCKET).await;
    assert!(
        keys.iter().all(|k| k.starts_with(&format!("{PREFIX}/"))),
        "every object under the prefix: {keys:?}"
    );
    assert!(
        !first_dir.path().join("blocks").exists()
            || files_with_name(&first_dir.path().join("blocks"), "data.parquet").is_empty(),
        "no block on the local disk"
    );
    assert_traces_read_back(&server, &sent).await;
    drop(server);

    // Restart on the same bucket with an empty data directory: the blocks are found and read from S3.
    let second_dir = tempfile::tempdir().unwrap();
    let server = Server::start_with_env(second_dir.path(), &args, &env).await;
    assert_traces_read_back(&server, &sent).await;
    let client = http_client();
    let body: serde_json::Value = client
        .get(server.url("/api/v1/search?service=s3-checkout&limit=20"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut found: Vec<String> = body["traces"]
        .as_array()
        .unwrap_or_else(|| panic!("search answer: {body}"))
        .iter()
        .map(|t| t["traceId"].as_str().unwrap().to_string())
        .collect();
    found.sort();
    let mut expected: Vec<String> = sent.iter().map(|t| t.trace_id.clone()).collect();
    expected.sort();
    assert_eq!(
        found,
        expected,
        "search after restart; logs:\n{}",
        server.logs()
    );
}
