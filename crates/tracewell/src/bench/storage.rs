//! The storage benchmark: the same spans as OTLP protobuf (raw, and zstd-3 as one stream) and as blocks of each
//! format, in bytes per span, with the columns that take the most, and the compaction figure (`merge.rs`). Runs
//! in-process on an `otlp-blast dump` file (data we did not design) or on the built-in load generator.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use bytes::{Buf, Bytes};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use rand::SeedableRng;
use serde::Serialize;
use tracewell_model::Span;
use tracewell_store::block::{self, BlockFormat, WriteOptions};

use crate::loadgen::{build_request, BatchBuilder};

/// Arguments of `tracewell bench storage`.
#[derive(clap::Args, Debug, Clone)]
pub struct StorageBenchArgs {
    /// An `otlp-blast dump` file (length-delimited ExportTraceServiceRequest messages). Without it, spans come from
    /// the built-in load generator.
    #[arg(long)]
    pub dump: Option<PathBuf>,
    /// Spans to generate with the built-in load generator (ignored with --dump).
    #[arg(long, default_value_t = 200_000)]
    pub spans: usize,
    /// Seed of the built-in load generator.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Spans per block, comma-separated: a flush writes blocks of a head's size, compaction larger ones.
    #[arg(long, value_delimiter = ',', default_value = "50000,500000")]
    pub block_spans: Vec<usize>,
    /// Columns listed per format, largest first.
    #[arg(long, default_value_t = 10)]
    pub top_columns: usize,
    /// Print the results as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Skip the compaction figure (flush-sized v2 blocks merged into one).
    #[arg(long)]
    pub no_merge: bool,
}

#[derive(Debug, Serialize)]
struct StorageResult {
    source: String,
    spans: usize,
    traces: usize,
    otlp_raw_bytes_per_span: f64,
    otlp_zstd3_bytes_per_span: f64,
    blocks: Vec<BlockFigures>,
    merge: Option<super::merge::MergeFigures>,
}

#[derive(Debug, Serialize)]
struct BlockFigures {
    format: String,
    block_spans: usize,
    blocks: usize,
    bytes_per_span: f64,
    /// Block bytes ÷ OTLP zstd-3 whole-stream bytes (target ≤ 0.5).
    vs_otlp_zstd3: f64,
    encode_spans_per_second: f64,
    /// Bytes per span of the largest columns (index files count as one column).
    top_columns: Vec<(String, f64)>,
}

/// Runs `bench storage` and prints its results.
pub async fn run(args: &StorageBenchArgs) -> anyhow::Result<()> {
    if args.block_spans.contains(&0) {
        anyhow::bail!("--block-spans must be positive");
    }
    let (source, requests) = match &args.dump {
        Some(path) => (path.display().to_string(), read_dump(path)?),
        None => (
            format!("built-in generator, seed {}", args.seed),
            generate(args.spans, args.seed),
        ),
    };
    let result = tokio::task::spawn_blocking({
        let args = args.clone();
        move || measure(source, &requests, &args)
    })
    .await??;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&result)?);
    } else {
        print(&result);
    }
    Ok(())
}

/// The encoded requests of a dump file.
pub(super) fn read_dump(path: &std::path::Path) -> anyhow::Result<Vec<Bytes>> {
    let mut data =
        Bytes::from(std::fs::read(path).with_context(|| format!("reading {}", path.display()))?);
    let mut requests = Vec::new();
    while data.has_remaining() {
        let len = prost::decode_length_delimiter(&mut data)
            .with_context(|| format!("{}: bad length prefix", path.display()))?;
        if len > data.remaining() {
            anyhow::bail!("{}: truncated request", path.display());
        }
        requests.push(data.split_to(len));
    }
    Ok(requests)
}

/// Requests of about 512 spans from the built-in generator, one second apart.
fn generate(spans: usize, seed: u64) -> Vec<Bytes> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut batch = BatchBuilder::new();
    let mut requests = Vec::new();
    let (mut made, mut now) = (0usize, 1_767_225_600_000_000_000u64);
    while made < spans {
        let (bytes, n) = build_request(&mut batch, &mut rng, 512, now);
        made += n as usize;
        now += 1_000_000_000;
        requests.push(Bytes::from(bytes));
    }
    requests
}

fn measure(
    source: String,
    requests: &[Bytes],
    args: &StorageBenchArgs,
) -> anyhow::Result<StorageResult> {
    let raw: usize = requests.iter().map(Bytes::len).sum();
    let zstd = zstd_stream_len(requests)?;
    let mut spans: Vec<Span> = Vec::new();
    for request in requests {
        let req =
            ExportTraceServiceRequest::decode(request.clone()).context("decoding a request")?;
        spans.extend(tracewell_model::otlp::into_spans(req));
    }
    let n = spans.len().max(1) as f64;
    let traces = {
        let mut ids: Vec<_> = spans.iter().map(|s| s.trace_id).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
    };
    let mut blocks = Vec::new();
    let merge_inputs = match args.block_spans.iter().min() {
        Some(&smallest) if !args.no_merge => Some(super::merge::write_inputs(&spans, smallest)?),
        _ => None,
    };
    for format in BlockFormat::ALL {
        for &block_spans in &args.block_spans {
            blocks.push(encode_blocks(
                &spans,
                format,
                block_spans,
                zstd as f64 / n,
                args,
            )?);
        }
    }
    let span_count = spans.len();
    // The merge's memory is measured without the decoded spans.
    drop(spans);
    let merge = merge_inputs
        .as_ref()
        .map(super::merge::measure)
        .transpose()?;
    Ok(StorageResult {
        source,
        spans: span_count,
        traces,
        otlp_raw_bytes_per_span: raw as f64 / n,
        otlp_zstd3_bytes_per_span: zstd as f64 / n,
        blocks,
        merge,
    })
}

/// Bytes of the requests, length-delimited as in a dump file, compressed as one zstd-3 stream.
fn zstd_stream_len(requests: &[Bytes]) -> anyhow::Result<usize> {
    let mut encoder = zstd::stream::Encoder::new(Vec::new(), 3)?;
    for request in requests {
        let mut prefix = Vec::with_capacity(10);
        prost::encode_length_delimiter(request.len(), &mut prefix)?;
        encoder.write_all(&prefix)?;
        encoder.write_all(request)?;
    }
    Ok(encoder.finish()?.len())
}

fn encode_blocks(
    spans: &[Span],
    format: BlockFormat,
    block_spans: usize,
    otlp_zstd_per_span: f64,
    args: &StorageBenchArgs,
) -> anyhow::Result<BlockFigures> {
    let opts = WriteOptions::default();
    let started = std::time::Instant::now();
    let (mut bytes, mut blocks) = (0u64, 0usize);
    let mut columns: Vec<(String, u64)> = Vec::new();
    for chunk in spans.chunks(block_spans) {
        let written = block::write(format, chunk.iter().collect(), &opts)?;
        bytes += written.total_bytes();
        blocks += 1;
        for (name, size) in written.column_sizes()? {
            match columns.iter_mut().find(|(n, _)| *n == name) {
                Some((_, total)) => *total += size,
                None => columns.push((name, size)),
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let n = spans.len().max(1) as f64;
    columns.sort_by_key(|c| std::cmp::Reverse(c.1));
    let per_span = bytes as f64 / n;
    Ok(BlockFigures {
        format: format.as_str().to_owned(),
        block_spans,
        blocks,
        bytes_per_span: per_span,
        vs_otlp_zstd3: per_span / otlp_zstd_per_span,
        encode_spans_per_second: n / seconds.max(1e-9),
        top_columns: columns
            .into_iter()
            .take(args.top_columns)
            .map(|(name, size)| (name, size as f64 / n))
            .collect(),
    })
}

fn print(r: &StorageResult) {
    println!("source               {}", r.source);
    println!(
        "spans                {} in {} traces ({:.1} spans/trace)",
        r.spans,
        r.traces,
        r.spans as f64 / r.traces.max(1) as f64
    );
    println!(
        "OTLP protobuf raw    {:8.1} B/span",
        r.otlp_raw_bytes_per_span
    );
    println!(
        "OTLP zstd-3 stream   {:8.1} B/span",
        r.otlp_zstd3_bytes_per_span
    );
    for b in &r.blocks {
        println!(
            "\nblock {} × {:>7} spans: {:6.1} B/span = {:.2}× OTLP zstd-3 (target ≤ 0.50), {} blocks, encode {:.0} spans/s",
            b.format, b.block_spans, b.bytes_per_span, b.vs_otlp_zstd3, b.blocks, b.encode_spans_per_second
        );
        for (name, per_span) in &b.top_columns {
            println!("    {per_span:7.2} B/span  {name}");
        }
    }
    if let Some(m) = &r.merge {
        println!(
            "\ncompaction: {} v2 blocks ({} spans) merged into one: {:.0} spans/s, {:.1} MiB peak memory of the merge \
             (its own process), merged block {:.1} B/span",
            m.inputs, m.input_spans, m.merge_spans_per_second, m.peak_extra_mib, m.merged_bytes_per_span
        );
    }
}
