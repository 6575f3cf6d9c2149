//! The web UI, embedded at build time from `ui/dist`: `GET /assets/...` serves the hashed bundle files
//! (cached for a year), any other path outside the APIs serves `index.html` (never cached) so that the
//! UI's own routes (`/trace/{id}`, `/search?...`) load directly.

use axum::http::{header, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

include!(concat!(env!("OUT_DIR"), "/ui_assets.rs"));

/// Paths that belong to the APIs: never answered with the UI.
const API_PREFIXES: &[&str] = &["/api/", "/metrics", "/healthz", "/readyz"];

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" | "map" => "application/json",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn asset(path: &str) -> Option<&'static [u8]> {
    ASSETS
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, bytes)| *bytes)
}

/// Answers requests no API route matched.
pub(crate) async fn fallback(method: Method, uri: Uri) -> Response {
    let path = uri.path();
    if API_PREFIXES
        .iter()
        .any(|prefix| path.starts_with(prefix) || path == prefix.trim_end_matches('/'))
    {
        return crate::ApiError::NotFound(format!("no such endpoint: {method} {path}"))
            .into_response();
    }
    if method != Method::GET && method != Method::HEAD {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            "the web UI only answers GET",
        )
            .into_response();
    }
    let relative = path.trim_start_matches('/');
    if let Some(bytes) = asset(relative).filter(|_| !relative.is_empty()) {
        let cache = if relative.starts_with("assets/") {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        return (
            [
                (header::CONTENT_TYPE, content_type(relative)),
                (header::CACHE_CONTROL, cache),
            ],
            bytes,
        )
            .into_response();
    }
    if relative.starts_with("assets/") {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    }
    match asset("index.html") {
        Some(index) => (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            index,
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            "this build has no web UI: build it with `npm ci && npm run build` in ui/ and rebuild",
        )
            .into_response(),
    }
}
