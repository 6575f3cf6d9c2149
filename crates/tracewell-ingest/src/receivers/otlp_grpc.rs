//! OTLP over gRPC: `opentelemetry.proto.collector.trace.v1.TraceService/Export` and
//! `opentelemetry.proto.collector.logs.v1.LogsService/Export` (one service per [`Signal`]), gzip accepted.
//!
//! The service is written out rather than generated so its codec can keep the request's encoded bytes next to
//! the decoded message: when sanitizing changes nothing, those bytes go to the WAL as they are instead of being
//! encoded again. The decoded size limit applies after decompression (tonic enforces it while inflating).

use std::convert::Infallible;
use std::task::{Context, Poll};

use std::marker::PhantomData;

use bytes::{Buf, Bytes};
use prost::Message;
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::{BoxFuture, StdError};
use tonic::server::{NamedService, UnaryService};
use tonic::{Request, Response, Status};

use super::signal::{Logs, Signal, Traces};
use crate::pipeline::{Ingester, Receiver};
use crate::TENANT_HEADER;

/// The gRPC export service of one signal, ready to add to a tonic server.
#[derive(Debug)]
pub struct OtlpGrpcService<S> {
    ingester: Ingester,
    signal: PhantomData<S>,
}

impl<S> Clone for OtlpGrpcService<S> {
    fn clone(&self) -> Self {
        Self {
            ingester: self.ingester.clone(),
            signal: PhantomData,
        }
    }
}

/// The trace service for `ingester`.
pub fn service(ingester: Ingester) -> OtlpGrpcService<Traces> {
    OtlpGrpcService {
        ingester,
        signal: PhantomData,
    }
}

/// The logs service for `ingester`.
pub fn logs_service(ingester: Ingester) -> OtlpGrpcService<Logs> {
    OtlpGrpcService {
        ingester,
        signal: PhantomData,
    }
}

impl<S: Signal> NamedService for OtlpGrpcService<S> {
    const NAME: &'static str = S::GRPC_SERVICE;
}

impl<S: Signal, B> tower::Service<http::Request<B>> for OtlpGrpcService<S>
where
    B: http_body::Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if request.uri().path() != S::GRPC_EXPORT_PATH {
            let status = Status::unimplemented(format!("no such method {}", request.uri().path()));
            return Box::pin(async move { Ok(status.into_http()) });
        }
        let limit = self.ingester.max_request_bytes(
            request
                .headers()
                .get(TENANT_HEADER)
                .map(http::HeaderValue::as_bytes),
        );
        let handler = ExportHandler::<S> {
            ingester: self.ingester.clone(),
            signal: PhantomData,
        };
        let codec = RawExportCodec::<S> {
            ingester: self.ingester.clone(),
            signal: PhantomData,
        };
        Box::pin(async move {
            let mut grpc = tonic::server::Grpc::new(codec)
                .accept_compressed(CompressionEncoding::Gzip)
                .send_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(limit);
            Ok(grpc.unary(handler, request).await)
        })
    }
}

/// A decoded export request with the protobuf bytes it was decoded from.
#[derive(Debug)]
pub struct RawExport<R> {
    request: R,
    encoded: Bytes,
}

struct ExportHandler<S> {
    ingester: Ingester,
    signal: PhantomData<S>,
}

impl<S: Signal> UnaryService<RawExport<S::Request>> for ExportHandler<S> {
    type Response = S::Response;
    type Future = BoxFuture<Response<Self::Response>, Status>;

    fn call(&mut self, request: Request<RawExport<S::Request>>) -> Self::Future {
        let ingester = self.ingester.clone();
        Box::pin(async move {
            let refuse = |error| {
                ingester.refused(Receiver::OtlpGrpc, &error);
                Status::from(error)
            };
            let _permit = ingester.admit().map_err(refuse)?;
            let header = request.metadata().get(TENANT_HEADER).map(|v| v.as_bytes());
            let tenant = ingester.tenant(header).map_err(refuse)?;
            let RawExport { request, encoded } = request.into_inner();
            let response =
                S::export(ingester, Receiver::OtlpGrpc, tenant, request, Some(encoded)).await?;
            Ok(Response::new(response))
        })
    }
}

/// Decodes requests keeping their bytes (refusing before decoding when the server is over capacity: a
/// refused request should cost as little as possible); encodes responses with prost.
struct RawExportCodec<S> {
    ingester: Ingester,
    signal: PhantomData<S>,
}

impl<S> Clone for RawExportCodec<S> {
    fn clone(&self) -> Self {
        Self {
            ingester: self.ingester.clone(),
            signal: PhantomData,
        }
    }
}

/// Encodes responses.
struct ResponseEncoder<S>(PhantomData<S>);

impl<S: Signal> Codec for RawExportCodec<S> {
    type Encode = S::Response;
    type Decode = RawExport<S::Request>;
    type Encoder = ResponseEncoder<S>;
    type Decoder = RawExportCodec<S>;

    fn encoder(&mut self) -> Self::Encoder {
        ResponseEncoder(PhantomData)
    }

    fn decoder(&mut self) -> Self::Decoder {
        self.clone()
    }
}

impl<S: Signal> Encoder for ResponseEncoder<S> {
    type Item = S::Response;
    type Error = Status;

    fn encode(&mut self, item: Self::Item, dst: &mut EncodeBuf<'_>) -> Result<(), Self::Error> {
        item.encode(dst)
            .map_err(|e| Status::internal(format!("encoding the response failed: {e}")))
    }
}

impl<S: Signal> Decoder for RawExportCodec<S> {
    type Item = RawExport<S::Request>;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Self::Error> {
        if let Err(error) = self.ingester.check_capacity() {
            self.ingester.refused(Receiver::OtlpGrpc, &error);
            return Err(error.into());
        }
        let encoded = src.copy_to_bytes(src.remaining());
        let request = S::Request::decode(encoded.clone()).map_err(|e| {
            Status::invalid_argument(format!("malformed request: invalid OTLP protobuf: {e}"))
        })?;
        Ok(Some(RawExport { request, encoded }))
    }
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
