//! What the store writes into a WAL record: a one-byte kind, then the sanitized OTLP export request as protobuf.
//! Keeping the wire format means a replay needs no configuration to rebuild exactly what was accepted.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

/// Record kind 1: `ExportTraceServiceRequest` protobuf.
const KIND_OTLP_TRACES: u8 = 1;

/// Encodes a request as a WAL record.
pub fn encode(req: &ExportTraceServiceRequest) -> Vec<u8> {
    let mut buf = Vec::with_capacity(1 + req.encoded_len());
    buf.push(KIND_OTLP_TRACES);
    // Encoding into a Vec cannot run out of capacity.
    let _ = req.encode(&mut buf);
    buf
}

/// A WAL record from a request's existing protobuf encoding.
pub fn from_encoded(encoded: &[u8]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(1 + encoded.len());
    buf.push(KIND_OTLP_TRACES);
    buf.extend_from_slice(encoded);
    buf
}

/// Decodes a WAL record; the error says why it is unusable.
pub fn decode(record: &[u8]) -> Result<ExportTraceServiceRequest, String> {
    match record.split_first() {
        Some((&KIND_OTLP_TRACES, body)) => {
            ExportTraceServiceRequest::decode(body).map_err(|e| e.to_string())
        }
        Some((kind, _)) => Err(format!("unknown record kind {kind}")),
        None => Err("empty record".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_unknown_kinds_are_refused() {
        let req = ExportTraceServiceRequest::default();
        assert_eq!(decode(&encode(&req)).unwrap(), req);
        assert_eq!(from_encoded(&req.encode_to_vec()), encode(&req));
        assert!(decode(&[9, 1, 2])
            .unwrap_err()
            .contains("unknown record kind 9"));
        assert!(decode(&[]).is_err());
    }
}
