//! What the store writes into a WAL record: a one-byte kind, then the sanitized OTLP export request as protobuf
//! (traces or logs). Keeping the wire format means a replay needs no configuration to rebuild exactly what was
//! accepted.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

/// Record kind 1: `ExportTraceServiceRequest` protobuf.
const KIND_OTLP_TRACES: u8 = 1;
/// Record kind 2: `ExportLogsServiceRequest` protobuf.
const KIND_OTLP_LOGS: u8 = 2;

/// A decoded WAL record.
#[derive(Debug, PartialEq)]
pub enum WalRequest {
    Traces(ExportTraceServiceRequest),
    Logs(ExportLogsServiceRequest),
}

fn with_kind(kind: u8, message: &impl Message) -> Vec<u8> {
    let mut buf = Vec::with_capacity(1 + message.encoded_len());
    buf.push(kind);
    // Encoding into a Vec cannot run out of capacity.
    let _ = message.encode(&mut buf);
    buf
}

fn kind_and(kind: u8, encoded: &[u8]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(1 + encoded.len());
    buf.push(kind);
    buf.extend_from_slice(encoded);
    buf
}

/// Encodes a traces request as a WAL record.
pub fn encode(req: &ExportTraceServiceRequest) -> Vec<u8> {
    with_kind(KIND_OTLP_TRACES, req)
}

/// A WAL record from a traces request's existing protobuf encoding.
pub fn from_encoded(encoded: &[u8]) -> Vec<u8> {
    kind_and(KIND_OTLP_TRACES, encoded)
}

/// Encodes a logs request as a WAL record.
pub fn encode_logs(req: &ExportLogsServiceRequest) -> Vec<u8> {
    with_kind(KIND_OTLP_LOGS, req)
}

/// A WAL record from a logs request's existing protobuf encoding.
pub fn logs_from_encoded(encoded: &[u8]) -> Vec<u8> {
    kind_and(KIND_OTLP_LOGS, encoded)
}

/// Decodes a WAL record; the error says why it is unusable.
pub fn decode(record: &[u8]) -> Result<WalRequest, String> {
    match record.split_first() {
        Some((&KIND_OTLP_TRACES, body)) => ExportTraceServiceRequest::decode(body)
            .map(WalRequest::Traces)
            .map_err(|e| e.to_string()),
        Some((&KIND_OTLP_LOGS, body)) => ExportLogsServiceRequest::decode(body)
            .map(WalRequest::Logs)
            .map_err(|e| e.to_string()),
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
        assert_eq!(
            decode(&encode(&req)).unwrap(),
            WalRequest::Traces(req.clone())
        );
        assert_eq!(from_encoded(&req.encode_to_vec()), encode(&req));
        let logs = ExportLogsServiceRequest::default();
        assert_eq!(
            decode(&encode_logs(&logs)).unwrap(),
            WalRequest::Logs(logs.clone())
        );
        assert_eq!(logs_from_encoded(&logs.encode_to_vec()), encode_logs(&logs));
        assert!(decode(&[9, 1, 2])
            .unwrap_err()
            .contains("unknown record kind 9"));
        assert!(decode(&[]).is_err());
    }
}
