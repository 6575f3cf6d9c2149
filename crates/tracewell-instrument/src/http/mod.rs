//! HTTP instrumentation following the OpenTelemetry HTTP semantic conventions:
//! [`server::TraceLayer`] for tower/axum/hyper servers, [`client::TraceClientLayer`] for tower/hyper
//! clients and, with the `reqwest` feature, [`reqwest::TracingMiddleware`] for `reqwest-middleware`.

pub mod client;
#[cfg(feature = "reqwest")]
pub mod reqwest;
pub mod server;
mod shared_strings;

pub use client::{TraceClientLayer, TraceClientService};
pub use server::{HttpRoute, TraceLayer, TraceService};

use http::Method;
use opentelemetry::KeyValue;

/// `http.request.method` as the conventions spell it: known methods as-is, anything else `_OTHER`
/// (with the original in `http.request.method_original`).
pub(crate) fn method_attributes(method: &Method, out: &mut Vec<KeyValue>) -> &'static str {
    let known = match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "_OTHER",
    };
    out.push(KeyValue::new("http.request.method", known));
    if known == "_OTHER" {
        out.push(KeyValue::new(
            "http.request.method_original",
            method.as_str().to_string(),
        ));
    }
    known
}

/// `server.address` (IPv6 brackets removed; user info is never part of an `Authority`'s host) and
/// `server.port` (the authority's port, else `default_port`).
pub(crate) fn server_address_attributes(
    authority: &http::uri::Authority,
    default_port: Option<u16>,
    out: &mut Vec<KeyValue>,
) {
    out.push(KeyValue::new(
        "server.address",
        authority.host().trim_matches(['[', ']']).to_string(),
    ));
    if let Some(port) = authority.port_u16().or(default_port) {
        out.push(KeyValue::new("server.port", i64::from(port)));
    }
}

/// `network.protocol.version` for an HTTP version.
pub(crate) fn protocol_version(version: http::Version) -> Option<&'static str> {
    match version {
        http::Version::HTTP_09 => Some("0.9"),
        http::Version::HTTP_10 => Some("1.0"),
        http::Version::HTTP_11 => Some("1.1"),
        http::Version::HTTP_2 => Some("2"),
        http::Version::HTTP_3 => Some("3"),
        _ => None,
    }
}
