//! Request bodies: content-encoding (gzip) with a decompressed-size limit, so a small compressed body cannot
//! inflate past `max_request_bytes` (a "zip bomb").

use std::io::Read;

use bytes::Bytes;
use flate2::read::{GzDecoder, ZlibDecoder};

use crate::error::IngestError;

/// Decodes a body according to its `Content-Encoding`.
pub fn decode_body(
    encoding: Option<&str>,
    body: Bytes,
    limit: usize,
) -> Result<Bytes, IngestError> {
    let encoding = encoding.map(|e| e.trim().to_ascii_lowercase());
    match encoding.as_deref() {
        None | Some("") | Some("identity") => Ok(body),
        Some("gzip") | Some("x-gzip") => inflate(GzDecoder::new(&body[..]), limit),
        Some("deflate") => inflate(ZlibDecoder::new(&body[..]), limit),
        Some(other) => Err(IngestError::UnsupportedEncoding(other.to_owned())),
    }
}

fn inflate(reader: impl Read, limit: usize) -> Result<Bytes, IngestError> {
    let mut out = Vec::new();
    let read = reader
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| IngestError::Malformed(format!("body is not valid compressed data: {e}")))?;
    if read > limit {
        return Err(IngestError::TooLarge {
            limit,
            decompressed: true,
        });
    }
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Bytes {
        let mut enc = GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(data).unwrap();
        Bytes::from(enc.finish().unwrap())
    }

    #[test]
    fn gzip_bodies_inflate_within_the_limit() {
        let body = decode_body(Some("gzip"), gzip(b"hello"), 10).unwrap();
        assert_eq!(&body[..], b"hello");
    }

    #[test]
    fn a_gzip_bomb_stops_at_the_limit() {
        let bomb = gzip(&vec![0u8; 50 * 1024 * 1024]);
        assert!(bomb.len() < 100 * 1024);
        let err = decode_body(Some("gzip"), bomb, 1024 * 1024).unwrap_err();
        assert!(
            matches!(
                err,
                IngestError::TooLarge {
                    decompressed: true,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn garbage_gzip_and_unknown_encodings_are_refused() {
        assert!(matches!(
            decode_body(Some("gzip"), Bytes::from_static(b"nope"), 10),
            Err(IngestError::Malformed(_))
        ));
        assert!(matches!(
            decode_body(Some("br"), Bytes::new(), 10),
            Err(IngestError::UnsupportedEncoding(_))
        ));
    }
}
