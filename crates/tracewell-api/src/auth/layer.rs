//! Authentication in front of the handlers: [`AuthLayer`], a tower layer for the HTTP routers (the query port,
//! the Tempo port with its gRPC querier, OTLP HTTP and Zipkin), and [`GrpcAuth`], a tonic interceptor for the
//! OTLP gRPC server. Both check the request with [`Authenticator::check`] and then overwrite `X-Scope-OrgID`
//! (header or metadata) with the token's tenant, so the handlers read the tenant as they always have.
//!
//! Which scope a path needs is the listener's [`Surface`]:
//!
//! | surface | paths | scope |
//! |---------|-------|-------|
//! | ingest (OTLP gRPC, OTLP HTTP, Zipkin) | every path | `write` |
//! | query port | `/api/...` (native, Jaeger, SQL, TraceQL, insights, alerts, live tail), `/mcp` | `read` |
//! | query port | `/healthz`, `/readyz`, `/metrics`, the web UI's files | open |
//! | Tempo port | HTTP API and gRPC `tempopb.StreamingQuerier` | `read` |
//! | Tempo port | `/healthz`, `/readyz`, `/metrics` | open |
//!
//! No endpoint needs `admin`: Tracewell has no administrative API (compaction and retention run by themselves,
//! alert rules come from a file), and every endpoint that exists reads or writes spans. The scope is accepted in
//! token files and reserved for administrative endpoints.
//!
//! Refusals are shaped as each listener answers errors: gRPC requests (`Content-Type: application/grpc`) get a
//! gRPC status; the query port `{"error": ..., "status": ...}`; the Tempo port plain text; the ingest listeners
//! `{"code": <gRPC code>, "message": ...}` as the OTLP HTTP receiver does. 401 answers carry
//! `WWW-Authenticate: Bearer`.

use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::future::BoxFuture;
use tonic::metadata::MetadataValue;
use tonic::Status;
use tracewell_model::TenantId;

use super::{AuthError, Authenticator, Scope};

/// What a request to a path needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Served without a token.
    Open,
    /// A token with this scope.
    Need(Scope),
}

/// The kind of listener, which decides what its paths need and how refusals look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// OTLP gRPC, OTLP HTTP and Zipkin: every request writes.
    Ingest,
    /// The query port: APIs read, health, metrics and the web UI's files are open.
    Query,
    /// The Tempo-compatible port: everything reads except health and metrics.
    Tempo,
}

impl Surface {
    /// What a request for `path` needs on this listener.
    pub fn access(self, path: &str) -> Access {
        match self {
            Surface::Ingest => Access::Need(Scope::Write),
            _ if matches!(path, "/healthz" | "/readyz" | "/metrics") => Access::Open,
            Surface::Tempo => Access::Need(Scope::Read),
            Surface::Query => {
                let under = |prefix: &str| {
                    path == prefix
                        || path
                            .strip_prefix(prefix)
                            .is_some_and(|rest| rest.starts_with('/'))
                };
                if under("/api") || under("/mcp") {
                    Access::Need(Scope::Read)
                } else {
                    Access::Open
                }
            }
        }
    }
}

/// Tower layer checking every request of an HTTP listener (see the module documentation).
#[derive(Clone)]
pub struct AuthLayer {
    auth: Arc<Authenticator>,
    listener: &'static str,
    surface: Surface,
}

impl AuthLayer {
    /// `listener` names the listener in `tracewell_auth_failures_total`.
    pub fn new(auth: Arc<Authenticator>, listener: &'static str, surface: Surface) -> Self {
        Self {
            auth,
            listener,
            surface,
        }
    }

    /// Checks `request` and sets its tenant header to the token's tenant.
    fn authorize(&self, request: &mut Request, scope: Scope) -> Result<(), AuthError> {
        let headers = request.headers_mut();
        let tenant = {
            let token = self.auth.check(
                self.listener,
                headers
                    .get(header::AUTHORIZATION)
                    .map(HeaderValue::as_bytes),
                headers
                    .get_all(TenantId::HEADER)
                    .iter()
                    .map(HeaderValue::as_bytes),
                scope,
            )?;
            HeaderValue::from_str(token.tenant().as_str())
                .expect("tenant ids are valid header values")
        };
        headers.insert(TenantId::HEADER, tenant);
        Ok(())
    }

    fn refusal(&self, error: &AuthError, grpc: bool) -> Response {
        if grpc {
            return error.grpc_status().into_http();
        }
        let status = error.http_status();
        let message = error.to_string();
        let mut response = match self.surface {
            Surface::Ingest => {
                let code = error.grpc_status().code() as i32;
                let body = serde_json::json!({ "code": code, "message": message });
                (status, axum::Json(body)).into_response()
            }
            Surface::Query => {
                let body = serde_json::json!({ "error": message, "status": status.as_u16() });
                (status, axum::Json(body)).into_response()
            }
            Surface::Tempo => (
                status,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                format!("{message}\n"),
            )
                .into_response(),
        };
        if let Some(challenge) = error.challenge() {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        debug_assert!(response.status() != StatusCode::OK);
        response
    }
}

impl<S> tower::Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`AuthLayer`] wraps around each route.
#[derive(Clone)]
pub struct AuthService<S> {
    inner: S,
    layer: AuthLayer,
}

impl<S> tower::Service<Request> for AuthService<S>
where
    S: tower::Service<Request, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        if let Access::Need(scope) = self.layer.surface.access(request.uri().path()) {
            if let Err(error) = self.layer.authorize(&mut request, scope) {
                let grpc = request
                    .headers()
                    .get(header::CONTENT_TYPE)
                    .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"));
                let response = self.layer.refusal(&error, grpc);
                return Box::pin(async move { Ok(response) });
            }
        }
        // The clone is not ready; the instance `poll_ready` was called on serves this request.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(inner.call(request))
    }
}

/// Tonic interceptor checking every request of a gRPC server for `scope`; passes everything when
/// authentication is off.
#[derive(Clone)]
pub struct GrpcAuth {
    auth: Option<Arc<Authenticator>>,
    listener: &'static str,
    scope: Scope,
}

impl GrpcAuth {
    pub fn new(auth: Option<Arc<Authenticator>>, listener: &'static str, scope: Scope) -> Self {
        Self {
            auth,
            listener,
            scope,
        }
    }
}

impl tonic::service::Interceptor for GrpcAuth {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, Status> {
        let Some(auth) = &self.auth else {
            return Ok(request);
        };
        let metadata = request.metadata();
        let tenant = {
            let token = auth
                .check(
                    self.listener,
                    metadata.get("authorization").map(|v| v.as_bytes()),
                    metadata
                        .get_all(TenantId::HEADER)
                        .iter()
                        .map(|v| v.as_bytes()),
                    self.scope,
                )
                .map_err(|e| e.grpc_status())?;
            MetadataValue::try_from(token.tenant().as_str())
                .expect("tenant ids are valid metadata values")
        };
        request.metadata_mut().insert(TenantId::HEADER, tenant);
        Ok(request)
    }
}
