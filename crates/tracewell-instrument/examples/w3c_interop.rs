//! The W3C Trace Context test service: `POST /test` takes a JSON array of `{"url", "arguments"}` and,
//! for each element, POSTs `arguments` as JSON to `url`, propagating the incoming context through the
//! server layer and the reqwest middleware. Run it and point the W3C harness (w3c/trace-context,
//! `test/test.py`) at it:
//!
//! ```text
//! cargo run --release -p tracewell-instrument --example w3c_interop -- 127.0.0.1:5000
//! SPEC_LEVEL=2 STRICT_LEVEL=2 python test.py http://127.0.0.1:5000/test
//! ```
//!
//! Spans are not exported anywhere unless `OTEL_EXPORTER_OTLP_ENDPOINT` is set.

use std::net::SocketAddr;

use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::Value;
use tracewell_instrument::http::reqwest::traced_client;
use tracewell_instrument::http::TraceLayer;
use tracewell_instrument::{Builder, Instrumentation};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:5000".to_string())
        .parse()
        .map_err(|e| format!("the argument must be an address such as 127.0.0.1:5000: {e}"))?;
    let mut builder = Builder::new().service_name("w3c-interop");
    if std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT").is_none() {
        builder = builder.without_otlp();
    }
    let telemetry = builder.build()?;
    let instrumentation = Instrumentation::from_telemetry(&telemetry);
    let client = traced_client(reqwest::Client::new(), instrumentation.clone());

    let app = Router::new()
        .route(
            "/test",
            post(move |Json(cases): Json<Value>| {
                let client = client.clone();
                async move {
                    let Some(cases) = cases.as_array() else {
                        return Err((
                            StatusCode::BAD_REQUEST,
                            "the body must be a JSON array".to_string(),
                        ));
                    };
                    for case in cases {
                        let Some(url) = case.get("url").and_then(Value::as_str) else {
                            return Err((
                                StatusCode::BAD_REQUEST,
                                format!("element without a url: {case}"),
                            ));
                        };
                        let arguments = case
                            .get("arguments")
                            .cloned()
                            .unwrap_or(Value::Array(vec![]));
                        client
                            .post(url)
                            .json(&arguments)
                            .send()
                            .await
                            .map_err(|e| (StatusCode::BAD_GATEWAY, format!("POST {url}: {e}")))?;
                    }
                    Ok(StatusCode::OK)
                }
            }),
        )
        .layer(TraceLayer::new(instrumentation));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    eprintln!(
        "w3c_interop listening on http://{}/test",
        listener.local_addr()?
    );
    axum::serve(listener, app).await?;
    telemetry.shutdown()?;
    Ok(())
}
