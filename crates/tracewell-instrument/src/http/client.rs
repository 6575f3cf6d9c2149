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

use super::{method_attributes, protocol_version, server_address_attributes};
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
fn client_attributes(
    method: &http::Method,
    uri: &http::Uri,
    version: http::Version,
) -> (String, Vec<KeyValue>) {
    let mut attributes = Vec::with_capacity(8);
    let method = method_attributes(method, &mut attributes);
    if let Some(authority) = uri.authority() {
        let default_port = match uri.scheme_str() {
            Some("https") => Some(443),
            Some("http") => Some(80),
            _ => None,
        };
        server_address_attributes(authority, default_port, &mut attributes);
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

/// Starts a CLIENT span for a request (child of the current context) and injects its context into the
/// request's headers.
pub(crate) fn start_client_span(
    instrumentation: &Instrumentation,
    method: &http::Method,
    uri: &http::Uri,
    version: http::Version,
    headers: &mut http::HeaderMap,
) -> Context {
    let (name, attributes) = client_attributes(method, uri, version);
    let parent = Context::current();
    let tracer = instrumentation.tracer();
    let span = tracer
        .span_builder(name)
        .with_kind(SpanKind::Client)
        .with_attributes(attributes)
        .start_with_context(tracer, &parent);
    let cx = parent.with_span(span);
    instrumentation.inject(&cx, &mut HeaderInjector(headers));
    cx
}

/// Ends a CLIENT span with the response status (4xx and 5xx are errors for a client) or the transport
/// error's type and message.
pub(crate) fn end_client_span(cx: &Context, outcome: Result<u16, (&str, String)>) {
    let span = cx.span();
    match outcome {
        Ok(status) => {
            span.set_attribute(KeyValue::new(
                "http.response.status_code",
                i64::from(status),
            ));
            if status >= 400 {
                span.set_attribute(KeyValue::new("error.type", status.to_string()));
                span.set_status(Status::error(""));
            }
        }
        Err((error_type, message)) => {
            span.set_attribute(KeyValue::new("error.type", error_type.to_string()));
            span.set_status(Status::error(message));
        }
    }
    span.end();
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
        let (method, uri, version) = (req.method().clone(), req.uri().clone(), req.version());
        let cx = start_client_span(
            &self.instrumentation,
            &method,
            &uri,
            version,
            req.headers_mut(),
        );
        let future = self.inner.call(req);
        Box::pin(async move {
            let result = future.with_context(cx.clone()).await;
            let outcome = match &result {
                Ok(response) => Ok(response.status().as_u16()),
                Err(error) => Err(("_OTHER", error.to_string())),
            };
            end_client_span(&cx, outcome);
            result
        })
    }
}
