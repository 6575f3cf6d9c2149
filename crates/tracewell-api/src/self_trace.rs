//! Self-tracing of the HTTP APIs: one SERVER span per API request (`GET /api/v1/search`, named by its route),
//! with the method, route, tenant and status, current while the handler runs so the query's own spans are its
//! children. The web UI's files and health checks are left untraced.

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use opentelemetry::trace::{FutureExt, SpanKind};
use opentelemetry::KeyValue;
use tracewell_model::self_trace::Work;

/// Routes traced: the APIs, not health checks.
fn traced(route: &str) -> bool {
    route.starts_with("/api") || route.starts_with("/mcp")
}

/// Middleware (a `route_layer`, so the matched route is known) tracing one request.
pub(crate) async fn trace_request(request: Request, next: Next) -> Response {
    let Some(route) = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .filter(|r| traced(r))
    else {
        return next.run(request).await;
    };
    let method = request.method().as_str().to_owned();
    let tenant = request
        .headers()
        .get(tracewell_model::TenantId::HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let work = Work::start(
        format!("{method} {route}"),
        SpanKind::Server,
        vec![
            KeyValue::new("http.request.method", method),
            KeyValue::new("http.route", route),
            KeyValue::new("tracewell.tenant", tenant),
        ],
    );
    let response = next.run(request).with_context(work.context()).await;
    let status = response.status();
    work.set("http.response.status_code", i64::from(status.as_u16()));
    if status.is_server_error() {
        work.fail(status);
    }
    response
}
