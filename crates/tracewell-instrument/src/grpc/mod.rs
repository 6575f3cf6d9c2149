//! gRPC instrumentation for tonic (or any tower/hyper gRPC stack) following the OpenTelemetry RPC and gRPC
//! semantic conventions (the v1.37 attributes: `rpc.system`, `rpc.service`, `rpc.method`,
//! `rpc.grpc.status_code`):
//!
//! - [`server::TraceLayer`] for `tonic::transport::Server::builder().layer(...)`: extracts the caller's
//!   context from the request metadata and records one SERVER span per call;
//! - [`client::TraceClientLayer`] for a `tonic::transport::Channel` (`ServiceBuilder::new().layer(...)
//!   .service(channel)`): records one CLIENT span per call and injects its context into the metadata.
//!
//! Spans are named `{package.Service}/{Method}` after the request path. A call's status arrives in one of
//! three places, and the span ends when it does: in the response headers of a trailers-only response
//! (what tonic sends for an error returned before any message), in the trailers at the end of the
//! response body (every other response, streaming ones included: the span covers the whole stream), or
//! as an error of the transport or of the body stream, classified as tonic classifies it for the caller.
//! A non-200 HTTP response without `grpc-status` gets the code gRPC's HTTP mapping gives it. A call
//! dropped before its status (the client went away, the caller gave up) ends as `CANCELLED`, or as
//! `DEADLINE_EXCEEDED` once the request's `grpc-timeout` has passed.
//!
//! The span status is ERROR on the server for `UNKNOWN`, `DEADLINE_EXCEEDED`, `UNIMPLEMENTED`,
//! `INTERNAL`, `UNAVAILABLE` and `DATA_LOSS`, and on the client for every code but `OK`; `error.type`
//! then holds the code's name (`UNAVAILABLE`) and the description the `grpc-message`.

pub mod client;
pub mod server;

pub use client::{TraceClientLayer, TraceClientService};
pub use server::{request_context, TraceLayer, TraceService};

use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};

use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};
use opentelemetry::trace::{Status, TraceContextExt};
use opentelemetry::{Context, KeyValue};
use tonic::Code;

/// The error type of the layers' services and bodies: what tonic accepts from a service.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

const GRPC_STATUS: &str = "grpc-status";
const GRPC_MESSAGE: &str = "grpc-message";
const GRPC_TIMEOUT: &str = "grpc-timeout";

/// How close to its `grpc-timeout` a dropped call counts as having hit the deadline: the server's
/// timeout (tonic's, outside this layer) starts its clock a moment before this layer's.
const DEADLINE_SLACK: Duration = Duration::from_millis(5);

/// The `(package.Service, Method)` of a gRPC request path `/package.Service/Method`.
pub fn parse_path(path: &str) -> Option<(&str, &str)> {
    let (service, method) = path.strip_prefix('/')?.split_once('/')?;
    (!service.is_empty() && !method.is_empty() && !method.contains('/'))
        .then_some((service, method))
}

/// The span name and the attributes known from the path: `rpc.system`, `rpc.service`, `rpc.method`.
/// A path that is not `/{service}/{method}` names the span `grpc`, never after the raw path.
fn start_attributes(path: &str) -> (String, Vec<KeyValue>) {
    let mut attributes = Vec::with_capacity(8);
    attributes.push(KeyValue::new("rpc.system", "grpc"));
    match parse_path(path) {
        Some((service, method)) => {
            attributes.push(KeyValue::new("rpc.service", service.to_string()));
            attributes.push(KeyValue::new("rpc.method", method.to_string()));
            (format!("{service}/{method}"), attributes)
        }
        None => ("grpc".to_string(), attributes),
    }
}

/// The name of a status code as the gRPC specification spells it (`DEADLINE_EXCEEDED`).
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// Which end of the call a span records; they disagree on which codes are errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Client,
    Server,
}

impl Side {
    /// Whether `code` makes the span an error: on the server only the codes that say the server
    /// failed (the others are the caller's problem), on the client every code but `OK`.
    pub fn is_error(self, code: Code) -> bool {
        match self {
            Side::Client => code != Code::Ok,
            Side::Server => matches!(
                code,
                Code::Unknown
                    | Code::DeadlineExceeded
                    | Code::Unimplemented
                    | Code::Internal
                    | Code::Unavailable
                    | Code::DataLoss
            ),
        }
    }
}

/// The status carried by `headers` (`grpc-status` and the percent-encoded `grpc-message`), if any.
fn status_of(headers: &HeaderMap) -> Option<(Code, String)> {
    let code = Code::from_bytes(headers.get(GRPC_STATUS)?.as_bytes());
    let message = headers
        .get(GRPC_MESSAGE)
        .map(|m| percent_decode(m.as_bytes()))
        .unwrap_or_default();
    Some((code, message))
}

/// The status a response's head already settles: the `grpc-status` of a trailers-only response, or
/// for a non-200 HTTP status without one the code gRPC's HTTP-to-gRPC mapping gives it. `None` when the
/// status is still to come, in the trailers.
fn status_in_head(status: http::StatusCode, headers: &HeaderMap) -> Option<(Code, String)> {
    if let Some(found) = status_of(headers) {
        return Some(found);
    }
    if status == http::StatusCode::OK {
        return None;
    }
    let code = match status.as_u16() {
        400 => Code::Internal,
        401 => Code::Unauthenticated,
        403 => Code::PermissionDenied,
        404 => Code::Unimplemented,
        429 | 502 | 503 | 504 => Code::Unavailable,
        _ => Code::Unknown,
    };
    Some((code, format!("HTTP status {status}")))
}

/// Whether a request is gRPC: `content-type` `application/grpc`, alone or with a `+format` or parameters
/// (not `application/grpc-web`, whose status travels inside the body: put this layer inside the
/// gRPC-Web translation).
fn is_grpc(headers: &HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("application/grpc"))
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['+', ';']))
}

/// `grpc-timeout` (`TimeoutValue TimeoutUnit`: up to 8 digits, then `H`, `M`, `S`, `m`, `u` or `n`).
fn grpc_timeout(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(GRPC_TIMEOUT)?.to_str().ok()?;
    let (digits, unit) = value.split_at(value.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n * 3600),
        "M" => Duration::from_secs(n * 60),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// `%XX` escapes decoded (invalid escapes kept as they are, invalid UTF-8 replaced).
fn percent_decode(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(byte) = hex {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An error turned into the status tonic reports for it (`tonic::Status::from_error`'s rules: a
/// `Status` anywhere in the source chain, a timeout, a connection failure, an h2 or hyper error, else
/// `UNKNOWN`), and the error to hand on: the `Status` itself when there is one (tonic reads it back
/// unchanged), else the original error.
fn classify(error: BoxError) -> (Code, String, BoxError) {
    match tonic::Status::try_from_error(error) {
        Ok(status) => {
            let (code, message) = (status.code(), status.message().to_string());
            (code, message, Box::new(status))
        }
        Err(error) => (Code::Unknown, error.to_string(), error),
    }
}

/// A call whose span is open. It is ended once: with the status when it is known, or when dropped
/// before that (`CANCELLED`, or `DEADLINE_EXCEEDED` once the request's `grpc-timeout` has passed).
struct OpenCall {
    cx: Context,
    side: Side,
    started: Instant,
    timeout: Option<Duration>,
    ended: bool,
}

impl OpenCall {
    fn new(cx: Context, side: Side, timeout: Option<Duration>) -> Self {
        OpenCall {
            cx,
            side,
            started: Instant::now(),
            timeout,
            ended: false,
        }
    }

    /// Records `code` (and, for an error, its name and `message`) and ends the span.
    fn end(&mut self, code: Code, message: &str) {
        if std::mem::replace(&mut self.ended, true) {
            return;
        }
        let span = self.cx.span();
        span.set_attribute(KeyValue::new("rpc.grpc.status_code", code as i64));
        if self.side.is_error(code) {
            span.set_attribute(KeyValue::new("error.type", code_name(code)));
            span.set_status(Status::error(message.to_string()));
        }
        span.end();
    }

    /// Records a panic of the handler (an `exception` event, error status) and ends the span.
    fn end_with_panic(&mut self, message: &str) {
        if std::mem::replace(&mut self.ended, true) {
            return;
        }
        let span = self.cx.span();
        span.add_event(
            "exception",
            vec![
                KeyValue::new("exception.type", "panic"),
                KeyValue::new("exception.message", message.to_string()),
            ],
        );
        span.set_attribute(KeyValue::new("error.type", "panic"));
        span.set_status(Status::error(format!("handler panicked: {message}")));
        span.end();
    }

    /// Ends the span after the response head: with the status it settles, if it does.
    fn end_if_settled(&mut self, status: http::StatusCode, headers: &HeaderMap) {
        if let Some((code, message)) = status_in_head(status, headers) {
            self.end(code, &message);
        }
    }
}

impl Drop for OpenCall {
    fn drop(&mut self) {
        if self.ended {
            return;
        }
        let past_deadline = self
            .timeout
            .is_some_and(|t| self.started.elapsed() + DEADLINE_SLACK >= t);
        if past_deadline {
            self.end(Code::DeadlineExceeded, "deadline exceeded");
        } else {
            self.end(Code::Cancelled, "the call was dropped before its status");
        }
    }
}

pin_project_lite::pin_project! {
    /// A response body that ends the call's span when the status arrives in its trailers (or when it
    /// fails, ends without a status, or is dropped). On the server the span's context is current
    /// while the body is polled, so a streaming handler's work belongs to the call.
    pub struct TracedBody<B> {
        #[pin]
        inner: B,
        call: Option<OpenCall>,
    }
}

impl<B> std::fmt::Debug for TracedBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TracedBody")
            .field("side", &self.call.as_ref().map(|c| c.side))
            .field("ended", &self.call.as_ref().is_none_or(|c| c.ended))
            .finish_non_exhaustive()
    }
}

impl<B> TracedBody<B> {
    fn new(inner: B, call: Option<OpenCall>) -> Self {
        TracedBody { inner, call }
    }
}

impl<B> Body for TracedBody<B>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    type Data = B::Data;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let Some(call) = this.call.as_mut().filter(|c| !c.ended) else {
            return this.inner.poll_frame(cx).map_err(Into::into);
        };
        let polled = if call.side == Side::Server {
            let _attached = call.cx.clone().attach();
            let inner = this.inner;
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| inner.poll_frame(cx))) {
                Ok(polled) => polled,
                Err(panic) => {
                    call.end_with_panic(&crate::http::server::panic_message(&*panic));
                    std::panic::resume_unwind(panic)
                }
            }
        } else {
            this.inner.poll_frame(cx)
        };
        match polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(trailers) = frame.trailers_ref() {
                    match status_of(trailers) {
                        Some((code, message)) => call.end(code, &message),
                        None => call.end(Code::Unknown, "trailers without grpc-status"),
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(error))) => {
                let (code, message, error) = classify(error.into());
                call.end(code, &message);
                Poll::Ready(Some(Err(error)))
            }
            Poll::Ready(None) => {
                call.end(Code::Unknown, "the response ended without grpc-status");
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(
            parse_path("/shop.v1.Catalog/GetProduct"),
            Some(("shop.v1.Catalog", "GetProduct"))
        );
        assert_eq!(parse_path("/Echo/Echo"), Some(("Echo", "Echo")));
        for bad in ["", "/", "//", "/svc", "/svc/", "//m", "/a/b/c", "svc/m"] {
            assert_eq!(parse_path(bad), None, "{bad:?}");
        }
        assert_eq!(start_attributes("/a/b/c").0, "grpc");
        let (name, attributes) = start_attributes("/pkg.Svc/Do");
        assert_eq!(name, "pkg.Svc/Do");
        assert_eq!(attributes.len(), 3);
    }

    #[test]
    fn error_codes_per_side() {
        let server_errors: Vec<_> = (0..=16)
            .map(Code::from_i32)
            .filter(|c| Side::Server.is_error(*c))
            .map(code_name)
            .collect();
        assert_eq!(
            server_errors,
            [
                "UNKNOWN",
                "DEADLINE_EXCEEDED",
                "UNIMPLEMENTED",
                "INTERNAL",
                "UNAVAILABLE",
                "DATA_LOSS"
            ]
        );
        assert!(!Side::Client.is_error(Code::Ok));
        assert!((1..=16)
            .map(Code::from_i32)
            .all(|c| Side::Client.is_error(c)));
    }

    #[test]
    fn status_from_the_head() {
        let mut headers = HeaderMap::new();
        assert_eq!(status_in_head(http::StatusCode::OK, &headers), None);
        headers.insert(GRPC_STATUS, "5".parse().unwrap());
        headers.insert(
            GRPC_MESSAGE,
            "no%20such%20order%3A%20%E2%9C%93".parse().unwrap(),
        );
        assert_eq!(
            status_in_head(http::StatusCode::OK, &headers),
            Some((Code::NotFound, "no such order: \u{2713}".to_string()))
        );
        headers.insert(GRPC_STATUS, "99".parse().unwrap());
        assert_eq!(
            status_in_head(http::StatusCode::OK, &headers).map(|s| s.0),
            Some(Code::Unknown)
        );
        let empty = HeaderMap::new();
        for (http_status, code) in [
            (400, Code::Internal),
            (401, Code::Unauthenticated),
            (403, Code::PermissionDenied),
            (404, Code::Unimplemented),
            (429, Code::Unavailable),
            (502, Code::Unavailable),
            (503, Code::Unavailable),
            (504, Code::Unavailable),
            (500, Code::Unknown),
        ] {
            let status = http::StatusCode::from_u16(http_status).unwrap();
            assert_eq!(status_in_head(status, &empty).map(|s| s.0), Some(code));
        }
    }

    #[test]
    fn timeouts_and_percent_decoding() {
        let mut headers = HeaderMap::new();
        for (value, expected) in [
            ("100m", Some(Duration::from_millis(100))),
            ("2S", Some(Duration::from_secs(2))),
            ("1H", Some(Duration::from_secs(3600))),
            ("3M", Some(Duration::from_secs(180))),
            ("250u", Some(Duration::from_micros(250))),
            ("99999999n", Some(Duration::from_nanos(99_999_999))),
            ("123456789m", None),
            ("m", None),
            ("10x", None),
            ("-1S", None),
        ] {
            headers.insert(GRPC_TIMEOUT, value.parse().unwrap());
            assert_eq!(grpc_timeout(&headers), expected, "{value}");
        }
        assert_eq!(percent_decode(b"a%2"), "a%2");
        let mut headers = HeaderMap::new();
        assert!(!is_grpc(&headers));
        for (content_type, grpc) in [
            ("application/grpc", true),
            ("application/grpc+proto", true),
            ("application/grpc;charset=utf-8", true),
            ("application/grpc-web", false),
            ("application/json", false),
        ] {
            headers.insert(http::header::CONTENT_TYPE, content_type.parse().unwrap());
            assert_eq!(is_grpc(&headers), grpc, "{content_type}");
        }
        assert_eq!(percent_decode(b"100%"), "100%");
        assert_eq!(percent_decode(b"%zz%41"), "%zzA");
    }
}
