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
        let tenant = self
            .ingester
            .tenant(request.metadata().get(TENANT_HEADER).map(|v| v.as_bytes()))?;
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
