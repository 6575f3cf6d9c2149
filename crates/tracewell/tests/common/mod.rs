//! Test harness: runs the real `tracewell serve` binary as a child process on free ports and talks to it.
#![allow(dead_code)]

pub mod moto;
pub mod postgres;
pub mod shop;
pub mod traces;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running server.
pub struct Server {
    child: Option<Child>,
    pub data_dir: PathBuf,
    pub otlp_grpc: SocketAddr,
    pub otlp_http: SocketAddr,
    pub zipkin: SocketAddr,
    pub http: SocketAddr,
    pub tempo: SocketAddr,
    /// `https` when the server was started with `--tls-cert`, else `http`.
    pub scheme: &'static str,
    logs: Arc<Mutex<String>>,
}

impl Server {
    /// Starts a server on free loopback ports with `data_dir`, plus extra flags; waits until it is ready.
    pub async fn start(data_dir: &Path, extra_args: &[&str]) -> Server {
        let server = Self::spawn(data_dir, extra_args);
        server.wait_ready().await;
        server
    }

    /// Starts a server without waiting for readiness (the listening line is awaited).
    pub fn spawn(data_dir: &Path, extra_args: &[&str]) -> Server {
        Self::spawn_with_env(data_dir, extra_args, &[])
    }

    /// [`Server::start`] with extra environment variables (e.g. `AWS_*` for `--storage s3://...`).
    pub async fn start_with_env(
        data_dir: &Path,
        extra_args: &[&str],
        env: &[(&str, &str)],
    ) -> Server {
        let server = Self::spawn_with_env(data_dir, extra_args, env);
        server.wait_ready().await;
        server
    }

    /// [`Server::spawn`] with extra environment variables.
    pub fn spawn_with_env(data_dir: &Path, extra_args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tracewell"));
        cmd.arg("serve").arg("--data-dir").arg(data_dir);
        for flag in [
            "--otlp-grpc-addr",
            "--otlp-http-addr",
            "--zipkin-addr",
            "--http-addr",
            "--tempo-addr",
        ] {
            if !extra_args.contains(&flag) {
                cmd.arg(flag).arg("127.0.0.1:0");
            }
        }
        // Many tests send fixtures and hand-written spans with fixed, historical timestamps, which the default age
        // bound (the retention) refuses; tests of the bound (limits.rs) set it themselves.
        if !extra_args.contains(&"--max-span-age") {
            cmd.arg("--max-span-age").arg("0");
        }
        cmd.args(extra_args);
        for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("TRACEWELL_")) {
            cmd.env_remove(key);
        }
        cmd.envs(env.iter().copied());
        cmd.env("TRACEWELL_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn tracewell");
        let stderr = child.stderr.take().expect("stderr");
        let logs = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = Arc::clone(&logs);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains(" listening ") {
                    let _ = tx.send(line.clone());
                }
                let mut logs = sink.lock().unwrap();
                logs.push_str(&line);
                logs.push('\n');
            }
        });
        let line = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                panic!("server did not start; logs:\n{}", logs.lock().unwrap());
            }
        };
        let addr = |key: &str| -> SocketAddr {
            let token = line
                .split_whitespace()
                .find_map(|t| t.strip_prefix(&format!("{key}=")))
                .expect(key);
            token.parse().expect("socket address")
        };
        Server {
            otlp_grpc: addr("otlp_grpc"),
            otlp_http: addr("otlp_http"),
            zipkin: addr("zipkin"),
            http: addr("http"),
            tempo: addr("tempo"),
            scheme: if extra_args.contains(&"--tls-cert") {
                "https"
            } else {
                "http"
            },
            child: Some(child),
            data_dir: data_dir.to_path_buf(),
            logs,
        }
    }

    /// Polls `/readyz` until it answers 200.
    pub async fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        // Readiness only: TLS tests check certificates with their own clients.
        let client = reqwest::Client::builder()
            .danger_accept_invalid_certs(true)
            .build()
            .unwrap();
        loop {
            if let Ok(r) = client.get(self.url("/readyz")).send().await {
                if r.status() == 200 {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "server not ready; logs:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// URL on the query/metrics port.
    pub fn url(&self, path: &str) -> String {
        format!("{}://{}{}", self.scheme, self.http, path)
    }

    /// URL on the Tempo-compatible port.
    pub fn tempo_url(&self, path: &str) -> String {
        format!("{}://{}{}", self.scheme, self.tempo, path)
    }

    pub fn otlp_http_url(&self) -> String {
        format!("{}://{}/v1/traces", self.scheme, self.otlp_http)
    }

    pub fn zipkin_url(&self) -> String {
        format!("{}://{}/api/v2/spans", self.scheme, self.zipkin)
    }

    /// A path on the OTLP/HTTP port (e.g. `/v1/logs`).
    pub fn otlp_http_path(&self, path: &str) -> String {
        format!("{}://{}{path}", self.scheme, self.otlp_http)
    }

    pub fn otlp_grpc_url(&self) -> String {
        format!("{}://{}", self.scheme, self.otlp_grpc)
    }

    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().clone()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    /// SIGKILL: no flush, no cleanup.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then waits for the exit status (graceful shutdown).
    pub fn terminate(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("server running");
        sigterm(child.id());
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("server did not stop within 60s; logs:\n{}", self.logs());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Polls `check` until it holds; fails after 60 s naming `what`, with the server's metrics and logs.
    pub async fn eventually<F, Fut>(&self, what: &str, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !check().await {
            assert!(
                Instant::now() < deadline,
                "timed out waiting until {what}; metrics:\n{}\nlogs:\n{}",
                self.metrics().await,
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Fetches `/api/v1/traces/{id}` and returns (status, JSON body).
    pub async fn get_trace(&self, trace_id: &str) -> (u16, serde_json::Value) {
        let r = reqwest::get(self.url(&format!("/api/v1/traces/{trace_id}")))
            .await
            .expect("get trace");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// The Prometheus exposition.
    pub async fn metrics(&self) -> String {
        reqwest::get(self.url("/metrics"))
            .await
            .expect("metrics")
            .text()
            .await
            .expect("metrics body")
    }

    /// Value of one metric sample line (exact series name with labels, e.g. `foo_total{a="b"}`); 0 if absent.
    pub async fn metric(&self, series: &str) -> f64 {
        self.metrics()
            .await
            .lines()
            .find_map(|l| {
                l.strip_prefix(series)
                    .and_then(|rest| rest.trim().split(' ').next()?.parse().ok())
            })
            .unwrap_or(0.0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Calls a server-streaming gRPC method (`/tempopb.StreamingQuerier/Search`, ...) on the Tempo port and collects
/// every message of the stream.
pub async fn tempo_stream<Req, Resp>(
    server: &Server,
    method: &'static str,
    request: tonic::Request<Req>,
) -> Result<Vec<Resp>, tonic::Status>
where
    Req: prost::Message + Send + Sync + 'static,
    Resp: prost::Message + Default + Send + Sync + 'static,
{
    let channel = tonic::transport::Endpoint::from_shared(server.tempo_url(""))
        .unwrap()
        .connect()
        .await
        .expect("connect to the Tempo port over HTTP/2");
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let path = tonic::codegen::http::uri::PathAndQuery::from_static(method);
    let mut stream = grpc
        .server_streaming(
            request,
            path,
            tonic_prost::ProstCodec::<Req, Resp>::default(),
        )
        .await?
        .into_inner();
    let mut out = Vec::new();
    while let Some(message) = stream.message().await? {
        out.push(message);
    }
    Ok(out)
}

/// Runs `tracewell serve --data-dir <data_dir> <args>`, which must refuse to start; returns what it printed
/// on stderr.
pub fn serve_fails(data_dir: &Path, args: &[&std::ffi::OsStr]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_tracewell"))
        .arg("serve")
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .output()
        .expect("run tracewell serve");
    assert!(!output.status.success(), "the server started");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Sends SIGTERM to a process.
#[allow(unsafe_code)]
pub fn sigterm(pid: u32) {
    let pid = libc::pid_t::try_from(pid).expect("pid fits pid_t");
    // SAFETY: kill(2) only sends a signal; it touches no memory of this process.
    let rc = unsafe { libc::kill(pid, libc::SIGTERM) };
    assert_eq!(
        rc,
        0,
        "kill({pid}, SIGTERM): {}",
        std::io::Error::last_os_error()
    );
}

/// Path of a shared third-party fixture.
pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}
