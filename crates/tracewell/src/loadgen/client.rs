//! OTLP/gRPC trace export client that sends already-encoded
//! `ExportTraceServiceRequest` bytes, so each request is serialised exactly
//! once (its size and zstd size are measured from the same bytes).

use std::time::Duration;

use anyhow::Context;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::bytes::{BufMut, Bytes};
use prost::Message;
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::metadata::AsciiMetadataValue;
use tonic::transport::{Channel, Endpoint};
use tonic::Status;

/// gRPC method path of the OTLP trace export RPC.
const EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
/// Header carrying the tenant id.
const TENANT_HEADER: &str = "x-scope-orgid";
/// Largest response the client accepts.
const MAX_MESSAGE: usize = 64 * 1024 * 1024;

/// A cheaply clonable export client sharing one HTTP/2 channel.
#[derive(Clone)]
pub struct ExportClient {
    grpc: tonic::client::Grpc<Channel>,
    tenant: Option<AsciiMetadataValue>,
}

impl ExportClient {
    /// Connects to `addr` ("host:port" or an `http://` URL).
    pub async fn connect(
        addr: &str,
        gzip: bool,
        tenant: Option<&str>,
    ) -> anyhow::Result<ExportClient> {
        let url = if addr.contains("://") {
            addr.to_string()
        } else {
            format!("http://{addr}")
        };
        let channel = Endpoint::from_shared(url.clone())
            .with_context(|| format!("invalid OTLP gRPC address {addr:?}"))?
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .tcp_nodelay(true)
            .connect()
            .await
            .with_context(|| format!("cannot connect to {url}"))?;
        let mut grpc = tonic::client::Grpc::new(channel).max_decoding_message_size(MAX_MESSAGE);
        if gzip {
            grpc = grpc.send_compressed(CompressionEncoding::Gzip);
        }
        let tenant = match tenant {
            Some(t) => Some(AsciiMetadataValue::try_from(t).context("invalid --tenant value")?),
            None => None,
        };
        Ok(ExportClient { grpc, tenant })
    }

    /// Sends one encoded export request.
    pub async fn export(&mut self, body: Bytes) -> Result<ExportTraceServiceResponse, Status> {
        self.grpc
            .ready()
            .await
            .map_err(|e| Status::unavailable(format!("channel not ready: {e}")))?;
        let mut request = tonic::Request::new(body);
        if let Some(t) = &self.tenant {
            request.metadata_mut().insert(TENANT_HEADER, t.clone());
        }
        let path = PathAndQuery::from_static(EXPORT_PATH);
        let response = self.grpc.unary(request, path, RawCodec).await?;
        Ok(response.into_inner())
    }
}

/// Sends pre-encoded request bytes; decodes the protobuf response.
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = ExportTraceServiceResponse;
    type Encoder = RawEncoder;
    type Decoder = ResponseDecoder;

    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }

    fn decoder(&mut self) -> ResponseDecoder {
        ResponseDecoder
    }
}

struct RawEncoder;

impl Encoder for RawEncoder {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

struct ResponseDecoder;

impl Decoder for ResponseDecoder {
    type Item = ExportTraceServiceResponse;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Self::Item>, Status> {
        ExportTraceServiceResponse::decode(src)
            .map(Some)
            .map_err(|e| Status::internal(format!("invalid export response: {e}")))
    }
}
