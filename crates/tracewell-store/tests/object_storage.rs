//! Blocks kept in an object store given to the store (here an in-memory one): flush, restart with a fresh data
//! directory's WAL, and read back from the objects alone; compaction merges there too.

use std::sync::Arc;

use object_store::memory::InMemory;
use object_store::ObjectStore;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prometheus_client::registry::Registry;
use tracewell_model::{TenantId, TraceId};
use tracewell_store::{block, BlockStorage, Store, StoreConfig};

fn request(trace: u8, spans: u8, start: u64) -> ExportTraceServiceRequest {
    let spans = (0..spans)
        .map(|i| Span {
            trace_id: vec![trace; 16],
            span_id: vec![trace, i + 1, 0, 0, 0, 0, 0, 1],
            parent_span_id: if i == 0 {
                Vec::new()
            } else {
                vec![trace, 1, 0, 0, 0, 0, 0, 1]
            },
            name: format!("op-{i}"),
            kind: 2,
            start_time_unix_nano: start + u64::from(i) * 1_000,
            end_time_unix_nano: start + u64::from(i) * 1_000 + 500,
            ..Default::default()
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![KeyValue {
                    key: "service.name".into(),
                    value: Some(AnyValue {
                        value: Some(any_value::Value::StringValue("checkout".into())),
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

async fn open(dir: &std::path::Path, objects: &Arc<dyn ObjectStore>) -> Store {
    let mut config = StoreConfig::new(dir);
    config.compaction_window = std::time::Duration::from_secs(3600);
    let store = Store::open_with(
        config,
        BlockStorage::Objects(Arc::clone(objects)),
        &mut Registry::default(),
    )
    .expect("open");
    store.recover().await.expect("recover");
    store
}

async fn read_trace(store: &Store, tenant: &TenantId, trace: u8) -> usize {
    let mut found = 0;
    for meta in store.blocks(tenant) {
        found += block::read_trace(
            store.objects(),
            &meta.data_path(),
            Some(meta.size_bytes),
            TraceId([trace; 16]),
        )
        .await
        .expect("read trace")
        .len();
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_live_in_the_given_object_store_and_survive_a_restart() {
    let objects: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let dir = tempfile::tempdir().unwrap();
    let tenant = TenantId::default_tenant();
    let start = now();
    {
        let store = open(dir.path(), &objects).await;
        for trace in 1..=5u8 {
            store
                .append(&tenant, request(trace, 4, start), None)
                .await
                .expect("append");
            // One block per trace, so that compaction has work.
            store.flush_all().await.expect("flush");
        }
        assert_eq!(store.blocks(&tenant).len(), 5);
        store.shutdown().await.expect("shutdown");
    }
    assert!(
        !dir.path().join("blocks").exists(),
        "blocks were written to the local disk"
    );
    let listed = objects.list_with_delimiter(None).await.expect("list");
    assert!(!listed.common_prefixes.is_empty(), "no objects written");

    let store = open(dir.path(), &objects).await;
    assert_eq!(store.head_spans(&tenant), 0, "the WAL was not emptied");
    assert_eq!(
        store.blocks(&tenant).len(),
        5,
        "catalog not loaded from the objects"
    );
    for trace in 1..=5u8 {
        assert_eq!(read_trace(&store, &tenant, trace).await, 4, "trace {trace}");
    }
}
