//! Block format v1: one Parquet file per block, one row per span, sorted by `(trace_id, start, span_id)`.
//!
//! - [`write_block`] sorts spans, encodes them and returns the file bytes with the [`BlockStats`] that go into the
//!   block's `meta.json`.
//! - [`read_all`] decodes every span (compaction); [`read_trace`] decodes one trace, pruning row groups by
//!   `trace_id` statistics and bloom filter and pages by the page index, and filtering rows on `trace_id` before
//!   the other columns are decoded.
//!
//! The layout and the reasons for it are in `FORMAT.md` next to this file; the schema is in [`schema`]. The SQL
//! `logs` table's rows, which share the attribute representation, are in [`logs_rows`].

pub(in crate::block) mod attrs;
pub(in crate::block) mod decode;
pub(in crate::block) mod encode;
pub mod logs_rows;
pub(in crate::block) mod read;
pub(in crate::block) mod scan;
pub mod schema;
pub(in crate::block) mod write;

#[cfg(test)]
pub(in crate::block) mod tests;

pub use logs_rows::{log_col, logs_schema, logs_to_batch};
pub(crate) use read::BlockReader;
pub use read::{read_all, read_all_sized, read_rows, read_trace, read_trace_sized};
pub use scan::{scan, scan_type, RowPredicate, ScanRequest};
pub use write::{spans_to_batch, write_block, write_block_refs};

use crate::error::{Result, StoreError};

/// The version of this format; blocks live under `.../blocks/v1/<ulid>/`.
pub const FORMAT_VERSION: &str = "v1";

/// How [`write_block`] encodes a block.
#[derive(Debug, Clone)]
pub struct WriteOptions {
    /// Spans per Parquet row group (the unit of statistics and bloom-filter pruning).
    pub row_group_spans: usize,
    /// zstd compression level.
    pub zstd_level: i32,
    /// False-positive probability of the per-row-group `trace_id` bloom filter, in `(0, 1)`.
    pub bloom_fpp: f64,
}

impl Default for WriteOptions {
    fn default() -> Self {
        Self {
            row_group_spans: 16_384,
            zstd_level: 3,
            bloom_fpp: 0.01,
        }
    }
}

impl WriteOptions {
    pub(in crate::block) fn validate(&self) -> Result<()> {
        if self.row_group_spans == 0 {
            return Err(StoreError::Internal(
                "block row_group_spans must be positive".into(),
            ));
        }
        if !(self.bloom_fpp > 0.0 && self.bloom_fpp < 1.0) {
            return Err(StoreError::Internal(format!(
                "block bloom_fpp must be in (0, 1), got {}",
                self.bloom_fpp
            )));
        }
        Ok(())
    }
}

/// What a block holds, computed while writing it; stored in the block's `meta.json` and used to prune blocks.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct BlockStats {
    pub min_start_unix_nano: u64,
    pub max_end_unix_nano: u64,
    /// Lowercase hex.
    pub min_trace_id: String,
    pub max_trace_id: String,
    pub span_count: u64,
    pub trace_count: u64,
    /// Sorted, distinct.
    pub services: Vec<String>,
    /// `(service, span name)`, sorted, distinct.
    pub operations: Vec<(String, String)>,
    /// Span attribute keys present, sorted; `None` when unknown (older blocks) or more than
    /// [`MAX_RECORDED_KEYS`]. Lets a search skip blocks that cannot hold an attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span_attribute_keys: Option<Vec<String>>,
    /// Resource attribute keys present, sorted; `None` as for `span_attribute_keys`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_attribute_keys: Option<Vec<String>>,
    /// Attribute keys of span events, of span links and of instrumentation scopes, sorted; `None` as for
    /// `span_attribute_keys` (and for blocks written before they were recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_attribute_keys: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_attribute_keys: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope_attribute_keys: Option<Vec<String>>,
}

/// Most distinct attribute keys a block's stats record.
pub const MAX_RECORDED_KEYS: usize = 4096;

impl BlockStats {
    /// Whether the block may hold span attributes (`resource = false`) or resource attributes with `key`.
    pub fn may_have_key(&self, key: &str, resource: bool) -> bool {
        let keys = if resource {
            &self.resource_attribute_keys
        } else {
            &self.span_attribute_keys
        };
        may_have(keys, key)
    }

    /// Whether the block may hold span events with attribute `key`.
    pub fn may_have_event_key(&self, key: &str) -> bool {
        may_have(&self.event_attribute_keys, key)
    }

    /// Whether the block may hold span links with attribute `key`.
    pub fn may_have_link_key(&self, key: &str) -> bool {
        may_have(&self.link_attribute_keys, key)
    }

    /// Whether the block may hold instrumentation scopes with attribute `key`.
    pub fn may_have_scope_key(&self, key: &str) -> bool {
        may_have(&self.scope_attribute_keys, key)
    }
}

fn may_have(keys: &Option<Vec<String>>, key: &str) -> bool {
    keys.as_ref()
        .is_none_or(|k| k.binary_search_by(|x| x.as_str().cmp(key)).is_ok())
}
