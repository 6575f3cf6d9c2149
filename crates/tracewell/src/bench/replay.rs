//! Replays the requests of an `otlp-blast dump` file against a server: each request once, a fixed number in
//! flight, retried after a pause while the server answers that it is busy (RESOURCE_EXHAUSTED, UNAVAILABLE), so
//! every span ends up stored and the load is data the project did not design.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

use crate::loadgen::report::{code_name, WorkerStats};
use crate::loadgen::{record, ExportClient, LoadReport};

/// Pause before a request the server refused as busy is sent again.
const BUSY_RETRY_PAUSE: Duration = Duration::from_millis(50);
/// Most times one request is sent before the replay gives up on it.
const MAX_ATTEMPTS: usize = 1_000;

/// The requests of a dump, with what the report needs to know about each.
pub struct Dump {
    pub requests: Vec<Bytes>,
    spans: Vec<u64>,
    zstd_bytes: Vec<u64>,
    /// Earliest and latest span start, unix nanoseconds.
    pub start_range: (u64, u64),
}

impl Dump {
    /// Reads and checks a dump file (length-delimited `ExportTraceServiceRequest`s).
    pub fn read(path: &std::path::Path) -> anyhow::Result<Dump> {
        let requests = super::storage::read_dump(path)?;
        let mut zstd = zstd::bulk::Compressor::new(3).context("zstd compressor")?;
        let (mut spans, mut zstd_bytes) = (Vec::new(), Vec::new());
        let (mut min, mut max) = (u64::MAX, 0u64);
        for body in &requests {
            let req = ExportTraceServiceRequest::decode(body.clone())
                .with_context(|| format!("{}: a request does not decode", path.display()))?;
            let mut n = 0u64;
            for span in req
                .resource_spans
                .iter()
                .flat_map(|r| &r.scope_spans)
                .flat_map(|s| &s.spans)
            {
                n += 1;
                min = min.min(span.start_time_unix_nano);
                max = max.max(span.start_time_unix_nano);
            }
            spans.push(n);
            zstd_bytes.push(zstd.compress(body).context("zstd compress")?.len() as u64);
        }
        Ok(Dump {
            requests,
            spans,
            zstd_bytes,
            start_range: (min, max),
        })
    }

    /// Spans in the whole dump.
    pub fn span_count(&self) -> u64 {
        self.spans.iter().sum()
    }

    /// Sends every request to `otlp_grpc` with `concurrency` in flight and reports like the load generator
    /// does; busy answers are retried and counted under `<CODE> (retried)`, not as failures.
    pub async fn replay(&self, otlp_grpc: &str, concurrency: usize) -> anyhow::Result<LoadReport> {
        anyhow::ensure!(concurrency > 0, "--concurrency must be at least 1");
        let client = ExportClient::connect(otlp_grpc, false, None).await?;
        let next = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let workers = (0..concurrency).map(|_| self.worker(client.clone(), Arc::clone(&next)));
        let stats = futures::future::try_join_all(workers).await?;
        Ok(LoadReport::from_workers(stats, started.elapsed()))
    }

    async fn worker(
        &self,
        mut client: ExportClient,
        next: Arc<AtomicUsize>,
    ) -> anyhow::Result<WorkerStats> {
        let mut stats = WorkerStats::default();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(body) = self.requests.get(i) else {
                return Ok(stats);
            };
            let spans = self.spans[i];
            stats.otlp_bytes += body.len() as u64;
            stats.otlp_zstd_bytes += self.zstd_bytes[i];
            let mut attempts = 0;
            let sent = Instant::now();
            let result = loop {
                attempts += 1;
                match client.export(body.clone()).await {
                    Err(status)
                        if attempts < MAX_ATTEMPTS
                            && matches!(
                                status.code(),
                                tonic::Code::ResourceExhausted | tonic::Code::Unavailable
                            ) =>
                    {
                        let kind = format!("{} (retried)", code_name(status.code()));
                        *stats.error_kinds.entry(kind).or_default() += 1;
                        tokio::time::sleep(BUSY_RETRY_PAUSE).await;
                    }
                    other => break other,
                }
            };
            record(&mut stats, spans, result, sent.elapsed());
        }
    }
}
