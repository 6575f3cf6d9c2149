//! Drives the load: a shared pacer schedules span budgets over the run, and
//! `concurrency` worker tasks (each with a clone of one gRPC client) generate
//! batches and export them, overlapping generation with in-flight RPCs.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::time::Instant;
use tonic::codec::CompressionEncoding;
use tonic::metadata::{AsciiMetadataValue, MetadataValue};
use tonic::transport::{Channel, Endpoint};

use super::batch::build_request;
use super::report::{code_name, WorkerStats};
use super::{LoadReport, LoadgenArgs, Rate};

/// Header carrying the tenant id.
const TENANT_HEADER: &str = "x-scope-orgid";
/// Largest response the client accepts.
const MAX_MESSAGE: usize = 64 * 1024 * 1024;

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

    /// Waits until `spans` more spans are due; `false` once the run is over.
    async fn admit(&self, spans: u64) -> bool {
        let Some(rate) = self.per_second else {
            return Instant::now() < self.deadline;
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

/// Settings shared by all workers.
struct Shared {
    pacer: Pacer,
    tenant: Option<AsciiMetadataValue>,
    batch_spans: usize,
}

/// Runs the load described by `args` and returns its report.
pub async fn run(args: &LoadgenArgs) -> anyhow::Result<LoadReport> {
    anyhow::ensure!(args.concurrency > 0, "--concurrency must be at least 1");
    anyhow::ensure!(args.batch_spans > 0, "--batch-spans must be at least 1");
    let client = connect(&args.otlp_grpc, args.gzip).await?;
    let tenant = match &args.tenant {
        Some(t) => Some(MetadataValue::try_from(t.as_str()).context("invalid --tenant value")?),
        None => None,
    };
    let seed = args.seed.unwrap_or_else(|| rand::rng().random());
    let shared = Arc::new(Shared {
        pacer: Pacer::new(&args.rate, args.duration),
        tenant,
        batch_spans: args.batch_spans,
    });
    let handles: Vec<_> = (0..args.concurrency as u64)
        .map(|i| {
            let seed = seed.wrapping_add(i.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            tokio::spawn(worker(client.clone(), Arc::clone(&shared), seed))
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

/// Normalises `addr` ("host:port" or a URL) and opens one shared channel.
async fn connect(addr: &str, gzip: bool) -> anyhow::Result<TraceServiceClient<Channel>> {
    let url = if addr.contains("://") {
        addr.to_string()
    } else {
        format!("http://{addr}")
    };
    let channel = Endpoint::from_shared(url.clone())
        .with_context(|| format!("invalid OTLP gRPC address {addr:?}"))?
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30))
        .tcp_nodelay(true)
        .connect()
        .await
        .with_context(|| format!("cannot connect to {url}"))?;
    let mut client = TraceServiceClient::new(channel).max_decoding_message_size(MAX_MESSAGE);
    if gzip {
        client = client.send_compressed(CompressionEncoding::Gzip);
    }
    Ok(client)
}

/// One worker: builds the next batch while the current one is in flight.
async fn worker(
    mut client: TraceServiceClient<Channel>,
    shared: Arc<Shared>,
    seed: u64,
) -> anyhow::Result<WorkerStats> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut zstd = zstd::bulk::Compressor::new(3).context("zstd compressor")?;
    let mut stats = WorkerStats::default();
    let mut next = build_request(&mut rng, shared.batch_spans, now_unix_nano());
    while shared.pacer.admit(next.1).await {
        let (request, spans) = next;
        let encoded = request.encode_to_vec();
        stats.otlp_bytes += encoded.len() as u64;
        stats.otlp_zstd_bytes += zstd.compress(&encoded).context("zstd compress")?.len() as u64;
        let send = export(&mut client, shared.tenant.as_ref(), request);
        let build = async { build_request(&mut rng, shared.batch_spans, now_unix_nano()) };
        let ((result, latency), built) = tokio::join!(send, build);
        next = built;
        record(&mut stats, spans, result, latency);
    }
    Ok(stats)
}

async fn export(
    client: &mut TraceServiceClient<Channel>,
    tenant: Option<&AsciiMetadataValue>,
    body: ExportTraceServiceRequest,
) -> (Result<ExportTraceServiceResponse, tonic::Status>, Duration) {
    let mut request = tonic::Request::new(body);
    if let Some(t) = tenant {
        request.metadata_mut().insert(TENANT_HEADER, t.clone());
    }
    let started = Instant::now();
    let result = client
        .export(request)
        .await
        .map(tonic::Response::into_inner);
    (result, started.elapsed())
}

fn record(
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
