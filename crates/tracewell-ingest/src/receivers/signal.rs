//! The OTLP signals the receivers accept — traces and logs — as one trait, so the gRPC service and the HTTP
//! routes are written once: each signal names its request and response messages, its gRPC service, and how
//! the pipeline exports it.

use bytes::Bytes;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use tonic::codegen::BoxFuture;
use tracewell_model::TenantId;

use crate::error::IngestError;
use crate::pipeline::{Ingester, Receiver};

/// One OTLP signal.
pub trait Signal: Send + Sync + 'static {
    /// The gRPC service, e.g. `opentelemetry.proto.collector.trace.v1.TraceService`.
    const GRPC_SERVICE: &'static str;
    /// The gRPC export method's path.
    const GRPC_EXPORT_PATH: &'static str;
    type Request: prost::Message + Default + serde::de::DeserializeOwned + Send + 'static;
    type Response: prost::Message + serde::Serialize + Send + 'static;

    /// Exports a decoded request (with its protobuf bytes when at hand) and builds the OTLP response.
    fn export(
        ingester: Ingester,
        receiver: Receiver,
        tenant: TenantId,
        request: Self::Request,
        encoded: Option<Bytes>,
    ) -> BoxFuture<Self::Response, IngestError>;
}

/// Spans: `TraceService/Export`, `POST /v1/traces`.
#[derive(Debug, Clone, Copy)]
pub struct Traces;

/// Log records: `LogsService/Export`, `POST /v1/logs`.
#[derive(Debug, Clone, Copy)]
pub struct Logs;

impl Signal for Traces {
    const GRPC_SERVICE: &'static str = "opentelemetry.proto.collector.trace.v1.TraceService";
    const GRPC_EXPORT_PATH: &'static str =
        "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
    type Request = ExportTraceServiceRequest;
    type Response = ExportTraceServiceResponse;

    fn export(
        ingester: Ingester,
        receiver: Receiver,
        tenant: TenantId,
        request: Self::Request,
        encoded: Option<Bytes>,
    ) -> BoxFuture<Self::Response, IngestError> {
        Box::pin(async move {
            ingester
                .export_encoded(receiver, &tenant, request, encoded)
                .await
                .map(|outcome| outcome.to_response())
        })
    }
}

impl Signal for Logs {
    const GRPC_SERVICE: &'static str = "opentelemetry.proto.collector.logs.v1.LogsService";
    const GRPC_EXPORT_PATH: &'static str =
        "/opentelemetry.proto.collector.logs.v1.LogsService/Export";
    type Request = ExportLogsServiceRequest;
    type Response = ExportLogsServiceResponse;

    fn export(
        ingester: Ingester,
        receiver: Receiver,
        tenant: TenantId,
        request: Self::Request,
        encoded: Option<Bytes>,
    ) -> BoxFuture<Self::Response, IngestError> {
        Box::pin(async move {
            ingester
                .export_logs(receiver, &tenant, request, encoded)
                .await
                .map(|outcome| outcome.to_logs_response())
        })
    }
}
