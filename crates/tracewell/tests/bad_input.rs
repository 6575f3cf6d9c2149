//! Bad input is answered with the right status and a message naming the problem, never with a crash: malformed
//! and oversize bodies, gzip bombs, wrong content types, invalid spans in valid batches, attribute and per-trace
//! limits, bad or unknown tenants, malformed trace ids, and malformed Zipkin.

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use common::Server;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{any_value::Value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::Event;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use serde_json::{json, Value as Json};
use tonic::codegen::http;

// ---------------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------------

const T0: u64 = 1_700_000_000_000_000_000;
const MS: u64 = 1_000_000;
const EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// `google.rpc.Status` without details: the body of a failed OTLP/HTTP protobuf request.
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

fn kv(key: &str, value: Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn trace_id(seed: u8) -> Vec<u8> {
    (0..16)
        .map(|i| seed.wrapping_mul(37).wrapping_add(i * 11 + 3))
        .collect()
}

fn span_id(n: u8) -> Vec<u8> {
    vec![0xb0, 0, 0, 0, 0, 0, 1, n]
}

fn span(trace: &[u8], id: &[u8], name: &str, start: u64, end: u64) -> Span {
    Span {
        trace_id: trace.to_vec(),
        span_id: id.to_vec(),
        name: name.into(),
        kind: 1,
        start_time_unix_nano: start,
        end_time_unix_nano: end,
        ..Default::default()
    }
}

fn request(spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv("service.name", Value::StringValue("bad-input".into()))],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            schema_url: String::new(),
        }],
    }
}

/// A small valid request: one span of its own trace.
fn valid_request(seed: u8) -> ExportTraceServiceRequest {
    request(vec![span(
        &trace_id(seed),
        &span_id(1),
        "valid",
        T0,
        T0 + MS,
    )])
}

/// Three valid spans of `trace_id(seed)` interleaved with three invalid ones: an all-zero trace id, an all-zero
/// span id, and an end before the start.
fn batch_with_invalid_spans(seed: u8) -> ExportTraceServiceRequest {
    let trace = trace_id(seed);
    request(vec![
        span(&trace, &span_id(1), "valid one", T0, T0 + 5 * MS),
        span(&[0; 16], &span_id(2), "zero trace id", T0, T0 + MS),
        span(&trace, &[0; 8], "zero span id", T0, T0 + MS),
        span(
            &trace,
            &span_id(4),
            "ends before it starts",
            T0 + 2 * MS,
            T0 + MS,
        ),
        span(&trace, &span_id(5), "valid two", T0 + MS, T0 + 2 * MS),
        span(&trace, &span_id(6), "valid three", T0 + 3 * MS, T0 + 4 * MS),
    ])
}

/// A request of about `bytes` bytes: one span with one large string attribute.
fn request_of_size(seed: u8, bytes: usize) -> ExportTraceServiceRequest {
    let mut span = span(&trace_id(seed), &span_id(1), "huge", T0, T0 + MS);
    span.attributes
        .push(kv("payload", Value::StringValue("x".repeat(bytes))));
    request(vec![span])
}

fn client() -> reqwest::Client {
    // A hang guard only: nothing here asserts on timing.
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

async fn post(
    url: String,
    content_type: &str,
    extra: &[(&str, &str)],
    body: Vec<u8>,
) -> reqwest::Response {
    let mut request = client()
        .post(url)
        .header("Content-Type", content_type)
        .body(body);
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    request.send().await.expect("request")
}

async fn post_protobuf(
    server: &Server,
    extra: &[(&str, &str)],
    req: &ExportTraceServiceRequest,
) -> reqwest::Response {
    post(
        server.otlp_http_url(),
        "application/x-protobuf",
        extra,
        req.encode_to_vec(),
    )
    .await
}

async fn post_json(
    server: &Server,
    extra: &[(&str, &str)],
    req: &ExportTraceServiceRequest,
) -> reqwest::Response {
    post(
        server.otlp_http_url(),
        "application/json",
        extra,
        serde_json::to_vec(req).unwrap(),
    )
    .await
}

/// Status and decoded `google.rpc.Status` of a failed OTLP/HTTP protobuf request.
async fn protobuf_error(response: reqwest::Response) -> (u16, RpcStatus) {
    let status = response.status().as_u16();
    assert_eq!(
        response.headers()["content-type"],
        "application/x-protobuf",
        "errors answer in the request's format"
    );
    let body = response.bytes().await.unwrap();
    (
        status,
        RpcStatus::decode(body).expect("a google.rpc.Status body"),
    )
}

/// Status and JSON body of a response.
async fn json_body(response: reqwest::Response) -> (u16, Json) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text:?}")),
    )
}

/// The `message` of an ingest error body, `{"code": <grpc code>, "message": "..."}`.
fn message(body: &Json) -> &str {
    body["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no message in {body}"))
}

async fn get_trace_as(server: &Server, trace: &str, tenant: Option<&str>) -> (u16, Json) {
    let mut request = client().get(server.url(&format!("/api/v1/traces/{trace}")));
    if let Some(tenant) = tenant {
        request = request.header("X-Scope-OrgID", tenant);
    }
    json_body(request.send().await.expect("GET trace")).await
}

/// Names of the spans of a read-API body, sorted.
fn span_names(body: &Json) -> Vec<String> {
    let mut names: Vec<String> = body["resourceSpans"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|rs| rs["scopeSpans"].as_array().unwrap())
        .flat_map(|ss| ss["spans"].as_array().unwrap())
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

async fn grpc_client(server: &Server) -> TraceServiceClient<tonic::transport::Channel> {
    TraceServiceClient::connect(server.otlp_grpc_url())
        .await
        .expect("connect to the OTLP gRPC port")
}

async fn export_grpc(
    server: &Server,
    tenant: Option<&str>,
    req: ExportTraceServiceRequest,
) -> Result<ExportTraceServiceResponse, tonic::Status> {
    let mut request = tonic::Request::new(req);
    if let Some(tenant) = tenant {
        request
            .metadata_mut()
            .insert("x-scope-orgid", tenant.parse().unwrap());
    }
    grpc_client(server)
        .await
        .export(request)
        .await
        .map(tonic::Response::into_inner)
}

/// Sends one gRPC message frame whose bytes are given as is (`compressed` sets the frame's compression flag and
/// `grpc-encoding: gzip`), bypassing every client-side encoder, and returns the call's status.
async fn raw_grpc_export(server: &Server, payload: Vec<u8>, compressed: bool) -> tonic::Status {
    use tonic::client::GrpcService;
    use tonic::codegen::Body as _;

    let mut channel = tonic::transport::Endpoint::from_shared(server.otlp_grpc_url())
        .unwrap()
        .connect()
        .await
        .expect("connect to the OTLP gRPC port");
    let mut frame = Vec::with_capacity(payload.len() + 5);
    frame.push(u8::from(compressed));
    frame.extend_from_slice(&u32::try_from(payload.len()).unwrap().to_be_bytes());
    frame.extend_from_slice(&payload);
    let mut request = http::Request::builder()
        .method("POST")
        .uri(format!("{}{EXPORT_PATH}", server.otlp_grpc_url()))
        .header("content-type", "application/grpc")
        .header("te", "trailers");
    if compressed {
        request = request.header("grpc-encoding", "gzip");
    }
    let request = request
        .body(tonic::body::Body::new(axum::body::Body::from(frame)))
        .unwrap();
    std::future::poll_fn(|cx| channel.poll_ready(cx))
        .await
        .expect("channel ready");
    let response = channel.call(request).await.expect("HTTP/2 response");
    if let Some(status) = tonic::Status::from_header_map(response.headers()) {
        return status; // a trailers-only response
    }
    let mut body = std::pin::pin!(response.into_body());
    loop {
        match std::future::poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
            Some(Ok(frame)) => {
                if let Ok(trailers) = frame.into_trailers() {
                    return tonic::Status::from_header_map(&trailers)
                        .expect("grpc-status in the trailers");
                }
            }
            Some(Err(error)) => panic!("reading the gRPC response: {error}"),
            None => panic!("gRPC response without a grpc-status"),
        }
    }
}

/// A gzip stream of `mib` MiB of zeros, built without holding them: 1 MiB is deflated once with a full flush
/// (which byte-aligns the output and resets the dictionary, so the segment decodes on its own) and the segment
/// is repeated. About 1 KB per MiB.
fn gzip_bomb(mib: usize) -> Vec<u8> {
    use flate2::{Compress, Compression, Crc, FlushCompress};

    let zeros = vec![0u8; 1 << 20];
    let mut deflate = Compress::new(Compression::best(), false);
    let mut segment = Vec::with_capacity(4096);
    loop {
        let consumed = deflate.total_in() as usize;
        deflate
            .compress_vec(&zeros[consumed..], &mut segment, FlushCompress::Full)
            .unwrap();
        if deflate.total_in() as usize == zeros.len() && segment.len() < segment.capacity() {
            break;
        }
        segment.reserve(4096);
    }
    let mut last = Vec::with_capacity(64);
    deflate
        .compress_vec(&[], &mut last, FlushCompress::Finish)
        .unwrap();

    let mut chunk_crc = Crc::new();
    chunk_crc.update(&zeros);
    let mut crc = Crc::new();
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    for _ in 0..mib {
        out.extend_from_slice(&segment);
        crc.combine(&chunk_crc);
    }
    out.extend_from_slice(&last);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    out.extend_from_slice(&((mib as u64 * (1 << 20)) as u32).to_le_bytes());
    out
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

/// Asserts the server still accepts and serves a span on every receiver after bad input.
async fn assert_still_serving(server: &Server, seed: u8) {
    let metrics = reqwest::get(server.url("/metrics")).await.expect("metrics");
    assert_eq!(metrics.status(), 200);
    assert!(metrics
        .text()
        .await
        .unwrap()
        .contains("tracewell_received_spans"));
    let response = post_protobuf(server, &[], &valid_request(seed)).await;
    assert_eq!(response.status(), 200);
    let response = post_json(server, &[], &valid_request(seed.wrapping_add(1))).await;
    assert_eq!(response.status(), 200);
    let grpc = export_grpc(server, None, valid_request(seed.wrapping_add(2)))
        .await
        .expect("gRPC export");
    assert_eq!(grpc.partial_success, None);
    let zipkin = format!(
        r#"[{{"traceId":"{}","id":"00000000000000a1","name":"zipkin after","timestamp":1700000000000000,"duration":5}}]"#,
        hex::encode(trace_id(seed.wrapping_add(3)))
    );
    let response = post(
        server.zipkin_url(),
        "application/json",
        &[],
        zipkin.into_bytes(),
    )
    .await;
    assert_eq!(response.status(), 202);
    for i in 0..4 {
        let (status, body) = server
            .get_trace(&hex::encode(trace_id(seed.wrapping_add(i))))
            .await;
        assert_eq!(status, 200, "{body}");
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Malformed bodies
// ---------------------------------------------------------------------------------------------------------------

/// Flips a few random bytes of `data`, or cuts it short.
fn mutate(rng: &mut rand::rngs::StdRng, data: &[u8]) -> Vec<u8> {
    use rand::Rng;
    let mut out = data.to_vec();
    if rng.random_bool(0.2) {
        out.truncate(rng.random_range(0..data.len()));
        return out;
    }
    for _ in 0..rng.random_range(1..5) {
        let i = rng.random_range(0..out.len());
        out[i] = rng.random();
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutated_requests_never_get_a_server_error_on_any_receiver() {
    use rand::SeedableRng;
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]).await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x7ace_0e11);
    let mut full = batch_with_invalid_spans(141);
    full.resource_spans
        .extend(valid_request(142).resource_spans);
    let protobuf = full.encode_to_vec();
    let json = serde_json::to_vec(&full).unwrap();
    let zipkin = std::fs::read(common::fixture("zipkin/yelp.json")).unwrap();
    for round in 0..150 {
        let body = mutate(&mut rng, &protobuf);
        let status = post(
            server.otlp_http_url(),
            "application/x-protobuf",
            &[],
            body.clone(),
        )
        .await
        .status();
        assert!(
            [200, 400].contains(&status.as_u16()),
            "round {round}: protobuf answered {status}"
        );
        let status = raw_grpc_export(&server, body, false).await;
        assert!(
            [tonic::Code::Ok, tonic::Code::InvalidArgument].contains(&status.code()),
            "round {round}: gRPC answered {status:?}"
        );
        let body = mutate(&mut rng, &json);
        let status = post(server.otlp_http_url(), "application/json", &[], body)
            .await
            .status();
        assert!(
            [200, 400].contains(&status.as_u16()),
            "round {round}: JSON answered {status}"
        );
        let body = mutate(&mut rng, &zipkin);
        let status = post(server.zipkin_url(), "application/json", &[], body)
            .await
            .status();
        assert!(
            [202, 400].contains(&status.as_u16()),
            "round {round}: Zipkin answered {status}"
        );
    }
    assert_still_serving(&server, 143).await;
}

#[tokio::test]
async fn malformed_otlp_http_bodies_are_refused_with_400_naming_the_format() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]).await;

    // Field 1 (resource_spans) claims far more bytes than follow.
    let truncated = vec![0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x02];
    let response = post(
        server.otlp_http_url(),
        "application/x-protobuf",
        &[],
        truncated,
    )
    .await;
    let (status, error) = protobuf_error(response).await;
    assert_eq!(status, 400);
    assert_eq!(error.code, tonic::Code::InvalidArgument as i32);
    assert!(
        error.message.to_lowercase().contains("protobuf"),
        "{error:?}"
    );

    // A wire type that does not exist (7).
    let response = post(
        server.otlp_http_url(),
        "application/x-protobuf",
        &[],
        vec![0x0f, 0x00],
    )
    .await;
    let (status, error) = protobuf_error(response).await;
    assert_eq!(status, 400);
    assert!(
        error.message.to_lowercase().contains("protobuf"),
        "{error:?}"
    );

    // Gzip that is not gzip.
    let response = post(
        server.otlp_http_url(),
        "application/x-protobuf",
        &[("Content-Encoding", "gzip")],
        b"nope".to_vec(),
    )
    .await;
    let (status, error) = protobuf_error(response).await;
    assert_eq!(status, 400);
    assert!(error.message.contains("compressed"), "{error:?}");

    for (what, body) in [
        (
            "truncated JSON",
            r#"{"resourceSpans": [{"scopeSpans": ["#.to_owned(),
        ),
        ("not JSON at all", "resourceSpans=1".to_owned()),
        (
            "a span id that is not hex",
            r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"spanId":"xyz"}]}]}]}"#.to_owned(),
        ),
        (
            "a string where a list belongs",
            r#"{"resourceSpans": "many"}"#.to_owned(),
        ),
    ] {
        let response = post(
            server.otlp_http_url(),
            "application/json",
            &[],
            body.into_bytes(),
        )
        .await;
        let (status, body) = json_body(response).await;
        assert_eq!(status, 400, "{what}: {body}");
        assert_eq!(
            body["code"],
            tonic::Code::InvalidArgument as i32,
            "{what}: {body}"
        );
        assert!(message(&body).contains("JSON"), "{what}: {body}");
    }

    assert_still_serving(&server, 10).await;
}

#[tokio::test]
async fn garbage_sent_over_grpc_is_refused_with_a_decode_error() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]).await;

    let status = raw_grpc_export(
        &server,
        vec![0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x02],
        false,
    )
    .await;
    // OTLP: a request that cannot be decoded is INVALID_ARGUMENT (not retryable), with a message saying why.
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    assert!(
        status.message().contains("invalid OTLP protobuf"),
        "{status:?}"
    );

    // A compressed frame that is not gzip.
    let status = raw_grpc_export(&server, b"not gzip at all".to_vec(), true).await;
    assert_ne!(status.code(), tonic::Code::Ok, "{status:?}");
    assert!(
        status.message().to_lowercase().contains("decompress"),
        "{status:?}"
    );

    // The raw path works: a well-formed message sent the same way is accepted.
    let status = raw_grpc_export(&server, valid_request(20).encode_to_vec(), false).await;
    assert_eq!(status.code(), tonic::Code::Ok, "{status:?}");
    let status = raw_grpc_export(&server, gzip(&valid_request(21).encode_to_vec()), true).await;
    assert_eq!(status.code(), tonic::Code::Ok, "{status:?}");
    assert_eq!(server.get_trace(&hex::encode(trace_id(20))).await.0, 200);
    assert_eq!(server.get_trace(&hex::encode(trace_id(21))).await.0, 200);
    assert_still_serving(&server, 22).await;
}

#[tokio::test]
async fn wrong_content_types_are_refused_with_415() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]).await;
    let body = valid_request(30).encode_to_vec();

    for content_type in [
        "text/plain",
        "application/xml",
        "multipart/form-data; boundary=x",
    ] {
        let (status, error) =
            json_body(post(server.otlp_http_url(), content_type, &[], body.clone()).await).await;
        assert_eq!(status, 415, "{content_type}: {error}");
        assert!(message(&error).contains("content type"), "{error}");
        assert!(
            message(&error).contains(content_type),
            "the message names what was sent: {error}"
        );
    }
    let response = client()
        .post(server.otlp_http_url())
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415, "no Content-Type at all");

    let response = post(
        server.otlp_http_url(),
        "application/x-protobuf",
        &[("Content-Encoding", "br")],
        body.clone(),
    )
    .await;
    let (status, error) = protobuf_error(response).await;
    assert_eq!(status, 415, "{error:?}");
    assert!(
        error.message.contains("content encoding") && error.message.contains("br"),
        "{error:?}"
    );

    // Zipkin v2 has a protobuf encoding, but this server only takes JSON.
    let (status, error) =
        json_body(post(server.zipkin_url(), "application/x-protobuf", &[], body).await).await;
    assert_eq!(status, 415, "{error}");
    assert!(
        message(&error).contains("application/x-protobuf"),
        "{error}"
    );

    assert_eq!(
        server.get_trace(&hex::encode(trace_id(30))).await.0,
        404,
        "nothing was stored"
    );
    assert_still_serving(&server, 31).await;
}

// ---------------------------------------------------------------------------------------------------------------
// Size limits and gzip bombs
// ---------------------------------------------------------------------------------------------------------------

#[tokio::test]
async fn oversize_bodies_are_refused_and_the_server_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--max-request-bytes", "1MiB"]).await;
    let big = request_of_size(40, 2 << 20);

    let (status, error) = protobuf_error(post_protobuf(&server, &[], &big).await).await;
    assert_eq!(status, 413);
    assert!(
        error.message.contains("exceeds the limit of 1048576 bytes"),
        "{error:?}"
    );

    let (status, error) = json_body(post_json(&server, &[], &big).await).await;
    assert_eq!(status, 413, "{error}");
    assert!(message(&error).contains("1048576"), "{error}");

    let zipkin = format!(
        r#"[{{"traceId":"{}","id":"00000000000000a1","name":"{}","timestamp":1700000000000000}}]"#,
        hex::encode(trace_id(40)),
        "x".repeat(2 << 20)
    );
    let (status, error) = json_body(
        post(
            server.zipkin_url(),
            "application/json",
            &[],
            zipkin.into_bytes(),
        )
        .await,
    )
    .await;
    assert_eq!(status, 413, "{error}");
    assert!(message(&error).contains("1048576"), "{error}");

    let status = export_grpc(&server, None, big.clone())
        .await
        .expect_err("a 2 MiB export over a 1 MiB limit");
    assert_ne!(status.code(), tonic::Code::Ok);
    assert!(
        status.message().contains("too large") || status.message().contains("limit"),
        "{status:?}"
    );

    assert_eq!(
        server.get_trace(&hex::encode(trace_id(40))).await.0,
        404,
        "nothing was stored"
    );
    // Just under the limit is fine.
    let response = post_protobuf(&server, &[], &request_of_size(41, 1_000_000)).await;
    assert_eq!(response.status(), 200);
    assert_still_serving(&server, 42).await;
}

#[tokio::test]
async fn an_oversize_grpc_export_is_refused_with_a_status_otlp_clients_do_not_retry() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--max-request-bytes", "1MiB"]).await;
    let status = export_grpc(&server, None, request_of_size(45, 2 << 20))
        .await
        .expect_err("over the limit");
    // Retryable per the OTLP specification: CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE, UNAVAILABLE,
    // DATA_LOSS (and RESOURCE_EXHAUSTED with RetryInfo).
    let retryable = [
        tonic::Code::Cancelled,
        tonic::Code::DeadlineExceeded,
        tonic::Code::Aborted,
        tonic::Code::OutOfRange,
        tonic::Code::Unavailable,
        tonic::Code::DataLoss,
    ];
    assert!(!retryable.contains(&status.code()), "{status:?}");
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
}

#[tokio::test]
async fn a_gzip_bomb_is_refused_with_413_and_the_server_stays_up() {
    let dir = tempfile::tempdir().unwrap();
    // Default limits: 16 MiB, compressed and decompressed.
    let server = Server::start(dir.path(), &[]).await;

    // The bomb is well-formed: a small copy of it inflates to exactly its nominal size.
    let mut small = Vec::new();
    flate2::read::GzDecoder::new(&gzip_bomb(3)[..])
        .read_to_end(&mut small)
        .expect("a valid gzip stream");
    assert_eq!(small.len(), 3 << 20);
    assert!(small.iter().all(|b| *b == 0));

    let bomb = gzip_bomb(200);
    assert!(bomb.len() < 300 * 1024, "{} bytes", bomb.len());

    let gzip_header = [("Content-Encoding", "gzip")];
    let response = post(
        server.otlp_http_url(),
        "application/x-protobuf",
        &gzip_header,
        bomb.clone(),
    )
    .await;
    let (status, error) = protobuf_error(response).await;
    assert_eq!(status, 413);
    assert!(error.message.contains("after decompression"), "{error:?}");

    let response = post(
        server.otlp_http_url(),
        "application/json",
        &gzip_header,
        bomb.clone(),
    )
    .await;
    let (status, error) = json_body(response).await;
    assert_eq!(status, 413, "{error}");
    assert!(message(&error).contains("after decompression"), "{error}");

    let response = post(
        server.zipkin_url(),
        "application/json",
        &gzip_header,
        bomb.clone(),
    )
    .await;
    let (status, error) = json_body(response).await;
    assert_eq!(status, 413, "{error}");
    assert!(message(&error).contains("after decompression"), "{error}");

    let metrics = reqwest::get(server.url("/metrics"))
        .await
        .expect("the server is alive");
    assert_eq!(metrics.status(), 200);

    let status = raw_grpc_export(&server, bomb, true).await;
    assert_ne!(status.code(), tonic::Code::Ok, "{status:?}");
    assert!(status.message().contains("size limit"), "{status:?}");

    assert_still_serving(&server, 50).await;
}

// ---------------------------------------------------------------------------------------------------------------
// Invalid spans and limits
// ---------------------------------------------------------------------------------------------------------------

/// Asserts a partial success that rejected the three invalid spans of [`batch_with_invalid_spans`].
fn assert_three_rejected(receiver: &str, partial: Option<ExportTracePartialSuccess>) {
    let partial = partial.unwrap_or_else(|| panic!("{receiver}: no partial_success"));
    assert_eq!(partial.rejected_spans, 3, "{receiver}: {partial:?}");
    let message = &partial.error_message;
    assert!(
        message.contains("3 span(s) rejected"),
        "{receiver}: {message}"
    );
    // The first rejected span, named with its reason.
    assert!(
        message.contains("zero trace id") && message.contains("trace id must be 16 bytes"),
        "{receiver}: {message}"
    );
}

#[tokio::test]
async fn invalid_spans_are_rejected_one_by_one_while_the_valid_ones_are_stored() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]).await;

    let response = post_protobuf(&server, &[], &batch_with_invalid_spans(60)).await;
    assert_eq!(response.status(), 200);
    let decoded = ExportTraceServiceResponse::decode(response.bytes().await.unwrap()).unwrap();
    assert_three_rejected("otlp/http protobuf", decoded.partial_success);

    let (status, body) =
        json_body(post_json(&server, &[], &batch_with_invalid_spans(61)).await).await;
    assert_eq!(status, 200, "{body}");
    let partial = &body["partialSuccess"];
    // proto3 JSON writes int64 as a string; a number is accepted by every OTLP/JSON reader too.
    let rejected = partial["rejectedSpans"]
        .as_i64()
        .or_else(|| partial["rejectedSpans"].as_str()?.parse().ok());
    assert_three_rejected(
        "otlp/http json",
        Some(ExportTracePartialSuccess {
            rejected_spans: rejected.unwrap_or_else(|| panic!("rejectedSpans in {body}")),
            error_message: partial["errorMessage"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        }),
    );

    let response = export_grpc(&server, None, batch_with_invalid_spans(62))
        .await
        .expect("gRPC export");
    assert_three_rejected("otlp/grpc", response.partial_success);

    for seed in [60, 61, 62] {
        let (status, body) = server.get_trace(&hex::encode(trace_id(seed))).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            span_names(&body),
            ["valid one", "valid three", "valid two"],
            "{body:#}"
        );
    }
    let (status, body) = server.get_trace(&"0".repeat(32)).await;
    assert_eq!(
        status, 400,
        "the all-zero trace id is not even a valid query: {body}"
    );

    let metrics = server.metrics().await;
    for reason in ["invalid_trace_id", "invalid_span_id", "end_before_start"] {
        for (receiver, count) in [("otlp_http", 2.0), ("otlp_grpc", 1.0)] {
            let series = format!(
                r#"tracewell_rejected_spans_total{{receiver="{receiver}",reason="{reason}"}}"#
            );
            assert_eq!(
                server.metric(&series).await,
                count,
                "{series} in\n{metrics}"
            );
        }
    }
    assert_eq!(
        server
            .metric(r#"tracewell_accepted_spans_total{receiver="otlp_http"}"#)
            .await,
        6.0,
        "{metrics}"
    );
    assert_eq!(
        server
            .metric(r#"tracewell_accepted_spans_total{receiver="otlp_grpc"}"#)
            .await,
        3.0,
        "{metrics}"
    );
    assert_eq!(
        server
            .metric(r#"tracewell_received_spans_total{receiver="otlp_http"}"#)
            .await,
        12.0,
        "{metrics}"
    );
    assert_eq!(
        server
            .metric(r#"tracewell_export_requests_total{receiver="otlp_grpc",outcome="partial"}"#)
            .await,
        1.0,
        "{metrics}"
    );
}

#[tokio::test]
async fn zipkin_spans_that_fail_validation_are_reported_in_headers() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]).await;
    let trace = hex::encode(trace_id(65));
    let body = format!(
        r#"[
            {{"traceId":"{trace}","id":"00000000000000a1","name":"valid","timestamp":1700000000000000,"duration":10}},
            {{"traceId":"00000000000000000000000000000000","id":"00000000000000a2","name":"zero trace","timestamp":1700000000000000}},
            {{"traceId":"{trace}","id":"0000000000000000","name":"zero id","timestamp":1700000000000000}}
        ]"#
    );
    let response = post(
        server.zipkin_url(),
        "application/json",
        &[],
        body.into_bytes(),
    )
    .await;
    assert_eq!(response.status(), 202);
    assert_eq!(response.headers()["x-tracewell-rejected-spans"], "2");
    let reason = response.headers()["x-tracewell-rejected-reason"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(reason.contains("trace id must be 16 bytes"), "{reason}");
    let (status, body) = server.get_trace(&trace).await;
    assert_eq!(status, 200);
    assert_eq!(span_names(&body), ["valid"]);
    assert_eq!(
        server
            .metric(r#"tracewell_rejected_spans_total{receiver="zipkin",reason="invalid_span_id"}"#)
            .await,
        1.0
    );
}

#[tokio::test]
async fn attributes_beyond_the_limits_are_dropped_and_long_values_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        &[
            "--max-attributes-per-span",
            "4",
            "--max-attribute-value-bytes",
            "10",
        ],
    )
    .await;
    let trace = trace_id(70);
    let mut s = span(&trace, &span_id(1), "limited", T0, T0 + MS);
    s.attributes = vec![
        kv("long", Value::StringValue("x".repeat(100))),
        kv("count", Value::IntValue(7)),
        // 'a' then 2-byte characters: 10 bytes would split a character, so 9 are kept.
        kv(
            "accented",
            Value::StringValue(format!("a{}", "é".repeat(20))),
        ),
        kv("blob", Value::BytesValue((0..20).collect())),
        kv("fifth", Value::BoolValue(true)),
        kv("sixth", Value::StringValue("dropped".into())),
    ];
    s.events = vec![Event {
        time_unix_nano: T0,
        name: "event".into(),
        attributes: (0..6)
            .map(|i| kv(&format!("e{i}"), Value::IntValue(i)))
            .collect(),
        dropped_attributes_count: 1,
    }];
    let mut req = request(vec![s]);
    let resource = req.resource_spans[0].resource.as_mut().unwrap();
    resource
        .attributes
        .extend((0..5).map(|i| kv(&format!("r{i}"), Value::StringValue("0123456789abc".into()))));

    let response = post_protobuf(&server, &[], &req).await;
    assert_eq!(response.status(), 200);
    let decoded = ExportTraceServiceResponse::decode(response.bytes().await.unwrap()).unwrap();
    assert_eq!(decoded.partial_success, None, "limits do not reject spans");

    let (status, body) = server.get_trace(&hex::encode(&trace)).await;
    assert_eq!(status, 200, "{body}");
    let span = &body["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
    assert_eq!(
        span["attributes"],
        json!([
            {"key": "long", "value": {"stringValue": "xxxxxxxxxx"}},
            {"key": "count", "value": {"intValue": "7"}},
            {"key": "accented", "value": {"stringValue": "aéééé"}},
            {"key": "blob", "value": {"bytesValue": "AAECAwQFBgcICQ=="}},
        ])
    );
    assert_eq!(span["droppedAttributesCount"], 2);
    let event = &span["events"][0];
    assert_eq!(event["attributes"].as_array().unwrap().len(), 4, "{event}");
    assert_eq!(
        event["droppedAttributesCount"], 3,
        "1 dropped by the client plus 2 here: {event}"
    );
    let resource = &body["resourceSpans"][0]["resource"];
    assert_eq!(
        resource["attributes"],
        json!([
            {"key": "service.name", "value": {"stringValue": "bad-input"}},
            {"key": "r0", "value": {"stringValue": "0123456789"}},
            {"key": "r1", "value": {"stringValue": "0123456789"}},
            {"key": "r2", "value": {"stringValue": "0123456789"}},
        ])
    );
    assert_eq!(resource["droppedAttributesCount"], 2);

    assert_eq!(
        server.metric("tracewell_dropped_attributes_total").await,
        6.0,
        "{}",
        server.metrics().await
    );
    assert_eq!(
        server
            .metric("tracewell_truncated_attribute_values_total")
            .await,
        6.0,
        "{}",
        server.metrics().await
    );
}

#[tokio::test]
async fn spans_beyond_the_per_trace_limit_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--max-spans-per-trace", "5"]).await;
    let trace = trace_id(80);
    let spans = (1..=8)
        .map(|i| {
            span(
                &trace,
                &span_id(i),
                &format!("span {i}"),
                T0 + u64::from(i),
                T0 + 100,
            )
        })
        .collect();

    let response = post_protobuf(&server, &[], &request(spans)).await;
    assert_eq!(response.status(), 200);
    let partial = ExportTraceServiceResponse::decode(response.bytes().await.unwrap())
        .unwrap()
        .partial_success;
    let partial = partial.expect("partial_success");
    assert_eq!(partial.rejected_spans, 3, "{partial:?}");
    assert!(
        partial.error_message.contains("limit of 5 spans"),
        "{partial:?}"
    );

    let (status, body) = server.get_trace(&hex::encode(&trace)).await;
    assert_eq!(status, 200);
    assert_eq!(span_names(&body).len(), 5, "{body:#}");

    // The trace is full: a later span of it is rejected too, over gRPC as over HTTP.
    let late = request(vec![span(&trace, &span_id(9), "late", T0, T0 + 1)]);
    let response = export_grpc(&server, None, late).await.expect("gRPC export");
    let partial = response.partial_success.expect("partial_success");
    assert_eq!(partial.rejected_spans, 1, "{partial:?}");
    assert!(
        partial.error_message.contains("limit of 5 spans"),
        "{partial:?}"
    );
    assert_eq!(
        span_names(&server.get_trace(&hex::encode(&trace)).await.1).len(),
        5
    );
    // Other traces are not affected.
    let response = post_protobuf(&server, &[], &valid_request(81)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(server.get_trace(&hex::encode(trace_id(81))).await.0, 200);
    assert_eq!(
        server
            .metric(
                r#"tracewell_rejected_spans_total{receiver="otlp_http",reason="trace_span_limit"}"#
            )
            .await,
        3.0
    );
}

// ---------------------------------------------------------------------------------------------------------------
// Tenants
// ---------------------------------------------------------------------------------------------------------------

#[tokio::test]
async fn invalid_tenant_ids_are_refused_with_400() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]).await;
    let req = valid_request(90);

    for bad in ["../etc", "a/b", "a b", ".."] {
        let header = [("X-Scope-OrgID", bad)];
        let (status, error) = protobuf_error(post_protobuf(&server, &header, &req).await).await;
        assert_eq!(status, 400, "{bad}: {error:?}");
        assert!(error.message.contains("X-Scope-OrgID"), "{bad}: {error:?}");

        let (status, error) = json_body(post_json(&server, &header, &req).await).await;
        assert_eq!(status, 400, "{bad}: {error}");
        assert!(message(&error).contains("X-Scope-OrgID"), "{bad}: {error}");

        let zipkin =
            br#"[{"traceId":"0562809467078eab","id":"0562809467078eab","timestamp":1}]"#.to_vec();
        let (status, error) =
            json_body(post(server.zipkin_url(), "application/json", &header, zipkin).await).await;
        assert_eq!(status, 400, "{bad}: {error}");
        assert!(message(&error).contains("X-Scope-OrgID"), "{bad}: {error}");

        let (status, error) = get_trace_as(&server, &hex::encode(trace_id(90)), Some(bad)).await;
        assert_eq!(status, 400, "{bad}: {error}");
        assert_eq!(error["status"], 400);
        assert!(
            error["error"].as_str().unwrap().contains("X-Scope-OrgID"),
            "{bad}: {error}"
        );

        let status = export_grpc(&server, Some(bad), req.clone())
            .await
            .expect_err("bad tenant over gRPC");
        assert_eq!(
            status.code(),
            tonic::Code::InvalidArgument,
            "{bad}: {status:?}"
        );
        assert!(
            status.message().contains("X-Scope-OrgID"),
            "{bad}: {status:?}"
        );
    }
    // Nothing was written anywhere, and no tenant directory was created from a hostile name.
    assert_eq!(server.get_trace(&hex::encode(trace_id(90))).await.0, 404);
    assert!(!dir.path().join("etc").exists());
}

#[tokio::test]
async fn unknown_tenants_are_refused_with_403_when_tenants_are_configured() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--allowed-tenants", "acme"]).await;
    let req = valid_request(95);
    let trace = hex::encode(trace_id(95));
    let intruder = [("X-Scope-OrgID", "intruder")];

    let (status, error) = protobuf_error(post_protobuf(&server, &intruder, &req).await).await;
    assert_eq!(status, 403, "{error:?}");
    assert_eq!(error.code, tonic::Code::PermissionDenied as i32);
    assert!(error.message.contains("intruder"), "{error:?}");
    let (status, error) = json_body(post_json(&server, &intruder, &req).await).await;
    assert_eq!(status, 403, "{error}");
    assert!(message(&error).contains("unknown tenant"), "{error}");
    let zipkin =
        br#"[{"traceId":"0562809467078eab","id":"0562809467078eab","timestamp":1}]"#.to_vec();
    let (status, error) =
        json_body(post(server.zipkin_url(), "application/json", &intruder, zipkin).await).await;
    assert_eq!(status, 403, "{error}");
    let status = export_grpc(&server, Some("intruder"), req.clone())
        .await
        .expect_err("unknown tenant over gRPC");
    assert_eq!(status.code(), tonic::Code::PermissionDenied, "{status:?}");
    assert!(status.message().contains("intruder"), "{status:?}");
    // Without a header a request belongs to the default tenant, which is not in the list either.
    assert_eq!(post_protobuf(&server, &[], &req).await.status(), 403);
    let status = export_grpc(&server, None, req.clone())
        .await
        .expect_err("default tenant over gRPC");
    assert_eq!(status.code(), tonic::Code::PermissionDenied, "{status:?}");

    // The configured tenant writes and reads.
    let response = post_protobuf(&server, &[("X-Scope-OrgID", "acme")], &req).await;
    assert_eq!(response.status(), 200);
    let (status, body) = get_trace_as(&server, &trace, Some("acme")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(span_names(&body), ["valid"]);

    for reader in [Some("intruder"), None] {
        let (status, error) = get_trace_as(&server, &trace, reader).await;
        assert_eq!(status, 403, "{reader:?}: {error}");
        assert_eq!(error["status"], 403);
        assert!(
            error["error"].as_str().unwrap().contains("unknown tenant"),
            "{error}"
        );
    }
}

#[tokio::test]
async fn new_tenants_beyond_the_tenant_limit_are_refused_and_existing_ones_keep_writing() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path(), &["--max-tenants", "2"]).await;
    for (seed, tenant) in [(130, "team-a"), (131, "team-b")] {
        let response =
            post_protobuf(&server, &[("X-Scope-OrgID", tenant)], &valid_request(seed)).await;
        assert_eq!(response.status(), 200, "{tenant}");
    }
    let (status, error) = protobuf_error(
        post_protobuf(&server, &[("X-Scope-OrgID", "team-c")], &valid_request(132)).await,
    )
    .await;
    assert_eq!(status, 403, "{error:?}");
    assert!(error.message.contains("maximum of 2 tenants"), "{error:?}");
    let status = export_grpc(&server, Some("team-d"), valid_request(133))
        .await
        .expect_err("tenant limit");
    assert_eq!(status.code(), tonic::Code::PermissionDenied, "{status:?}");

    let again = post_protobuf(&server, &[("X-Scope-OrgID", "team-a")], &valid_request(134)).await;
    assert_eq!(again.status(), 200);
    // Tenants recovered from disk at start are always served, even beyond a lowered limit.
    assert!(server.terminate().success());
    let server = Server::start(dir.path(), &["--max-tenants", "1"]).await;
    let (status, body) = get_trace_as(&server, &hex::encode(trace_id(131)), Some("team-b")).await;
    assert_eq!(status, 200, "{body}");
}

// ---------------------------------------------------------------------------------------------------------------
// Read API and Zipkin
// ---------------------------------------------------------------------------------------------------------------

#[tokio::test]
async fn malformed_and_unknown_trace_ids_get_json_errors() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]).await;

    for (id, reason) in [
        ("not-a-trace-id", "32 hex"),
        ("5b8efff798038103d269b633813fc60", "32 hex"),
        ("5b8efff798038103d269b633813fc60cc", "32 hex"),
        ("zz8efff798038103d269b633813fc60c", "not hexadecimal"),
        ("zz8efff798038103", "not hexadecimal"),
        ("00000000000000000000000000000000", "all zeros"),
        ("0000000000000000", "all zeros"),
    ] {
        let (status, body) = server.get_trace(id).await;
        assert_eq!(status, 400, "{id}: {body}");
        assert_eq!(body["status"], 400, "{id}: {body}");
        let error = body["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{id}: {body}"));
        assert!(
            error.contains(id),
            "{id}: the message names the id: {error}"
        );
        assert!(error.contains(reason), "{id}: {error}");
    }

    for id in [
        "5b8efff798038103d269b633813fc60c",
        "5B8EFFF798038103D269B633813FC60C",
        "978883983d506fa5",
    ] {
        let (status, body) = server.get_trace(id).await;
        assert_eq!(status, 404, "{id}: {body}");
        assert_eq!(body["status"], 404);
        assert!(
            body["error"].as_str().unwrap().contains("not found"),
            "{id}: {body}"
        );
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .contains(&format!("{:0>32}", id.to_lowercase())),
            "{id}: {body}"
        );
    }
    assert_still_serving(&server, 100).await;
}

#[tokio::test]
async fn malformed_zipkin_bodies_are_refused_with_400_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]).await;

    let cases = [
        (
            "an object instead of an array",
            r#"{"traceId":"0562809467078eab","id":"0562809467078eab"}"#,
            "invalid Zipkin v2 JSON",
        ),
        ("not JSON", "traceId=1", "invalid Zipkin v2 JSON"),
        ("an empty body", "", "invalid Zipkin v2 JSON"),
        (
            "bad hex in the span id",
            r#"[{"traceId":"0562809467078eab","id":"zz62809467078eab"}]"#,
            "id is not valid hex",
        ),
        (
            "bad hex in the trace id",
            r#"[{"traceId":"0562809467078eag","id":"0562809467078eab"}]"#,
            "traceId is not valid hex",
        ),
        (
            "bad hex in the parent id",
            r#"[{"traceId":"0562809467078eab","id":"0562809467078eab","parentId":"xx"}]"#,
            "parentId must be 16 hex characters",
        ),
        (
            "a short trace id",
            r#"[{"traceId":"abc","id":"0562809467078eab"}]"#,
            "traceId must be 16 or 32 hex characters",
        ),
        (
            "no span id",
            r#"[{"traceId":"0562809467078eab"}]"#,
            "id is required",
        ),
        (
            "a negative duration",
            r#"[{"traceId":"0562809467078eab","id":"0562809467078eab","timestamp":1,"duration":-5}]"#,
            "duration must not be negative",
        ),
        (
            "a number as a name",
            r#"[{"traceId":"0562809467078eab","id":"0562809467078eab","name":5}]"#,
            "span 0",
        ),
    ];
    for (what, body, expected) in cases {
        let response = post(
            server.zipkin_url(),
            "application/json",
            &[],
            body.as_bytes().to_vec(),
        )
        .await;
        let (status, error) = json_body(response).await;
        assert_eq!(status, 400, "{what}: {error}");
        assert_eq!(
            error["code"],
            tonic::Code::InvalidArgument as i32,
            "{what}: {error}"
        );
        assert!(message(&error).contains(expected), "{what}: {error}");
    }
    // The second span is the bad one, and the message says so; the good first span is not stored either.
    let body = r#"[{"traceId":"0562809467078eab","id":"0562809467078eab","timestamp":1},
                   {"traceId":"0562809467078eab","id":"not-hex-at-all!!","timestamp":1}]"#;
    let (status, error) =
        json_body(post(server.zipkin_url(), "application/json", &[], body.into()).await).await;
    assert_eq!(status, 400, "{error}");
    assert!(
        message(&error).contains("span 1") && message(&error).contains("id is not valid hex"),
        "{error}"
    );
    assert_eq!(server.get_trace("0562809467078eab").await.0, 404);
    assert_still_serving(&server, 110).await;
}

#[tokio::test]
async fn a_zipkin_content_type_error_names_only_what_zipkin_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]).await;
    let response = post(
        server.zipkin_url(),
        "application/x-protobuf",
        &[],
        b"\x0a\x00".to_vec(),
    )
    .await;
    let (status, error) = json_body(response).await;
    assert_eq!(status, 415, "{error}");
    let message = message(&error);
    assert!(message.contains("application/json"), "{message}");
    assert_eq!(
        message.matches("application/x-protobuf").count(),
        1,
        "only as the type that was sent: {message}"
    );
}

#[tokio::test]
async fn refused_requests_are_counted_by_receiver_and_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        dir.path(),
        &["--max-request-bytes", "1MiB", "--allowed-tenants", "acme"],
    )
    .await;
    let acme = ("X-Scope-OrgID", "acme");
    let body = valid_request(120).encode_to_vec();
    let url = server.otlp_http_url();

    assert_eq!(
        post(
            url.clone(),
            "application/x-protobuf",
            &[acme],
            vec![0x0a, 0xff, 0x01]
        )
        .await
        .status(),
        400
    );
    assert_eq!(
        post_protobuf(&server, &[acme], &request_of_size(121, 2 << 20))
            .await
            .status(),
        413
    );
    assert_eq!(
        post(url.clone(), "text/plain", &[acme], body.clone())
            .await
            .status(),
        415
    );
    let br = [acme, ("Content-Encoding", "br")];
    assert_eq!(
        post(url.clone(), "application/x-protobuf", &br, body.clone())
            .await
            .status(),
        415
    );
    let bad = [("X-Scope-OrgID", "../etc")];
    assert_eq!(
        post(url.clone(), "application/x-protobuf", &bad, body.clone())
            .await
            .status(),
        400
    );
    let intruder = [("X-Scope-OrgID", "intruder")];
    assert_eq!(
        post(url, "application/x-protobuf", &intruder, body)
            .await
            .status(),
        403
    );
    assert_eq!(
        post(
            server.zipkin_url(),
            "application/json",
            &[acme],
            b"{}".to_vec()
        )
        .await
        .status(),
        400
    );
    let status = export_grpc(&server, Some("intruder"), valid_request(122))
        .await
        .expect_err("unknown tenant");
    assert_eq!(status.code(), tonic::Code::PermissionDenied);

    let metrics = server.metrics().await;
    for (receiver, outcome) in [
        ("otlp_http", "malformed"),
        ("otlp_http", "too_large"),
        ("otlp_http", "unsupported_media_type"),
        ("otlp_http", "unsupported_encoding"),
        ("otlp_http", "bad_tenant"),
        ("otlp_http", "unknown_tenant"),
        ("zipkin", "malformed"),
        ("otlp_grpc", "unknown_tenant"),
    ] {
        let series = format!(
            r#"tracewell_export_requests_total{{receiver="{receiver}",outcome="{outcome}"}}"#
        );
        assert_eq!(server.metric(&series).await, 1.0, "{series} in\n{metrics}");
    }
}
