//! HTTP propagation end to end over real sockets: an axum "frontend" calls an axum "backend" through the
//! reqwest middleware and through a hyper client with the tower client layer; the spans both services
//! record form one trace with the right parents, names, attributes and statuses.

mod support;

use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use http_body_util::{BodyExt, Empty};
use opentelemetry::trace::{SpanKind, Status, TraceContextExt};
use support::*;
use tower::ServiceBuilder;
use tracewell_instrument::http::reqwest::traced_client;
use tracewell_instrument::http::{TraceClientLayer, TraceLayer};
use tracewell_instrument::Instrumentation;

fn backend(instrumentation: Instrumentation) -> Router {
    Router::new()
        .route(
            "/items/{id}",
            get(|Path(id): Path<u32>| async move { format!("item {id}") }),
        )
        .route(
            "/fail",
            get(|| async { (StatusCode::SERVICE_UNAVAILABLE, "down") }),
        )
        .route("/missing", get(|| async { (StatusCode::NOT_FOUND, "no") }))
        .route(
            "/panic",
            get(|| async {
                if std::env::var("NEVER_SET_IN_TESTS").is_err() {
                    panic!("handler exploded");
                }
                "unreachable"
            }),
        )
        .layer(
            TraceLayer::new(instrumentation)
                .trace_id_header(http::HeaderName::from_static("x-trace-id")),
        )
}

const INCOMING_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const INCOMING_SPAN: &str = "00f067aa0ba902b7";

#[tokio::test]
async fn a_request_across_two_services_is_one_trace() {
    let (_tb, back_instr, back_spans) = telemetry("backend");
    let (_tf, front_instr, front_spans) = telemetry("frontend");
    let back = serve(backend(back_instr)).await;

    let client = traced_client(reqwest::Client::new(), front_instr.clone());
    let front_router = Router::new()
        .route(
            "/orders/{id}",
            get(move |Path(id): Path<u32>| {
                let client = client.clone();
                async move {
                    let body = client
                        .get(format!("http://{back}/items/{id}"))
                        .send()
                        .await
                        .map_err(|e| (StatusCode::BAD_GATEWAY, e.to_string()))?
                        .text()
                        .await
                        .map_err(|e| (StatusCode::BAD_GATEWAY, e.to_string()))?;
                    Ok::<_, (StatusCode, String)>(body)
                }
            }),
        )
        .layer(TraceLayer::new(front_instr));
    let front = serve(front_router).await;

    let response = reqwest::Client::new()
        .get(format!("http://{front}/orders/42?expand=1"))
        .header(
            "traceparent",
            format!("00-{INCOMING_TRACE}-{INCOMING_SPAN}-01"),
        )
        .header("tracestate", "vendor=opaque")
        .header("user-agent", "integration-test/1.0")
        .header("x-forwarded-for", "203.0.113.9, 10.0.0.1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let traceresponse = response
        .headers()
        .get("traceresponse")
        .expect("traceresponse header")
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(response.text().await.unwrap(), "item 42");

    let front_spans = spans(&front_spans);
    let back_spans = spans(&back_spans);
    let server = named(&front_spans, "GET /orders/{id}");
    let client_span = named(&front_spans, "GET");
    let backend_server = named(&back_spans, "GET /items/{id}");

    // One trace, continuing the caller's.
    for span in [server, client_span, backend_server] {
        assert_eq!(trace_of(span).to_string(), INCOMING_TRACE);
    }
    assert_eq!(server.parent_span_id.to_string(), INCOMING_SPAN);
    assert!(server.parent_span_is_remote);
    assert_eq!(client_span.parent_span_id, id_of(server));
    assert_eq!(backend_server.parent_span_id, id_of(client_span));
    assert!(backend_server.parent_span_is_remote);
    assert_eq!(
        server.span_context.trace_state().header(),
        "vendor=opaque",
        "tracestate carried"
    );
    assert_eq!(
        traceresponse,
        format!("00-{INCOMING_TRACE}-{}-01", id_of(server))
    );

    assert_eq!(server.span_kind, SpanKind::Server);
    assert_eq!(client_span.span_kind, SpanKind::Client);
    assert_eq!(
        attr_str(server, "http.route").as_deref(),
        Some("/orders/{id}")
    );
    assert_eq!(attr_str(server, "url.path").as_deref(), Some("/orders/42"));
    assert_eq!(attr_str(server, "url.query").as_deref(), Some("expand=1"));
    assert_eq!(
        attr_str(server, "http.request.method").as_deref(),
        Some("GET")
    );
    assert_eq!(
        attr_str(server, "http.response.status_code").as_deref(),
        Some("200")
    );
    assert_eq!(
        attr_str(server, "client.address").as_deref(),
        Some("203.0.113.9")
    );
    assert_eq!(
        attr_str(server, "user_agent.original").as_deref(),
        Some("integration-test/1.0")
    );
    assert_eq!(server.status, Status::Unset);
    assert_eq!(
        attr_str(client_span, "url.full"),
        Some(format!("http://{back}/items/42"))
    );
    assert_eq!(
        attr_str(client_span, "server.address").as_deref(),
        Some("127.0.0.1")
    );
    assert_eq!(
        attr_str(client_span, "server.port"),
        Some(back.port().to_string())
    );
    assert_eq!(
        attr_str(client_span, "http.response.status_code").as_deref(),
        Some("200")
    );
    assert_eq!(
        attr_str(backend_server, "url.path").as_deref(),
        Some("/items/42")
    );
}

#[tokio::test]
async fn errors_panics_and_bad_headers() {
    let (_tb, back_instr, back_exporter) = telemetry("backend");
    let back = serve(backend(back_instr)).await;
    let http = reqwest::Client::new();

    // 5xx marks a server span as an error; 4xx does not.
    let r = http
        .get(format!("http://{back}/fail"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    let trace_header = r
        .headers()
        .get("x-trace-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let r = http
        .get(format!("http://{back}/missing"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    // A panicking handler: the connection fails, the span records the panic.
    assert!(http
        .get(format!("http://{back}/panic"))
        .send()
        .await
        .is_err());

    // A malformed traceparent restarts the trace instead of failing the request.
    let r = http
        .get(format!("http://{back}/items/7"))
        .header(
            "traceparent",
            format!("00-{INCOMING_TRACE}-{INCOMING_SPAN}-zz"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // An unmatched path is named after the method alone, never the raw path.
    let r = http
        .get(format!("http://{back}/nothing/here/123"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    let all = wait_for_spans(&back_exporter, 4).await;
    let fail = named(&all, "GET /fail");
    assert!(matches!(fail.status, Status::Error { .. }));
    assert_eq!(attr_str(fail, "error.type").as_deref(), Some("503"));
    assert_eq!(trace_of(fail).to_string(), trace_header);
    let missing = named(&all, "GET /missing");
    assert_eq!(missing.status, Status::Unset);
    assert_eq!(
        attr_str(missing, "http.response.status_code").as_deref(),
        Some("404")
    );

    let panicked = named(&all, "GET /panic");
    match &panicked.status {
        Status::Error { description } => assert!(description.contains("handler exploded")),
        other => panic!("panic span status {other:?}"),
    }
    assert!(panicked.events.iter().any(|e| e.name == "exception"));
    assert_eq!(attr_str(panicked, "error.type").as_deref(), Some("panic"));

    let restarted = named(&all, "GET /items/{id}");
    assert_ne!(trace_of(restarted).to_string(), INCOMING_TRACE);
    assert_eq!(
        restarted.parent_span_id,
        opentelemetry::trace::SpanId::INVALID
    );
    // axum's fallback has no route template.
    let unmatched: Vec<_> = all.iter().filter(|s| s.name.contains("nothing")).collect();
    assert!(unmatched.is_empty(), "raw paths never name spans");
}

#[tokio::test]
async fn hyper_client_with_the_tower_layer_propagates_and_records() {
    let (_tb, back_instr, back_exporter) = telemetry("backend");
    let (_tc, client_instr, client_exporter) = telemetry("caller");
    let back = serve(backend(back_instr)).await;

    let hyper = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Empty<bytes::Bytes>>();
    let mut client = ServiceBuilder::new()
        .layer(TraceClientLayer::new(client_instr.clone()))
        .service(hyper);

    // The parent is the current context: a span of the caller's own.
    use opentelemetry::trace::Tracer;
    let tracer = client_instr.tracer();
    let parent = tracer.start("checkout");
    let cx = opentelemetry::Context::current_with_span(parent);
    let request = http::Request::get(format!("http://{back}/items/5"))
        .body(Empty::new())
        .unwrap();
    let response = {
        let _guard = cx.clone().attach();
        tower::Service::call(&mut client, request)
    }
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"item 5");
    let request = http::Request::get(format!("http://{back}/fail"))
        .body(Empty::new())
        .unwrap();
    let failed = {
        let _guard = cx.clone().attach();
        tower::Service::call(&mut client, request)
    }
    .await
    .unwrap();
    assert_eq!(failed.status(), 503);
    cx.span().end();

    let caller = spans(&client_exporter);
    let backend = spans(&back_exporter);
    let checkout = named(&caller, "checkout");
    let calls = all_named(&caller, "GET");
    assert_eq!(calls.len(), 2);
    for call in &calls {
        assert_eq!(call.parent_span_id, id_of(checkout));
        assert_eq!(trace_of(call), trace_of(checkout));
    }
    let ok_call = calls
        .iter()
        .find(|s| attr_str(s, "http.response.status_code").as_deref() == Some("200"))
        .unwrap();
    let failed_call = calls
        .iter()
        .find(|s| attr_str(s, "http.response.status_code").as_deref() == Some("503"))
        .unwrap();
    assert_eq!(ok_call.status, Status::Unset);
    assert!(matches!(failed_call.status, Status::Error { .. }));
    let items = named(&backend, "GET /items/{id}");
    assert_eq!(items.parent_span_id, id_of(ok_call));
    assert_eq!(trace_of(items), trace_of(checkout));
    let fail = named(&backend, "GET /fail");
    assert_eq!(fail.parent_span_id, id_of(failed_call));
}
