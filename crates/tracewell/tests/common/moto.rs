//! A `moto_server` (an S3-compatible server from PyPI) of a test's own on a free loopback port.
//! `scripts/test-deps` installs moto into the test virtual environment (`TEST_PYTHON`); without it,
//! `pip install "moto[server]"` and put `moto_server` on the PATH.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::traces::http_client;

/// A `moto_server` child, killed on drop.
pub struct Moto {
    child: Child,
    pub endpoint: String,
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

impl Moto {
    pub async fn start() -> Moto {
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

    pub async fn create_bucket(&self, bucket: &str) {
        let created = http_client()
            .put(format!("{}/{bucket}", self.endpoint))
            .send()
            .await
            .unwrap();
        assert!(created.status().is_success(), "create bucket: {created:?}");
    }

    /// The `AWS_*` environment that points a Tracewell server at this S3 server.
    pub fn env(&self) -> [(&'static str, &str); 5] {
        [
            ("AWS_ENDPOINT_URL", self.endpoint.as_str()),
            ("AWS_ALLOW_HTTP", "true"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
        ]
    }
}

/// Keys of the bucket's objects (ListObjectsV2, read from the XML answer).
pub async fn object_keys(moto: &Moto, bucket: &str) -> Vec<String> {
    let body = http_client()
        .get(format!(
            "{}/{bucket}?list-type=2&max-keys=1000",
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
