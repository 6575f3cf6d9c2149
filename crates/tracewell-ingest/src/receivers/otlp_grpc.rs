//! OTLP over gRPC: `opentelemetry.proto.collector.trace.v1.TraceService/Export`, gzip accepted. The decoded
//! size limit applies after decompression (tonic enforces it while inflating).

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use tonic::codec::CompressionEncoding;
use tonic::{Request, Response, Status};

use crate::pipeline::{Ingester, Receiver};
use crate::TENANT_HEADER;

/// The gRPC trace service.
#[derive(Debug, Clone)]
pub struct OtlpGrpcService {
    ingester: Ingester,
}

#[tonic::async_trait]
impl TraceService for OtlpGrpcService {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let _permit = self
            .ingester
            .admit()
            .inspect_err(|error| self.ingester.refused(Receiver::OtlpGrpc, error))?;
        let tenant = self
            .ingester
            .tenant(request.metadata().get(TENANT_HEADER).map(|v| v.as_bytes()))
            .inspect_err(|error| self.ingester.refused(Receiver::OtlpGrpc, error))?;
        let outcome = self
            .ingester
            .export(Receiver::OtlpGrpc, &tenant, request.into_inner())
            .await?;
        Ok(Response::new(outcome.to_response()))
    }
}

/// The service, ready to add to a tonic server.
pub fn service(ingester: Ingester) -> TraceServiceServer<OtlpGrpcService> {
    let limit = ingester.config().max_request_bytes;
    TraceServiceServer::new(OtlpGrpcService { ingester })
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(limit)
}

/// Rewrites the status tonic answers when a request exceeds the size limit, before our handler runs:
/// `OUT_OF_RANGE` (message too large) and `RESOURCE_EXHAUSTED` from decompression past the limit are both
/// retryable for OTLP clients, which would then resend a request that can never fit. They become
/// `INVALID_ARGUMENT`, as an oversize HTTP request gets 413. Our own `RESOURCE_EXHAUSTED` (overload, with retry
/// info) is left alone.
pub fn oversize_status_layer<B>(
) -> tower::util::MapResponseLayer<fn(http::Response<B>) -> http::Response<B>> {
    tower::util::MapResponseLayer::new(remap_oversize_status::<B>)
}

fn remap_oversize_status<B>(mut response: http::Response<B>) -> http::Response<B> {
    let headers = response.headers_mut();
    let code = headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok());
    let message = headers
        .get("grpc-message")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let oversize = match code.map(tonic::Code::from_i32) {
        Some(tonic::Code::OutOfRange) => true,
        Some(tonic::Code::ResourceExhausted) => {
            message.starts_with("Error%20decompressing")
                || message.starts_with("Error decompressing")
        }
        _ => false,
    };
    if oversize {
        headers.insert(
            "grpc-status",
            http::HeaderValue::from(tonic::Code::InvalidArgument as i32),
        );
    }
    response
}
