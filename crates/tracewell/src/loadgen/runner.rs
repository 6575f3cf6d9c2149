//! Drives the load: a shared pacer schedules span budgets over the run, and
//! `concurrency` worker tasks (each with a clone of one gRPC client) generate
//! batches and export them, building the next batch while one is in flight.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::bytes::Bytes;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::time::Instant;

use super::batch::{build_request, BatchBuilder};
use super::client::ExportClient;
use super::report::{code_name, WorkerStats};
use super::{LoadReport, LoadgenArgs, Rate};

/// Open-loop scheduler: each batch reserves its spans and is released at the
/// time those spans are due at the target rate.
struct Pacer {
    start: Instant,
    deadline: Instant,
    per_second: Option<u64>,
    scheduled: AtomicU64,
}

impl Pacer {
    fn new(rate: &Rate, duration: Duration) -> Pacer {
        let start = Instant::now();
        let per_second = match rate {
            Rate::PerSecond(n) => Some((*n).max(1)),
            Rate::Max => None,
        };
        Pacer {
            start,
            deadline: start + duration,
            per_second,
            scheduled: AtomicU64::new(0),
        }
    }

    /// Waits until `spans` more spans are due; `false` once the run is over
    /// (a sender that falls behind schedule stops at the deadline too).
    async fn admit(&self, spans: u64) -> bool {
        if Instant::now() >= self.deadline {
            return false;
        }
        let Some(rate) = self.per_second else {
            return true;
        };
        let offset = self.scheduled.fetch_add(spans, Ordering::Relaxed);
        let due = self.start + Duration::from_secs_f64(offset as f64 / rate as f64);
        if due >= self.deadline {
            return false;
        }
        tokio::time::sleep_until(due).await;
        true
    }
}

/// State shared by all workers.
struct Shared {
    pacer: Pacer,
    client: ExportClient,
    batch_spans: usize,
}

/// Runs the load described by `args` and returns its report.
pub async fn run(args: &LoadgenArgs) -> anyhow::Result<LoadReport> {
    anyhow::ensure!(args.concurrency > 0, "--concurrency must be at least 1");
    anyhow::ensure!(args.batch_spans > 0, "--batch-spans must be at least 1");
    let client = ExportClient::connect(&args.otlp_grpc, args.gzip, args.tenant.as_deref()).await?;
    let seed = args.seed.unwrap_or_else(|| rand::rng().random());
    let shared = Arc::new(Shared {
        pacer: Pacer::new(&args.rate, args.duration),
        client,
        batch_spans: args.batch_spans,
    });
    let handles: Vec<_> = (0..args.concurrency as u64)
        .map(|i| {
            let seed = seed.wrapping_add(i.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            tokio::spawn(worker(Arc::clone(&shared), seed))
        })
        .collect();
    let mut stats = Vec::with_capacity(handles.len());
    for h in handles {
        stats.push(h.await.context("load worker panicked")??);
    }
    Ok(LoadReport::from_workers(
        stats,
        shared.pacer.start.elapsed(),
    ))
}

/// One worker: exports a batch in a separate task (so its latency is not
/// inflated by generation), measures it, and builds the next one meanwhile.
async fn worker(shared: Arc<Shared>, seed: u64) -> anyhow::Result<WorkerStats> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut zstd = zstd::bulk::Compressor::new(3).context("zstd compressor")?;
    let mut batch = BatchBuilder::new();
    let mut stats = WorkerStats::default();
    let mut next = build_request(&mut batch, &mut rng, shared.batch_spans, now_unix_nano());
    while shared.pacer.admit(next.1).await {
        let (body, spans) = next;
        let body = Bytes::from(body);
        let inflight = tokio::spawn(export(shared.client.clone(), body.clone()));
        stats.otlp_bytes += body.len() as u64;
        stats.otlp_zstd_bytes += zstd.compress(&body).context("zstd compress")?.len() as u64;
        next = build_request(&mut batch, &mut rng, shared.batch_spans, now_unix_nano());
        let (result, latency) = inflight.await.context("export task panicked")?;
        record(&mut stats, spans, result, latency);
    }
    Ok(stats)
}

async fn export(
    mut client: ExportClient,
    body: Bytes,
) -> (Result<ExportTraceServiceResponse, tonic::Status>, Duration) {
    let started = Instant::now();
    let result = client.export(body).await;
    (result, started.elapsed())
}

/// Counts one finished export (of `spans` spans) in `stats`.
pub(crate) fn record(
    stats: &mut WorkerStats,
    spans: u64,
    result: Result<ExportTraceServiceResponse, tonic::Status>,
    latency: Duration,
) {
    stats.requests += 1;
    stats.spans_sent += spans;
    stats.latencies_ns.push(latency.as_nanos() as u64);
    match result {
        Ok(resp) => {
            let rejected = resp
                .partial_success
                .map_or(0, |p| p.rejected_spans.max(0) as u64)
                .min(spans);
            stats.spans_rejected += rejected;
            stats.spans_acked += spans - rejected;
        }
        Err(status) => {
            stats.errors += 1;
            *stats
                .error_kinds
                .entry(code_name(status.code()).to_string())
                .or_default() += 1;
        }
    }
}

fn now_unix_nano() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}
