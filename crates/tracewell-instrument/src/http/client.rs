//! The client side for tower/hyper clients: a layer that records a CLIENT span per request (child of
//! the current context), injects its context into the request headers, and records the response
//! status (4xx and 5xx are errors for a client) or the transport error.
//!
//! Works with any `Service<http::Request<B>, Response = http::Response<R>>`, e.g.
//! `hyper_util::client::legacy::Client`: `ServiceBuilder::new().layer(TraceClientLayer::default()).service(client)`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use http::{Request, Response};
use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::{SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};
use tower::{Layer, Service};

use super::{method_attributes, protocol_version};
use crate::propagation::HeaderInjector;
use crate::Instrumentation;

/// Layer producing [`TraceClientService`].
#[derive(Clone, Debug)]
pub struct TraceClientLayer {
    instrumentation: Instrumentation,
}

impl Default for TraceClientLayer {
    fn default() -> Self {
        Self::new(Instrumentation::global())
    }
}

impl TraceClientLayer {
    pub fn new(instrumentation: impl Into<Instrumentation>) -> Self {
        TraceClientLayer {
            instrumentation: instrumentation.into(),
        }
    }
}

impl<S> Layer<S> for TraceClientLayer {
    type Service = TraceClientService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TraceClientService {
            inner,
            instrumentation: self.instrumentation.clone(),
        }
    }
}

/// The wrapped client; see the module doc.
#[derive(Clone, Debug)]
pub struct TraceClientService<S> {
    inner: S,
    instrumentation: Instrumentation,
}

/// Name and attributes of a CLIENT span for a request to `uri` (credentials are never recorded).
pub(crate) fn client_attributes(
    method: &http::Method,
    uri: &http::Uri,
    version: http::Version,
) -> (String, Vec<KeyValue>) {
    let mut attributes = Vec::with_capacity(8);
    let method = method_attributes(method, &mut attributes);
    if let Some(authority) = uri.authority() {
        attributes.push(KeyValue::new(
            "server.address",
            authority.host().trim_matches(['[', ']']).to_string(),
        ));
        let port = authority.port_u16().or(match uri.scheme_str() {
            Some("https") => Some(443),
            Some("http") => Some(80),
            _ => None,
        });
        if let Some(port) = port {
            attributes.push(KeyValue::new("server.port", i64::from(port)));
        }
        let scheme = uri.scheme_str().unwrap_or("http");
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let host_port = authority
            .as_str()
            .rsplit_once('@')
            .map_or(authority.as_str(), |(_, h)| h);
        attributes.push(KeyValue::new(
            "url.full",
            format!("{scheme}://{host_port}{path}"),
        ));
    }
    if let Some(v) = protocol_version(version) {
        attributes.push(KeyValue::new("network.protocol.version", v));
    }
    let name = if method == "_OTHER" { "HTTP" } else { method };
    (name.to_string(), attributes)
}

/// Records the outcome of a client call on `span`'s context.
pub(crate) fn record_status(cx: &Context, status: u16) {
    let span = cx.span();
    span.set_attribute(KeyValue::new(
        "http.response.status_code",
        i64::from(status),
    ));
    if status >= 400 {
        span.set_attribute(KeyValue::new("error.type", status.to_string()));
        span.set_status(Status::error(""));
    }
}

/// Records a transport error on `span`'s context.
pub(crate) fn record_error(cx: &Context, error_type: &str, message: String) {
    let span = cx.span();
    span.set_attribute(KeyValue::new("error.type", error_type.to_string()));
    span.set_status(Status::error(message));
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for TraceClientService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: std::fmt::Display,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let (name, attributes) = client_attributes(req.method(), req.uri(), req.version());
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
        let future = self.inner.call(req);
        Box::pin(async move {
            let result = future.with_context(cx.clone()).await;
            match &result {
                Ok(response) => record_status(&cx, response.status().as_u16()),
                Err(error) => record_error(&cx, "_OTHER", error.to_string()),
            }
            cx.span().end();
            result
        })
    }
}
