//! gRPC end to end over real sockets: a tonic server with the server layer and a tonic channel with the
//! client layer call a hand-written service (prost messages, `tonic::server::Grpc` with the prost codec,
//! no code generation); the spans both ends record form one trace with the RPC attributes, and statuses
//! arrive from trailers-only responses, from the trailers of streams, from deadlines and from the
//! transport.

mod support;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::StreamExt as _;
use http::uri::PathAndQuery;
use opentelemetry::trace::{SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry_sdk::trace::SpanData;
use support::*;
use tonic::transport::{Channel, Endpoint, Server};
use tonic::Code;
use tonic_prost::ProstCodec;
use tower::ServiceBuilder;
use tracewell_instrument::grpc::{
    request_context, TraceClientLayer, TraceClientService, TraceLayer,
};
use tracewell_instrument::{Builder, Instrumentation};

#[derive(Clone, PartialEq, prost::Message)]
struct EchoRequest {
    #[prost(string, tag = "1")]
    text: String,
    /// The status code to fail with (0: succeed).
    #[prost(int32, tag = "2")]
    code: i32,
    /// Messages `Count` streams before its status.
    #[prost(uint32, tag = "3")]
    count: u32,
    #[prost(uint64, tag = "4")]
    sleep_ms: u64,
    #[prost(bool, tag = "5")]
    panic: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
struct EchoReply {
    #[prost(string, tag = "1")]
    text: String,
}

const SERVICE: &str = "tracewell.test.Echo";
const ECHO: &str = "/tracewell.test.Echo/Echo";
const COUNT: &str = "/tracewell.test.Echo/Count";

/// `Echo` (unary) and `Count` (server streaming), written the way tonic's generated code is.
#[derive(Clone)]
struct EchoService;

impl tonic::server::NamedService for EchoService {
    const NAME: &'static str = SERVICE;
}

/// The handler's view: the current context's trace id and whether the request carries the context.
fn seen_by_handler(request: &tonic::Request<EchoRequest>) -> String {
    let current = opentelemetry::Context::current()
        .span()
        .span_context()
        .trace_id();
    let in_extensions = request_context(request).map(|cx| cx.span().span_context().trace_id());
    assert_eq!(
        in_extensions,
        Some(current),
        "request_context is the current context"
    );
    current.to_string()
}

fn failure(code: i32) -> Option<tonic::Status> {
    (code != 0).then(|| tonic::Status::new(Code::from_i32(code), format!("failing with {code}")))
}

impl tower::Service<http::Request<tonic::body::Body>> for EchoService {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut TaskContext<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<tonic::body::Body>) -> Self::Future {
        Box::pin(async move {
            let mut grpc =
                tonic::server::Grpc::new(ProstCodec::<EchoReply, EchoRequest>::default());
            Ok(match req.uri().path() {
                ECHO => {
                    let handler =
                        tower::service_fn(|request: tonic::Request<EchoRequest>| async move {
                            let trace_id = seen_by_handler(&request);
                            let message = request.into_inner();
                            if message.panic {
                                panic!("echo exploded");
                            }
                            tokio::time::sleep(Duration::from_millis(message.sleep_ms)).await;
                            if let Some(status) = failure(message.code) {
                                return Err(status);
                            }
                            Ok(tonic::Response::new(EchoReply {
                                text: format!("{} {trace_id}", message.text),
                            }))
                        });
                    grpc.unary(handler, req).await
                }
                COUNT => {
                    let handler =
                        tower::service_fn(|request: tonic::Request<EchoRequest>| async move {
                            seen_by_handler(&request);
                            let message = request.into_inner();
                            let replies = (0..message.count).map(|i| {
                                Ok(EchoReply {
                                    text: i.to_string(),
                                })
                            });
                            let end = failure(message.code).map(Err);
                            let stream =
                                futures::stream::iter(replies.chain(end)).then(|item| async move {
                                    tokio::time::sleep(Duration::from_millis(5)).await;
                                    item
                                });
                            Ok::<_, tonic::Status>(tonic::Response::new(Box::pin(stream)))
                        });
                    grpc.server_streaming(handler, req).await
                }
                // What generated code answers for a method it does not know.
                _ => tonic::Status::unimplemented("").into_http(),
            })
        })
    }
}

/// Serves the echo service with the server layer on a free loopback port.
async fn serve(instrumentation: Instrumentation) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let incoming = tonic::transport::server::TcpIncoming::from(listener);
    tokio::spawn(
        Server::builder()
            .accept_http1(true)
            .layer(TraceLayer::new(instrumentation))
            .add_service(EchoService)
            .serve_with_incoming(incoming),
    );
    addr
}

type Client = tonic::client::Grpc<TraceClientService<Channel>>;

/// A channel to `addr` through the client layer.
async fn client(instrumentation: Instrumentation, addr: SocketAddr) -> Client {
    let endpoint = Endpoint::from_shared(format!("http://{addr}")).unwrap();
    let channel = endpoint.connect().await.unwrap();
    let traced = ServiceBuilder::new()
        .layer(TraceClientLayer::new(instrumentation).server_uri(endpoint.uri()))
        .service(channel);
    tonic::client::Grpc::new(traced)
}

fn request(text: &str, code: Code) -> EchoRequest {
    EchoRequest {
        text: text.to_string(),
        code: code as i32,
        ..EchoRequest::default()
    }
}

async fn unary(
    client: &mut Client,
    path: &'static str,
    message: EchoRequest,
) -> Result<EchoReply, tonic::Status> {
    client.ready().await.unwrap();
    client
        .unary(
            tonic::Request::new(message),
            PathAndQuery::from_static(path),
            ProstCodec::<EchoRequest, EchoReply>::default(),
        )
        .await
        .map(tonic::Response::into_inner)
}

fn status_code(span: &SpanData) -> Option<String> {
    attr_str(span, "rpc.grpc.status_code")
}

fn is_error(span: &SpanData) -> bool {
    matches!(span.status, Status::Error { .. })
}

#[tokio::test]
async fn a_unary_call_is_one_trace_across_client_and_server() {
    let (_ts, server_instr, server_spans_exporter) = telemetry("echo-server");
    let (_tc, client_instr, client_spans) = telemetry("echo-client");
    let addr = serve(server_instr).await;
    let mut client = client(client_instr.clone(), addr).await;

    let parent = client_instr.tracer().start("checkout");
    let cx = opentelemetry::Context::current_with_span(parent);
    let reply = {
        let _attached = cx.clone().attach();
        unary(&mut client, ECHO, request("hello", Code::Ok)).await
    }
    .unwrap();
    cx.span().end();

    // A request that is not gRPC (plain HTTP/1.1, no application/grpc) passes without a span.
    let plain = reqwest::get(format!("http://{addr}{ECHO}")).await.unwrap();
    assert!(
        plain.headers().contains_key("grpc-status"),
        "answered by the service"
    );

    let client_spans = wait_for_spans(&client_spans, 2).await;
    let server_spans = wait_for_spans(&server_spans_exporter, 1).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        spans(&server_spans_exporter).len(),
        1,
        "no span for the plain request"
    );
    let checkout = named(&client_spans, "checkout");
    let call = named(&client_spans, "tracewell.test.Echo/Echo");
    let served = named(&server_spans, "tracewell.test.Echo/Echo");

    // One trace: checkout → client span → server span, and the handler ran inside the server span.
    assert_eq!(reply.text, format!("hello {}", trace_of(checkout)));
    assert_eq!(trace_of(call), trace_of(checkout));
    assert_eq!(trace_of(served), trace_of(checkout));
    assert_eq!(call.parent_span_id, id_of(checkout));
    assert_eq!(served.parent_span_id, id_of(call));
    assert!(served.parent_span_is_remote);

    assert_eq!(call.span_kind, SpanKind::Client);
    assert_eq!(served.span_kind, SpanKind::Server);
    for span in [call, served] {
        assert_eq!(attr_str(span, "rpc.system").as_deref(), Some("grpc"));
        assert_eq!(attr_str(span, "rpc.service").as_deref(), Some(SERVICE));
        assert_eq!(attr_str(span, "rpc.method").as_deref(), Some("Echo"));
        assert_eq!(status_code(span).as_deref(), Some("0"));
        assert_eq!(attr(span, "rpc.grpc.status_code"), Some(0_i64.into()));
        assert_eq!(span.status, Status::Unset);
        assert_eq!(
            attr_str(span, "server.address").as_deref(),
            Some("127.0.0.1")
        );
        assert_eq!(attr_str(span, "server.port"), Some(addr.port().to_string()));
        assert_eq!(attr_str(span, "error.type"), None);
    }
    assert_eq!(
        attr_str(served, "client.address").as_deref(),
        Some("127.0.0.1")
    );
    assert!(attr(served, "client.port").is_some());
}

#[tokio::test]
async fn status_codes_make_errors_by_side() {
    let (_ts, server_instr, server_spans) = telemetry("echo-server");
    let (_tc, client_instr, client_spans) = telemetry("echo-client");
    let addr = serve(server_instr).await;
    let mut client = client(client_instr, addr).await;

    // NOT_FOUND is the caller's problem: an error for the client, not for the server.
    let status = unary(&mut client, ECHO, request("a", Code::NotFound))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    // INTERNAL is an error on both sides.
    let status = unary(&mut client, ECHO, request("b", Code::Internal))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Internal);
    // A method the server does not know: UNIMPLEMENTED, and the server span is not named after it.
    let status = unary(
        &mut client,
        "/tracewell.test.Echo/Nope",
        request("c", Code::Ok),
    )
    .await
    .unwrap_err();
    assert_eq!(status.code(), Code::Unimplemented);

    let client_spans = wait_for_spans(&client_spans, 3).await;
    let server_spans = wait_for_spans(&server_spans, 3).await;
    let by_code = |spans: &[SpanData], code: &str| -> SpanData {
        let found: Vec<_> = spans
            .iter()
            .filter(|s| status_code(s).as_deref() == Some(code))
            .collect();
        assert_eq!(found.len(), 1, "one span with code {code}");
        found[0].clone()
    };

    let (client_nf, server_nf) = (by_code(&client_spans, "5"), by_code(&server_spans, "5"));
    assert!(is_error(&client_nf));
    assert_eq!(
        attr_str(&client_nf, "error.type").as_deref(),
        Some("NOT_FOUND")
    );
    assert_eq!(
        client_nf.status,
        Status::error("failing with 5"),
        "the description is the grpc-message"
    );
    assert_eq!(server_nf.status, Status::Unset);
    assert_eq!(attr_str(&server_nf, "error.type"), None);
    assert_eq!(server_nf.parent_span_id, id_of(&client_nf));

    let (client_int, server_int) = (by_code(&client_spans, "13"), by_code(&server_spans, "13"));
    assert!(is_error(&client_int));
    assert!(is_error(&server_int));
    assert_eq!(
        attr_str(&server_int, "error.type").as_deref(),
        Some("INTERNAL")
    );
    assert_eq!(server_int.name, "tracewell.test.Echo/Echo");

    let (client_unimpl, server_unimpl) =
        (by_code(&client_spans, "12"), by_code(&server_spans, "12"));
    assert_eq!(client_unimpl.name, "tracewell.test.Echo/Nope");
    assert!(is_error(&client_unimpl));
    assert_eq!(server_unimpl.name, "grpc");
    assert!(is_error(&server_unimpl));
    assert_eq!(
        attr_str(&server_unimpl, "error.type").as_deref(),
        Some("UNIMPLEMENTED")
    );
}

#[tokio::test]
async fn a_stream_ends_its_spans_with_the_status_in_its_trailers() {
    let (_ts, server_instr, server_spans) = telemetry("echo-server");
    let (_tc, client_instr, client_spans) = telemetry("echo-client");
    let addr = serve(server_instr).await;
    let mut client = client(client_instr, addr).await;

    async fn count(
        client: &mut Client,
        count: u32,
        code: Code,
    ) -> (Vec<String>, Option<tonic::Status>) {
        client.ready().await.unwrap();
        let message = EchoRequest {
            count,
            code: code as i32,
            ..EchoRequest::default()
        };
        let mut stream = client
            .server_streaming(
                tonic::Request::new(message),
                PathAndQuery::from_static(COUNT),
                ProstCodec::<EchoRequest, EchoReply>::default(),
            )
            .await
            .unwrap()
            .into_inner();
        let mut received = Vec::new();
        loop {
            match stream.message().await {
                Ok(Some(reply)) => received.push(reply.text),
                Ok(None) => return (received, None),
                Err(status) => return (received, Some(status)),
            }
        }
    }

    let (received, end) = count(&mut client, 3, Code::Ok).await;
    assert_eq!(received, ["0", "1", "2"]);
    assert!(end.is_none());
    // The status comes after two messages, in the trailers: not a trailers-only response.
    let (received, end) = count(&mut client, 2, Code::DataLoss).await;
    assert_eq!(received, ["0", "1"]);
    assert_eq!(end.map(|s| s.code()), Some(Code::DataLoss));

    let client_spans = wait_for_spans(&client_spans, 2).await;
    let server_spans = wait_for_spans(&server_spans, 2).await;
    for spans in [&client_spans, &server_spans] {
        let streams = all_named(spans, "tracewell.test.Echo/Count");
        assert_eq!(streams.len(), 2);
        let ok = streams
            .iter()
            .find(|s| status_code(s).as_deref() == Some("0"))
            .unwrap();
        assert_eq!(ok.status, Status::Unset);
        let lost = streams
            .iter()
            .find(|s| status_code(s).as_deref() == Some("15"))
            .unwrap();
        assert!(is_error(lost), "DATA_LOSS is an error on both sides");
        assert_eq!(attr_str(lost, "error.type").as_deref(), Some("DATA_LOSS"));
        // The span covers the stream: three messages five milliseconds apart.
        let took = ok.end_time.duration_since(ok.start_time).unwrap();
        assert!(took >= Duration::from_millis(15), "{took:?}");
    }
}

#[tokio::test]
async fn deadlines_panics_and_refused_connections() {
    let (_ts, server_instr, server_spans) = telemetry("echo-server");
    let (_tc, client_instr, client_spans) = telemetry("echo-client");
    let addr = serve(server_instr).await;
    let mut client = client(client_instr.clone(), addr).await;

    // The caller's deadline passes while the handler sleeps: tonic's server drops the call (and
    // answers CANCELLED); the server span says DEADLINE_EXCEEDED, an error on the server.
    let mut slow = tonic::Request::new(EchoRequest {
        sleep_ms: 2_000,
        ..EchoRequest::default()
    });
    slow.set_timeout(Duration::from_millis(100));
    client.ready().await.unwrap();
    let status = client
        .unary(
            slow,
            PathAndQuery::from_static(ECHO),
            ProstCodec::<EchoRequest, EchoReply>::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Cancelled);

    // A panicking handler: recorded on the server span; the caller gets an error.
    let panicking = EchoRequest {
        panic: true,
        ..EchoRequest::default()
    };
    assert!(unary(&mut client, ECHO, panicking).await.is_err());

    // Nobody listens: the transport error is UNAVAILABLE, as tonic tells the caller.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let endpoint = Endpoint::from_shared(format!("http://{closed}")).unwrap();
    let mut refused = tonic::client::Grpc::new(
        ServiceBuilder::new()
            .layer(TraceClientLayer::new(client_instr).server_uri(endpoint.uri()))
            .service(endpoint.connect_lazy()),
    );
    let status = unary(&mut refused, ECHO, request("x", Code::Ok))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);

    let server_spans = wait_for_spans(&server_spans, 2).await;
    let client_spans = wait_for_spans(&client_spans, 3).await;
    let late = server_spans
        .iter()
        .find(|s| status_code(s).as_deref() == Some("4"))
        .expect("a DEADLINE_EXCEEDED server span");
    assert!(is_error(late));
    assert_eq!(
        attr_str(late, "error.type").as_deref(),
        Some("DEADLINE_EXCEEDED")
    );
    let took = late.end_time.duration_since(late.start_time).unwrap();
    assert!(
        took < Duration::from_millis(1_500),
        "ended at the deadline: {took:?}"
    );
    let cancelled = client_spans
        .iter()
        .find(|s| status_code(s).as_deref() == Some("1"))
        .expect("the client span of the late call");
    assert!(is_error(cancelled));
    assert_eq!(late.parent_span_id, id_of(cancelled));

    let panicked = server_spans
        .iter()
        .find(|s| attr_str(s, "error.type").as_deref() == Some("panic"))
        .expect("the panicking call's server span");
    match &panicked.status {
        Status::Error { description } => assert!(description.contains("echo exploded")),
        other => panic!("panic span status {other:?}"),
    }
    assert!(panicked.events.iter().any(|e| e.name == "exception"));

    let unavailable = client_spans
        .iter()
        .find(|s| status_code(s).as_deref() == Some("14"))
        .expect("the refused call's client span");
    assert!(is_error(unavailable));
    assert_eq!(
        attr_str(unavailable, "error.type").as_deref(),
        Some("UNAVAILABLE")
    );
    assert_eq!(
        attr_str(unavailable, "server.port"),
        Some(closed.port().to_string())
    );
}

#[tokio::test]
async fn the_configured_propagator_carries_the_context() {
    let b3 = |service: &str| {
        let exporter = opentelemetry_sdk::trace::InMemorySpanExporter::default();
        let telemetry = Builder::new()
            .service_name(service)
            .without_otlp()
            .env(|_| None)
            .propagators("b3multi")
            .span_processor(opentelemetry_sdk::trace::SimpleSpanProcessor::new(
                exporter.clone(),
            ))
            .build()
            .unwrap();
        let instrumentation = Instrumentation::from_telemetry(&telemetry);
        (telemetry, instrumentation, exporter)
    };
    let (_ts, server_instr, server_spans) = b3("echo-server");
    let (_tc, client_instr, client_spans) = b3("echo-client");
    let addr = serve(server_instr).await;
    let mut client = client(client_instr, addr).await;
    unary(&mut client, ECHO, request("b3", Code::Ok))
        .await
        .unwrap();

    let call = wait_for_spans(&client_spans, 1).await.remove(0);
    let served = wait_for_spans(&server_spans, 1).await.remove(0);
    assert_eq!(trace_of(&served), trace_of(&call));
    assert_eq!(served.parent_span_id, id_of(&call));
}
