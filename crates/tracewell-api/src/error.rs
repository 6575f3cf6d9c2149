//! API errors as JSON responses: `{"error": "...", "status": N}` with the matching HTTP status.

use axum::http::StatusCode;
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
    #[error("internal error")]
    Internal,
}

impl From<tracewell_query::QueryError> for ApiError {
    fn from(error: tracewell_query::QueryError) -> Self {
        use tracewell_query::QueryError;
        match error {
            QueryError::BadRequest(message) => Self::BadRequest(message),
            QueryError::Timeout(_) => Self::Timeout(error.to_string()),
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
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = serde_json::json!({ "error": self.to_string(), "status": status.as_u16() });
        (status, axum::Json(body)).into_response()
    }
}
