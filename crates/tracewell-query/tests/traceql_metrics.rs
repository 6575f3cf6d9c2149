//! TraceQL metrics queries answer the same series wherever the spans are: in the head (read trace by trace), in
//! blocks (read from their columns when the query's filter is span-local) or split between both.

mod common;

use common::{fixture, tenant, Layout, MS};
use tracewell_query::TraceqlMetricsRequest;
use tracewell_traceql::metrics::Series;

const QUERIES: &[&str] = &[
    "{ } | rate() by (resource.service.name)",
    "{ } | count_over_time() by (name, kind)",
    "{ kind = server } | quantile_over_time(duration, .5, .99) by (resource.service.name)",
    "{ span.http.response.status_code >= 400 } | count_over_time() by (span.customer.tier)",
    "{ .customer.tier = \"gold\" } | sum_over_time(duration)",
    "{ resource.deployment.environment = \"staging\" } | count_over_time() by (resource.deployment.environment)",
    "{ status = error || name =~ \"GET.*\" } | histogram_over_time(duration) by (status)",
    "{ span.http.route != nil } | max_over_time(span.http.response.status_code) by (.service.name)",
    "{ duration > 45ms && duration < 1s } | avg_over_time(duration) by (resource.service.name, name)",
    "{ span.db.system = \"postgresql\" } | count_over_time() by (span.db.system)",
    "{ name = \"no such operation\" } | rate()",
    "{ duration > 2s && duration < 1s } | rate()",
    // Structure: always trace by trace.
    "{ kind = server } > { kind = client } | count_over_time() by (resource.service.name)",
];

async fn series(layout: Layout, query: &str) -> (Vec<Series>, u64) {
    let f = fixture(layout).await;
    let req = TraceqlMetricsRequest {
        query: query.to_owned(),
        start_unix_nano: f.base,
        end_unix_nano: f.base + 10_000 * MS,
        step_nano: 1_000 * MS,
    };
    let result = f
        .query
        .traceql_metrics(&tenant(), &req)
        .await
        .unwrap_or_else(|e| panic!("{query}: {e}"));
    assert!(result.warnings.is_empty(), "{query}: {:?}", result.warnings);
    (result.series, result.inspected_spans)
}

fn same(a: &[Series], b: &[Series]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.labels == y.labels
                && x.values.len() == y.values.len()
                && x.values.iter().zip(&y.values).all(|(p, q)| {
                    (p.is_nan() && q.is_nan()) || (p - q).abs() <= 1e-9 * p.abs().max(1.0)
                })
        })
}

#[tokio::test]
async fn series_are_the_same_from_heads_blocks_and_both() {
    for query in QUERIES {
        let (head, _) = series(Layout::HeadOnly, query).await;
        for layout in [Layout::BlocksOnly, Layout::Mixed] {
            let (other, _) = series(layout, query).await;
            assert!(
                same(&head, &other),
                "{query} ({layout:?}):\nhead:  {head:?}\nother: {other:?}"
            );
        }
    }
}

#[tokio::test]
async fn the_answers_hold_the_expected_series() {
    let (by_service, _) = series(Layout::BlocksOnly, QUERIES[0]).await;
    let services: Vec<String> = by_service
        .iter()
        .map(|s| format!("{:?}", s.labels[0].1))
        .collect();
    assert_eq!(services.len(), 4, "{services:?}");
    // Trace n starts n seconds after the base: gateway spans are in traces 1, 2, 3 and 5.
    let gateway = by_service
        .iter()
        .find(|s| format!("{:?}", s.labels[0].1).contains("gateway"))
        .expect("a gateway series");
    let counted: Vec<usize> = gateway
        .values
        .iter()
        .enumerate()
        .filter(|(_, v)| !v.is_nan())
        .map(|(i, _)| i)
        .collect();
    assert_eq!(counted, vec![1, 2, 3, 5], "{gateway:?}");

    let (tiers, _) = series(Layout::BlocksOnly, QUERIES[3]).await;
    let total: f64 = tiers
        .iter()
        .flat_map(|s| s.values.iter().filter(|v| !v.is_nan()))
        .sum();
    // Status codes 500 (gold) and 404 (silver).
    assert_eq!((tiers.len(), total), (2, 2.0), "{tiers:?}");
}

#[tokio::test]
async fn block_columns_are_pruned_like_a_search() {
    // The value filters rule out every row group: no span of the block is read.
    let (nothing, inspected) = series(Layout::BlocksOnly, QUERIES[10]).await;
    assert!(nothing.is_empty(), "{nothing:?}");
    assert_eq!(inspected, 0);
    let (none, inspected) = series(Layout::BlocksOnly, QUERIES[11]).await;
    assert!(none.is_empty() && inspected == 0, "{none:?}");
    // Without conditions every span in the range is read.
    let (_, inspected) = series(Layout::BlocksOnly, QUERIES[0]).await;
    assert_eq!(inspected, common::dataset().len() as u64);
}
