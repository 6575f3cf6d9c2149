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
/// Record kind 3: a record consumed from the request log: partition (i32 LE), offset (i64 LE), then a kind 1 or
/// 2 record.
const KIND_POSITIONED: u8 = 3;
const POSITION_BYTES: usize = 12;

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

/// A record consumed from the request log at `partition` and `offset`, for the WAL.
pub fn positioned(partition: i32, offset: i64, record: &[u8]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(1 + POSITION_BYTES + record.len());
    buf.push(KIND_POSITIONED);
    buf.extend_from_slice(&partition.to_le_bytes());
    buf.extend_from_slice(&offset.to_le_bytes());
    buf.extend_from_slice(record);
    buf
}

/// The request-log position of a positioned record.
pub fn position(record: &[u8]) -> Option<(i32, i64)> {
    match record.split_first() {
        Some((&KIND_POSITIONED, rest)) if rest.len() >= POSITION_BYTES => {
            let partition = i32::from_le_bytes(rest[..4].try_into().ok()?);
            let offset = i64::from_le_bytes(rest[4..POSITION_BYTES].try_into().ok()?);
            Some((partition, offset))
        }
        _ => None,
    }
}

/// Decodes a WAL record (a positioned one as the record it holds); the error says why it is unusable.
pub fn decode(record: &[u8]) -> Result<WalRequest, String> {
    match record.split_first() {
        Some((&KIND_POSITIONED, rest)) if rest.len() > POSITION_BYTES => {
            match rest[POSITION_BYTES..].first() {
                Some(&KIND_POSITIONED) => Err("nested positioned record".into()),
                _ => decode(&rest[POSITION_BYTES..]),
            }
        }
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

    #[test]
    fn positioned_records_keep_their_position_and_content() {
        let req = ExportTraceServiceRequest::default();
        let record = positioned(7, 1_234_567_890_123, &encode(&req));
        assert_eq!(position(&record), Some((7, 1_234_567_890_123)));
        assert_eq!(decode(&record).unwrap(), WalRequest::Traces(req));
        assert_eq!(
            position(&encode_logs(&ExportLogsServiceRequest::default())),
            None
        );
        assert!(decode(&positioned(1, 2, &positioned(1, 2, &[1]))).is_err());
        assert!(decode(&[3, 0, 0]).is_err(), "a cut-off position is refused");
    }
}
