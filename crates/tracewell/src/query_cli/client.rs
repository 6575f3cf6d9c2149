//! The HTTP client of `tracewell query`: JSON in and out, server errors turned into their message.

use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context};
use serde_json::Value;

pub struct Client {
    http: reqwest::Client,
    base: String,
    tenant: Option<String>,
    token: Option<String>,
}

impl Client {
    pub fn new(
        base: &str,
        tenant: Option<&str>,
        token: Option<&str>,
        ca_cert: Option<&Path>,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        let mut builder = reqwest::Client::builder().timeout(timeout);
        if let Some(path) = ca_cert {
            let pem = std::fs::read(path)
                .with_context(|| format!("reading --ca-cert {}", path.display()))?;
            let certificate = reqwest::Certificate::from_pem(&pem)
                .with_context(|| format!("--ca-cert {}: not a PEM certificate", path.display()))?;
            builder = builder.add_root_certificate(certificate);
        }
        let http = builder.build().context("building the HTTP client")?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            tenant: tenant.map(str::to_owned),
            token: token.map(str::to_owned),
        })
    }

    fn with_identity(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let request = match &self.token {
            Some(t) => request.bearer_auth(t),
            None => request,
        };
        match &self.tenant {
            Some(t) => request.header("X-Scope-OrgID", t),
            None => request,
        }
    }

    pub async fn get(&self, path: &str, query: &[(&str, String)]) -> anyhow::Result<Value> {
        let request =
            self.with_identity(self.http.get(format!("{}{path}", self.base)).query(query));
        self.send(request, path).await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let request = self.with_identity(self.http.post(format!("{}{path}", self.base)).json(body));
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
