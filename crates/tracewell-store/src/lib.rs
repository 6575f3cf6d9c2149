//! # tracewell-store
//!
//! Where accepted spans live, per tenant:
//!
//! 1. **WAL** (`tracewell-wal`): every accepted export request is appended and fsynced before it is
//!    acknowledged ([`Store::append`]). Records are the sanitized OTLP request (`wal_record.rs`).
//! 2. **Head block** (`head.rs`): recent spans in memory, indexed by trace id, readable at once.
//! 3. **Blocks** (`block/`): when a head reaches its size or age limit it is written as an immutable block
//!    (format v2: Parquet data and an index file; v1 blocks stay readable) through `object_store` (`file://<data-dir>/blocks` by default), with a `meta.json` and a
//!    per-tenant catalog (`catalog.rs`). WAL segments are deleted only after their block is durable (`flush.rs`,
//!    protocol in `tenant.rs`).
//! 4. **Maintenance**: compaction merges small blocks of a time window and drops duplicate spans
//!    (`compaction.rs`); retention deletes blocks by age and total size (`retention.rs`).
//! 5. **Logs** (`logs/`): OTLP log records take the same WAL and head ([`Store::append_logs`]) and are flushed
//!    into logs blocks of their own, searched with [`Store::search_logs`] and kept for `log_retention`.
//! 6. **Tail sampling** (`sampling/`): per-tenant policies decide which traces of a head go into its block.
//!
//! Design notes: `storage.md` beside this file.
//!
//! [`Store::recover`] replays WALs and loads catalogs at start; readers (`tracewell-query`) take heads with
//! [`Store::heads`] and blocks with [`Store::blocks`];
//! [`Store::shutdown`] flushes everything. Memory is bounded by a budget over all heads: past it,
//! [`Store::append`] answers [`StoreError::Overloaded`], which receivers turn into retryable errors.

pub mod block;
mod catalog;
mod compaction;
mod config;
mod error;
mod fast_hash;
mod flush;
mod head;
mod lease;
pub mod live;
pub mod logs;
mod metrics;
pub mod overrides;
mod recovery;
mod request_log;
mod reservation;
mod retention;
pub mod rollup;
pub mod sampling;
mod store;
mod tenant;
mod wal_record;
pub mod watch;

pub use catalog::BlockMeta;
pub use compaction::dedupe as dedupe_spans;
pub use config::StoreConfig;
pub use error::{Result, StoreError};
pub use head::{Head, Inserted};
pub use lease::Lease;
pub use logs::{LogBlock, LogQuery, LogResult};
pub use overrides::{Overrides, OverridesError, OverridesHandle, TenantOverrides};
pub use recovery::RecoveryReport;
pub use request_log::{logs_record, traces_record, Appended, LogPositions, RequestLog};
pub use reservation::Reservation;
pub use store::{BlockStorage, Store};
