//! The server side: a tower layer for `tonic::transport::Server::builder().layer(...)` (or any
//! `Service<http::Request<B>>` serving gRPC) that extracts the caller's context from the request metadata
//! with the configured propagator and records one SERVER span per call, named `{package.Service}/{Method}`,
//! with `rpc.system`, `rpc.service`, `rpc.method`, `server.address`/`server.port` (from `:authority`, else
//! the local address), `client.address`/`client.port` (tonic's `TcpConnectInfo`) and
//! `rpc.grpc.status_code` (see the [module doc](super) for where the status comes from).
//!
//! Requests that are not gRPC (`content-type` other than `application/grpc[+format]`, such as plain HTTP
//! routes served next to the services) pass through without a span.
//!
//! The span's context is current while the handler runs and while a streamed response is produced, and
//! is in the request extensions ([`request_context`]). A handler that panics gets an `exception` event
//! and error status before the panic goes on. A method the server does not know (tonic's
//! `UNIMPLEMENTED` without a message, from its router or generated code) renames the span `grpc`: any
//! caller can send any path, and span names must not follow them.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use futures::FutureExt as _;
use http::{Request, Response};
use http_body::Body;
use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::{Span as _, SpanKind, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};
use tonic::transport::server::TcpConnectInfo;
use tonic::Code;
use tower::{Layer, Service};

use super::{
    classify, grpc_timeout, is_grpc, start_attributes, status_of, BoxError, OpenCall, Side,
    TracedBody,
};
use crate::http::server::panic_message;
use crate::http::server_address_attributes;
use crate::propagation::HeaderExtractor;
use crate::Instrumentation;

/// Layer producing [`TraceService`].
#[derive(Clone, Debug)]
pub struct TraceLayer {
    instrumentation: Instrumentation,
}

impl Default for TraceLayer {
    fn default() -> Self {
        Self::new(Instrumentation::global())
    }
}

impl TraceLayer {
    /// A layer recording with `instrumentation` (use `Instrumentation::global()` after `init()`).
    pub fn new(instrumentation: impl Into<Instrumentation>) -> Self {
        TraceLayer {
            instrumentation: instrumentation.into(),
        }
    }
}

impl From<Instrumentation> for TraceLayer {
    fn from(instrumentation: Instrumentation) -> Self {
        Self::new(instrumentation)
    }
}

impl<S> Layer<S> for TraceLayer {
    type Service = TraceService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TraceService {
            inner,
            instrumentation: self.instrumentation.clone(),
        }
    }
}

/// The service wrapping a gRPC server's routes; see the module doc.
#[derive(Clone, Debug)]
pub struct TraceService<S> {
    inner: S,
    instrumentation: Instrumentation,
}

/// Attributes beyond the path's, computed only for recorded spans.
fn detail_attributes<B>(req: &Request<B>) -> Vec<KeyValue> {
    let mut attributes = Vec::with_capacity(4);
    let connection = req.extensions().get::<TcpConnectInfo>();
    let authority = req.uri().authority().cloned().or_else(|| {
        req.headers()
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.parse().ok())
    });
    if let Some(authority) = authority {
        server_address_attributes(&authority, None, &mut attributes);
    } else if let Some(local) = connection.and_then(TcpConnectInfo::local_addr) {
        attributes.push(KeyValue::new("server.address", local.ip().to_string()));
        attributes.push(KeyValue::new("server.port", i64::from(local.port())));
    }
    if let Some(remote) = connection.and_then(TcpConnectInfo::remote_addr) {
        attributes.push(KeyValue::new("client.address", remote.ip().to_string()));
        attributes.push(KeyValue::new("client.port", i64::from(remote.port())));
    }
    attributes
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for TraceService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    ResBody: Body,
    ResBody::Error: Into<BoxError>,
{
    type Response = Response<TracedBody<ResBody>>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        if !is_grpc(req.headers()) {
            let future = self.inner.call(req);
            return Box::pin(async move {
                match future.await {
                    Ok(response) => Ok(response.map(|body| TracedBody::new(body, None))),
                    Err(error) => Err(error.into()),
                }
            });
        }
        let parent = self
            .instrumentation
            .extract(&HeaderExtractor(req.headers()));
        let (name, attributes) = start_attributes(req.uri().path());
        let tracer = self.instrumentation.tracer();
        let mut span = tracer
            .span_builder(name)
            .with_kind(SpanKind::Server)
            .with_attributes(attributes)
            .start_with_context(tracer, &parent);
        if span.is_recording() {
            span.set_attributes(detail_attributes(&req));
        }
        let cx = parent.with_span(span);
        req.extensions_mut().insert(cx.clone());
        let mut call = OpenCall::new(cx.clone(), Side::Server, grpc_timeout(req.headers()));
        let future = {
            let _attached = cx.clone().attach();
            self.inner.call(req)
        };
        Box::pin(async move {
            match AssertUnwindSafe(future.with_context(cx.clone()))
                .catch_unwind()
                .await
            {
                Ok(Ok(response)) => {
                    if matches!(status_of(response.headers()), Some((Code::Unimplemented, m)) if m.is_empty())
                    {
                        cx.span().update_name("grpc");
                    }
                    call.end_if_settled(response.status(), response.headers());
                    Ok(response.map(|body| TracedBody::new(body, Some(call))))
                }
                Ok(Err(error)) => {
                    let (code, message, error) = classify(error.into());
                    call.end(code, &message);
                    Err(error)
                }
                Err(panic) => {
                    call.end_with_panic(&panic_message(&*panic));
                    std::panic::resume_unwind(panic)
                }
            }
        })
    }
}

/// The context of the call's SERVER span, which [`TraceService`] puts in the request extensions; tonic
/// hands them to the handler's `tonic::Request` (the context is also current while the handler runs).
pub fn request_context<T>(request: &tonic::Request<T>) -> Option<&Context> {
    request.extensions().get::<Context>()
}
