//! Search semantics: each condition alone and combined, OR / regex / negation, duration bounds, time range,
//! ordering and limits — over head-only, block-only and mixed data.

mod common;

use common::{fixture, tenant, trace_id, Layout, MS};
use tracewell_query::{parse_kind, parse_status, AttrCondition, DurationScope, SearchRequest};

fn req() -> SearchRequest {
    SearchRequest::recent(20)
}

fn tag(c: &str) -> AttrCondition {
    AttrCondition::parse(c).unwrap()
}

/// (case name, request, expected traces most recent first)
fn cases(base: u64) -> Vec<(&'static str, SearchRequest, Vec<u8>)> {
    let at = |secs: u64, ms: u64| base + secs * 1000 * MS + ms * MS;
    vec![
        ("no conditions", req(), vec![6, 5, 4, 3, 2, 1]),
        (
            "service",
            SearchRequest {
                service: Some("users".into()),
                ..req()
            },
            vec![3, 1],
        ),
        (
            "service and operation",
            SearchRequest {
                service: Some("gateway".into()),
                operation: Some("GET /users".into()),
                ..req()
            },
            vec![3, 1],
        ),
        (
            "operation alone",
            SearchRequest {
                operation: Some("POST /orders".into()),
                ..req()
            },
            vec![6, 2],
        ),
        (
            "kind",
            SearchRequest {
                kind: Some(parse_kind("consumer").unwrap()),
                ..req()
            },
            vec![4],
        ),
        (
            "status error",
            SearchRequest {
                status: Some(parse_status("error").unwrap()),
                ..req()
            },
            vec![2],
        ),
        (
            "error=true tag",
            SearchRequest {
                attributes: vec![tag("error=true")],
                ..req()
            },
            vec![2],
        ),
        (
            "int attribute OR",
            SearchRequest {
                attributes: vec![tag("http.response.status_code=500|404")],
                ..req()
            },
            vec![3, 2],
        ),
        (
            "dedicated string column",
            SearchRequest {
                attributes: vec![tag("http.route=/users/{id}")],
                ..req()
            },
            vec![1],
        ),
        (
            "generic attribute",
            SearchRequest {
                attributes: vec![tag("customer.tier=gold")],
                ..req()
            },
            vec![6, 2],
        ),
        (
            "regex",
            SearchRequest {
                attributes: vec![tag("customer.tier=~g.*")],
                ..req()
            },
            vec![6, 2],
        ),
        (
            "regex is anchored",
            SearchRequest {
                attributes: vec![tag("customer.tier=~old")],
                ..req()
            },
            vec![],
        ),
        // A span matches a negation when it lacks the attribute or has another value; trace 6's only span is gold.
        (
            "negation",
            SearchRequest {
                attributes: vec![tag("customer.tier!=gold")],
                ..req()
            },
            vec![5, 4, 3, 2, 1],
        ),
        (
            "negated regex with service",
            SearchRequest {
                service: Some("orders".into()),
                attributes: vec![tag("customer.tier!~g.*")],
                ..req()
            },
            vec![],
        ),
        (
            "resource attribute",
            SearchRequest {
                attributes: vec![tag("deployment.environment=staging")],
                ..req()
            },
            vec![4],
        ),
        (
            "span.kind tag OR",
            SearchRequest {
                attributes: vec![tag("span.kind=consumer|internal")],
                ..req()
            },
            vec![5, 4],
        ),
        (
            "two conditions on one span",
            SearchRequest {
                attributes: vec![
                    tag("customer.tier=gold"),
                    tag("http.response.status_code=201"),
                ],
                ..req()
            },
            vec![6],
        ),
        (
            "min span duration",
            SearchRequest {
                min_duration_nano: Some(100 * MS),
                ..req()
            },
            vec![6, 4, 2, 1],
        ),
        (
            "span duration window",
            SearchRequest {
                min_duration_nano: Some(100 * MS),
                max_duration_nano: Some(200 * MS),
                ..req()
            },
            vec![6, 1],
        ),
        (
            "service and duration",
            SearchRequest {
                service: Some("orders".into()),
                min_duration_nano: Some(150 * MS),
                ..req()
            },
            vec![2],
        ),
        (
            "trace duration",
            SearchRequest {
                min_duration_nano: Some(250 * MS),
                duration_scope: DurationScope::Trace,
                ..req()
            },
            vec![4, 2],
        ),
        (
            "time range",
            SearchRequest {
                start_unix_nano: Some(at(2, 500)),
                end_unix_nano: Some(at(4, 500)),
                ..req()
            },
            vec![4, 3],
        ),
        (
            "limit keeps the most recent",
            SearchRequest { limit: 2, ..req() },
            vec![6, 5],
        ),
        (
            "unknown service",
            SearchRequest {
                service: Some("nope".into()),
                ..req()
            },
            vec![],
        ),
    ]
}

async fn run_table(layout: Layout) {
    let f = fixture(layout).await;
    for (name, request, want) in cases(f.base) {
        let result = f.query.search(&tenant(), &request).await.unwrap();
        let got: Vec<u8> = result.traces.iter().map(|t| t.trace_id.0[15]).collect();
        assert_eq!(got, want, "{layout:?}: {name}");
        if request.limit < 6 && want.len() == request.limit {
            assert!(result.limit_hit, "{layout:?}: {name} must say it was cut");
        }
    }
}

#[tokio::test]
async fn search_semantics_head_only() {
    run_table(Layout::HeadOnly).await;
}

#[tokio::test]
async fn search_semantics_blocks_only() {
    run_table(Layout::BlocksOnly).await;
}

#[tokio::test]
async fn search_semantics_mixed_head_and_blocks() {
    run_table(Layout::Mixed).await;
}

#[tokio::test]
async fn summaries_describe_whole_traces_across_head_and_blocks() {
    for layout in [Layout::HeadOnly, Layout::BlocksOnly, Layout::Mixed] {
        let f = fixture(layout).await;
        let request = SearchRequest {
            status: Some(parse_status("error").unwrap()),
            ..req()
        };
        let result = f.query.search(&tenant(), &request).await.unwrap();
        let t = &result.traces[0];
        assert_eq!(t.trace_id, trace_id(2));
        assert_eq!(t.root_service.as_deref(), Some("gateway"), "{layout:?}");
        assert_eq!(t.root_operation.as_deref(), Some("GET /orders"));
        assert_eq!((t.span_count, t.error_count), (2, 1), "{layout:?}");
        assert_eq!(t.duration_nano, 300 * MS);
        assert_eq!(t.start_unix_nano, f.base + 2000 * MS);
        let services: Vec<_> = t.services.keys().cloned().collect();
        assert_eq!(services, ["gateway", "orders"]);
        assert_eq!(t.services["orders"].errors, 1);
        assert_eq!(t.matched.len(), 1);
        assert_eq!(t.matched[0].name, "POST /orders");
        assert_eq!(t.matched_count, 1);
    }
}

#[tokio::test]
async fn bad_requests_are_refused_with_the_reason() {
    let f = fixture(Layout::HeadOnly).await;
    let cases = [
        (SearchRequest { limit: 0, ..req() }, "limit"),
        (
            SearchRequest {
                limit: 100_000,
                ..req()
            },
            "limit",
        ),
        (
            SearchRequest {
                min_duration_nano: Some(2),
                max_duration_nano: Some(1),
                ..req()
            },
            "minDuration",
        ),
        (
            SearchRequest {
                start_unix_nano: Some(10),
                end_unix_nano: Some(5),
                ..req()
            },
            "start",
        ),
        (
            SearchRequest {
                start_unix_nano: Some(0),
                end_unix_nano: Some(u64::MAX),
                ..req()
            },
            "time range",
        ),
    ];
    for (request, needle) in cases {
        let err = f
            .query
            .search(&tenant(), &request)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains(needle), "{err:?} should mention {needle}");
    }
}

#[tokio::test]
async fn trace_by_id_finds_every_span_in_head_and_blocks() {
    let f = fixture(Layout::Mixed).await;
    let found = f.query.trace(&tenant(), trace_id(2)).await.unwrap();
    assert_eq!(found.spans.len(), 2);
    // Indexes built, the lookup reads only blocks that hold the trace.
    f.query.warm_indexes().await;
    let found = f.query.trace(&tenant(), trace_id(1)).await.unwrap();
    assert_eq!(found.spans.len(), 3);
    let missing = f.query.trace(&tenant(), trace_id(99)).await.unwrap();
    assert!(missing.spans.is_empty());
}

#[tokio::test]
async fn blocks_without_a_searched_key_are_not_read() {
    let f = fixture(Layout::BlocksOnly).await;
    let absent = SearchRequest {
        attributes: vec![tag("no.such.key=1")],
        ..req()
    };
    let result = f.query.search(&tenant(), &absent).await.unwrap();
    assert!(result.traces.is_empty());
    assert_eq!(
        (
            result.metrics.inspected_blocks,
            result.metrics.skipped_blocks
        ),
        (0, 1)
    );
    // A negation still reads the block: spans without the key match it.
    let negated = SearchRequest {
        attributes: vec![tag("no.such.key!=1")],
        ..req()
    };
    let result = f.query.search(&tenant(), &negated).await.unwrap();
    assert_eq!(result.traces.len(), 6);
    assert_eq!(result.metrics.inspected_blocks, 1);
    // A resource key is found although no span attribute has it.
    let resource = SearchRequest {
        attributes: vec![tag("deployment.environment=staging")],
        ..req()
    };
    let result = f.query.search(&tenant(), &resource).await.unwrap();
    assert_eq!(result.traces.len(), 1);
}

#[tokio::test]
async fn trace_reads_by_index_rows_equal_reads_by_bloom_filter() {
    let f = fixture(Layout::BlocksOnly).await;
    let mut cold = Vec::new();
    for n in 1..=6 {
        cold.push(f.query.trace(&tenant(), trace_id(n)).await.unwrap().spans);
    }
    f.query.warm_indexes().await;
    for n in 1..=6u8 {
        let warm = f.query.trace(&tenant(), trace_id(n)).await.unwrap().spans;
        assert!(!warm.is_empty());
        assert_eq!(warm, cold[usize::from(n) - 1], "trace {n}");
    }
}
