//! The ingest benchmark: temp data dir, server child process, in-process
//! load, CPU/RSS accounting, graceful shutdown and block-size measurement.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;

use super::procfs::{clock_ticks_per_second, cpu_ticks, status_kib, RssSampler};
use super::replay::Dump;
use super::results::{IngestResult, Measurements};
use super::server::{parquet_usage, ServerProcess};
use super::IngestBenchArgs;
use crate::loadgen::{self, LoadReport, LoadgenArgs};

/// How long the server may take to flush and exit after SIGTERM.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(60);

/// Runs `bench ingest` and prints its results.
pub async fn run(args: &IngestBenchArgs) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("tracewell-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let outcome = bench_in(&dir, args).await;
    cleanup(&dir, args.keep || outcome.is_err());
    let result = outcome?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&result)?);
    } else {
        result.print();
    }
    Ok(())
}

fn cleanup(dir: &Path, keep: bool) {
    if keep {
        eprintln!("bench: data directory kept at {}", dir.display());
    } else if let Err(e) = std::fs::remove_dir_all(dir) {
        eprintln!("bench: could not remove {}: {e}", dir.display());
    }
}

async fn bench_in(dir: &Path, args: &IngestBenchArgs) -> anyhow::Result<IngestResult> {
    eprintln!("bench: starting server in {}", dir.display());
    let server = ServerProcess::start_with(dir, &args.server_args).await?;
    let pid = server.pid;
    let sampler = RssSampler::start(pid);
    let dump = match &args.dump {
        Some(path) => Some(Dump::read(path)?),
        None => None,
    };
    let otlp_grpc = server.ports.otlp_grpc.to_string();
    let cpu_before = cpu_ticks(pid)?;
    let load = match &dump {
        Some(dump) => {
            eprintln!(
                "bench: sending the {} spans of {} (concurrency {})",
                dump.span_count(),
                args.dump.as_deref().unwrap_or(Path::new("")).display(),
                args.concurrency
            );
            dump.replay(&otlp_grpc, args.concurrency).await
        }
        None => {
            eprintln!(
                "bench: sending load (rate {}, {:?}, concurrency {})",
                args.rate, args.duration, args.concurrency
            );
            loadgen::run(&loadgen_args(args, otlp_grpc)).await
        }
    };
    let cpu_after = cpu_ticks(pid);
    let vm_hwm_kib = status_kib(pid, "VmHWM").unwrap_or(0);
    let log = server.log.clone();
    eprintln!("bench: stopping server (SIGTERM)");
    let shutdown = server.terminate(SHUTDOWN_GRACE).await?;
    let peak_rss_kib = sampler.finish().await.max(vm_hwm_kib);
    let report: LoadReport = load.with_context(|| server_log_hint(&log))?;
    let cpu_ticks_used = cpu_after?.saturating_sub(cpu_before);
    let (block_files, block_bytes) = parquet_usage(&dir.join("blocks"))?;
    if shutdown.killed {
        eprintln!("bench: server did not exit within {SHUTDOWN_GRACE:?} and was killed");
    }
    Ok(IngestResult::new(
        args,
        &report,
        Measurements {
            server_cpu_seconds: cpu_ticks_used as f64 / clock_ticks_per_second() as f64,
            peak_rss_kib,
            vm_hwm_kib,
            block_files,
            block_bytes,
            shutdown,
        },
    ))
}

fn loadgen_args(args: &IngestBenchArgs, otlp_grpc: String) -> LoadgenArgs {
    LoadgenArgs {
        otlp_grpc,
        rate: args.rate,
        duration: args.duration,
        batch_spans: args.batch_spans,
        concurrency: args.concurrency,
        tenant: None,
        gzip: args.gzip,
        seed: args.seed,
    }
}

fn server_log_hint(log: &Path) -> String {
    format!("load generation failed (server log: {})", log.display())
}
