//! Error type shared by every WAL operation.
//!
//! I/O errors carry a human-readable context (operation and path) and the
//! underlying [`std::io::Error`] behind an `Arc`, so one failure of a group
//! commit can be handed to every waiter of that group.

use std::io;
use std::sync::Arc;

/// Errors returned by the write-ahead log.
#[derive(thiserror::Error, Debug, Clone)]
pub enum WalError {
    /// A real I/O failure (disk full, permission denied, ...). Corrupt data on
    /// disk is never reported this way; it is truncated and logged instead.
    #[error("{context}: {source}")]
    Io {
        /// What the WAL was doing, including the path involved.
        context: String,
        /// The underlying operating-system error.
        source: Arc<io::Error>,
    },
    /// The record is larger than [`crate::WalConfig::max_record_bytes`]; nothing
    /// was written.
    #[error("record of {len} bytes exceeds the WAL record limit of {max} bytes")]
    RecordTooLarge {
        /// Size of the refused payload.
        len: usize,
        /// The configured limit.
        max: u32,
    },
    /// The WAL was closed (explicitly or because its last handle was dropped).
    #[error("the write-ahead log is closed")]
    Closed,
}

impl WalError {
    /// Wraps an I/O error with a description of the failed operation.
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        WalError::Io {
            context: context.into(),
            source: Arc::new(source),
        }
    }

    /// The [`io::ErrorKind`] of an I/O error, `None` for other variants.
    pub fn io_kind(&self) -> Option<io::ErrorKind> {
        match self {
            WalError::Io { source, .. } => Some(source.kind()),
            _ => None,
        }
    }
}

/// Result alias used throughout the crate.
pub type Result<T> = std::result::Result<T, WalError>;
