//! The `tracewell` binary: `serve` (the default), `query`, `loadgen` and `bench`.

mod bench;
mod cluster;
mod config;
mod demo_cmd;
mod loadgen;
mod query_cli;
mod self_tracing;
mod serve;
mod storage;
mod tls;
mod units;

use std::io::IsTerminal;

use clap::{Parser, Subcommand};

/// mimalloc: the write path allocates and frees millions of small strings per second; glibc's allocator spent a
/// quarter of the server's CPU on them and fragmented memory (measured with `tracewell bench ingest`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Tracewell: a distributed-tracing platform in one binary.
#[derive(Parser, Debug)]
#[command(version, about, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: config::ServeArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the collector, store and query API (what a bare `tracewell` does).
    Serve(Box<config::ServeArgs>),
    /// Ask a running server for a trace, a search or a SQL result.
    Query(query_cli::QueryArgs),
    /// Run the demo shop (six instrumented services, a database, a broker with a dead-letter queue,
    /// fault injection and traffic), with an embedded server unless --otlp is given.
    Demo(Box<demo_cmd::DemoArgs>),
    /// Send realistic synthetic traces to an OTLP gRPC endpoint and report throughput and latency.
    Loadgen(loadgen::LoadgenArgs),
    /// Benchmarks that start a server and print figures.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

fn init_logging() {
    let filter = std::env::var("TRACEWELL_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".into());
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logging();
    match cli.command {
        None => serve::run(config::ServeConfig::resolve(cli.serve)?).await,
        Some(Command::Serve(args)) => serve::run(config::ServeConfig::resolve(*args)?).await,
        Some(Command::Loadgen(args)) => {
            let report = loadgen::run(&args).await?;
            report.print();
            Ok(())
        }
        Some(Command::Bench(cmd)) => bench::run(cmd).await,
        Some(Command::Query(args)) => query_cli::run(args).await,
        Some(Command::Demo(args)) => demo_cmd::run(*args).await,
    }
}
