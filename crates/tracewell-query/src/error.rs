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
    /// `limit` expensive queries are running already; the client should retry after `retry_after`.
    #[error(
        "too many queries at once: the limit is {limit} running searches, SQL, TraceQL, heatmap, breakdown or insights queries (max_concurrent_queries); retry in {}s",
        retry_seconds(*.retry_after)
    )]
    Busy {
        limit: usize,
        retry_after: std::time::Duration,
    },
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

/// Whole seconds to wait, rounded up, at least 1 (as `Retry-After` says it).
pub fn retry_seconds(wait: std::time::Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

pub type Result<T, E = QueryError> = std::result::Result<T, E>;
