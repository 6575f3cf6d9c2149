//! Tail sampling against the real binary (`--tail-sampling`): when a head is flushed, traces with an error, a
//! slow span (over a threshold, or over its operation's percentile) or a matching attribute go into the block and
//! the rest are left out; RED rollups still count
//! every span; a late span of a dropped trace follows the decision; decisions are counted in /metrics; an edited
//! policies file applies without restart; a broken policies file stops start-up naming the policy.

mod common;

use common::traces::{export_request_of, http_client, kv_str, now_unix_nano, SpanShape};
use common::Server;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::Status;
use serde_json::Value;

const POLICIES: &str = r#"
[[tenants.shop.policies]]
name = "errors"
errors = true
[[tenants.shop.policies]]
name = "slow"
slower_than = "1s"
[[tenants.shop.policies]]
name = "gold"
attribute = "customer.tier"
values = ["gold"]
"#;

/// `traces` traces of two SERVER spans of service `tail`; `edit` may change the request before it is sent.
fn traces(
    traces: usize,
    millis: u64,
    attributes: Vec<opentelemetry_proto::tonic::common::v1::KeyValue>,
) -> (ExportTraceServiceRequest, Vec<String>) {
    let (request, sent) = export_request_of(
        traces,
        2,
        now_unix_nano(),
        vec![kv_str("service.name", "tail")],
        |i| SpanShape {
            name: format!("op {i}"),
            kind: 2,
            duration_nanos: millis * 1_000_000,
            attributes: attributes.clone(),
        },
    );
    (request, sent.into_iter().map(|t| t.trace_id).collect())
}

fn mark_error(request: &mut ExportTraceServiceRequest) {
    request.resource_spans[0].scope_spans[0].spans[1].status = Some(Status {
        code: 2,
        message: "boom".into(),
    });
}

async fn send(server: &Server, request: &ExportTraceServiceRequest) {
    let response = http_client()
        .post(server.otlp_http_url())
        .header("content-type", "application/x-protobuf")
        .header("X-Scope-OrgID", "shop")
        .body(prost::Message::encode_to_vec(request))
        .send()
        .await
        .expect("export");
    assert_eq!(response.status(), 200);
}

async fn trace_status(server: &Server, id: &str) -> u16 {
    http_client()
        .get(server.url(&format!("/api/v1/traces/{id}")))
        .header("X-Scope-OrgID", "shop")
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn decided(policy: &str, decision: &str) -> String {
    format!(
        r#"tracewell_tail_sampled_traces_total{{tenant="shop",policy="{policy}",decision="{decision}"}}"#
    )
}

#[tokio::test]
async fn flushed_blocks_keep_the_traces_the_policies_keep() {
    let dir = tempfile::tempdir().unwrap();
    let policies = dir.path().join("sampling.toml");
    std::fs::write(&policies, POLICIES).unwrap();
    let server = Server::start(
        &dir.path().join("data"),
        &[
            "--tail-sampling",
            policies.to_str().unwrap(),
            "--head-max-age",
            "1s",
            "--tenant-overrides-interval",
            "100ms",
        ],
    )
    .await;

    let (mut failing, error_ids) = traces(1, 5, vec![]);
    mark_error(&mut failing);
    let (slow, slow_ids) = traces(1, 1_500, vec![]);
    let (gold, gold_ids) = traces(1, 5, vec![kv_str("customer.tier", "gold")]);
    let (silver, silver_ids) = traces(1, 5, vec![kv_str("customer.tier", "silver")]);
    let (boring, boring_ids) = traces(10, 5, vec![]);
    for request in [&failing, &slow, &gold, &silver, &boring] {
        send(&server, request).await;
    }
    // Before the flush every trace is readable from the head.
    assert_eq!(trace_status(&server, &boring_ids[0]).await, 200);

    let srv = &server;
    server
        .eventually("the head flushed and sampled", || async move {
            srv.metric(&decided("none", "drop")).await == 11.0
        })
        .await;
    for (policy, kept) in [("errors", 1.0), ("slow", 1.0), ("gold", 1.0)] {
        assert_eq!(
            server.metric(&decided(policy, "keep")).await,
            kept,
            "{policy}"
        );
    }
    assert_eq!(
        server
            .metric(r#"tracewell_tail_sampling_dropped_spans_total{tenant="shop"}"#)
            .await,
        22.0
    );
    for id in [&error_ids[0], &slow_ids[0], &gold_ids[0]] {
        assert_eq!(trace_status(&server, id).await, 200, "kept trace {id}");
    }
    for id in silver_ids.iter().chain(&boring_ids) {
        assert_eq!(trace_status(&server, id).await, 404, "dropped trace {id}");
    }

    // RED rollups count every span, sampled out or not: 14 traces of two SERVER spans each.
    let response = http_client()
        .get(server.url("/api/v1/metrics?service=tail&lookback=1h"))
        .header("X-Scope-OrgID", "shop")
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["series"][0]["total"]["count"], 28, "{body}");

    // A late error span of a dropped trace follows the decision instead of being judged alone.
    let (mut late, _) = traces(1, 5, vec![]);
    mark_error(&mut late);
    let trace_id = hex::decode(&boring_ids[0]).unwrap();
    for span in &mut late.resource_spans[0].scope_spans[0].spans {
        span.trace_id = trace_id.clone();
    }
    send(&server, &late).await;
    server
        .eventually("the late span's head flushed", || async move {
            srv.metric(&decided("earlier_decision", "drop")).await == 1.0
        })
        .await;
    assert_eq!(trace_status(&server, &boring_ids[0]).await, 404);
    assert_eq!(server.metric(&decided("errors", "keep")).await, 1.0);

    // An edited file applies to the next flush: now every trace is kept.
    std::fs::write(
        &policies,
        "[[tenants.shop.policies]]\nname = \"everything\"\nprobability = 1.0\n",
    )
    .unwrap();
    server
        .eventually("the edited policies reloaded", || async move {
            srv.metric(r#"tracewell_tail_sampling_reloads_total{outcome="ok"}"#)
                .await
                == 1.0
        })
        .await;
    let (plain, plain_ids) = traces(1, 5, vec![]);
    send(&server, &plain).await;
    server
        .eventually("the plain trace kept", || async move {
            srv.metric(&decided("everything", "keep")).await == 1.0
        })
        .await;
    assert_eq!(trace_status(&server, &plain_ids[0]).await, 200);
}

#[tokio::test]
async fn the_slowest_tenth_of_each_operation_is_kept_by_percentile() {
    let dir = tempfile::tempdir().unwrap();
    let policies = dir.path().join("sampling.toml");
    std::fs::write(
        &policies,
        "[[tenants.shop.policies]]\nname = \"p90\"\nslower_than_percentile = 90\n",
    )
    .unwrap();
    let server = Server::start(
        &dir.path().join("data"),
        &[
            "--tail-sampling",
            policies.to_str().unwrap(),
            "--head-max-age",
            "2s",
        ],
    )
    .await;
    // 200 traces lasting 1 to 200 ms, in one request so one head judges them all: each operation's p90 is
    // about 180 ms.
    let mut all = ExportTraceServiceRequest::default();
    let mut ids = Vec::new();
    for millis in 1..=200u64 {
        let (request, sent) = traces(1, millis, vec![]);
        all.resource_spans.extend(request.resource_spans);
        ids.extend(sent);
    }
    send(&server, &all).await;
    let srv = &server;
    server
        .eventually("the head flushed and sampled", || async move {
            srv.metric(&decided("none", "drop")).await > 0.0
        })
        .await;
    let kept = server.metric(&decided("p90", "keep")).await;
    let dropped = server.metric(&decided("none", "drop")).await;
    assert_eq!(kept + dropped, 200.0);
    // About the slowest 20; the rollup's 4% buckets place the threshold within 2%.
    assert!((15.0..=30.0).contains(&kept), "kept {kept}");
    assert_eq!(
        trace_status(&server, &ids[199]).await,
        200,
        "the slowest kept"
    );
    assert_eq!(
        trace_status(&server, &ids[0]).await,
        404,
        "the fastest dropped"
    );
    assert_eq!(
        trace_status(&server, &ids[99]).await,
        404,
        "the median dropped"
    );
}

#[test]
fn a_broken_policies_file_stops_start_up_naming_the_policy() {
    let dir = tempfile::tempdir().unwrap();
    let policies = dir.path().join("sampling.toml");
    std::fs::write(
        &policies,
        "[[tenants.shop.policies]]\nname = \"rest\"\nprobability = 1.5\n",
    )
    .unwrap();
    let stderr = common::serve_fails(
        &dir.path().join("data"),
        &["--tail-sampling".as_ref(), policies.as_os_str()],
    );
    assert!(
        stderr.contains(
            "[tenants.shop] policy \"rest\": probability must be between 0 and 1, got 1.5"
        ),
        "{stderr}"
    );
}
