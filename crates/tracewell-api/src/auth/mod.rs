//! Bearer-token authentication (`tracewell serve --auth-tokens FILE`).
//!
//! The token file is TOML, one `[[token]]` table per token, each bound to one tenant and a set of scopes:
//!
//! ```toml
//! [[token]]
//! name = "shop-ingest"   # shown in logs and metrics, never the secret
//! token = "…"            # the secret (at least 16 printable ASCII characters), or instead:
//! # token_sha256 = "…"   # its SHA-256 as 64 hex digits, so that the file holds no secret
//! tenant = "shop"        # a tenant id (1-64 of A-Z a-z 0-9 _ - .)
//! scopes = ["write"]     # any of "write", "read", "admin"
//! ```
//!
//! The file is validated as a whole at start-up ([`TokenFileError`] names the token and the problem: unknown
//! keys, missing or empty fields, unknown scopes, invalid tenants, duplicate names, the same secret twice).
//! Only SHA-256 digests of the secrets are kept; a presented token is hashed and compared with every digest in
//! constant time, so neither the comparison nor which entry matched depends on how much of a secret was guessed.
//!
//! A request presents `Authorization: Bearer <token>` (an HTTP header, or the gRPC metadata `authorization`, which
//! `OTEL_EXPORTER_OTLP_HEADERS=authorization=Bearer …` sends). [`Authenticator::check`] answers:
//!
//! - no header, not a bearer token, or an unknown token: [`AuthError`] that is *unauthenticated* (HTTP 401 with
//!   `WWW-Authenticate: Bearer`, gRPC `UNAUTHENTICATED`);
//! - a valid token without the scope the endpoint needs, or an `X-Scope-OrgID` naming another tenant than the
//!   token's: *forbidden* (HTTP 403, gRPC `PERMISSION_DENIED`);
//! - otherwise the token, whose tenant then replaces the request's `X-Scope-OrgID` (`layer.rs`), so the handlers'
//!   own tenant extraction reads the token's tenant.
//!
//! Which scope an endpoint needs is decided per listener in `layer.rs` ([`Surface`]). Failures are counted in
//! `tracewell_auth_failures_total{listener, reason}`, accepted requests per token name in
//! `tracewell_auth_requests_total{token}`.

mod layer;

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tracewell_model::TenantId;

pub use layer::{Access, AuthLayer, GrpcAuth, Surface};

/// Shortest secret accepted in clear in the token file.
pub const MIN_TOKEN_LEN: usize = 16;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Send spans (OTLP gRPC and HTTP, Zipkin).
    Write,
    /// Query: every read API, live tail, MCP.
    Read,
    /// Administrative operations.
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::Write, Scope::Read, Scope::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Write => "write",
            Scope::Read => "read",
            Scope::Admin => "admin",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    fn bit(self) -> u8 {
        match self {
            Scope::Write => 1,
            Scope::Read => 2,
            Scope::Admin => 4,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a token file was refused.
#[derive(Debug, thiserror::Error)]
pub enum TokenFileError {
    #[error("cannot read token file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Syntax(String),
    #[error(
        "no tokens: add [[token]] tables with name, token (or token_sha256), tenant and scopes"
    )]
    NoTokens,
    #[error("token #{index} has an empty name")]
    EmptyName { index: usize },
    #[error("two tokens are named {0:?}; names must be unique")]
    DuplicateName(String),
    #[error("token {0:?} has neither `token` nor `token_sha256`")]
    NoSecret(String),
    #[error("token {0:?} has both `token` and `token_sha256`; give one")]
    BothSecrets(String),
    #[error("token {name:?} is shorter than {min} characters")]
    ShortToken { name: String, min: usize },
    #[error("token {0:?} has characters other than printable ASCII (spaces included)")]
    TokenCharacters(String),
    #[error("token_sha256 of token {0:?} is not 64 hex digits")]
    BadDigest(String),
    #[error("tokens {first:?} and {second:?} have the same secret")]
    DuplicateToken { first: String, second: String },
    #[error("token {0:?} has an empty tenant")]
    EmptyTenant(String),
    #[error("token {name:?}: invalid tenant: {reason}")]
    InvalidTenant { name: String, reason: String },
    #[error("token {0:?} has no scopes; give some of \"write\", \"read\", \"admin\"")]
    NoScopes(String),
    #[error(
        "token {name:?} has unknown scope {scope:?}; scopes are \"write\", \"read\", \"admin\""
    )]
    UnknownScope { name: String, scope: String },
}

/// Why a request was refused.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AuthError {
    #[error("authentication required: send the header Authorization: Bearer <token>")]
    Missing,
    #[error(
        "the Authorization header is not a bearer token (expected Authorization: Bearer <token>)"
    )]
    NotBearer,
    #[error("invalid token")]
    Invalid,
    #[error("token {token:?} lacks the {scope} scope")]
    Scope { token: String, scope: Scope },
    #[error("X-Scope-OrgID names tenant {asked:?}, but the token is for tenant {tenant:?}")]
    TenantMismatch { asked: String, tenant: String },
}

impl AuthError {
    /// The `reason` label of `tracewell_auth_failures_total`.
    pub fn reason(&self) -> &'static str {
        match self {
            AuthError::Missing => "missing",
            AuthError::NotBearer => "not_bearer",
            AuthError::Invalid => "invalid",
            AuthError::Scope { .. } => "scope",
            AuthError::TenantMismatch { .. } => "tenant_mismatch",
        }
    }

    /// True for 401 / `UNAUTHENTICATED` (no valid token), false for 403 / `PERMISSION_DENIED`.
    pub fn is_unauthenticated(&self) -> bool {
        matches!(
            self,
            AuthError::Missing | AuthError::NotBearer | AuthError::Invalid
        )
    }

    pub fn http_status(&self) -> http::StatusCode {
        if self.is_unauthenticated() {
            http::StatusCode::UNAUTHORIZED
        } else {
            http::StatusCode::FORBIDDEN
        }
    }

    /// The `WWW-Authenticate` challenge (RFC 6750) for this refusal, if it has one.
    pub fn challenge(&self) -> Option<&'static str> {
        match self {
            AuthError::Missing | AuthError::NotBearer => Some(r#"Bearer realm="tracewell""#),
            AuthError::Invalid => Some(r#"Bearer realm="tracewell", error="invalid_token""#),
            AuthError::Scope { .. } => {
                Some(r#"Bearer realm="tracewell", error="insufficient_scope""#)
            }
            AuthError::TenantMismatch { .. } => None,
        }
    }

    pub fn grpc_status(&self) -> tonic::Status {
        if self.is_unauthenticated() {
            tonic::Status::unauthenticated(self.to_string())
        } else {
            tonic::Status::permission_denied(self.to_string())
        }
    }
}

/// One entry of the token file, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenEntry {
    name: String,
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    token_sha256: Option<String>,
    tenant: String,
    scopes: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenFile {
    #[serde(default)]
    token: Vec<TokenEntry>,
}

/// A validated token: its name, the digest of its secret, its tenant and scopes.
#[derive(Debug)]
pub struct Token {
    name: String,
    digest: [u8; 32],
    tenant: TenantId,
    scopes: u8,
    requests: Counter,
}

impl Token {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    pub fn has(&self, scope: Scope) -> bool {
        self.scopes & scope.bit() != 0
    }

    pub fn scopes(&self) -> impl Iterator<Item = Scope> + '_ {
        Scope::ALL.into_iter().filter(|s| self.has(*s))
    }
}

type Labels = Vec<(&'static str, String)>;

/// The tokens of a token file and the check every request goes through.
#[derive(Debug)]
pub struct Authenticator {
    tokens: Vec<Token>,
    failures: Family<Labels, Counter>,
    requests: Family<Labels, Counter>,
}

impl Authenticator {
    /// Reads and validates a token file.
    pub fn load(path: &Path) -> Result<Self, TokenFileError> {
        let text = std::fs::read_to_string(path).map_err(|source| TokenFileError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text)
    }

    /// Validates the text of a token file.
    pub fn parse(text: &str) -> Result<Self, TokenFileError> {
        let file: TokenFile =
            toml::from_str(text).map_err(|e| TokenFileError::Syntax(e.message().to_owned()))?;
        if file.token.is_empty() {
            return Err(TokenFileError::NoTokens);
        }
        let requests = Family::<Labels, Counter>::default();
        let mut tokens: Vec<Token> = Vec::with_capacity(file.token.len());
        let mut names = HashSet::new();
        for (index, entry) in file.token.into_iter().enumerate() {
            let token = validate(index + 1, entry, &requests)?;
            if !names.insert(token.name.clone()) {
                return Err(TokenFileError::DuplicateName(token.name));
            }
            if let Some(first) = tokens.iter().find(|t| t.digest == token.digest) {
                return Err(TokenFileError::DuplicateToken {
                    first: first.name.clone(),
                    second: token.name,
                });
            }
            tokens.push(token);
        }
        Ok(Self {
            tokens,
            failures: Family::default(),
            requests,
        })
    }

    /// Registers `tracewell_auth_failures_total` and `tracewell_auth_requests_total`.
    pub fn register_metrics(&self, registry: &mut Registry) {
        registry.register(
            "tracewell_auth_failures",
            "Requests refused by authentication, by listener and reason (missing, not_bearer, invalid, scope, tenant_mismatch)",
            self.failures.clone(),
        );
        registry.register(
            "tracewell_auth_requests",
            "Requests accepted by authentication, by token name",
            self.requests.clone(),
        );
    }

    pub fn tokens(&self) -> &[Token] {
        &self.tokens
    }

    /// Checks a request: its `Authorization` value, the values of its `X-Scope-OrgID` headers, and the scope the
    /// endpoint needs. Counts the outcome (`listener` labels failures).
    pub fn check<'v>(
        &self,
        listener: &'static str,
        authorization: Option<&[u8]>,
        tenant_headers: impl IntoIterator<Item = &'v [u8]>,
        scope: Scope,
    ) -> Result<&Token, AuthError> {
        let result = self.verify(authorization, tenant_headers, scope);
        match &result {
            Ok(token) => {
                token.requests.inc();
            }
            Err(error) => {
                self.failures
                    .get_or_create(&vec![
                        ("listener", listener.to_owned()),
                        ("reason", error.reason().to_owned()),
                    ])
                    .inc();
                tracing::debug!(listener, reason = error.reason(), %error, "request refused");
            }
        }
        result
    }

    fn verify<'v>(
        &self,
        authorization: Option<&[u8]>,
        tenant_headers: impl IntoIterator<Item = &'v [u8]>,
        scope: Scope,
    ) -> Result<&Token, AuthError> {
        let secret = bearer(authorization.ok_or(AuthError::Missing)?)?;
        let token = self.find(secret).ok_or(AuthError::Invalid)?;
        if !token.has(scope) {
            return Err(AuthError::Scope {
                token: token.name.clone(),
                scope,
            });
        }
        for value in tenant_headers {
            let asked = String::from_utf8_lossy(value);
            let asked = asked.trim();
            if asked != token.tenant.as_str() {
                return Err(AuthError::TenantMismatch {
                    asked: asked.chars().take(80).collect(),
                    tenant: token.tenant.to_string(),
                });
            }
        }
        Ok(token)
    }

    /// The token whose secret is `secret`: its digest is compared with every token's in constant time.
    fn find(&self, secret: &[u8]) -> Option<&Token> {
        let digest: [u8; 32] = Sha256::digest(secret).into();
        let mut found = None;
        for token in &self.tokens {
            if bool::from(token.digest.ct_eq(&digest)) {
                found = Some(token);
            }
        }
        found
    }
}

/// The secret of an `Authorization: Bearer <token>` value (scheme case-insensitive).
fn bearer(value: &[u8]) -> Result<&[u8], AuthError> {
    let value = value.trim_ascii();
    let (scheme, rest) = match value.iter().position(|b| *b == b' ') {
        Some(space) => value.split_at(space),
        None => (value, &b""[..]),
    };
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        return Err(AuthError::NotBearer);
    }
    let secret = rest.trim_ascii();
    if secret.is_empty() {
        return Err(AuthError::Invalid);
    }
    Ok(secret)
}

fn validate(
    index: usize,
    entry: TokenEntry,
    requests: &Family<Labels, Counter>,
) -> Result<Token, TokenFileError> {
    let name = entry.name.trim().to_owned();
    if name.is_empty() {
        return Err(TokenFileError::EmptyName { index });
    }
    let digest = match (entry.token, entry.token_sha256) {
        (None, None) => return Err(TokenFileError::NoSecret(name)),
        (Some(_), Some(_)) => return Err(TokenFileError::BothSecrets(name)),
        (Some(secret), None) => {
            if !secret.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(TokenFileError::TokenCharacters(name));
            }
            if secret.len() < MIN_TOKEN_LEN {
                return Err(TokenFileError::ShortToken {
                    name,
                    min: MIN_TOKEN_LEN,
                });
            }
            Sha256::digest(secret.as_bytes()).into()
        }
        (None, Some(hex_digest)) => {
            let mut digest = [0u8; 32];
            hex::decode_to_slice(hex_digest.trim(), &mut digest)
                .map_err(|_| TokenFileError::BadDigest(name.clone()))?;
            digest
        }
    };
    let tenant = entry.tenant.trim();
    if tenant.is_empty() {
        return Err(TokenFileError::EmptyTenant(name));
    }
    let tenant = TenantId::new(tenant).map_err(|e| TokenFileError::InvalidTenant {
        name: name.clone(),
        reason: e.to_string(),
    })?;
    if entry.scopes.is_empty() {
        return Err(TokenFileError::NoScopes(name));
    }
    let mut scopes = 0u8;
    for text in &entry.scopes {
        match Scope::parse(text.trim()) {
            Some(scope) => scopes |= scope.bit(),
            None => {
                return Err(TokenFileError::UnknownScope {
                    name,
                    scope: text.clone(),
                })
            }
        }
    }
    let requests = requests
        .get_or_create(&vec![("token", name.clone())])
        .clone();
    Ok(Token {
        name,
        digest,
        tenant,
        scopes,
        requests,
    })
}

#[cfg(test)]
mod tests;
