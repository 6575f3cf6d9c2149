//! The HTTP client of the OTLP/HTTP exporters (spans and log records).
//!
//! The SDK's batch processors export from threads of their own, driving the exporter's future with a
//! plain executor, while the hyper client that `opentelemetry-otlp` builds needs a Tokio runtime (its
//! timeout and connections are Tokio's): every export would panic with "there is no reactor running".
//! [`RuntimeHttpClient`] sends each request on the Tokio runtime the exporter was built in (or, outside
//! any, on a small runtime of its own) and hands the answer back to the exporting thread.

use std::sync::OnceLock;
use std::time::Duration;

use opentelemetry_http::hyper::HyperClient;
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use tokio::runtime::{Handle, Runtime};

/// The exporters' default timeout (`OTEL_EXPORTER_OTLP_TIMEOUT`'s default).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// A hyper client whose requests run on a Tokio runtime, whatever thread awaits them.
#[derive(Debug, Clone)]
pub(crate) struct RuntimeHttpClient {
    inner: HyperClient,
    runtime: Handle,
}

#[derive(Debug, thiserror::Error)]
#[error("the OTLP/HTTP request task ended without an answer: {0}")]
struct RequestTaskFailed(tokio::task::JoinError);

impl RuntimeHttpClient {
    /// A client with the timeout the exporter of `signal` (`TRACES`, `LOGS`) would use:
    /// `OTEL_EXPORTER_OTLP_{signal}_TIMEOUT`, else `OTEL_EXPORTER_OTLP_TIMEOUT` (milliseconds), else 10 s.
    pub(crate) fn for_signal(signal: &str) -> std::io::Result<Self> {
        let millis = |name: &str| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        let timeout = millis(&format!("OTEL_EXPORTER_OTLP_{signal}_TIMEOUT"))
            .or_else(|| millis("OTEL_EXPORTER_OTLP_TIMEOUT"))
            .map_or(DEFAULT_TIMEOUT, Duration::from_millis);
        let runtime = match Handle::try_current() {
            Ok(handle) => handle,
            Err(_) => own_runtime()?,
        };
        Ok(RuntimeHttpClient {
            inner: HyperClient::with_default_connector(timeout, None),
            runtime,
        })
    }
}

/// The runtime for exporters built outside any Tokio runtime: one worker, kept for the process.
fn own_runtime() -> std::io::Result<Handle> {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    if let Some(runtime) = RUNTIME.get() {
        return Ok(runtime.handle().clone());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("tracewell-otlp-http")
        .enable_all()
        .build()?;
    // Another thread may have won the race: its runtime is the one kept (this one is dropped here,
    // outside any runtime).
    Ok(RUNTIME.get_or_init(|| runtime).handle().clone())
}

#[async_trait::async_trait]
impl HttpClient for RuntimeHttpClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let inner = self.inner.clone();
        self.runtime
            .spawn(async move { inner.send_bytes(request).await })
            .await
            .map_err(|e| Box::new(RequestTaskFailed(e)) as HttpError)?
    }
}
