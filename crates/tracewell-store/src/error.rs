//! The store's error type.

use tracewell_model::TenantId;

/// Errors of the storage layer. `Internal` means an invariant broke (a bug), not bad input.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("wal: {0}")]
    Wal(#[from] tracewell_wal::WalError),
    #[error("object store: {0}")]
    ObjectStore(#[from] object_store::Error),
    #[error("parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("block {block}: {reason}")]
    CorruptBlock { block: String, reason: String },
    #[error("head block of tenant {tenant} is over its memory budget ({used} of {budget} bytes); retry later")]
    Overloaded {
        tenant: TenantId,
        used: usize,
        budget: usize,
    },
    #[error("store is still replaying its write-ahead log; retry shortly")]
    NotReady,
    #[error("data directory {0} is in use by another tracewell process")]
    DataDirInUse(String),
    #[error("this server already holds the maximum of {limit} tenants")]
    TooManyTenants { limit: usize },
    #[error("store is shutting down")]
    ShuttingDown,
    #[error("the request log is unavailable: {0}")]
    LogUnavailable(String),
    #[error("request log record at partition {partition} offset {offset} is unusable: {reason}")]
    BadLogRecord {
        partition: i32,
        offset: i64,
        reason: String,
    },
    #[error("internal: {0}")]
    Internal(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
