//! Runs the Tracewell server under test as a child process of the current
//! executable: free loopback ports, readiness polling, graceful SIGTERM
//! shutdown with a SIGKILL fallback, and on-disk block accounting.

use std::fs::File;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use tokio::process::{Child, Command};

use super::http::http_get_status;

/// How long the server may take to report ready.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long to poll between readiness probes.
const READY_POLL: Duration = Duration::from_millis(100);

/// Loopback addresses of the server's listeners.
#[derive(Debug, Clone, Copy)]
pub struct Ports {
    pub otlp_grpc: SocketAddr,
    pub otlp_http: SocketAddr,
    pub zipkin: SocketAddr,
    pub http: SocketAddr,
    pub tempo: SocketAddr,
}

impl Ports {
    /// Picks five distinct free loopback ports (all bound at once, then released).
    pub fn pick() -> anyhow::Result<Ports> {
        let listeners = (0..5)
            .map(|_| TcpListener::bind("127.0.0.1:0"))
            .collect::<Result<Vec<_>, _>>()
            .context("binding a free loopback port")?;
        let addrs = listeners
            .iter()
            .map(TcpListener::local_addr)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Ports {
            otlp_grpc: addrs[0],
            otlp_http: addrs[1],
            zipkin: addrs[2],
            http: addrs[3],
            tempo: addrs[4],
        })
    }
}

/// The server process ended before it reported ready.
#[derive(Debug)]
pub struct ExitedDuringStartup {
    status: std::process::ExitStatus,
    log_tail: String,
}

impl std::fmt::Display for ExitedDuringStartup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "server exited during startup ({}); log tail:\n{}",
            self.status, self.log_tail
        )
    }
}

impl std::error::Error for ExitedDuringStartup {}

/// How the server stopped.
#[derive(Debug, Clone)]
pub struct Shutdown {
    pub elapsed: Duration,
    pub killed: bool,
    pub exit_code: Option<i32>,
}

/// The running server child process.
pub struct ServerProcess {
    child: Child,
    pub pid: u32,
    pub ports: Ports,
    pub log: PathBuf,
}

impl ServerProcess {
    /// Starts `<current exe> serve` on `data_dir` (retention of ten years) and waits until it is ready.
    ///
    /// The ports are picked free and released before the server binds them, so another process may take one
    /// in between; a server that exits during startup is therefore started once more on fresh ports.
    pub async fn start(data_dir: &Path) -> anyhow::Result<ServerProcess> {
        Self::start_with(data_dir, &[]).await
    }

    /// [`ServerProcess::start`] with extra `tracewell serve` flags.
    pub async fn start_with(data_dir: &Path, extra: &[String]) -> anyhow::Result<ServerProcess> {
        match Self::start_once(data_dir, extra).await {
            Err(first) if first.is::<ExitedDuringStartup>() => {
                eprintln!("{first:#}; starting it once more on other ports");
                Self::start_once(data_dir, extra).await
            }
            other => other,
        }
    }

    async fn start_once(data_dir: &Path, extra: &[String]) -> anyhow::Result<ServerProcess> {
        let ports = Ports::pick()?;
        let log = data_dir.join("server.log");
        let out = File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let exe = std::env::current_exe().context("locating the tracewell executable")?;
        let child = Command::new(exe)
            .arg("serve")
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--otlp-grpc-addr", &ports.otlp_grpc.to_string()])
            .args(["--otlp-http-addr", &ports.otlp_http.to_string()])
            .args(["--zipkin-addr", &ports.zipkin.to_string()])
            .args(["--http-addr", &ports.http.to_string()])
            .args(["--tempo-addr", &ports.tempo.to_string()])
            // Dumps carry timestamps of their own (otlp-blast's start in 2026-01): retention must not delete them.
            .args(["--retention", "3650d", "--rollup-retention", "3650d"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::from(out.try_clone()?))
            .stderr(Stdio::from(out))
            .kill_on_drop(true)
            .spawn()
            .context("spawning the server")?;
        let pid = child.id().context("server exited immediately")?;
        let mut server = ServerProcess {
            child,
            pid,
            ports,
            log,
        };
        server.wait_ready().await?;
        Ok(server)
    }

    async fn wait_ready(&mut self) -> anyhow::Result<()> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Err(ExitedDuringStartup {
                    status,
                    log_tail: self.log_tail(),
                }
                .into());
            }
            if let Ok(200) = http_get_status(self.ports.http, "/readyz").await {
                return Ok(());
            }
            if started.elapsed() > READY_TIMEOUT {
                bail!(
                    "server not ready after {READY_TIMEOUT:?}; log tail:\n{}",
                    self.log_tail()
                );
            }
            tokio::time::sleep(READY_POLL).await;
        }
    }

    /// Sends SIGTERM and waits up to `grace` for exit, then SIGKILLs.
    pub async fn terminate(mut self, grace: Duration) -> anyhow::Result<Shutdown> {
        let started = Instant::now();
        send_sigterm(self.pid)?;
        let (status, killed) = match tokio::time::timeout(grace, self.child.wait()).await {
            Ok(status) => (status?, false),
            Err(_) => {
                self.child.start_kill().context("sending SIGKILL")?;
                (self.child.wait().await?, true)
            }
        };
        Ok(Shutdown {
            elapsed: started.elapsed(),
            killed,
            exit_code: status.code(),
        })
    }

    /// The last lines of the server log, for error messages.
    pub fn log_tail(&self) -> String {
        let text = match std::fs::read_to_string(&self.log) {
            Ok(text) if text.trim().is_empty() => return "(the log is empty)".into(),
            Ok(text) => text,
            Err(e) => return format!("(reading {}: {e})", self.log.display()),
        };
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

fn send_sigterm(pid: u32) -> anyhow::Result<()> {
    let pid = libc::pid_t::try_from(pid).context("pid out of range")?;
    #[allow(unsafe_code)]
    // SAFETY: kill(2) only takes integers; `pid` is our own not-yet-reaped
    // child, so it cannot have been recycled for another process.
    let rc = unsafe { libc::kill(pid, libc::SIGTERM) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error()).context("sending SIGTERM to the server");
    }
    Ok(())
}

/// Number and total size of `*.parquet` files anywhere under `dir`
/// (zero when `dir` does not exist).
pub fn parquet_usage(dir: &Path) -> std::io::Result<(u64, u64)> {
    let mut files = 0;
    let mut bytes = 0;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let entries = match std::fs::read_dir(&current) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let meta = entry.metadata()?;
            let path = entry.path();
            if meta.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "parquet") {
                files += 1;
                bytes += meta.len();
            }
        }
    }
    Ok((files, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_distinct_loopback_ports() {
        let p = Ports::pick().expect("ports");
        let all = [p.otlp_grpc, p.otlp_http, p.zipkin, p.http];
        for (i, a) in all.iter().enumerate() {
            assert!(a.ip().is_loopback() && a.port() != 0);
            assert!(all[i + 1..].iter().all(|b| b.port() != a.port()));
        }
    }

    #[test]
    fn sums_parquet_files_recursively() {
        let dir = std::env::temp_dir().join(format!("tracewell-bench-test-{}", std::process::id()));
        let nested = dir.join("blocks/tenant-a/01J");
        std::fs::create_dir_all(&nested).expect("mkdir");
        std::fs::write(dir.join("blocks/x.parquet"), [0u8; 10]).expect("write");
        std::fs::write(nested.join("data.parquet"), [0u8; 32]).expect("write");
        std::fs::write(nested.join("meta.json"), [0u8; 100]).expect("write");
        let usage = parquet_usage(&dir.join("blocks")).expect("walk");
        let missing = parquet_usage(&dir.join("nope")).expect("walk missing");
        std::fs::remove_dir_all(&dir).expect("cleanup");
        assert_eq!(usage, (2, 42));
        assert_eq!(missing, (0, 0));
    }
}
