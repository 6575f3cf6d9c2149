//! Crash durability: what the server acknowledged survives SIGKILL, and damaged files on disk (a torn WAL tail, a
//! corrupt block, a garbage `meta.json`) neither stop start-up nor lose more than the damaged part.

mod common;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::traces::*;
use common::Server;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

/// One export request of `traces` traces with `spans_per_trace` spans each (unique random ids, a few attributes),
/// and what it holds.
fn export_request(
    traces: usize,
    spans_per_trace: usize,
    start_unix_nano: u64,
    worker: i64,
) -> (ExportTraceServiceRequest, Vec<SentTrace>) {
    let resource = vec![
        kv_str("service.name", "crash-test"),
        kv_str("host.name", "box-1"),
    ];
    export_request_of(traces, spans_per_trace, start_unix_nano, resource, |i| {
        SpanShape {
            name: format!("GET /api/items/{i}"),
            kind: 2,
            duration_nanos: 700_000,
            attributes: vec![
                kv_str("http.route", "/api/items/{id}"),
                kv_int("http.status_code", 200),
                kv_int("worker", worker),
                kv_int("span.index", i as i64),
            ],
        }
    })
}

/// Sends requests one after the other and returns what they held; every one must be acknowledged.
async fn send_acknowledged(
    server: &Server,
    requests: usize,
    traces: usize,
    spans: usize,
) -> Vec<SentTrace> {
    let mut client = grpc_client(server).await;
    let mut sent = Vec::new();
    for _ in 0..requests {
        let (request, traces) = export_request(traces, spans, now_unix_nano(), 0);
        export_ok(&mut client, request).await;
        sent.extend(traces);
    }
    sent
}

/// Start offsets and lengths (header included) of the records of a WAL segment.
fn wal_records(segment: &[u8]) -> Vec<(usize, usize)> {
    assert_eq!(&segment[..4], b"TWAL", "segment magic");
    let mut records = Vec::new();
    let mut offset = 8;
    while offset + 8 <= segment.len() {
        let len = u32::from_le_bytes(segment[offset..offset + 4].try_into().unwrap()) as usize;
        assert!(
            offset + 8 + len <= segment.len(),
            "segment written by the server is torn at {offset}"
        );
        records.push((offset, 8 + len));
        offset += 8 + len;
    }
    records
}

/// One crash run: four clients send in a loop, the server is SIGKILLed `kill_after` after they started (with
/// `--head-max-bytes`: after the first block appeared), and a new server on the same data dir must return every
/// acknowledged span exactly once.
async fn acknowledged_spans_survive_one_sigkill(kill_after: Duration, extra_flags: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path(), extra_flags).await;
    let size_flushes = extra_flags.contains(&"--head-max-bytes");
    // Blocks make every read slower: with them, send the same bytes in fewer, larger traces.
    let (traces_per_request, spans_per_trace) = if size_flushes { (1, 30) } else { (3, 10) };
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for worker in 0..4 {
        let stop = Arc::clone(&stop);
        let url = server.otlp_grpc_url();
        clients.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            let mut failed = 0usize;
            let Ok(mut client) = TraceServiceClient::connect(url).await else {
                return (acked, failed);
            };
            while !stop.load(Ordering::SeqCst) {
                let (request, traces) =
                    export_request(traces_per_request, spans_per_trace, now_unix_nano(), worker);
                match client.export(request).await {
                    Ok(response) => {
                        assert_eq!(
                            response.into_inner().partial_success,
                            None,
                            "nothing may be rejected"
                        );
                        acked.extend(traces);
                    }
                    Err(_) => {
                        failed += 1;
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                }
            }
            (acked, failed)
        }));
    }
    if size_flushes {
        // Let the first flush finish, so that later ones (and their WAL deletions) overlap the kill.
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while files_with_name(&blocks_dir(dir.path()), "meta.json").is_empty() {
            assert!(
                std::time::Instant::now() < deadline,
                "no block was flushed under load; logs:\n{}",
                server.logs()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    tokio::time::sleep(kill_after).await;
    server.kill();
    stop.store(true, Ordering::SeqCst);
    let mut acked: Vec<SentTrace> = Vec::new();
    for client in clients {
        let (traces, _failed) = client.await.unwrap();
        acked.extend(traces);
    }
    let acked_spans: usize = acked.iter().map(|t| t.span_ids.len()).sum();
    let flushed_before_kill = files_with_name(&blocks_dir(dir.path()), "meta.json").len();
    eprintln!(
        "kill after {kill_after:?} {extra_flags:?}: {} acknowledged traces ({acked_spans} spans), {flushed_before_kill} blocks on disk",
        acked.len()
    );
    if kill_after >= Duration::from_millis(500) {
        assert!(
            !acked.is_empty(),
            "no request was acknowledged in {kill_after:?}; logs:\n{}",
            server.logs()
        );
    }
    if size_flushes {
        assert!(
            flushed_before_kill > 0,
            "the load should have flushed blocks before the kill"
        );
    }

    let restarted = Server::start(dir.path(), extra_flags).await;
    let readyz = reqwest::get(restarted.url("/readyz")).await.unwrap();
    assert_eq!(readyz.status(), 200);
    let logs = restarted.logs();
    assert!(
        logs.contains("ready") && logs.contains("replayed_spans="),
        "no recovery report in the logs:\n{logs}"
    );
    if !size_flushes {
        // Nothing was flushed: every acknowledged span must have come back from the WAL.
        let replayed = restarted.metric("tracewell_wal_replayed_spans_total").await;
        assert!(
            replayed >= acked_spans as f64,
            "replayed {replayed} spans, acknowledged {acked_spans}"
        );
        if acked_spans > 0 {
            assert!(logs.contains("replayed wal into head block"), "{logs}");
        }
    }
    assert_traces_read_back(&restarted, &acked).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_spans_survive_sigkill() {
    for millis in [50, 200, 500, 1200] {
        acknowledged_spans_survive_one_sigkill(Duration::from_millis(millis), &[]).await;
    }
    // Small heads: flushes to blocks (and WAL segment deletions) run during the load, so the kill can land in one.
    // The kill comes this long after the first block appeared.
    acknowledged_spans_survive_one_sigkill(
        Duration::from_millis(600),
        &["--head-max-bytes", "64KiB"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_torn_wal_tail_is_cut_and_startup_continues() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path(), &[]).await;
    let sent = send_acknowledged(&server, 5, 1, 5).await;
    server.kill();

    // Without flushes the five records are in the one segment written to; tear its last record.
    let segments: Vec<PathBuf> = wal_segment_files(dir.path())
        .into_iter()
        .filter(|p| std::fs::metadata(p).unwrap().len() > 8)
        .collect();
    assert_eq!(segments.len(), 1, "one segment holds records: {segments:?}");
    let segment = &segments[0];
    let bytes = std::fs::read(segment).unwrap();
    let records = wal_records(&bytes);
    assert_eq!(records.len(), 5, "one record per acknowledged request");
    let (last_start, last_len) = *records.last().unwrap();
    let mut torn = bytes[..last_start + last_len / 2].to_vec();
    torn.extend_from_slice(&[0xA5; 13]);
    std::fs::write(segment, &torn).unwrap();

    let server = Server::start(dir.path(), &[]).await;
    let logs = server.logs();
    assert!(
        logs.contains("torn or corrupt"),
        "no warning about the cut:\n{logs}"
    );
    assert!(
        logs.contains(&segment.file_name().unwrap().to_string_lossy().to_string()),
        "the warning names the file:\n{logs}"
    );
    assert_eq!(
        std::fs::metadata(segment).unwrap().len(),
        last_start as u64,
        "segment cut after the last good record"
    );
    let metrics = server.metrics().await;
    assert!(
        metrics.contains("tracewell_wal_truncations_total"),
        "{metrics}"
    );
    assert!(server.metric("tracewell_wal_truncations_total").await >= 1.0);
    assert_traces_read_back(&server, &sent[..4]).await;
    let (status, body) = server.get_trace(&sent[4].trace_id).await;
    assert_eq!(status, 404, "the torn record's trace is gone: {body}");

    // The server keeps accepting and serving writes.
    let more = send_acknowledged(&server, 1, 2, 3).await;
    assert_traces_read_back(&server, &more).await;
}

/// How a block's `data.parquet` is damaged.
#[derive(Debug, Clone, Copy)]
enum Damage {
    /// Cut to half its size (the footer is gone).
    Truncate,
    /// Same size, garbage over the column data after the leading magic.
    Overwrite,
}

async fn a_corrupt_block_file_does_not_stop_the_server_after(damage: Damage) {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path(), &[]).await;
    let sent = send_acknowledged(&server, 1, 2, 10).await;
    assert!(
        server.terminate().success(),
        "graceful stop; logs:\n{}",
        server.logs()
    );

    let data_files = files_with_name(&blocks_dir(dir.path()), "data.parquet");
    assert_eq!(
        data_files.len(),
        1,
        "the graceful stop flushed one block: {data_files:?}"
    );
    let data = &data_files[0];
    let block_id = data
        .parent()
        .unwrap()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string();
    let mut bytes = std::fs::read(data).unwrap();
    let size = bytes.len();
    match damage {
        Damage::Truncate => bytes.truncate(size / 2),
        Damage::Overwrite => {
            let mut x = 0x9E37_79B9u32;
            for b in &mut bytes[4..size / 2] {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                *b = x as u8;
            }
        }
    }
    std::fs::write(data, &bytes).unwrap();

    let server = Server::start(dir.path(), &[]).await;
    for trace in &sent {
        let (status, body) = get_trace(&http_client(), &server, &trace.trace_id).await;
        let text = body.to_string();
        match status {
            404 => assert!(
                body["error"]
                    .as_str()
                    .is_some_and(|e| e.contains("blocks unreadable") && e.contains(&block_id)),
                "{damage:?}: a 404 must say the block is unreadable and name it: {text}"
            ),
            200 => assert!(
                body["warnings"].to_string().contains(&block_id),
                "{damage:?}: a 200 must warn about the block: {text}"
            ),
            other => {
                panic!("{damage:?}: reading a trace of a corrupt block answered {other}: {text}")
            }
        }
    }
    assert!(server.metric("tracewell_block_read_errors_total").await >= 1.0);
    assert!(
        server.logs().contains("block unreadable"),
        "{}",
        server.logs()
    );

    let more = send_acknowledged(&server, 2, 2, 5).await;
    assert_traces_read_back(&server, &more).await;
    let readyz = reqwest::get(server.url("/readyz")).await.unwrap();
    assert_eq!(readyz.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_block_file_does_not_stop_the_server() {
    for damage in [Damage::Truncate, Damage::Overwrite] {
        a_corrupt_block_file_does_not_stop_the_server_after(damage).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_garbage_meta_json_is_skipped_at_startup() {
    let dir = tempfile::tempdir().unwrap();
    // Two graceful runs: two blocks, one trace each.
    let mut server = Server::start(dir.path(), &[]).await;
    let first = send_acknowledged(&server, 1, 1, 8).await;
    assert!(server.terminate().success());
    let mut server = Server::start(dir.path(), &[]).await;
    let second = send_acknowledged(&server, 1, 1, 8).await;
    assert!(server.terminate().success());

    let metas = files_with_name(&blocks_dir(dir.path()), "meta.json");
    assert_eq!(metas.len(), 2, "{metas:?}");
    let first_meta = metas
        .iter()
        .find(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .contains(&first[0].trace_id)
        })
        .expect("the first trace's block")
        .clone();
    std::fs::write(&first_meta, b"{\"id\": \"01J garbage, not a block meta").unwrap();

    let server = Server::start(dir.path(), &[]).await;
    let logs = server.logs();
    assert!(logs.contains("skipping unreadable block meta"), "{logs}");
    let block_id = first_meta
        .parent()
        .unwrap()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string();
    assert!(
        logs.lines()
            .any(|l| l.contains("skipping unreadable block meta") && l.contains(&block_id)),
        "{logs}"
    );
    assert_eq!(
        server
            .metric(&format!("tracewell_blocks{{tenant=\"{TENANT}\"}}"))
            .await,
        1.0
    );
    assert_traces_read_back(&server, &second).await;
    let (status, _) = server.get_trace(&first[0].trace_id).await;
    assert_eq!(status, 404, "the skipped block is not read");

    let more = send_acknowledged(&server, 1, 2, 4).await;
    assert_traces_read_back(&server, &more).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_flushes_and_exits_even_with_an_idle_grpc_connection_open() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--shutdown-timeout", "1s"]).await;
    let sent = send_acknowledged(&server, 1, 1, 5).await;
    // A client that connected and went quiet (a crashed peer, a health checker, a stalled proxy).
    let idle = std::net::TcpStream::connect(server.otlp_grpc).unwrap();
    common::sigterm(server.pid());
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !server.logs().contains("stopped") {
        assert!(
            std::time::Instant::now() < deadline,
            "SIGTERM did not stop the server within 20 s; logs:\n{}",
            server.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(idle);
    let metas = files_with_name(&blocks_dir(dir.path()), "meta.json");
    assert_eq!(metas.len(), 1, "the shutdown flushed the head: {metas:?}");
    assert!(std::fs::read_to_string(&metas[0])
        .unwrap()
        .contains(&sent[0].trace_id));
}
