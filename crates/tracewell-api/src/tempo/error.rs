//! Errors on the Tempo port as Tempo answers them: the status code with a plain-text message.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::ApiError;

/// An [`ApiError`] rendered as Tempo does (`text/plain`, message and newline).
#[derive(Debug)]
pub(crate) struct TempoError(pub ApiError);

impl<E: Into<ApiError>> From<E> for TempoError {
    fn from(error: E) -> Self {
        Self(error.into())
    }
}

impl IntoResponse for TempoError {
    fn into_response(self) -> Response {
        let response = (
            self.0.status(),
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("{}\n", self.0),
        )
            .into_response();
        self.0.with_retry_after(response)
    }
}

/// Tempo's not-found answer for `/api/traces/{id}`: 404 with an empty body.
pub(crate) fn not_found() -> Response {
    StatusCode::NOT_FOUND.into_response()
}
