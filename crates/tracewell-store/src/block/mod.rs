//! Blocks: immutable Parquet files of spans, one per flush or compaction, stored behind `object_store`.
//!
//! The on-disk format is versioned by module. New blocks are written in the current version ([`v1`]); a reader
//! picks the module from the version segment of the block's path (`.../blocks/<version>/<ulid>/`), so old versions
//! stay readable when a new one is added.
//!
//! - [`write_block`] sorts spans by trace id and start time and encodes them as one Parquet file, returning the
//!   bytes and the [`BlockStats`] recorded in the block's `meta.json`.
//! - [`read_all`] decodes a whole block (compaction); [`read_trace`] decodes one trace, pruning by statistics,
//!   bloom filter and page index.

pub mod v1;

pub use v1::schema;

pub use v1::{
    read_all, read_all_sized, read_rows, read_trace, read_trace_sized, scan, scan_type,
    spans_to_batch, write_block, write_block_refs, BlockStats, RowPredicate, ScanRequest,
    WriteOptions, FORMAT_VERSION,
};
