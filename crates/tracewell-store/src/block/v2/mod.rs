//! Block format v2: `data.parquet` (one row per span, sorted by `(trace_id, start, span_id)`, row groups ending at
//! trace boundaries) and `index.bin` (resource, scope and attribute-shape tables, the trace index, per-row-group
//! start ranges and value filters).
//!
//! Compared with v1 a span row no longer repeats its resource and scope (they are numbered table entries), stores
//! its parent as a row offset within its trace, and keeps frequent attributes in typed per-key columns chosen per
//! block. Readers see the v1 logical columns through `logical.rs`, so queries do not depend on the layout. Layout
//! and measurements: `FORMAT.md` next to this file.

mod index;
mod logical;
mod read;
pub mod schema;
mod write;

#[cfg(test)]
mod tests;

pub use index::{BlockIndex, Placement, RowGroupEntry};
pub use read::{
    dynamic_columns, index_path, read_all, read_rows, read_trace, row_groups_holding, scan,
    trace_index,
};
pub use write::{write_block_refs, BlockWriter, MAX_DYNAMIC_COLUMNS};

/// The version of this format; blocks live under `.../<tenant>/v2/<ulid>/`.
pub const FORMAT_VERSION: &str = "v2";
