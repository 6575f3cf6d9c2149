//! Overhead of the server layer and the SDK on an axum hello-world under load: requests per second
//! and latency percentiles without instrumentation, with it at 100% sampling and at 10%, side by side.
//!
//! `cargo bench -p tracewell-instrument --bench overhead` (options after `--`: `--seconds N`,
//! `--connections N`, `--rounds N`). The server runs on one runtime thread and the load client on
//! another, over loopback with keep-alive connections. Spans go through the batch span processor to an
//! exporter that discards them: the figures are the cost of recording, not of shipping spans to a
//! collector (which runs elsewhere in production).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::routing::get;
use axum::Router;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{BatchSpanProcessor, Sampler, SpanData, SpanExporter};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tracewell_instrument::http::TraceLayer;
use tracewell_instrument::{Builder, Instrumentation, Telemetry};

#[derive(Debug)]
struct Discard;

impl SpanExporter for Discard {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        std::hint::black_box(batch);
        Ok(())
    }
}

#[derive(Clone, Copy, Debug)]
enum Mode {
    Off,
    Sampled(f64),
}

impl Mode {
    fn label(self) -> String {
        match self {
            Mode::Off => "no instrumentation".into(),
            Mode::Sampled(r) => format!("instrumented, {:.0}% sampled", r * 100.0),
        }
    }
}

fn app(mode: Mode) -> (Router, Option<Telemetry>) {
    let router = Router::new().route("/hello/{name}", get(|| async { "Hello, World!" }));
    match mode {
        Mode::Off => (router, None),
        Mode::Sampled(ratio) => {
            let telemetry = Builder::new()
                .service_name("bench")
                .env(|_| None)
                .without_otlp()
                .sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
                    ratio,
                ))))
                .span_processor(BatchSpanProcessor::builder(Discard).build())
                .build()
                .expect("telemetry");
            let layer = TraceLayer::new(Instrumentation::from_telemetry(&telemetry));
            (router.layer(layer), Some(telemetry))
        }
    }
}

/// Starts the server on its own single-threaded runtime; returns its address.
fn start_server(
    router: Router,
    stop: Arc<AtomicBool>,
) -> (SocketAddr, std::thread::JoinHandle<()>) {
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("server runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    while !stop.load(Ordering::Relaxed) {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                })
                .await
                .unwrap();
        });
    });
    (rx.recv().unwrap(), handle)
}

/// One keep-alive connection sending requests back to back until `until`; returns latencies in µs.
async fn connection(addr: SocketAddr, until: Instant, id: usize) -> Vec<u32> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let mut latencies = Vec::with_capacity(100_000);
    let mut buffer = vec![0u8; 4096];
    let mut n = 0usize;
    while Instant::now() < until {
        let request = format!("GET /hello/user-{id}-{n} HTTP/1.1\r\nHost: bench\r\n\r\n");
        n += 1;
        let start = Instant::now();
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut filled = 0;
        loop {
            let read = stream.read(&mut buffer[filled..]).await.unwrap();
            assert!(read > 0, "server closed the connection");
            filled += read;
            if let Some(end) = find(&buffer[..filled], b"\r\n\r\n") {
                let headers = std::str::from_utf8(&buffer[..end]).unwrap();
                let length: usize = headers
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse().unwrap())
                    })
                    .unwrap_or(0);
                if filled >= end + 4 + length {
                    break;
                }
            }
        }
        latencies.push(start.elapsed().as_micros() as u32);
    }
    latencies
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

struct Figures {
    requests: usize,
    requests_per_second: f64,
    p50_us: u32,
    p99_us: u32,
}

fn measure(mode: Mode, seconds: u64, connections: usize) -> Figures {
    let (router, telemetry) = app(mode);
    let stop = Arc::new(AtomicBool::new(false));
    let (addr, server) = start_server(router, stop.clone());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    let warm_up = Instant::now() + Duration::from_millis(500);
    runtime.block_on(async {
        let tasks: Vec<_> = (0..connections)
            .map(|i| tokio::spawn(connection(addr, warm_up, i)))
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let mut latencies: Vec<u32> = runtime.block_on(async {
        let tasks: Vec<_> = (0..connections)
            .map(|i| tokio::spawn(connection(addr, until, i)))
            .collect();
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        all
    });
    let elapsed = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    server.join().unwrap();
    if let Some(t) = telemetry {
        t.shutdown().expect("shutdown");
    }
    latencies.sort_unstable();
    let pick = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    Figures {
        requests: latencies.len(),
        requests_per_second: latencies.len() as f64 / elapsed,
        p50_us: pick(0.50),
        p99_us: pick(0.99),
    }
}

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let in_process = arg("--in-process", 200_000) as u32;
    if in_process > 0 {
        println!(
            "router alone, {in_process} requests per mode on one thread (median of 3); CPU is the whole \
             process's, the batch processor's export thread included, until the spans are exported:"
        );
        let off = median_of_3(|| in_process_ns(Mode::Off, in_process));
        for mode in [Mode::Off, Mode::Sampled(1.0), Mode::Sampled(0.1)] {
            let cost = if matches!(mode, Mode::Off) {
                off
            } else {
                median_of_3(|| in_process_ns(mode, in_process))
            };
            println!(
                "  {:<32} {:>8.0} ns/request wall (+{:.0} ns)  {:>8.0} ns/request CPU (+{:.0} ns)",
                mode.label(),
                cost.wall,
                cost.wall - off.wall,
                cost.cpu,
                cost.cpu - off.cpu
            );
        }
    }
    let seconds = arg("--seconds", 5);
    if seconds == 0 {
        return;
    }
    let connections = arg("--connections", 32) as usize;
    let rounds = arg("--rounds", 3) as usize;
    let all = [Mode::Off, Mode::Sampled(1.0), Mode::Sampled(0.1)];
    // `--only N` runs one mode (0 off, 1 at 100%, 2 at 10%), e.g. under `perf stat`.
    let modes: Vec<Mode> = match std::env::args().position(|a| a == "--only") {
        Some(_) => vec![all[(arg("--only", 0) as usize).min(2)]],
        None => all.to_vec(),
    };
    println!(
        "axum hello-world, {connections} keep-alive connections, {seconds} s per run, {rounds} rounds (modes interleaved; median run shown)"
    );
    let mut runs: Vec<Vec<Figures>> = modes.iter().map(|_| Vec::new()).collect();
    for _ in 0..rounds {
        for (i, mode) in modes.iter().enumerate() {
            runs[i].push(measure(*mode, seconds, connections));
        }
    }
    let baseline = median_rps(&runs[0]);
    let baseline_label = modes[0].label();
    println!(
        "{:<32} {:>12} {:>10} {:>10} {:>10}",
        "mode",
        "req/s",
        format!(
            "vs {}",
            if baseline_label.starts_with("no") {
                "off"
            } else {
                "first"
            }
        ),
        "p50 µs",
        "p99 µs"
    );
    for (mode, figures) in modes.iter().zip(&mut runs) {
        let requests: usize = figures.iter().map(|f| f.requests).sum();
        eprintln!("{}: {requests} requests in all runs", mode.label());
        figures.sort_by(|a, b| a.requests_per_second.total_cmp(&b.requests_per_second));
        let median = &figures[figures.len() / 2];
        println!(
            "{:<32} {:>12.0} {:>9.1}% {:>10} {:>10}",
            mode.label(),
            median.requests_per_second,
            (median.requests_per_second / baseline - 1.0) * 100.0,
            median.p50_us,
            median.p99_us
        );
    }
}

/// Wall and CPU nanoseconds per request.
#[derive(Clone, Copy)]
struct Cost {
    wall: f64,
    cpu: f64,
}

/// CPU time of the whole process (every thread) so far.
#[allow(unsafe_code)]
fn process_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes only the timespec it is given.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_PROCESS_CPUTIME_ID)");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Time per request through the router alone (no sockets, one thread), for `n` requests; the CPU figure runs
/// until the telemetry is shut down, so it includes exporting every span.
fn in_process_ns(mode: Mode, n: u32) -> Cost {
    use tower::ServiceExt;
    let (router, telemetry) = app(mode);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let elapsed = runtime.block_on(async {
        let request = |i: u32| {
            http::Request::get(format!("/hello/user-{i}"))
                .header("host", "bench")
                .body(axum::body::Body::empty())
                .unwrap()
        };
        for i in 0..n / 10 {
            router.clone().oneshot(request(i)).await.unwrap();
        }
        if let Some(t) = &telemetry {
            t.flush().expect("flush");
        }
        let cpu = process_cpu();
        let started = Instant::now();
        for i in 0..n {
            let response = router.clone().oneshot(request(i)).await.unwrap();
            std::hint::black_box(response);
        }
        (started.elapsed(), cpu)
    });
    let (wall, cpu_start) = elapsed;
    if let Some(t) = telemetry {
        t.shutdown().expect("shutdown");
    }
    let cpu = process_cpu() - cpu_start;
    Cost {
        wall: wall.as_nanos() as f64 / f64::from(n),
        cpu: cpu.as_nanos() as f64 / f64::from(n),
    }
}

/// The run with the median CPU cost of three.
fn median_of_3(mut f: impl FnMut() -> Cost) -> Cost {
    let mut v = [f(), f(), f()];
    v.sort_by(|a, b| a.cpu.total_cmp(&b.cpu));
    v[1]
}

fn median_rps(figures: &[Figures]) -> f64 {
    let mut rps: Vec<f64> = figures.iter().map(|f| f.requests_per_second).collect();
    rps.sort_by(f64::total_cmp);
    rps[rps.len() / 2]
}
