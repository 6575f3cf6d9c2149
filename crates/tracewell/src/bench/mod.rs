//! `tracewell bench`: self-contained performance benchmarks.
//!
//! `bench ingest` starts a throw-away Tracewell server as a child process,
//! drives it with the built-in load generator over OTLP/gRPC, and reports
//! ingest throughput, server CPU efficiency, storage density and memory
//! against the product targets.
//!
//! `bench query` fills a throw-away server with load-generator traces and times trace lookups, searches, RED,
//! dependency and SQL queries through the HTTP API.
//!
//! `bench storage` encodes the same spans (an `otlp-blast dump` file or the built-in generator) as OTLP protobuf and
//! as blocks of every format, and reports bytes per span and the largest columns.
//!
//! `bench diagnose` runs the demo against a throw-away server, injects each fault in turn and reports whether the
//! top insight names the culprit, and how long after the injection.

mod diagnose;
mod http;
mod ingest;
mod merge;
mod procfs;
mod query;
mod replay;
mod results;
mod server;
mod storage;

use std::time::Duration;

use crate::loadgen::Rate;
use crate::units::parse_duration;

/// Benchmarks available under `tracewell bench`.
#[derive(clap::Subcommand, Debug)]
pub enum BenchCommand {
    /// Measure OTLP/gRPC ingest throughput, CPU, storage and memory.
    Ingest(IngestBenchArgs),
    /// Fill a server with load-generator traces, then time trace lookups, searches, RED and SQL queries.
    Query(query::QueryBenchArgs),
    /// Encode the same spans as OTLP and as blocks of each format; report bytes per span and the largest columns.
    Storage(storage::StorageBenchArgs),
    /// Run the demo, inject each fault in turn and report whether insights name the culprit first, and how fast.
    Diagnose(diagnose::DiagnoseBenchArgs),
    /// (Used by `bench storage`.) Merge the blocks a storage run wrote into one, in a fresh process so that its
    /// memory is the merge's alone; prints the figures as JSON.
    #[command(hide = true)]
    MergeBlocks(merge::MergeBlocksArgs),
}

/// Arguments of `tracewell bench ingest`.
#[derive(clap::Args, Debug, Clone)]
pub struct IngestBenchArgs {
    /// Target spans per second, or "max".
    #[arg(long, default_value = "max")]
    pub rate: Rate,
    /// Load duration, e.g. "20s", "2m".
    #[arg(long, default_value = "20s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Export RPCs in flight at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Approximate spans per export request.
    #[arg(long, default_value_t = 512)]
    pub batch_spans: usize,
    /// Compress export requests with gzip.
    #[arg(long)]
    pub gzip: bool,
    /// Seed for the trace generator.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Send the requests of an `otlp-blast dump` file (each once, as fast as `--concurrency` allows) instead of
    /// the built-in generator; `--rate`, `--duration`, `--batch-spans`, `--gzip` and `--seed` do not apply.
    #[arg(long)]
    pub dump: Option<std::path::PathBuf>,
    /// Keep the temporary data directory (blocks and server log) afterwards.
    #[arg(long)]
    pub keep: bool,
    /// Print the results as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// A flag for the server under test, repeatable (e.g. `--server-arg=--redaction=rules.toml` to measure what
    /// redaction costs).
    #[arg(long = "server-arg", allow_hyphen_values = true)]
    pub server_args: Vec<String>,
}

/// Runs one benchmark subcommand.
pub async fn run(cmd: BenchCommand) -> anyhow::Result<()> {
    match cmd {
        BenchCommand::Ingest(args) => ingest::run(&args).await,
        BenchCommand::Query(args) => query::run(&args).await,
        BenchCommand::Storage(args) => storage::run(&args).await,
        BenchCommand::Diagnose(args) => diagnose::run(&args).await,
        BenchCommand::MergeBlocks(args) => merge::run_child(&args).await,
    }
}
