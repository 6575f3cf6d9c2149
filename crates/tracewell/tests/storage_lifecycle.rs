//! The life of stored spans: head blocks flush to Parquet blocks by size and by age and their WAL segments go,
//! retention deletes expired blocks and the oldest blocks over the size limit, compaction merges small blocks
//! keeping every span exactly once, and an over-budget server refuses writes with retry advice and recovers.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::traces::*;
use common::Server;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

const HOUR_NANOS: u64 = 3600 * 1_000_000_000;
const MINUTE_NANOS: u64 = 60 * 1_000_000_000;

// ---------------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------------

/// One export request of `traces` traces with `spans_per_trace` spans each (unique random ids, a few
/// attributes), starting at `start_unix_nano`, and what it holds.
fn export_request(
    traces: usize,
    spans_per_trace: usize,
    start_unix_nano: u64,
) -> (ExportTraceServiceRequest, Vec<SentTrace>) {
    let resource = vec![kv_str("service.name", "lifecycle-test")];
    export_request_of(traces, spans_per_trace, start_unix_nano, resource, |i| {
        SpanShape {
            name: format!("SELECT orders {i}"),
            kind: 3,
            duration_nanos: 800_000,
            attributes: vec![
                kv_str("db.system", "postgresql"),
                kv_str("db.statement", "SELECT * FROM orders WHERE id = $1"),
                kv_int("span.index", i as i64),
            ],
        }
    })
}

/// Sends a request of `traces` x `spans` spans starting at `start_unix_nano`; returns what it held.
async fn send(
    server: &Server,
    traces: usize,
    spans: usize,
    start_unix_nano: u64,
) -> Vec<SentTrace> {
    let (request, sent) = export_request(traces, spans, start_unix_nano);
    export_ok(&mut grpc_client(server).await, request).await;
    sent
}

/// Asserts that none of the traces can be found.
async fn assert_traces_gone(server: &Server, traces: &[SentTrace]) {
    let client = http_client();
    for trace in traces {
        let (status, body) = get_trace(&client, server, &trace.trace_id).await;
        assert_eq!(
            status, 404,
            "trace {} should be gone: {body}",
            trace.trace_id
        );
    }
}

/// Waits until the series' value reaches `at_least`.
async fn wait_for_metric(server: &Server, series: &str, at_least: f64) {
    server
        .eventually(&format!("{series} >= {at_least}"), || async {
            server.metric(series).await >= at_least
        })
        .await;
}

fn tenant_series(name: &str) -> String {
    format!("{name}{{tenant=\"{TENANT}\"}}")
}

const FLUSHES_OK: &str = "tracewell_flushes_total{outcome=\"ok\"}";

fn block_metas(data_dir: &Path) -> Vec<serde_json::Value> {
    files_with_name(&blocks_dir(data_dir), "meta.json")
        .iter()
        .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
        .collect()
}

fn meta_count(data_dir: &Path) -> usize {
    block_metas(data_dir).len()
}

/// The meta of the one block whose earliest span starts at `start_unix_nano`.
fn meta_starting_at(metas: &[serde_json::Value], start_unix_nano: u64) -> serde_json::Value {
    let found: Vec<_> = metas
        .iter()
        .filter(|m| m["min_start_unix_nano"].as_u64() == Some(start_unix_nano))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one block starts at {start_unix_nano}: {metas:?}"
    );
    found[0].clone()
}

/// `(file count, total bytes)` of the default tenant's WAL segments.
fn wal_segments(data_dir: &Path) -> (usize, u64) {
    let sizes: Vec<u64> = wal_segment_files(data_dir)
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .collect();
    (sizes.len(), sizes.iter().sum())
}

// ---------------------------------------------------------------------------------------------------------------
// Flushes
// ---------------------------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn head_blocks_flush_by_size_and_age() {
    // By size: a 64 KiB head flushes several times under load, and flushed WAL segments are deleted.
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--head-max-bytes", "64KiB"]).await;
    let mut client = grpc_client(&server).await;
    let mut sent = Vec::new();
    let mut wal_bytes_written = 0u64;
    // Load until three flushes happened (a flush takes the whole head, however much it grew meanwhile).
    for round in 0.. {
        assert!(round < 100, "no three flushes; logs:\n{}", server.logs());
        for _ in 0..10 {
            let (request, traces) = export_request(3, 10, now_unix_nano());
            wal_bytes_written += 8 + 1 + request.encoded_len() as u64;
            export_ok(&mut client, request).await;
            sent.extend(traces);
        }
        if server.metric(FLUSHES_OK).await >= 3.0 {
            break;
        }
    }
    // Once the head is under its limit again and nothing waits for a flush, only the active WAL segment is left.
    server
        .eventually("the head is flushed down to one wal segment", || async {
            server.metric(&tenant_series("tracewell_head_bytes")).await < 65536.0
                && wal_segments(dir.path()).0 == 1
        })
        .await;
    let flushes = server.metric(FLUSHES_OK).await;
    let blocks = server.metric(&tenant_series("tracewell_blocks")).await;
    let metas = meta_count(dir.path());
    let (_, wal_bytes) = wal_segments(dir.path());
    eprintln!("size: {flushes} flushes, {blocks} blocks, wal {wal_bytes} of {wal_bytes_written} bytes written");
    assert!(blocks >= 3.0, "several blocks: {blocks}");
    assert_eq!(metas as f64, blocks, "one meta.json per block");
    assert_eq!(
        files_with_name(&dir.path().join("blocks"), "data.parquet").len(),
        metas
    );
    assert!(
        wal_bytes * 2 < wal_bytes_written,
        "flushed segments are deleted: {wal_bytes} bytes left of {wal_bytes_written} written"
    );
    assert_traces_read_back(&server, &sent).await;

    // By age: a tiny head flushes within seconds, without a shutdown, and leaves no record in the WAL.
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--head-max-age", "1s"]).await;
    let sent = send(&server, 1, 4, now_unix_nano()).await;
    server
        .eventually("the head flushed by age", || async {
            meta_count(dir.path()) == 1
                && server.metric(&tenant_series("tracewell_blocks")).await == 1.0
        })
        .await;
    server
        .eventually("no wal segment holds a record", || async {
            let (files, bytes) = wal_segments(dir.path());
            bytes == 8 * files as u64
        })
        .await;
    assert_eq!(
        server.metric(&tenant_series("tracewell_head_spans")).await,
        0.0
    );
    assert_traces_read_back(&server, &sent).await;
}

// ---------------------------------------------------------------------------------------------------------------
// Retention
// ---------------------------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_deletes_only_expired_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let flags = [
        "--retention",
        "1h",
        "--maintenance-interval",
        "1s",
        "--head-max-age",
        "1s",
    ];
    let server = Server::start(dir.path(), &flags).await;
    // Old spans first, in a block of their own: retention looks at a block's newest span.
    let old = send(&server, 3, 5, now_unix_nano() - 3 * HOUR_NANOS).await;
    wait_for_metric(&server, FLUSHES_OK, 1.0).await;
    let new = send(&server, 3, 5, now_unix_nano()).await;
    wait_for_metric(&server, FLUSHES_OK, 2.0).await;
    let deleted_by_age = "tracewell_retention_deleted_blocks_total{reason=\"age\"}";
    wait_for_metric(&server, deleted_by_age, 1.0).await;
    // Give retention a few more passes to (wrongly) delete the new block too.
    tokio::time::sleep(Duration::from_millis(2500)).await;

    assert_traces_gone(&server, &old).await;
    assert_traces_read_back(&server, &new).await;
    assert_eq!(server.metric(deleted_by_age).await, 1.0);
    assert_eq!(
        server
            .metric("tracewell_retention_deleted_blocks_total{reason=\"size\"}")
            .await,
        0.0
    );
    assert_eq!(server.metric(&tenant_series("tracewell_blocks")).await, 1.0);
    assert_eq!(
        meta_count(dir.path()),
        1,
        "the expired block's meta is gone"
    );
    assert_eq!(
        files_with_name(&dir.path().join("blocks"), "data.parquet").len(),
        1,
        "the expired block's data is gone"
    );
    assert!(server.logs().contains("retention deleted block"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_by_size_deletes_the_oldest_blocks_first() {
    // Four blocks, ten minutes of span time apart (each alone in its one-minute compaction window), without
    // retention; then a restart with a size limit that fits only the newest two.
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(
        dir.path(),
        &[
            "--head-max-age",
            "1s",
            "--maintenance-interval",
            "1h",
            "--compaction-window",
            "1m",
        ],
    )
    .await;
    let now = now_unix_nano();
    let starts: Vec<u64> = [40u64, 30, 20, 10]
        .iter()
        .map(|minutes_ago| now - minutes_ago * MINUTE_NANOS)
        .collect();
    let mut batches = Vec::new();
    for (i, start) in starts.iter().enumerate() {
        batches.push(send(&server, 2, 6, *start).await);
        wait_for_metric(&server, FLUSHES_OK, (i + 1) as f64).await;
    }
    assert!(server.terminate().success());
    let metas = block_metas(dir.path());
    assert_eq!(metas.len(), 4, "one block per batch");
    let sizes: Vec<u64> = starts
        .iter()
        .map(|start| {
            meta_starting_at(&metas, *start)["size_bytes"]
                .as_u64()
                .unwrap()
        })
        .collect();
    let limit = sizes[2] + sizes[3] + sizes[1] / 2;
    eprintln!("block sizes {sizes:?}, limit {limit}");

    let limit_flag = limit.to_string();
    let server = Server::start(
        dir.path(),
        &[
            "--retention-max-bytes",
            &limit_flag,
            "--maintenance-interval",
            "1s",
            "--compaction-window",
            "1m",
        ],
    )
    .await;
    let deleted_by_size = "tracewell_retention_deleted_blocks_total{reason=\"size\"}";
    wait_for_metric(&server, deleted_by_size, 2.0).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;

    assert_eq!(server.metric(deleted_by_size).await, 2.0);
    assert_eq!(
        server
            .metric("tracewell_retention_deleted_blocks_total{reason=\"age\"}")
            .await,
        0.0
    );
    assert_traces_gone(&server, &batches[0]).await;
    assert_traces_gone(&server, &batches[1]).await;
    assert_traces_read_back(&server, &batches[2]).await;
    assert_traces_read_back(&server, &batches[3]).await;
    assert_eq!(server.metric(&tenant_series("tracewell_blocks")).await, 2.0);
    let block_bytes = server.metric(&tenant_series("tracewell_block_bytes")).await;
    assert!(
        block_bytes <= limit as f64,
        "{block_bytes} bytes of blocks over the {limit} limit"
    );
    assert_eq!(meta_count(dir.path()), 2);
}

// ---------------------------------------------------------------------------------------------------------------
// Compaction
// ---------------------------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_preserves_every_span_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let flags = [
        "--head-max-age",
        "1s",
        "--maintenance-interval",
        "1s",
        "--compaction-window",
        "1h",
    ];
    let mut server = Server::start(dir.path(), &flags).await;
    // Every span starts early in the current hour: one compaction window, still open, so it is compacted once it
    // has four small blocks.
    let base = now_unix_nano() / HOUR_NANOS * HOUR_NANOS + 1_000_000_000;
    let mut client = grpc_client(&server).await;
    let mut sent = Vec::new();
    let mut requests = Vec::new();
    let mut flushes = 0.0;
    // Sends one request and waits until it has a block of its own.
    async fn send_flushed(
        server: &Server,
        client: &mut TraceServiceClient<tonic::transport::Channel>,
        request: ExportTraceServiceRequest,
        flushes: &mut f64,
    ) {
        export_ok(client, request).await;
        *flushes += 1.0;
        wait_for_metric(server, FLUSHES_OK, *flushes).await;
    }
    for i in 0..4u64 {
        let (request, traces) = export_request(3, 8, base + i * 10_000_000);
        requests.push(request.clone());
        sent.extend(traces);
        send_flushed(&server, &mut client, request, &mut flushes).await;
    }
    let compactions_ok = "tracewell_compactions_total{outcome=\"ok\"}";
    wait_for_metric(&server, compactions_ok, 1.0).await;
    server
        .eventually("four level-0 blocks were merged into one", || async {
            meta_count(dir.path()) == 1
        })
        .await;
    let merged = block_metas(dir.path()).remove(0);
    assert_eq!(merged["compaction_level"], 1, "{merged}");
    assert_eq!(
        merged["compacted_from"].as_array().unwrap().len(),
        4,
        "{merged}"
    );
    assert_eq!(merged["span_count"], 4 * 3 * 8, "{merged}");

    // Two more batches, then the first one again, as a retrying client would: its spans are now in two blocks.
    for i in 4..6u64 {
        let (request, traces) = export_request(3, 8, base + i * 10_000_000);
        sent.extend(traces);
        send_flushed(&server, &mut client, request, &mut flushes).await;
    }
    let resent_spans = 3 * 8;
    send_flushed(&server, &mut client, requests[0].clone(), &mut flushes).await;
    wait_for_metric(&server, compactions_ok, 2.0).await;
    server
        .eventually("the blocks were merged again", || async {
            meta_count(dir.path()) == 1
        })
        .await;
    let dropped = server
        .metric("tracewell_compaction_duplicate_spans_dropped_total")
        .await;
    assert!(
        dropped >= resent_spans as f64,
        "{dropped} duplicates dropped, {resent_spans} resent"
    );
    let merged = block_metas(dir.path()).remove(0);
    assert_eq!(merged["compaction_level"], 2, "{merged}");
    assert_eq!(
        merged["span_count"],
        6 * 3 * 8,
        "every distinct span once: {merged}"
    );
    assert_eq!(
        files_with_name(&dir.path().join("blocks"), "data.parquet").len(),
        1,
        "the merged blocks' data is deleted"
    );
    let block_dirs: Vec<_> = std::fs::read_dir(blocks_dir(dir.path()))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(
        block_dirs.len(),
        1,
        "the merged blocks' directories are removed: {block_dirs:?}"
    );
    assert_eq!(
        server
            .metric("tracewell_compactions_total{outcome=\"error\"}")
            .await,
        0.0
    );
    assert_traces_read_back(&server, &sent).await;

    drop(client);
    assert!(server.terminate().success());
    let server = Server::start(dir.path(), &flags).await;
    assert_eq!(server.metric(&tenant_series("tracewell_blocks")).await, 1.0);
    assert_traces_read_back(&server, &sent).await;
}

// ---------------------------------------------------------------------------------------------------------------
// Backpressure
// ---------------------------------------------------------------------------------------------------------------

/// `google.rpc.Status`, as carried in `grpc-status-details-bin`.
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
    #[prost(message, repeated, tag = "3")]
    details: Vec<ProtoAny>,
}

/// `google.protobuf.Any`.
#[derive(Clone, PartialEq, prost::Message)]
struct ProtoAny {
    #[prost(string, tag = "1")]
    type_url: String,
    #[prost(bytes = "vec", tag = "2")]
    value: Vec<u8>,
}

/// `google.rpc.RetryInfo`.
#[derive(Clone, PartialEq, prost::Message)]
struct RetryInfo {
    #[prost(message, optional, tag = "1")]
    retry_delay: Option<ProtoDuration>,
}

/// `google.protobuf.Duration`.
#[derive(Clone, PartialEq, prost::Message)]
struct ProtoDuration {
    #[prost(int64, tag = "1")]
    seconds: i64,
    #[prost(int32, tag = "2")]
    nanos: i32,
}

/// The retry delay a gRPC status advises, from its `google.rpc.RetryInfo` detail.
fn retry_delay(status: &tonic::Status) -> Option<Duration> {
    let details = RpcStatus::decode(status.details()).ok()?;
    let info = details
        .details
        .iter()
        .find(|d| d.type_url == "type.googleapis.com/google.rpc.RetryInfo")?;
    let delay = RetryInfo::decode(info.value.as_slice()).ok()?.retry_delay?;
    Some(Duration::new(delay.seconds as u64, delay.nanos as u32))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backpressure_answers_resource_exhausted_with_retry_info_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        &[
            "--memory-budget",
            "256KiB",
            "--head-max-bytes",
            "64MiB",
            "--head-max-age",
            "2s",
        ],
    )
    .await;
    let mut client = grpc_client(&server).await;
    let mut acked = Vec::new();

    // gRPC: fill the heads until the server refuses.
    let (refused_request, refused_traces) = loop {
        assert!(acked.len() < 2_000, "the memory budget was never reached");
        let (request, traces) = export_request(5, 20, now_unix_nano());
        match client.export(request.clone()).await {
            Ok(response) => {
                assert_eq!(response.into_inner().partial_success, None);
                acked.extend(traces);
            }
            Err(status) => {
                assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
                assert!(!status.details().is_empty(), "no error details: {status:?}");
                let delay = retry_delay(&status).expect("a google.rpc.RetryInfo detail");
                assert!(delay >= Duration::from_secs(1), "retry delay {delay:?}");
                break (request, traces);
            }
        }
    };

    // OTLP/HTTP: refused with 429 and Retry-After (fill again if the head flushed meanwhile).
    let http = http_client();
    let refused_over_http = loop {
        assert!(
            acked.len() < 4_000,
            "the memory budget was never reached over HTTP"
        );
        let (request, traces) = export_request(5, 20, now_unix_nano());
        let response = http
            .post(server.otlp_http_url())
            .header("content-type", "application/x-protobuf")
            .body(request.encode_to_vec())
            .send()
            .await
            .unwrap();
        match response.status().as_u16() {
            200 => acked.extend(traces),
            429 => {
                let retry_after = response
                    .headers()
                    .get("retry-after")
                    .expect("429 carries Retry-After")
                    .to_str()
                    .unwrap()
                    .parse::<u64>()
                    .expect("Retry-After in seconds");
                assert!(retry_after >= 1, "Retry-After {retry_after}");
                break traces;
            }
            other => panic!("OTLP/HTTP answered {other}: {:?}", response.text().await),
        }
    };

    // Once the head is flushed (by age), the refused request is accepted when retried.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match client.export(refused_request.clone()).await {
            Ok(_) => break,
            Err(status) => {
                assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
                assert!(
                    Instant::now() < deadline,
                    "writes still refused after 20 s; logs:\n{}",
                    server.logs()
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    acked.extend(refused_traces);
    assert!(server.metric(FLUSHES_OK).await >= 1.0);
    let more = send(&server, 2, 5, now_unix_nano()).await;
    acked.extend(more);

    assert_traces_read_back(&server, &acked).await;
    assert_traces_gone(&server, &refused_over_http).await;
}
