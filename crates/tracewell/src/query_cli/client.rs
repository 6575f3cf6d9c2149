//! The HTTP client of `tracewell query`: JSON in and out, server errors turned into their message.

use std::time::Duration;

use anyhow::{bail, Context};
use serde_json::Value;

pub struct Client {
    http: reqwest::Client,
    base: String,
    tenant: Option<String>,
}

impl Client {
    pub fn new(base: &str, tenant: Option<&str>, timeout: Duration) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .context("building the HTTP client")?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            tenant: tenant.map(str::to_owned),
        })
    }

    fn with_tenant(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.tenant {
            Some(t) => request.header("X-Scope-OrgID", t),
            None => request,
        }
    }

    pub async fn get(&self, path: &str, query: &[(&str, String)]) -> anyhow::Result<Value> {
        let request = self.with_tenant(self.http.get(format!("{}{path}", self.base)).query(query));
        self.send(request, path).await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let request = self.with_tenant(self.http.post(format!("{}{path}", self.base)).json(body));
        self.send(request, path).await
    }

    async fn send(&self, request: reqwest::RequestBuilder, path: &str) -> anyhow::Result<Value> {
        let response = request.send().await.with_context(|| {
            format!(
                "cannot reach {}{path} (is `tracewell serve` running?)",
                self.base
            )
        })?;
        let status = response.status();
        let body: Value = response
            .json()
            .await
            .with_context(|| format!("{path} answered {status} without JSON"))?;
        if !status.is_success() {
            let message = body["error"].as_str().unwrap_or("no message");
            bail!("{path} answered {status}: {message}");
        }
        Ok(body)
    }
}
