//! Query errors: what the caller asked wrongly (with the parameter named), or what failed underneath.

use tracewell_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// A parameter is malformed or out of bounds; the message names it.
    #[error("{0}")]
    BadRequest(String),
    /// The query ran past its time limit.
    #[error("query timed out after {0:?}; narrow the time range or add filters")]
    Timeout(std::time::Duration),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl QueryError {
    pub fn bad(message: impl Into<String>) -> Self {
        Self::BadRequest(message.into())
    }
}

pub type Result<T, E = QueryError> = std::result::Result<T, E>;
