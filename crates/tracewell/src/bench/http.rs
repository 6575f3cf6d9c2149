//! A minimal HTTP/1.1 GET over a raw TCP stream, enough to poll the server's
//! readiness endpoint without an HTTP client library.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Upper bound for connecting, writing and reading the status line.
const IO_TIMEOUT: Duration = Duration::from_secs(2);
/// Bytes read at most while looking for the status line.
const MAX_HEAD: usize = 8 * 1024;

/// Sends `GET path` to `addr` and returns the response status code.
pub async fn http_get_status(addr: SocketAddr, path: &str) -> io::Result<u16> {
    tokio::time::timeout(IO_TIMEOUT, get_status(addr, path))
        .await
        .map_err(|_| {
            io::Error::new(
                io::ErrorKind::TimedOut,
                format!("GET {path} on {addr} timed out"),
            )
        })?
}

async fn get_status(addr: SocketAddr, path: &str) -> io::Result<u16> {
    let mut stream = TcpStream::connect(addr).await?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nUser-Agent: tracewell-bench\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut head = Vec::with_capacity(256);
    let mut chunk = [0u8; 512];
    while !head.windows(2).any(|w| w == b"\r\n") && head.len() < MAX_HEAD {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&chunk[..n]);
    }
    parse_status_line(&head)
}

/// Extracts the status code from the first line of an HTTP/1.x response.
pub fn parse_status_line(head: &[u8]) -> io::Result<u16> {
    let invalid = || io::Error::new(io::ErrorKind::InvalidData, "malformed HTTP status line");
    let line = head.split(|b| *b == b'\n').next().ok_or_else(invalid)?;
    let line = std::str::from_utf8(line).map_err(|_| invalid())?;
    let mut parts = line.split_whitespace();
    match (parts.next(), parts.next()) {
        (Some(version), Some(code)) if version.starts_with("HTTP/1.") => {
            code.parse().map_err(|_| invalid())
        }
        _ => Err(invalid()),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_status_line;

    #[test]
    fn parses_status_lines() {
        let cases: [(&[u8], Option<u16>); 6] = [
            (b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok", Some(200)),
            (b"HTTP/1.0 503 Service Unavailable\r\n", Some(503)),
            (b"HTTP/1.1 404\r\n", Some(404)),
            (b"", None),
            (b"SSH-2.0-OpenSSH\r\n", None),
            (b"HTTP/1.1 abc\r\n", None),
        ];
        for (input, want) in cases {
            assert_eq!(
                parse_status_line(input).ok(),
                want,
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }
}
