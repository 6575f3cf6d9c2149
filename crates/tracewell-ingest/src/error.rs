//! One error enum for every receiver, mapped once to gRPC and HTTP statuses. Client errors are returned as they
//! are; internal errors are logged where they happen and reach the client as a generic message.

use std::time::Duration;

use axum::http::StatusCode;
use tracewell_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("invalid X-Scope-OrgID: {0}")]
    BadTenant(String),
    #[error("unknown tenant {0:?}: this server only accepts configured tenants")]
    UnknownTenant(String),
    #[error("malformed request: {0}")]
    Malformed(String),
    #[error("request body exceeds the limit of {limit} bytes{after}", after = if *.decompressed { " after decompression" } else { "" })]
    TooLarge { limit: usize, decompressed: bool },
    #[error("unsupported content type {got:?}; send {accepted}")]
    UnsupportedMediaType { got: String, accepted: &'static str },
    #[error("unsupported content encoding {0:?}; send gzip or no encoding")]
    UnsupportedEncoding(String),
    #[error("server is over its memory budget; retry after {}s", .retry_after.as_secs().max(1))]
    Overloaded { retry_after: Duration },
    #[error("server is starting (replaying its write-ahead log); retry after {}s", .retry_after.as_secs().max(1))]
    NotReady { retry_after: Duration },
    #[error("{0}")]
    TenantLimit(String),
    #[error("tenant {tenant:?} is over its ingest rate limit of {rate} spans/s (burst {burst}); {spans} span(s) refused, retry after {}s", .retry_after.as_secs().max(1))]
    RateLimited {
        tenant: String,
        rate: u64,
        burst: u64,
        spans: u64,
        retry_after: Duration,
    },
    #[error("internal error while storing spans")]
    Internal,
}

impl IngestError {
    /// Maps a store error, logging internal ones.
    pub fn from_store(error: StoreError, retry_after: Duration) -> Self {
        match error {
            StoreError::Overloaded { .. } => Self::Overloaded { retry_after },
            StoreError::NotReady | StoreError::ShuttingDown => Self::NotReady { retry_after },
            StoreError::LogUnavailable(reason) => {
                tracing::warn!(%reason, "request log unavailable; refusing the request as retryable");
                Self::NotReady { retry_after }
            }
            StoreError::TooManyTenants { .. } => Self::TenantLimit(error.to_string()),
            other => {
                tracing::error!(error = %other, "storing spans failed");
                Self::Internal
            }
        }
    }

    pub fn http_status(&self) -> StatusCode {
        match self {
            Self::BadTenant(_) | Self::Malformed(_) => StatusCode::BAD_REQUEST,
            Self::UnknownTenant(_) | Self::TenantLimit(_) => StatusCode::FORBIDDEN,
            Self::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType { .. } | Self::UnsupportedEncoding(_) => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            Self::Overloaded { .. } | Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::NotReady { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn grpc_code(&self) -> tonic::Code {
        match self {
            Self::BadTenant(_) | Self::Malformed(_) => tonic::Code::InvalidArgument,
            Self::UnknownTenant(_) | Self::TenantLimit(_) => tonic::Code::PermissionDenied,
            Self::TooLarge { .. } => tonic::Code::InvalidArgument,
            Self::UnsupportedMediaType { .. } | Self::UnsupportedEncoding(_) => {
                tonic::Code::InvalidArgument
            }
            Self::Overloaded { .. } | Self::RateLimited { .. } => tonic::Code::ResourceExhausted,
            Self::NotReady { .. } => tonic::Code::Unavailable,
            Self::Internal => tonic::Code::Internal,
        }
    }

    /// How long a client should wait before retrying, for retryable errors.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Overloaded { retry_after }
            | Self::NotReady { retry_after }
            | Self::RateLimited { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    /// A short machine-readable reason, used as a metrics label.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::BadTenant(_) => "bad_tenant",
            Self::UnknownTenant(_) => "unknown_tenant",
            Self::TenantLimit(_) => "tenant_limit",
            Self::Malformed(_) => "malformed",
            Self::TooLarge { .. } => "too_large",
            Self::UnsupportedMediaType { .. } => "unsupported_media_type",
            Self::UnsupportedEncoding(_) => "unsupported_encoding",
            Self::Overloaded { .. } => "overloaded",
            Self::RateLimited { .. } => "rate_limited",
            Self::NotReady { .. } => "not_ready",
            Self::Internal => "internal",
        }
    }
}

impl From<IngestError> for tonic::Status {
    fn from(error: IngestError) -> Self {
        use tonic_types::{ErrorDetails, StatusExt};
        let code = error.grpc_code();
        match error.retry_after() {
            Some(delay) => tonic::Status::with_error_details(
                code,
                error.to_string(),
                ErrorDetails::with_retry_info(Some(delay)),
            ),
            None => tonic::Status::new(code, error.to_string()),
        }
    }
}
