//! A small OTLP receiver of the test's own, on loopback ports: OTLP/HTTP (`POST /v1/logs`, protobuf) and
//! OTLP/gRPC (`LogsService/Export`); both keep the log records they receive. Spans sent to the same
//! endpoint are counted and dropped.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use prost::Message;

/// One received log record with the names of its resource's service and its scope.
#[derive(Clone, Debug)]
pub struct Received {
    pub service: String,
    pub scope: String,
    pub record: LogRecord,
}

impl Received {
    pub fn body(&self) -> String {
        self.record.body.as_ref().map(display).unwrap_or_default()
    }

    pub fn attribute(&self, key: &str) -> Option<&Value> {
        value_of(&self.record.attributes, key)
    }

    pub fn trace_id(&self) -> String {
        hex(&self.record.trace_id)
    }

    pub fn span_id(&self) -> String {
        hex(&self.record.span_id)
    }
}

/// Everything the receiver got.
#[derive(Clone, Default)]
pub struct Receiver {
    records: Arc<Mutex<Vec<Received>>>,
    span_batches: Arc<AtomicUsize>,
}

impl Receiver {
    /// Starts OTLP/HTTP and OTLP/gRPC listeners; returns the receiver, `http://addr` of the HTTP one and
    /// `http://addr` of the gRPC one.
    pub async fn start() -> (Receiver, String, String) {
        let receiver = Receiver::default();
        let router = Router::new()
            .route("/v1/logs", post(http_logs))
            .route("/v1/traces", post(http_traces))
            .with_state(receiver.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let http: SocketAddr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let grpc: SocketAddr = listener.local_addr().unwrap();
        let services = tonic::transport::Server::builder()
            .add_service(
                LogsServiceServer::new(receiver.clone())
                    .accept_compressed(tonic::codec::CompressionEncoding::Gzip),
            )
            .add_service(
                TraceServiceServer::new(receiver.clone())
                    .accept_compressed(tonic::codec::CompressionEncoding::Gzip),
            );
        let incoming = tokio_stream_of(listener);
        tokio::spawn(async move { services.serve_with_incoming(incoming).await.unwrap() });
        (receiver, format!("http://{http}"), format!("http://{grpc}"))
    }

    pub fn records(&self) -> Vec<Received> {
        self.records.lock().unwrap().clone()
    }

    /// The records whose body is `body`.
    pub fn with_body(&self, body: &str) -> Vec<Received> {
        self.records()
            .into_iter()
            .filter(|r| r.body() == body)
            .collect()
    }

    /// The one record whose body is `body`.
    pub fn one(&self, body: &str) -> Received {
        let found = self.with_body(body);
        assert_eq!(
            found.len(),
            1,
            "exactly one record {body:?} among {:?}",
            self.records()
                .iter()
                .map(Received::body)
                .collect::<Vec<_>>()
        );
        found.into_iter().next().unwrap()
    }

    /// How many span export requests arrived.
    pub fn span_batches(&self) -> usize {
        self.span_batches.load(Ordering::Relaxed)
    }

    fn keep(&self, request: ExportLogsServiceRequest) {
        let mut records = self.records.lock().unwrap();
        for resource_logs in request.resource_logs {
            let service = resource_logs
                .resource
                .as_ref()
                .and_then(|r| value_of(&r.attributes, "service.name"))
                .map(display_value)
                .unwrap_or_default();
            for scope_logs in resource_logs.scope_logs {
                let scope = scope_logs.scope.map(|s| s.name).unwrap_or_default();
                for record in scope_logs.log_records {
                    records.push(Received {
                        service: service.clone(),
                        scope: scope.clone(),
                        record,
                    });
                }
            }
        }
    }
}

/// The listener as the stream of connections tonic serves.
fn tokio_stream_of(
    listener: tokio::net::TcpListener,
) -> impl futures::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    futures::stream::unfold(listener, |listener| async move {
        let accepted = listener.accept().await.map(|(stream, _)| stream);
        Some((accepted, listener))
    })
}

async fn http_logs(State(receiver): State<Receiver>, body: Bytes) -> (StatusCode, Vec<u8>) {
    match ExportLogsServiceRequest::decode(body) {
        Ok(request) => {
            receiver.keep(request);
            (
                StatusCode::OK,
                ExportLogsServiceResponse::default().encode_to_vec(),
            )
        }
        Err(_) => (StatusCode::BAD_REQUEST, Vec::new()),
    }
}

async fn http_traces(State(receiver): State<Receiver>, body: Bytes) -> (StatusCode, Vec<u8>) {
    match ExportTraceServiceRequest::decode(body) {
        Ok(_) => {
            receiver.span_batches.fetch_add(1, Ordering::Relaxed);
            (
                StatusCode::OK,
                ExportTraceServiceResponse::default().encode_to_vec(),
            )
        }
        Err(_) => (StatusCode::BAD_REQUEST, Vec::new()),
    }
}

#[tonic::async_trait]
impl LogsService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportLogsServiceRequest>,
    ) -> Result<tonic::Response<ExportLogsServiceResponse>, tonic::Status> {
        self.keep(request.into_inner());
        Ok(tonic::Response::new(ExportLogsServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        _request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.span_batches.fetch_add(1, Ordering::Relaxed);
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

fn value_of<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a Value> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| v.value.as_ref())
}

fn display(value: &AnyValue) -> String {
    value.value.as_ref().map(display_value).unwrap_or_default()
}

fn display_value(value: &Value) -> String {
    match value {
        Value::StringValue(s) => s.clone(),
        Value::BoolValue(b) => b.to_string(),
        Value::IntValue(i) => i.to_string(),
        Value::DoubleValue(d) => d.to_string(),
        other => format!("{other:?}"),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
