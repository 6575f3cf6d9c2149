//! `reqwest` integration: [`TracingMiddleware`] for `reqwest-middleware` records a CLIENT span per
//! request and injects its context into the outgoing headers.
//!
//! ```no_run
//! # use tracewell_instrument::http::reqwest::{traced_client, TracingMiddleware};
//! let client = traced_client(reqwest::Client::new(), tracewell_instrument::Instrumentation::global());
//! // or: reqwest_middleware::ClientBuilder::new(reqwest::Client::new()).with(TracingMiddleware::default()).build();
//! ```

use http::Extensions;
use opentelemetry::context::FutureExt as _;
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware, Middleware, Next};

use super::client::{end_client_span, start_client_span};
use crate::Instrumentation;

/// Middleware recording CLIENT spans; see the module doc.
#[derive(Clone, Debug)]
pub struct TracingMiddleware {
    instrumentation: Instrumentation,
}

impl Default for TracingMiddleware {
    fn default() -> Self {
        Self::new(Instrumentation::global())
    }
}

impl TracingMiddleware {
    pub fn new(instrumentation: impl Into<Instrumentation>) -> Self {
        TracingMiddleware {
            instrumentation: instrumentation.into(),
        }
    }
}

/// `client` wrapped with [`TracingMiddleware`].
pub fn traced_client(
    client: reqwest::Client,
    instrumentation: impl Into<Instrumentation>,
) -> ClientWithMiddleware {
    ClientBuilder::new(client)
        .with(TracingMiddleware::new(instrumentation))
        .build()
}

#[async_trait::async_trait]
impl Middleware for TracingMiddleware {
    async fn handle(
        &self,
        mut req: reqwest::Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        let uri: http::Uri = req.url().as_str().parse().unwrap_or_default();
        let (method, version) = (req.method().clone(), req.version());
        let cx = start_client_span(
            &self.instrumentation,
            &method,
            &uri,
            version,
            req.headers_mut(),
        );
        let result = next.run(req, extensions).with_context(cx.clone()).await;
        let outcome = match &result {
            Ok(response) => Ok(response.status().as_u16()),
            Err(error) => {
                let kind = match error {
                    reqwest_middleware::Error::Reqwest(e) if e.is_timeout() => "timeout",
                    reqwest_middleware::Error::Reqwest(e) if e.is_connect() => "connect",
                    _ => "_OTHER",
                };
                Err((kind, error.to_string()))
            }
        };
        end_client_span(&cx, outcome);
        result
    }
}
