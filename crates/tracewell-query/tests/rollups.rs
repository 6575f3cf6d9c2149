//! RED metrics and dependency edges from rollups equal what the raw spans say, survive restarts (from WAL replay
//! and from rollup files), and outlive the raw spans.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{dataset, fixture, open, request_of, tenant, Layout, MS};
use tracewell_query::{
    KindSelection, QueryConfig, QueryService, RedRequest, SearchRequest, TimeRange,
};
use tracewell_store::rollup::NodeKind;

fn range(base: u64) -> TimeRange {
    TimeRange {
        start_unix_nano: base,
        end_unix_nano: base + 60_000 * MS,
    }
}

fn red_request(base: u64) -> RedRequest {
    RedRequest {
        range: range(base),
        step_nano: 60_000 * MS,
        service: None,
        operation: None,
        kinds: KindSelection::All,
        group_by_operation: true,
        quantiles: vec![0.5, 0.99],
    }
}

/// (service, operation) → (count, errors, durations) computed straight from the data set.
fn raw_red() -> BTreeMap<(String, String), (u64, u64, Vec<u64>)> {
    let mut out: BTreeMap<(String, String), (u64, u64, Vec<u64>)> = BTreeMap::new();
    for s in dataset() {
        let e = out.entry((s.service.into(), s.name.into())).or_default();
        e.0 += 1;
        e.1 += u64::from(s.error);
        e.2.push(s.duration_ms * MS);
    }
    out
}

async fn assert_red_matches_raw(query: &QueryService, base: u64, context: &str) {
    let result = query.red(&tenant(), &red_request(base)).await.unwrap();
    let got: BTreeMap<(String, String), (u64, u64, Option<f64>)> = result
        .series
        .iter()
        .map(|s| {
            (
                (s.service.clone(), s.operation.clone().unwrap()),
                (s.total.count, s.total.errors, s.total.quantiles[0]),
            )
        })
        .collect();
    let want = raw_red();
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "{context}"
    );
    for (key, (count, errors, durations)) in want {
        let (got_count, got_errors, p50) = got[&key];
        assert_eq!(
            (got_count, got_errors),
            (count, errors),
            "{context}: {key:?}"
        );
        let mut sorted = durations.clone();
        sorted.sort_unstable();
        let truth = sorted[(sorted.len() - 1) / 2] as f64;
        let p50 = p50.unwrap();
        assert!(
            (p50 - truth).abs() / truth <= 0.02,
            "{context}: {key:?} p50 {p50} vs {truth}"
        );
    }
}

fn edges_of(
    deps: &[tracewell_query::Dependency],
) -> Vec<(String, NodeKind, String, NodeKind, u64, u64)> {
    deps.iter()
        .map(|d| {
            (
                d.parent.clone(),
                d.parent_kind,
                d.child.clone(),
                d.child_kind,
                d.calls,
                d.errors,
            )
        })
        .collect()
}

fn expected_edges() -> Vec<(String, NodeKind, String, NodeKind, u64, u64)> {
    use NodeKind::*;
    let e = |p: &str, pk, c: &str, ck, calls, errors| {
        (p.to_owned(), pk, c.to_owned(), ck, calls, errors)
    };
    vec![
        e("gateway", Service, "orders", Service, 1, 1),
        e("gateway", Service, "users", Service, 2, 0),
        e("orders", Messaging, "worker", Service, 1, 0),
        e("users", Service, "postgresql", Database, 1, 0),
    ]
}

#[tokio::test]
async fn red_and_dependencies_from_rollups_equal_raw_spans() {
    for layout in [Layout::HeadOnly, Layout::BlocksOnly, Layout::Mixed] {
        let f = fixture(layout).await;
        assert_red_matches_raw(&f.query, f.base, &format!("{layout:?}")).await;
        let deps = f
            .query
            .dependencies(&tenant(), &range(f.base))
            .await
            .unwrap();
        assert_eq!(edges_of(&deps), expected_edges(), "{layout:?}");
    }
}

#[tokio::test]
async fn children_sent_before_parents_still_make_edges() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path()).await;
    let base = common::base_time();
    let spans = dataset();
    let (children, parents): (Vec<_>, Vec<_>) = spans.iter().partition(|s| s.parent.is_some());
    store
        .append(&tenant(), request_of(&children, base), None)
        .await
        .unwrap();
    store
        .append(&tenant(), request_of(&parents, base), None)
        .await
        .unwrap();
    let query = QueryService::new(store, QueryConfig::default());
    let deps = query.dependencies(&tenant(), &range(base)).await.unwrap();
    assert_eq!(edges_of(&deps), expected_edges());
}

#[tokio::test]
async fn rollups_survive_restarts_from_wal_and_from_files() {
    let dir = tempfile::tempdir().unwrap();
    let base = common::base_time();
    let spans = dataset();
    let all: Vec<_> = spans.iter().collect();
    {
        let store = open(dir.path()).await;
        store
            .append(&tenant(), request_of(&all, base), None)
            .await
            .unwrap();
        // No flush, no shutdown: only the WAL holds the spans.
    }
    let store = open(dir.path()).await;
    let query = QueryService::new(store.clone(), QueryConfig::default());
    assert_red_matches_raw(&query, base, "after WAL replay").await;
    store.shutdown().await.unwrap();
    drop(query);
    drop(store);
    let store = open(dir.path()).await;
    let query = QueryService::new(store.clone(), QueryConfig::default());
    assert!(store.head_spans(&tenant()) == 0, "everything was flushed");
    assert_red_matches_raw(&query, base, "from rollup files").await;
    let deps = query.dependencies(&tenant(), &range(base)).await.unwrap();
    assert_eq!(edges_of(&deps), expected_edges());
}

#[tokio::test]
async fn rollups_outlive_raw_spans() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::config(dir.path());
    config.retention = Duration::from_secs(3600);
    let mut registry = prometheus_client::registry::Registry::default();
    let store = tracewell_store::Store::open(config, &mut registry).unwrap();
    store.recover().await.unwrap();
    // Three hours ago: past the raw retention, well within the rollup retention.
    let base = common::base_time() - 3 * 3_600_000 * MS;
    let spans = dataset();
    store
        .append(
            &tenant(),
            request_of(&spans.iter().collect::<Vec<_>>(), base),
            None,
        )
        .await
        .unwrap();
    store.flush_all().await.unwrap();
    assert_eq!(store.blocks(&tenant()).len(), 1);
    store.run_maintenance().await;
    assert!(store.blocks(&tenant()).is_empty(), "raw spans expired");
    let query = QueryService::new(store, QueryConfig::default());
    let found = query
        .search(&tenant(), &SearchRequest::recent(20))
        .await
        .unwrap();
    assert!(found.traces.is_empty());
    assert_red_matches_raw(&query, base, "after raw retention").await;
    let deps = query.dependencies(&tenant(), &range(base)).await.unwrap();
    assert_eq!(edges_of(&deps), expected_edges());
}

#[tokio::test]
async fn red_refuses_bad_steps_and_ranges() {
    let f = fixture(Layout::HeadOnly).await;
    let mut r = red_request(f.base);
    r.step_nano = 1_000 * MS;
    assert!(f
        .query
        .red(&tenant(), &r)
        .await
        .unwrap_err()
        .to_string()
        .contains("step"));
    let mut r = red_request(f.base);
    r.range.start_unix_nano = r.range.end_unix_nano + 1;
    assert!(f
        .query
        .red(&tenant(), &r)
        .await
        .unwrap_err()
        .to_string()
        .contains("start"));
    let mut r = red_request(f.base);
    r.quantiles = vec![1.5];
    assert!(f
        .query
        .red(&tenant(), &r)
        .await
        .unwrap_err()
        .to_string()
        .contains("quantile"));
}
