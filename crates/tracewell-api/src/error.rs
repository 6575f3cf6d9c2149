//! API errors as JSON responses: `{"error": "...", "status": N}` with the matching HTTP status (and `Retry-After`
//! on 429).

use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Timeout(String),
    /// The server is at a concurrency limit; the client may retry after `retry_after`.
    #[error("{message}")]
    TooManyRequests {
        message: String,
        retry_after: Duration,
    },
    #[error("internal error")]
    Internal,
}

impl From<tracewell_query::QueryError> for ApiError {
    fn from(error: tracewell_query::QueryError) -> Self {
        use tracewell_query::QueryError;
        match error {
            QueryError::BadRequest(message) => Self::BadRequest(message),
            QueryError::Timeout(_) => Self::Timeout(error.to_string()),
            QueryError::Busy { retry_after, .. } => Self::TooManyRequests {
                message: error.to_string(),
                retry_after,
            },
            QueryError::Store(_) | QueryError::Internal(_) => {
                tracing::error!(%error, "query failed");
                Self::Internal
            }
        }
    }
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl ApiError {
    /// Adds `Retry-After` (whole seconds, at least 1) to an error response when the client should retry.
    pub(crate) fn with_retry_after(&self, mut response: Response) -> Response {
        if let Self::TooManyRequests { retry_after, .. } = self {
            let secs = tracewell_query::retry_seconds(*retry_after);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = serde_json::json!({ "error": self.to_string(), "status": status.as_u16() });
        self.with_retry_after((status, axum::Json(body)).into_response())
    }
}
