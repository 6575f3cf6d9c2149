//! The server side: a tower layer that extracts the caller's context and records one SERVER span per
//! request, named `METHOD /route/{template}` (never the raw path, which would hold ids), with the HTTP
//! semantic-convention attributes, error status on 5xx and on panics, and the trace id returned in the
//! W3C Level 2 `traceresponse` header (and optionally another header such as `x-trace-id`).
//!
//! The route template comes from axum's `MatchedPath` (add the layer with `Router::layer`, which wraps
//! each route) or from an [`HttpRoute`] extension that any other router can insert. Without either the
//! span is named after the method alone.

use std::borrow::Cow;
use std::future::Future;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use futures::FutureExt as _;
use http::header::{HeaderName, HeaderValue};
use http::{Request, Response};
use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::{Span as _, SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue, Value};
use tower::{Layer, Service};

use super::shared_strings::{static_name, SharedStrings};
use super::{method_attributes, protocol_version};
use crate::propagation::{traceresponse_header, HeaderExtractor};
use crate::Instrumentation;

/// A route template (`/users/{id}`) for routers other than axum; insert it into the request's
/// extensions before this layer's service sees the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpRoute(pub String);

/// The remote peer's address, for servers that know it (axum's `ConnectInfo` is read too).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddress(pub SocketAddr);

/// Layer producing [`TraceService`].
#[derive(Clone, Debug)]
pub struct TraceLayer {
    config: Arc<Config>,
}

#[derive(Clone, Debug)]
struct Config {
    instrumentation: Instrumentation,
    traceresponse: bool,
    trace_id_header: Option<HeaderName>,
    strings: Arc<SharedStrings>,
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
            config: Arc::new(Config {
                instrumentation: instrumentation.into(),
                traceresponse: true,
                trace_id_header: None,
                strings: Arc::default(),
            }),
        }
    }

    /// Whether responses carry the `traceresponse` header (default true).
    pub fn traceresponse(mut self, enabled: bool) -> Self {
        Arc::make_mut(&mut self.config).traceresponse = enabled;
        self
    }

    /// Also returns the trace id in this header (e.g. `x-trace-id`).
    pub fn trace_id_header(mut self, name: HeaderName) -> Self {
        Arc::make_mut(&mut self.config).trace_id_header = Some(name);
        self
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
            config: self.config.clone(),
        }
    }
}

/// The service wrapping a server's handler; see the module doc.
#[derive(Clone, Debug)]
pub struct TraceService<S> {
    inner: S,
    config: Arc<Config>,
}

fn route_of<B>(req: &Request<B>) -> Option<&str> {
    #[cfg(feature = "axum")]
    if let Some(path) = req.extensions().get::<axum::extract::MatchedPath>() {
        return Some(path.as_str());
    }
    req.extensions().get::<HttpRoute>().map(|r| r.0.as_str())
}

fn client_address<B>(req: &Request<B>) -> Option<String> {
    if let Some(forwarded) = req
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        return Some(forwarded.to_string());
    }
    #[cfg(feature = "axum")]
    if let Some(info) = req
        .extensions()
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
    {
        return Some(info.0.ip().to_string());
    }
    req.extensions()
        .get::<ClientAddress>()
        .map(|a| a.0.ip().to_string())
}

/// The span name and the attributes given at span start (those a sampler may look at: method and
/// route). Names and routes repeat from request to request, so they are shared, not allocated each time.
fn start_attributes<B>(
    req: &Request<B>,
    strings: &SharedStrings,
) -> (Cow<'static, str>, Vec<KeyValue>) {
    let mut attributes = Vec::with_capacity(3);
    let method = method_attributes(req.method(), &mut attributes);
    let route = route_of(req);
    let name: Cow<'static, str> = match route {
        Some(route) => {
            let name = format!("{method} {route}");
            match static_name(&name) {
                Some(shared) => Cow::Borrowed(shared),
                None => Cow::Owned(name),
            }
        }
        None if method == "_OTHER" => Cow::Borrowed("HTTP"),
        None => Cow::Borrowed(method),
    };
    if let Some(route) = route {
        attributes.push(KeyValue::new("http.route", strings.value(route)));
    }
    (name, attributes)
}

/// The other request attributes, computed only for spans that are recorded.
fn detail_attributes<B>(req: &Request<B>, strings: &SharedStrings) -> Vec<KeyValue> {
    let mut attributes = Vec::with_capacity(10);
    attributes.push(KeyValue::new("url.path", req.uri().path().to_string()));
    if let Some(query) = req.uri().query() {
        attributes.push(KeyValue::new("url.query", query.to_string()));
    }
    attributes.push(KeyValue::new(
        "url.scheme",
        match req.uri().scheme_str() {
            None | Some("http") => Value::from("http"),
            Some("https") => Value::from("https"),
            Some(other) => strings.value(other),
        },
    ));
    if let Some(version) = protocol_version(req.version()) {
        attributes.push(KeyValue::new("network.protocol.version", version));
    }
    let host = req.uri().authority().map(|a| a.as_str()).or_else(|| {
        req.headers()
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
    });
    if let Some(authority) = host.and_then(|h| h.parse::<http::uri::Authority>().ok()) {
        attributes.push(KeyValue::new(
            "server.address",
            strings.value(authority.host().trim_matches(['[', ']'])),
        ));
        if let Some(port) = authority.port_u16() {
            attributes.push(KeyValue::new("server.port", i64::from(port)));
        }
    }
    if let Some(agent) = req
        .headers()
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
    {
        attributes.push(KeyValue::new("user_agent.original", strings.value(agent)));
    }
    if let Some(client) = client_address(req) {
        attributes.push(KeyValue::new("client.address", client));
    }
    attributes
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for TraceService<S>
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
        let config = self.config.clone();
        let parent = config
            .instrumentation
            .extract(&HeaderExtractor(req.headers()));
        let (name, attributes) = start_attributes(&req, &config.strings);
        let tracer = config.instrumentation.tracer();
        let mut span = tracer
            .span_builder(name)
            .with_kind(SpanKind::Server)
            .with_attributes(attributes)
            .start_with_context(tracer, &parent);
        if span.is_recording() {
            span.set_attributes(detail_attributes(&req, &config.strings));
        }
        let cx = parent.with_span(span);
        req.extensions_mut().insert(cx.clone());
        let future = {
            let _attached = cx.clone().attach();
            self.inner.call(req)
        };
        Box::pin(async move {
            let outcome = AssertUnwindSafe(future.with_context(cx.clone()))
                .catch_unwind()
                .await;
            let span = cx.span();
            match outcome {
                Ok(Ok(mut response)) => {
                    let status = response.status().as_u16();
                    span.set_attribute(KeyValue::new(
                        "http.response.status_code",
                        i64::from(status),
                    ));
                    if status >= 500 {
                        span.set_attribute(KeyValue::new("error.type", status.to_string()));
                        span.set_status(Status::error(""));
                    }
                    let sc = span.span_context();
                    if config.traceresponse {
                        if let Some(value) = traceresponse_header(sc) {
                            response
                                .headers_mut()
                                .insert(HeaderName::from_static("traceresponse"), value);
                        }
                    }
                    if let Some(header) = &config.trace_id_header {
                        if sc.is_valid() {
                            if let Ok(value) = HeaderValue::from_str(&sc.trace_id().to_string()) {
                                response.headers_mut().insert(header.clone(), value);
                            }
                        }
                    }
                    span.end();
                    Ok(response)
                }
                Ok(Err(error)) => {
                    span.set_attribute(KeyValue::new("error.type", "_OTHER"));
                    span.set_status(Status::error(error.to_string()));
                    span.end();
                    Err(error)
                }
                Err(panic) => {
                    let message = panic_message(&*panic);
                    span.add_event(
                        "exception",
                        vec![
                            KeyValue::new("exception.type", "panic"),
                            KeyValue::new("exception.message", message.clone()),
                        ],
                    );
                    span.set_attribute(KeyValue::new("error.type", "panic"));
                    span.set_status(Status::error(format!("handler panicked: {message}")));
                    span.end();
                    std::panic::resume_unwind(panic)
                }
            }
        })
    }
}

/// The message of a caught panic payload (`&str` or `String`), else `"panic"`.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_string()
    }
}

/// The context of the request's SERVER span, which [`TraceService`] puts in the request extensions;
/// handlers can use it as the parent of their own spans (it is also the current context while they run).
pub fn request_context<B>(req: &Request<B>) -> Option<&Context> {
    req.extensions().get::<Context>()
}
