//! Blocks on a real S3-compatible server (`moto_server`, started here): spans sent over OTLP flush into the
//! bucket under the prefix, and a server restarted on the same bucket with an empty data directory reads them back
//! by trace id and by search. `scripts/test-deps` installs moto into the test virtual environment (`TEST_PYTHON`);
//! without it, `pip install "moto[server]"` and put `moto_server` on the PATH.

mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::traces::*;
use common::Server;

const BUCKET: &str = "tracewell-test";
const PREFIX: &str = "cluster-a/blocks";

/// A `moto_server` child on a free loopback port, killed on drop.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn moto_server_program() -> PathBuf {
    if let Ok(python) = std::env::var("TEST_PYTHON") {
        let beside = PathBuf::from(python).with_file_name("moto_server");
        if beside.exists() {
            return beside;
        }
    }
    let venv = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .map(|cache| cache.join("tracewell/test-venv/bin/moto_server"));
    match venv {
        Some(path) if path.exists() => path,
        _ => PathBuf::from("moto_server"),
    }
}

async fn start_moto() -> Moto {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let program = moto_server_program();
    let child = Command::new(&program)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "starting {} failed ({e}); scripts/test-deps installs moto[server] into the test venv",
                program.display()
            )
        });
    let moto = Moto {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
    };
    let client = http_client();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = client.get(format!("{}/", moto.endpoint)).send().await {
            if r.status().is_success() {
                break;
            }
        }
        assert!(Instant::now() < deadline, "moto_server did not start");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    moto
}

/// Keys of the bucket's objects (ListObjectsV2, read from the XML answer).
async fn object_keys(moto: &Moto) -> Vec<String> {
    let body = http_client()
        .get(format!(
            "{}/{BUCKET}?list-type=2&max-keys=1000",
            moto.endpoint
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    body.split("<Key>")
        .skip(1)
        .filter_map(|s| s.split_once("</Key>").map(|(k, _)| k.to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_flush_to_s3_and_read_back_after_restart_with_an_empty_data_dir() {
    let moto = start_moto().await;
    let created = http_client()
        .put(format!("{}/{BUCKET}", moto.endpoint))
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success(), "create bucket: {created:?}");

    let env = [
        ("AWS_ENDPOINT_URL", moto.endpoint.as_str()),
        ("AWS_ALLOW_HTTP", "true"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
    ];
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
            let keys = object_keys(&moto).await;
            keys.iter().any(|k| k.ends_with("/data.parquet"))
                && keys.iter().any(|k| k.ends_with("/meta.json"))
        })
        .await;
    let keys = object_keys(&moto).await;
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
