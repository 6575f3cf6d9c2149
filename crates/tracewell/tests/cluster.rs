//! Distributed mode on loopback, on real peers the test starts: a Kafka-compatible broker (`tansu`) for the
//! request topic, an S3-compatible server (`moto_server`) for blocks, and five Tracewell processes in their
//! roles: a distributor, two block-builders (one partition each), a querier and, later, a second distributor.
//! Spans are sent in three rounds while a block-builder and the first distributor are SIGKILLed and the
//! block-builder restarted on its data directory; afterwards every acknowledged span reads back exactly once
//! through the querier, which never received a span itself.

mod common;
#[path = "../../tracewell-instrument/tests/support/kafka_server.rs"]
mod kafka_server;

use common::moto::{object_keys, Moto};
use common::traces::*;
use common::Server;
use kafka_server::KafkaServer;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

const BUCKET: &str = "tracewell-cluster";

fn as_strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn round(service: &str) -> (ExportTraceServiceRequest, Vec<SentTrace>) {
    let resource = vec![kv_str("service.name", service)];
    export_request_of(12, 3, now_unix_nano(), resource, |i| SpanShape {
        name: format!("step {i}"),
        kind: 2,
        duration_nanos: 2_000_000,
        attributes: vec![kv_int("step", i as i64)],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_spans_read_back_exactly_once_through_the_querier() {
    let kafka = KafkaServer::start().await;
    let moto = Moto::start().await;
    moto.create_bucket(BUCKET).await;
    let env = moto.env();
    let storage = format!("s3://{BUCKET}/blocks");
    let brokers = kafka.brokers.clone();

    let distributor_args = [
        "--role",
        "distributor",
        "--kafka-brokers",
        &brokers,
        "--kafka-topic-partitions",
        "2",
    ];
    let builder_args = |partition: &'static str| {
        vec![
            "--role".to_string(),
            "block-builder".into(),
            "--kafka-brokers".into(),
            brokers.clone(),
            "--kafka-partitions".into(),
            partition.into(),
            "--storage".into(),
            storage.clone(),
            "--head-max-age".into(),
            "1s".into(),
        ]
    };

    let dist_dir = tempfile::tempdir().unwrap();
    let mut distributor = Server::start_with_env(dist_dir.path(), &distributor_args, &env).await;
    let (a_dir, b_dir, q_dir) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let a_args = builder_args("0");
    let b_args = builder_args("1");
    let mut builder_a = Server::start_with_env(a_dir.path(), &as_strs(&a_args), &env).await;
    let _builder_b = Server::start_with_env(b_dir.path(), &as_strs(&b_args), &env).await;
    let querier = Server::start_with_env(
        q_dir.path(),
        &[
            "--role",
            "querier",
            "--storage",
            &storage,
            "--block-refresh-interval",
            "1s",
        ],
        &env,
    )
    .await;

    // Round 1; once block-builder A holds some of it (in its WAL and head), A dies.
    let client = http_client();
    let mut sent = Vec::new();
    let (request, traces) = round("checkout");
    export_ok(&mut grpc_client(&distributor).await, request).await;
    sent.extend(traces);
    builder_a
        .eventually("block-builder A consumed part of round 1", || {
            let (client, builder_a, sent) = (&client, &builder_a, &sent);
            async move {
                for trace in sent {
                    if get_trace(client, builder_a, &trace.trace_id).await.0 == 200 {
                        return true;
                    }
                }
                false
            }
        })
        .await;
    builder_a.kill();

    // Round 2 is acknowledged by Kafka while A is down; A restarts on its data directory.
    let (request, traces) = round("checkout");
    export_ok(&mut grpc_client(&distributor).await, request).await;
    sent.extend(traces);
    let builder_a = Server::start_with_env(a_dir.path(), &as_strs(&a_args), &env).await;
    builder_a
        .eventually(
            "the restarted block-builder resumes after what its WAL holds",
            || async { builder_a.logs().contains("resume_after={0: ") },
        )
        .await;

    // The distributor dies; round 3 goes through a second one.
    distributor.kill();
    let dist2_dir = tempfile::tempdir().unwrap();
    let distributor2 = Server::start_with_env(dist2_dir.path(), &distributor_args, &env).await;
    let (request, traces) = round("checkout");
    export_ok(&mut grpc_client(&distributor2).await, request).await;
    sent.extend(traces);

    // Every span reads back exactly once through the querier, from blocks in the bucket.
    querier
        .eventually("every trace readable through the querier", || {
            let (client, querier, sent) = (&client, &querier, &sent);
            async move {
                for trace in sent {
                    if check_trace(client, querier, trace).await.is_err() {
                        return false;
                    }
                }
                true
            }
        })
        .await;
    assert_traces_read_back(&querier, &sent).await;
    // Trace reads merge duplicates; the blocks themselves must hold each span once.
    let sql: serde_json::Value = client
        .post(querier.url("/api/v1/sql"))
        .header("content-type", "text/plain")
        .body("SELECT count(*) AS spans, count(DISTINCT span_id) AS distinct_spans FROM spans")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let expected = sent.iter().map(|t| t.span_ids.len()).sum::<usize>();
    assert_eq!(
        sql["rows"][0],
        serde_json::json!([expected, expected]),
        "{expected} spans, each once, in the blocks: {sql}"
    );
    let keys = object_keys(&moto, BUCKET).await;
    assert!(
        keys.iter().any(|k| k.ends_with("/meta.json")),
        "blocks in the bucket: {keys:?}"
    );
    // Nothing was stored on the distributors or the querier.
    for dir in [dist_dir.path(), dist2_dir.path(), q_dir.path()] {
        assert!(
            files_with_name(dir, "data.parquet").is_empty(),
            "no block under {}",
            dir.display()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_querier_reads_spans_not_flushed_yet_from_the_block_builders() {
    let kafka = KafkaServer::start().await;
    let moto = Moto::start().await;
    let bucket = "tracewell-live";
    moto.create_bucket(bucket).await;
    let env = moto.env();
    let storage = format!("s3://{bucket}/blocks");
    let brokers = kafka.brokers.clone();
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let distributor = Server::start_with_env(
        dirs[0].path(),
        &["--role", "distributor", "--kafka-brokers", &brokers],
        &env,
    )
    .await;
    // The builder keeps everything in its head for an hour: nothing reaches the bucket in this test.
    let builder = Server::start_with_env(
        dirs[1].path(),
        &[
            "--role",
            "block-builder",
            "--kafka-brokers",
            &brokers,
            "--storage",
            &storage,
            "--head-max-age",
            "1h",
        ],
        &env,
    )
    .await;
    let builder_url = format!("http://{}", builder.http);
    let querier = Server::start_with_env(
        dirs[2].path(),
        &[
            "--role",
            "querier",
            "--storage",
            &storage,
            "--block-builders",
            &builder_url,
        ],
        &env,
    )
    .await;

    let (request, sent) = round("live");
    export_ok(&mut grpc_client(&distributor).await, request).await;
    let client = http_client();
    querier
        .eventually(
            "traces readable through the querier from the builder's head",
            || {
                let (client, querier, sent) = (&client, &querier, &sent);
                async move {
                    for trace in sent {
                        if check_trace(client, querier, trace).await.is_err() {
                            return false;
                        }
                    }
                    true
                }
            },
        )
        .await;
    let keys = object_keys(&moto, bucket).await;
    assert!(
        !keys.iter().any(|k| k.ends_with("/meta.json")),
        "nothing was flushed: {keys:?}"
    );

    // A builder that stops answering makes the answer incomplete, not wrong.
    drop(builder);
    let (status, body) = get_trace(&client, &querier, &sent[0].trace_id).await;
    assert!(
        status == 404 || body.to_string().contains("block-builder"),
        "{status}: {body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_distributor_refuses_as_retryable_when_kafka_is_gone() {
    let kafka = KafkaServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let distributor = Server::start(
        dir.path(),
        &[
            "--role",
            "distributor",
            "--kafka-brokers",
            &kafka.brokers,
            "--kafka-produce-timeout",
            "2s",
        ],
    )
    .await;
    let (request, _) = round("orphan");
    export_ok(&mut grpc_client(&distributor).await, request).await;
    drop(kafka);

    // Nothing may be acknowledged that Kafka does not hold: the client is told to retry, within the timeout.
    let (request, _) = round("orphan");
    let started = std::time::Instant::now();
    let response = http_client()
        .post(distributor.otlp_http_url())
        .header("content-type", "application/x-protobuf")
        .body(prost::Message::encode_to_vec(&request))
        .send()
        .await
        .unwrap();
    let waited = started.elapsed();
    assert_eq!(response.status(), 503, "{:?}", response.text().await);
    assert!(
        waited < std::time::Duration::from_secs(15),
        "answered after {waited:?}"
    );
    // The server's log is read from its stderr as it comes: wait for the line.
    distributor
        .eventually("the distributor logs why it refused", || async {
            distributor.logs().contains("request log unavailable")
        })
        .await;
}

#[test]
fn roles_refuse_configurations_that_cannot_work() {
    let dir = tempfile::tempdir().unwrap();
    let fails = |args: &[&str]| {
        let args: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
        common::serve_fails(dir.path(), &args)
    };
    let failure = fails(&["--role", "distributor"]);
    assert!(failure.contains("needs --kafka-brokers"), "{failure}");
    let failure = fails(&["--role", "querier"]);
    assert!(failure.contains("needs --storage s3://"), "{failure}");
    let failure = fails(&[
        "--role",
        "block-builder",
        "--kafka-brokers",
        "127.0.0.1:1",
        "--kafka-partitions",
        "0,x",
        "--storage",
        "s3://b/p",
    ]);
    assert!(
        failure.contains("\"x\" is not a partition number"),
        "{failure}"
    );
    let failure = fails(&["--role", "leader"]);
    assert!(failure.contains("invalid value 'leader'"), "{failure}");
    let failure = fails(&["--block-builders", "builder-0:16686"]);
    assert!(
        failure.contains("is not an http:// or https:// URL"),
        "{failure}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_compactor_holds_the_lease_and_another_takes_over_when_it_dies() {
    let moto = Moto::start().await;
    let bucket = "tracewell-compactors";
    moto.create_bucket(bucket).await;
    let env = moto.env();
    let storage = format!("s3://{bucket}/blocks");
    let args = [
        "--role",
        "compactor",
        "--storage",
        storage.as_str(),
        "--maintenance-interval",
        "1s",
    ];
    let (first_dir, second_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut first = Server::start_with_env(first_dir.path(), &args, &env).await;
    first
        .eventually("the first compactor takes the lease", || async {
            first.logs().contains("took the maintenance lease")
        })
        .await;

    let second = Server::start_with_env(second_dir.path(), &args, &env).await;
    second
        .eventually("the second compactor stands by", || async {
            second
                .logs()
                .contains("another process holds the maintenance lease")
        })
        .await;
    // Renewals keep it: the standby does not take the lease while the holder runs.
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    assert!(
        !second.logs().contains("took the maintenance lease"),
        "{}",
        second.logs()
    );

    // Three missed renewals (3 s) after the holder dies, the standby takes over.
    first.kill();
    second
        .eventually(
            "the second compactor takes over the expired lease",
            || async { second.logs().contains("took the maintenance lease") },
        )
        .await;
    let keys = object_keys(&moto, bucket).await;
    assert!(
        keys.iter().any(|k| k.ends_with("/compactor-lease.json")),
        "the lease lives in the bucket: {keys:?}"
    );
}
