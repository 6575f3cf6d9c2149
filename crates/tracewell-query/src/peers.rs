//! Block-builders asked for the spans they hold and have not flushed yet (a querier in a cluster): trace by id
//! asks each builder's native API (`GET /api/v1/traces/{id}`, OTLP JSON) and merges the answers with what the
//! blocks hold; the merge drops the spans a builder flushed meanwhile and the querier also read from a block.

use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use tracewell_model::{Span, TenantId, TraceId};

/// The block-builders of a cluster and an HTTP client for them.
#[derive(Debug, Clone)]
pub(crate) struct Peers {
    urls: Vec<String>,
    client: reqwest::Client,
}

impl Peers {
    pub(crate) fn new(urls: &[String], timeout: Duration) -> Self {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .unwrap_or_default();
        Peers {
            urls: urls
                .iter()
                .map(|u| u.trim_end_matches('/').to_string())
                .collect(),
            client,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.urls.is_empty()
    }

    /// The spans of `id` every builder holds, and the builders that did not answer (described for the
    /// "incomplete answer" warnings).
    pub(crate) async fn trace(&self, tenant: &TenantId, id: TraceId) -> (Vec<Span>, Vec<String>) {
        let asks = self.urls.iter().map(|url| async move {
            let answer = self.ask(url, tenant, id).await;
            (url, answer)
        });
        let mut spans = Vec::new();
        let mut unreachable = Vec::new();
        for (url, answer) in futures::future::join_all(asks).await {
            match answer {
                Ok(found) => spans.extend(found),
                Err(reason) => {
                    tracing::warn!(block_builder = %url, %reason, "block-builder did not answer a trace lookup");
                    unreachable.push(format!("block-builder {url} ({reason})"));
                }
            }
        }
        (spans, unreachable)
    }

    async fn ask(&self, url: &str, tenant: &TenantId, id: TraceId) -> Result<Vec<Span>, String> {
        let response = self
            .client
            .get(format!("{url}/api/v1/traces/{}", id.to_hex()))
            .header(TenantId::HEADER, tenant.as_str())
            .send()
            .await
            .map_err(|e| e.to_string())?;
        match response.status().as_u16() {
            404 => Ok(Vec::new()),
            200 => {
                let body = response.bytes().await.map_err(|e| e.to_string())?;
                let request: ExportTraceServiceRequest =
                    serde_json::from_slice(&body).map_err(|e| format!("unreadable answer: {e}"))?;
                Ok(tracewell_model::otlp::into_spans(request))
            }
            status => Err(format!("status {status}")),
        }
    }
}
