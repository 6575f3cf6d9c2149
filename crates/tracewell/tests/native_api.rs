//! The native `/api/v1` query API against a running server: search with every kind of condition, catalog,
//! attribute names and values, RED metrics, dependencies, the OpenAPI document, and bad parameters.

mod common;
#[path = "../../tracewell-query/tests/common/mod.rs"]
mod dataset;

use common::Server;
use prost::Message;
use serde_json::Value;

struct Api {
    server: Server,
    client: reqwest::Client,
    base: u64,
    _dir: tempfile::TempDir,
}

impl Api {
    async fn start() -> Api {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::start(dir.path(), &[]).await;
        let client = reqwest::Client::new();
        let base = dataset::base_time();
        let spans = dataset::dataset();
        let request = dataset::request_of(&spans.iter().collect::<Vec<_>>(), base);
        let response = client
            .post(server.otlp_http_url())
            .header("content-type", "application/x-protobuf")
            .body(request.encode_to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        Api {
            server,
            client,
            base,
            _dir: dir,
        }
    }

    async fn get(&self, path_and_query: &str) -> (u16, Value) {
        let r = self
            .client
            .get(self.server.url(path_and_query))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let body = r.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    /// Trace numbers (last id byte) of a search, in answer order.
    async fn search(&self, query: &str) -> Vec<u8> {
        let (status, body) = self.get(&format!("/api/v1/search?{query}")).await;
        assert_eq!(status, 200, "{query}: {body}");
        body["traces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                let hex = t["traceId"].as_str().unwrap();
                u8::from_str_radix(&hex[30..], 16).unwrap()
            })
            .collect()
    }
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn search_catalog_metrics_and_dependencies() {
    let api = Api::start().await;
    let window = format!("start={}&end={}", api.base, api.base + 60_000_000_000);

    let cases: Vec<(String, Vec<u8>)> = vec![
        (window.clone(), vec![6, 5, 4, 3, 2, 1]),
        (format!("{window}&service=users"), vec![3, 1]),
        (
            format!("{window}&service=gateway&operation={}", enc("GET /users")),
            vec![3, 1],
        ),
        (format!("{window}&kind=consumer"), vec![4]),
        (format!("{window}&status=error"), vec![2]),
        (
            format!("{window}&tag={}", enc("http.response.status_code=500|404")),
            vec![3, 2],
        ),
        (
            format!("{window}&tag={}", enc("customer.tier=~g.*")),
            vec![6, 2],
        ),
        (
            format!(
                "{window}&tag={}&tag={}",
                enc("customer.tier=gold"),
                enc("http.response.status_code=201")
            ),
            vec![6],
        ),
        (
            format!("{window}&tag={}", enc("customer.tier!=gold")),
            vec![5, 4, 3, 2, 1],
        ),
        (
            format!("{window}&minDuration=100ms&maxDuration=200ms"),
            vec![6, 1],
        ),
        (
            format!("{window}&minDuration=250ms&durationScope=trace"),
            vec![4, 2],
        ),
        (format!("{window}&limit=2"), vec![6, 5]),
    ];
    for (query, want) in cases {
        assert_eq!(api.search(&query).await, want, "{query}");
    }

    let (_, body) = api
        .get(&format!("/api/v1/search?{window}&status=error"))
        .await;
    let t = &body["traces"][0];
    assert_eq!(t["rootService"], "gateway");
    assert_eq!(t["rootOperation"], "GET /orders");
    assert_eq!(t["spanCount"], 2);
    assert_eq!(t["errorCount"], 1);
    assert_eq!(t["durationNano"], 300_000_000u64);
    assert_eq!(
        t["startTimeUnixNano"],
        (api.base + 2_000_000_000).to_string()
    );
    assert_eq!(t["matchedSpans"][0]["name"], "POST /orders");
    assert_eq!(t["services"][1]["name"], "orders");

    let (_, body) = api.get("/api/v1/services").await;
    assert_eq!(
        body["services"],
        serde_json::json!(["gateway", "orders", "users", "worker"])
    );
    let (_, body) = api
        .get("/api/v1/operations?service=users&kind=client")
        .await;
    assert_eq!(
        body["operations"],
        serde_json::json!([{"service": "users", "name": "SELECT users", "kind": "client"}])
    );

    let (_, body) = api.get(&format!("/api/v1/tags?{window}")).await;
    let span_tags: Vec<&str> = body["span"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for key in [
        "customer.tier",
        "http.response.status_code",
        "db.system",
        "messaging.destination.name",
    ] {
        assert!(span_tags.contains(&key), "{key} in {span_tags:?}");
    }
    assert!(body["resource"]
        .as_array()
        .unwrap()
        .contains(&Value::from("deployment.environment")));
    let (_, body) = api
        .get(&format!("/api/v1/tags/customer.tier/values?{window}"))
        .await;
    assert_eq!(
        body["values"],
        serde_json::json!([{"type": "string", "value": "gold"}, {"type": "string", "value": "silver"}])
    );

    let (status, body) = api
        .get(&format!(
            "/api/v1/metrics?{window}&service=orders&groupByOperation=true&step=1m"
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    let series = &body["series"][0];
    assert_eq!(series["operation"], "POST /orders");
    assert_eq!(series["total"]["count"], 2);
    assert_eq!(series["total"]["errors"], 1);
    assert_eq!(series["total"]["errorRate"], 0.5);
    let p99 = series["total"]["quantilesNano"]["0.99"].as_f64().unwrap();
    assert!((p99 - 250e6).abs() / 250e6 < 0.02, "p99 {p99}");
    // Rates are over the time the series covers, not over the whole range asked for.
    let covered = series["total"]["coveredSeconds"].as_f64().unwrap();
    assert!(covered < 3600.0, "{covered}");
    assert_eq!(series["total"]["rate"].as_f64().unwrap(), 2.0 / covered);

    // A service's RED counts its requests (entry spans) unless asked for all kinds.
    let ops_of = |body: &Value| -> Vec<String> {
        body["series"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["operation"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, entry) = api
        .get(&format!(
            "/api/v1/metrics?{window}&service=users&groupByOperation=true"
        ))
        .await;
    let (_, all) = api
        .get(&format!(
            "/api/v1/metrics?{window}&service=users&groupByOperation=true&kind=all"
        ))
        .await;
    assert!(
        !ops_of(&entry).iter().any(|o| o.starts_with("SELECT")),
        "{entry}"
    );
    assert!(
        ops_of(&all).iter().any(|o| o.starts_with("SELECT")),
        "{all}"
    );
    let (status, body) = api.get("/api/v1/metrics?kind=banana").await;
    assert_eq!(status, 400, "{body}");

    let (_, body) = api.get(&format!("/api/v1/dependencies?{window}")).await;
    let edges: Vec<(String, String, u64)> = body["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["parent"].as_str().unwrap().into(),
                e["child"].as_str().unwrap().into(),
                e["calls"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        edges,
        vec![
            ("gateway".into(), "orders".into(), 1),
            ("gateway".into(), "users".into(), 2),
            ("orders".into(), "worker".into(), 1),
            ("users".into(), "postgresql".into(), 1),
        ]
    );
    assert!(body["nodes"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!({"name": "postgresql", "kind": "database"})));

    let (status, body) = api.get("/api/v1/openapi.json").await;
    assert_eq!(status, 200);
    for path in [
        "/api/v1/search",
        "/api/v1/traces/{trace_id}",
        "/api/v1/metrics",
        "/api/v1/dependencies",
        "/api/v1/insights",
        "/api/v1/breakdown",
        "/api/v1/alerts",
        "/api/v1/tail",
        "/mcp",
        "/api/v1/logs",
        "/api/v1/traces/{trace_id}/logs",
    ] {
        assert!(body["paths"].get(path).is_some(), "openapi lacks {path}");
    }
}

#[tokio::test]
async fn compact_trace_and_single_span() {
    let api = Api::start().await;
    // Trace 1: gateway GET /users (0..100 ms) -> users GET /users/{id} (10..60) -> SELECT users (20..40).
    let trace = dataset::trace_id(1).to_hex();
    let (status, body) = api
        .get(&format!("/api/v1/traces/{trace}?format=compact"))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["traceId"], trace.as_str());
    assert_eq!(
        body["startTimeUnixNano"],
        (api.base + 1_000 * dataset::MS).to_string().as_str()
    );
    let strings: Vec<&str> = body["strings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    let spans = &body["spans"];
    let column = |name: &str| -> Vec<i64> {
        spans[name]
            .as_array()
            .unwrap_or_else(|| panic!("column {name}: {body}"))
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect()
    };
    let names: Vec<&str> = column("name")
        .iter()
        .map(|&i| strings[i as usize])
        .collect();
    assert_eq!(names, ["GET /users", "GET /users/{id}", "SELECT users"]);
    let services: Vec<&str> = column("service")
        .iter()
        .map(|&i| strings[i as usize])
        .collect();
    assert_eq!(services, ["gateway", "users", "users"]);
    assert_eq!(column("parent"), [-1, 0, 1]);
    assert_eq!(spans["parentSpanId"], serde_json::json!(["", "", ""]));
    assert_eq!(column("kind"), [2, 2, 3]);
    assert_eq!(column("status"), [0, 0, 0]);
    let ms = dataset::MS as i64;
    assert_eq!(column("start"), [0, 10 * ms, 20 * ms]);
    assert_eq!(column("duration"), [100 * ms, 50 * ms, 20 * ms]);
    assert_eq!(body["warnings"], serde_json::json!([]));

    // The error span of trace 2 carries status 2.
    let (_, body) = api
        .get(&format!(
            "/api/v1/traces/{}?format=compact",
            dataset::trace_id(2).to_hex()
        ))
        .await;
    assert_eq!(body["spans"]["status"], serde_json::json!([0, 2]));

    // One span with its resource and attributes.
    let span_id = body_span_id(&api, &trace, 1).await;
    let (status, one) = api
        .get(&format!("/api/v1/traces/{trace}/spans/{span_id}"))
        .await;
    assert_eq!(status, 200, "{one}");
    let resource_spans = one["resourceSpans"].as_array().unwrap();
    assert_eq!(resource_spans.len(), 1);
    let span = &resource_spans[0]["scopeSpans"][0]["spans"];
    assert_eq!(span.as_array().unwrap().len(), 1);
    assert_eq!(span[0]["spanId"], span_id.as_str());
    assert_eq!(span[0]["name"], "GET /users/{id}");
    assert!(one.to_string().contains("/users/{id}"));
    let (status, missing) = api
        .get(&format!("/api/v1/traces/{trace}/spans/00000000000000ff"))
        .await;
    assert_eq!(status, 404, "{missing}");

    // A span of a trace not opened before is read from storage.
    let (status, one) = api
        .get(&format!(
            "/api/v1/traces/{}/spans/0302000000000001",
            dataset::trace_id(3).to_hex()
        ))
        .await;
    assert_eq!(status, 200, "{one}");
    assert!(one.to_string().contains("\"customer.tier\""), "{one}");

    // A span whose parent never arrived keeps its parent's id and has no parent index.
    let orphan_trace = "0123456789abcdef0123456789abcdef";
    let otlp = serde_json::json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "late"}}]},
        "scopeSpans": [{"spans": [
            {"traceId": orphan_trace, "spanId": "1111111111111111", "parentSpanId": "2222222222222222",
             "name": "orphan", "kind": 1, "startTimeUnixNano": "1700000000000000000",
             "endTimeUnixNano": "1700000000000001000"},
            {"traceId": orphan_trace, "spanId": "3333333333333333", "parentSpanId": "3333333333333333",
             "name": "self parent", "kind": 1, "startTimeUnixNano": "1700000000000000500",
             "endTimeUnixNano": "1700000000000000600"}
        ]}]
    }]});
    let r = api
        .client
        .post(api.server.otlp_http_url())
        .json(&otlp)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (status, body) = api
        .get(&format!("/api/v1/traces/{orphan_trace}?format=compact"))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["spans"]["parent"], serde_json::json!([-1, -1]));
    assert_eq!(
        body["spans"]["parentSpanId"],
        serde_json::json!(["2222222222222222", ""])
    );
    assert_eq!(body["spans"]["start"], serde_json::json!([0, 500]));
}

/// The hex id of the `n`th span (in start order) of a trace, read from the compact form.
async fn body_span_id(api: &Api, trace: &str, n: usize) -> String {
    let (_, body) = api
        .get(&format!("/api/v1/traces/{trace}?format=compact"))
        .await;
    body["spans"]["spanId"][n].as_str().unwrap().to_string()
}

#[tokio::test]
async fn bad_parameters_get_400_naming_the_parameter() {
    let api = Api::start().await;
    let cases = [
        ("/api/v1/search?minDuration=fast", "minDuration"),
        ("/api/v1/search?maxDuration=10", "maxDuration"),
        (
            "/api/v1/search?minDuration=2s&maxDuration=1s",
            "minDuration",
        ),
        (
            "/api/v1/search?start=2026-01-02T00:00:00Z&end=2026-01-01T00:00:00Z",
            "start",
        ),
        ("/api/v1/search?start=yesterday", "start"),
        ("/api/v1/search?limit=100000", "limit"),
        ("/api/v1/search?limit=-1", "limit"),
        ("/api/v1/search?kind=sideways", "kind"),
        ("/api/v1/search?status=fine", "status"),
        ("/api/v1/search?tag=novalue", "tag"),
        ("/api/v1/search?tag=k%3D~(", "tag"),
        ("/api/v1/search?durationScope=galaxy", "durationScope"),
        ("/api/v1/search?start=0&end=99999999999999999", "time range"),
        ("/api/v1/metrics?step=10s", "step"),
        ("/api/v1/metrics?quantiles=half", "quantiles"),
        ("/api/v1/traces/xyz", "trace id"),
        ("/api/v1/tags/a/values?limit=0", "limit"),
        (
            "/api/v1/traces/a0000000000000000000000000000001?format=xml",
            "format",
        ),
        (
            "/api/v1/traces/a0000000000000000000000000000001/spans/zz",
            "span id",
        ),
        (
            "/api/v1/traces/a0000000000000000000000000000001/spans/0000000000000000",
            "span id",
        ),
    ];
    for (path, needle) in cases {
        let (status, body) = api.get(path).await;
        assert_eq!(status, 400, "{path}: {body}");
        let message = body["error"].as_str().unwrap_or_default();
        assert!(
            message.contains(needle),
            "{path}: {message:?} should name {needle}"
        );
    }
    let r = api
        .client
        .get(api.server.url("/api/v1/services"))
        .header("X-Scope-OrgID", "bad tenant!")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn sql_endpoint_answers_queries_and_refuses_writes() {
    let api = Api::start().await;
    let post = |body: serde_json::Value| {
        api.client
            .post(api.server.url("/api/v1/sql"))
            .json(&body)
            .send()
    };
    let r = post(serde_json::json!({"query": "SELECT service_name, count(*) AS n FROM spans GROUP BY service_name ORDER BY n DESC, service_name LIMIT 2"}))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["rows"],
        serde_json::json!([["gateway", 4], ["users", 3]])
    );
    assert_eq!(
        body["columns"][1],
        serde_json::json!({"name": "n", "type": "Int64"})
    );
    assert_eq!(body["truncated"], false);

    let text = api
        .client
        .post(api.server.url("/api/v1/sql"))
        .header("content-type", "text/plain")
        .body("SELECT count(*) FROM spans WHERE status_code = 2")
        .send()
        .await
        .unwrap();
    assert_eq!(
        text.json::<Value>().await.unwrap()["rows"],
        serde_json::json!([[1]])
    );

    for (body, needle) in [
        (serde_json::json!({"query": "DROP TABLE spans"}), "refused"),
        (
            serde_json::json!({"query": "SELECT * FROM '/etc/passwd'"}),
            "invalid query",
        ),
        (serde_json::json!({"sql": "SELECT 1"}), "body"),
    ] {
        let r = post(body.clone()).await.unwrap();
        assert_eq!(r.status(), 400, "{body}");
        let message = r.json::<Value>().await.unwrap()["error"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(message.contains(needle), "{body}: {message}");
    }
}
