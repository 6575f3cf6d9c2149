//! The RED series cap per tenant and rollup window (`max_rollup_series`): spans of series past the cap are counted
//! in `other`, the folded spans are counted per tenant in the metrics, a new head block is a new window, and a WAL
//! replay folds the same way.

use std::collections::BTreeMap;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prometheus_client::registry::Registry;
use tracewell_model::TenantId;
use tracewell_store::rollup::OTHER;
use tracewell_store::{Store, StoreConfig};

/// One span per operation name, all of service `service`, in trace `trace`.
fn request(service: &str, trace: u8, operations: &[&str], start: u64) -> ExportTraceServiceRequest {
    let spans = operations
        .iter()
        .enumerate()
        .map(|(i, name)| Span {
            trace_id: vec![trace; 16],
            span_id: vec![trace, i as u8 + 1, 0, 0, 0, 0, 0, 1],
            name: (*name).to_owned(),
            kind: 2,
            start_time_unix_nano: start,
            end_time_unix_nano: start + 1_000,
            ..Default::default()
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![KeyValue {
                    key: "service.name".into(),
                    value: Some(AnyValue {
                        value: Some(any_value::Value::StringValue(service.into())),
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

async fn open(dir: &std::path::Path, max_series: usize) -> (Store, Registry) {
    let mut config = StoreConfig::new(dir);
    config.max_rollup_series = max_series;
    let mut registry = Registry::default();
    let store = Store::open(config, &mut registry).expect("open");
    store.recover().await.expect("recover");
    (store, registry)
}

/// `(service, operation) → spans` over every rollup of the tenant.
async fn red(store: &Store, tenant: &TenantId) -> BTreeMap<(String, String), u64> {
    let rollup = store.rollups(tenant, 0, u64::MAX).await.expect("rollups");
    let mut out = BTreeMap::new();
    for (key, stats) in rollup.red() {
        *out.entry((key.service.clone(), key.operation.clone()))
            .or_default() += stats.count;
    }
    out
}

fn metric(registry: &Registry, series: &str) -> f64 {
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, registry).unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0.0)
}

fn pair(service: &str, operation: &str) -> (String, String) {
    (service.to_owned(), operation.to_owned())
}

#[tokio::test]
async fn series_past_the_cap_are_counted_in_other_per_window_and_after_a_replay() {
    let dir = tempfile::tempdir().unwrap();
    let tenant = TenantId::default_tenant();
    let folded = r#"tracewell_rollup_folded_spans_total{tenant="single-tenant"}"#;
    let start = now();
    {
        let (store, registry) = open(dir.path(), 3).await;
        let ops = ["GET /1", "GET /2", "GET /3", "GET /4", "GET /5"];
        store
            .append(&tenant, request("api", 1, &ops, start), None)
            .await
            .unwrap();
        let counts = red(&store, &tenant).await;
        assert_eq!(counts.len(), 4, "{counts:?}");
        assert_eq!(counts[&pair("api", OTHER)], 2);
        assert_eq!(counts.values().sum::<u64>(), 5);
        assert_eq!(metric(&registry, folded), 2.0);
        assert_eq!(
            metric(
                &registry,
                r#"tracewell_rollup_series{tenant="single-tenant"}"#
            ),
            4.0
        );
        // Not flushed: the WAL holds the spans when the process ends.
    }
    let (store, registry) = open(dir.path(), 3).await;
    let counts = red(&store, &tenant).await;
    assert_eq!(counts[&pair("api", OTHER)], 2, "replay folds the same way");
    assert_eq!(counts.len(), 4, "{counts:?}");
    assert_eq!(metric(&registry, folded), 2.0);

    // A flushed head closes the window: the next one holds new series again.
    store.flush_all().await.unwrap();
    store
        .append(
            &tenant,
            request("api", 2, &["GET /6", "GET /7", "GET /8", "GET /9"], start),
            None,
        )
        .await
        .unwrap();
    let counts = red(&store, &tenant).await;
    assert_eq!(counts[&pair("api", "GET /6")], 1);
    assert_eq!(counts[&pair("api", "GET /8")], 1);
    assert!(!counts.contains_key(&pair("api", "GET /9")));
    assert_eq!(counts[&pair("api", OTHER)], 3);
    assert_eq!(counts.values().sum::<u64>(), 9);
    assert_eq!(metric(&registry, folded), 3.0);
}
