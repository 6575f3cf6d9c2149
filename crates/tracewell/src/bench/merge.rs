//! The compaction figure of `bench storage`: the spans written as flush-sized v2 blocks on the local disk, then
//! merged into one block by the streaming merge compaction uses. The merge runs in a child process
//! (`tracewell bench merge-blocks`), so its peak resident memory is the merge's own and not memory the parent's
//! allocator kept from decoding the spans.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};
use tracewell_model::Span;
use tracewell_store::block::{self, BlockFormat, MergeInput, MergeLimits, WriteOptions};

use super::procfs::status_kib;

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct MergeFigures {
    pub inputs: usize,
    pub input_spans: usize,
    pub merge_spans_per_second: f64,
    /// Peak resident memory of the merging process minus its resident memory before the merge.
    pub peak_extra_mib: f64,
    pub merged_bytes_per_span: f64,
}

/// Arguments of the hidden `tracewell bench merge-blocks`.
#[derive(clap::Args, Debug, Clone)]
pub struct MergeBlocksArgs {
    /// A directory written by `bench storage` (blocks and `inputs.json`).
    #[arg(long)]
    pub dir: PathBuf,
}

/// One input as `inputs.json` lists it.
#[derive(Debug, Serialize, Deserialize)]
struct InputEntry {
    path: String,
    size: u64,
    rows: usize,
}

/// Blocks on disk under `dir` (removed when dropped), ready to merge.
pub(super) struct WrittenInputs {
    dir: PathBuf,
}

impl Drop for WrittenInputs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Writes `spans` as v2 blocks of `block_spans` spans into a temporary directory, with `inputs.json`.
pub(super) fn write_inputs(spans: &[Span], block_spans: usize) -> anyhow::Result<WrittenInputs> {
    let dir = std::env::temp_dir().join(format!("tracewell-bench-merge-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let written = WrittenInputs { dir };
    let objects: Arc<dyn ObjectStore> = Arc::new(LocalFileSystem::new_with_prefix(&written.dir)?);
    let opts = WriteOptions::default();
    let handle = tokio::runtime::Handle::current();
    let mut entries = Vec::new();
    for (i, chunk) in spans.chunks(block_spans.max(1)).enumerate() {
        let encoded = block::write(BlockFormat::V2, chunk.iter().collect(), &opts)?;
        let path = Path::from(format!("bench/v2/{i:06}/data.parquet"));
        let size = encoded.data.len() as u64;
        handle.block_on(objects.put(&path, PutPayload::from(encoded.data)))?;
        if let (Some(index), Some(side)) = (
            encoded.index,
            block::side_files(BlockFormat::V2, &path).first(),
        ) {
            handle.block_on(objects.put(side, PutPayload::from(index)))?;
        }
        entries.push(InputEntry {
            path: path.to_string(),
            size,
            rows: chunk.len(),
        });
    }
    std::fs::write(
        written.dir.join("inputs.json"),
        serde_json::to_vec(&entries)?,
    )?;
    Ok(written)
}

/// Runs the merge in a child process and returns its figures.
pub(super) fn measure(written: &WrittenInputs) -> anyhow::Result<MergeFigures> {
    let exe = std::env::current_exe().context("locating the tracewell binary")?;
    let out = std::process::Command::new(exe)
        .args(["bench", "merge-blocks", "--dir"])
        .arg(&written.dir)
        .output()
        .context("running bench merge-blocks")?;
    if !out.status.success() {
        anyhow::bail!(
            "bench merge-blocks failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    serde_json::from_slice(&out.stdout).context("reading the merge figures")
}

/// The child: merges the inputs listed in `<dir>/inputs.json` and prints the figures.
pub(super) async fn run_child(args: &MergeBlocksArgs) -> anyhow::Result<()> {
    let entries: Vec<InputEntry> = serde_json::from_slice(
        &std::fs::read(args.dir.join("inputs.json")).context("reading inputs.json")?,
    )?;
    let objects: Arc<dyn ObjectStore> = Arc::new(LocalFileSystem::new_with_prefix(&args.dir)?);
    let inputs: Vec<MergeInput> = entries
        .iter()
        .map(|e| MergeInput {
            path: Path::from(e.path.as_str()),
            size: Some(e.size),
            rows: e.rows,
        })
        .collect();
    let pid = std::process::id();
    let before = status_kib(pid, "VmRSS").unwrap_or(0);
    let started = std::time::Instant::now();
    let merged = tokio::task::spawn_blocking({
        let handle = tokio::runtime::Handle::current();
        let inputs = inputs.clone();
        move || {
            block::merge_blocks(
                &handle,
                &objects,
                &inputs,
                BlockFormat::V2,
                &WriteOptions::default(),
                MergeLimits::default(),
            )
        }
    })
    .await??;
    let seconds = started.elapsed().as_secs_f64();
    let peak = status_kib(pid, "VmHWM").unwrap_or(0);
    let spans: usize = inputs.iter().map(|i| i.rows).sum();
    let figures = MergeFigures {
        inputs: inputs.len(),
        input_spans: spans,
        merge_spans_per_second: spans as f64 / seconds.max(1e-9),
        peak_extra_mib: peak.saturating_sub(before) as f64 / 1024.0,
        merged_bytes_per_span: merged.block.total_bytes() as f64 / spans.max(1) as f64,
    };
    println!("{}", serde_json::to_string(&figures)?);
    Ok(())
}
