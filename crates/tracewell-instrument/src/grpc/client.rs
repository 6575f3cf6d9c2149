//! The client side: a tower layer over a gRPC channel (`ServiceBuilder::new().layer(TraceClientLayer::
//! default()).service(channel)`, then the generated client's `new` or `tonic::client::Grpc::new` on the
//! result) that records one CLIENT span per call, the child of the current context, named
//! `{package.Service}/{Method}` with `rpc.system`, `rpc.service`, `rpc.method`, `server.address`,
//! `server.port` and `rpc.grpc.status_code`, and injects its context into the request metadata with the
//! configured propagator. Every code but `OK` is an error for a client.
//!
//! A tonic `Channel` adds its endpoint's scheme and authority to requests below this layer, so the layer
//! sees only the path: give it the endpoint with [`TraceClientLayer::server_uri`] for `server.address` and
//! `server.port` (a request that already carries an authority, as with `Grpc::with_origin`, uses its own).
//!
//! Transport errors are recorded with the code tonic reports to the caller for them (`UNAVAILABLE` for a
//! refused connection, for instance), and handed on as that `tonic::Status`, which tonic reads back
//! unchanged.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use http::{Request, Response, Uri};
use http_body::Body;
use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::{SpanKind, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};
use tower::{Layer, Service};

use super::{classify, grpc_timeout, start_attributes, BoxError, OpenCall, Side, TracedBody};
use crate::http::server_address_attributes;
use crate::propagation::HeaderInjector;
use crate::Instrumentation;

/// Layer producing [`TraceClientService`].
#[derive(Clone, Debug)]
pub struct TraceClientLayer {
    instrumentation: Instrumentation,
    server: Option<Uri>,
}

impl Default for TraceClientLayer {
    fn default() -> Self {
        Self::new(Instrumentation::global())
    }
}

impl TraceClientLayer {
    /// A layer recording with `instrumentation` (use `Instrumentation::global()` after `init()`).
    pub fn new(instrumentation: impl Into<Instrumentation>) -> Self {
        TraceClientLayer {
            instrumentation: instrumentation.into(),
            server: None,
        }
    }

    /// The URI the channel connects to (`Endpoint::uri()`), for `server.address` and `server.port`
    /// (80 or 443 by scheme when the URI has no port).
    pub fn server_uri(mut self, uri: &Uri) -> Self {
        self.server = Some(uri.clone());
        self
    }
}

impl From<Instrumentation> for TraceClientLayer {
    fn from(instrumentation: Instrumentation) -> Self {
        Self::new(instrumentation)
    }
}

impl<S> Layer<S> for TraceClientLayer {
    type Service = TraceClientService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TraceClientService {
            inner,
            instrumentation: self.instrumentation.clone(),
            server: self.server.clone(),
        }
    }
}

/// The wrapped channel; see the module doc.
#[derive(Clone, Debug)]
pub struct TraceClientService<S> {
    inner: S,
    instrumentation: Instrumentation,
    server: Option<Uri>,
}

fn push_server(uri: &Uri, attributes: &mut Vec<KeyValue>) -> bool {
    let Some(authority) = uri.authority() else {
        return false;
    };
    let default_port = match uri.scheme_str() {
        Some("https") => Some(443),
        Some("http") => Some(80),
        _ => None,
    };
    server_address_attributes(authority, default_port, attributes);
    true
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for TraceClientService<S>
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
        let (name, mut attributes) = start_attributes(req.uri().path());
        if !push_server(req.uri(), &mut attributes) {
            if let Some(server) = &self.server {
                push_server(server, &mut attributes);
            }
        }
        let parent = Context::current();
        let tracer = self.instrumentation.tracer();
        let span = tracer
            .span_builder(name)
            .with_kind(SpanKind::Client)
            .with_attributes(attributes)
            .start_with_context(tracer, &parent);
        let cx = parent.with_span(span);
        self.instrumentation
            .inject(&cx, &mut HeaderInjector(req.headers_mut()));
        let mut call = OpenCall::new(cx.clone(), Side::Client, grpc_timeout(req.headers()));
        let future = self.inner.call(req);
        Box::pin(async move {
            match future.with_context(cx).await {
                Ok(response) => {
                    call.end_if_settled(response.status(), response.headers());
                    Ok(response.map(|body| TracedBody::new(body, Some(call))))
                }
                Err(error) => {
                    let (code, message, error) = classify(error.into());
                    call.end(code, &message);
                    Err(error)
                }
            }
        })
    }
}
