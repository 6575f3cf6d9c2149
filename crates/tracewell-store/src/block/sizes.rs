//! Where a block's bytes go: compressed bytes per Parquet column, summed over row groups. For benchmarks and
//! format work; independent of the block version.

use bytes::Bytes;
use parquet::file::metadata::ParquetMetaDataReader;

use crate::error::Result;

/// Compressed bytes of each column (dotted leaf path), largest first.
pub fn column_sizes(file: &Bytes) -> Result<Vec<(String, u64)>> {
    let metadata = ParquetMetaDataReader::new().parse_and_finish(file)?;
    let mut sizes: Vec<(String, u64)> = Vec::new();
    for group in metadata.row_groups() {
        for (i, column) in group.columns().iter().enumerate() {
            let size = u64::try_from(column.compressed_size()).unwrap_or(0);
            match sizes.get_mut(i) {
                Some((_, total)) => *total += size,
                None => sizes.push((column.column_path().string(), size)),
            }
        }
    }
    sizes.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(sizes)
}
