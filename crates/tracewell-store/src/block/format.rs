//! Block format versions and the version-independent result of writing a block.

use bytes::Bytes;

use super::BlockStats;
use crate::error::Result;

/// A block format version; every version stays readable, new blocks use [`BlockFormat::CURRENT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlockFormat {
    V1,
    V2,
}

impl BlockFormat {
    /// Every format, oldest first.
    pub const ALL: [BlockFormat; 2] = [BlockFormat::V1, BlockFormat::V2];
    /// The format of new blocks.
    pub const CURRENT: BlockFormat = BlockFormat::V2;

    /// The version segment of a block's path (`<tenant>/<version>/<ulid>/`) and `meta.json`'s `format`.
    pub fn as_str(self) -> &'static str {
        match self {
            BlockFormat::V1 => super::v1::FORMAT_VERSION,
            BlockFormat::V2 => super::v2::FORMAT_VERSION,
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }
}

/// The files of a block as its writer produced them.
#[derive(Debug, Clone)]
pub struct WrittenBlock {
    pub format: BlockFormat,
    /// `data.parquet`.
    pub data: Bytes,
    /// `index.bin`, for formats that persist indexes beside the data.
    pub index: Option<Bytes>,
    pub stats: BlockStats,
}

impl WrittenBlock {
    pub fn total_bytes(&self) -> u64 {
        (self.data.len() + self.index.as_ref().map_or(0, Bytes::len)) as u64
    }

    /// Compressed bytes per column of the data file, plus the index file as one entry, largest first.
    pub fn column_sizes(&self) -> Result<Vec<(String, u64)>> {
        let mut sizes = super::column_sizes(&self.data)?;
        if let Some(index) = &self.index {
            sizes.push(("index.bin".to_owned(), index.len() as u64));
            sizes.sort_by_key(|s| std::cmp::Reverse(s.1));
        }
        Ok(sizes)
    }
}
