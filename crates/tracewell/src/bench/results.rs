//! Figures of an ingest benchmark run, their comparison with the product
//! targets, and their rendering as a table or as JSON.

use std::collections::BTreeMap;

use serde::Serialize;

use super::server::Shutdown;
use super::IngestBenchArgs;
use crate::loadgen::LoadReport;

/// Minimum acked spans per server CPU-second.
const TARGET_SPANS_PER_CPU_SECOND: f64 = 500_000.0;
/// Maximum block bytes relative to OTLP protobuf compressed with zstd(3).
const TARGET_BLOCKS_VS_OTLP_ZSTD: f64 = 0.5;
/// Maximum server RSS in MiB while ingesting [`TARGET_RSS_RATE`] spans/s.
const TARGET_RSS_MIB: f64 = 512.0;
/// Ingest rate at which the RSS target applies.
const TARGET_RSS_RATE: u64 = 100_000;

/// Server-side measurements taken around the load.
pub struct Measurements {
    pub server_cpu_seconds: f64,
    pub peak_rss_kib: u64,
    pub vm_hwm_kib: u64,
    pub block_files: u64,
    pub block_bytes: u64,
    pub shutdown: Shutdown,
}

#[derive(Debug, Serialize)]
pub struct Latency {
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

#[derive(Debug, Serialize)]
pub struct Targets {
    pub min_spans_per_cpu_second: f64,
    pub max_blocks_vs_otlp_zstd: f64,
    pub max_rss_mib: f64,
    pub rss_target_rate: u64,
}

#[derive(Debug, Serialize)]
pub struct Verdicts {
    pub spans_per_cpu_second: bool,
    pub blocks_vs_otlp_zstd: bool,
    pub rss: bool,
}

/// Everything `bench ingest` reports (also its JSON shape).
#[derive(Debug, Serialize)]
pub struct IngestResult {
    /// The `otlp-blast dump` file replayed, if the load was not the built-in generator's.
    pub dump: Option<String>,
    pub rate: String,
    pub duration_secs: f64,
    pub concurrency: usize,
    pub batch_spans: usize,
    pub elapsed_secs: f64,
    pub requests: u64,
    pub errors: u64,
    pub error_kinds: BTreeMap<String, u64>,
    pub spans_sent: u64,
    pub spans_acked: u64,
    pub spans_rejected: u64,
    pub accepted_spans_per_second: f64,
    pub server_cpu_seconds: f64,
    pub spans_per_cpu_second: f64,
    pub block_files: u64,
    pub block_bytes: u64,
    pub block_bytes_per_span: f64,
    pub otlp_bytes_per_span: f64,
    pub otlp_zstd_bytes_per_span: f64,
    pub blocks_vs_otlp_zstd: f64,
    pub peak_rss_mib: f64,
    pub vm_hwm_mib: f64,
    pub latency: Latency,
    pub shutdown_secs: f64,
    pub shutdown_killed: bool,
    pub server_exit_code: Option<i32>,
    pub targets: Targets,
    pub pass: Verdicts,
}

impl IngestResult {
    pub fn new(args: &IngestBenchArgs, r: &LoadReport, m: Measurements) -> IngestResult {
        let spans_per_cpu_second = ratio(r.spans_acked as f64, m.server_cpu_seconds);
        let block_bytes_per_span = ratio(m.block_bytes as f64, r.spans_acked as f64);
        let blocks_vs_otlp_zstd = ratio(block_bytes_per_span, r.otlp_zstd_bytes_per_span());
        let peak_rss_mib = m.peak_rss_kib as f64 / 1024.0;
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
        IngestResult {
            dump: args.dump.as_ref().map(|p| p.display().to_string()),
            rate: args.rate.to_string(),
            duration_secs: args.duration.as_secs_f64(),
            concurrency: args.concurrency,
            batch_spans: args.batch_spans,
            elapsed_secs: r.elapsed.as_secs_f64(),
            requests: r.requests,
            errors: r.errors,
            error_kinds: r.error_kinds.clone(),
            spans_sent: r.spans_sent,
            spans_acked: r.spans_acked,
            spans_rejected: r.spans_rejected,
            accepted_spans_per_second: r.spans_per_second(),
            server_cpu_seconds: m.server_cpu_seconds,
            spans_per_cpu_second,
            block_files: m.block_files,
            block_bytes: m.block_bytes,
            block_bytes_per_span,
            otlp_bytes_per_span: r.otlp_bytes_per_span(),
            otlp_zstd_bytes_per_span: r.otlp_zstd_bytes_per_span(),
            blocks_vs_otlp_zstd,
            peak_rss_mib,
            vm_hwm_mib: m.vm_hwm_kib as f64 / 1024.0,
            latency: Latency {
                p50_ms: ms(r.latency_p50),
                p90_ms: ms(r.latency_p90),
                p99_ms: ms(r.latency_p99),
                max_ms: ms(r.latency_max),
            },
            shutdown_secs: m.shutdown.elapsed.as_secs_f64(),
            shutdown_killed: m.shutdown.killed,
            server_exit_code: m.shutdown.exit_code,
            targets: Targets {
                min_spans_per_cpu_second: TARGET_SPANS_PER_CPU_SECOND,
                max_blocks_vs_otlp_zstd: TARGET_BLOCKS_VS_OTLP_ZSTD,
                max_rss_mib: TARGET_RSS_MIB,
                rss_target_rate: TARGET_RSS_RATE,
            },
            pass: Verdicts {
                spans_per_cpu_second: spans_per_cpu_second >= TARGET_SPANS_PER_CPU_SECOND,
                blocks_vs_otlp_zstd: !m.shutdown.killed
                    && m.block_bytes > 0
                    && blocks_vs_otlp_zstd <= TARGET_BLOCKS_VS_OTLP_ZSTD,
                rss: peak_rss_mib <= TARGET_RSS_MIB,
            },
        }
    }

    /// Prints the results as a table with the targets beside each figure.
    pub fn print(&self) {
        match &self.dump {
            Some(dump) => println!(
                "Tracewell ingest benchmark: the requests of {dump}, concurrency {}",
                self.concurrency
            ),
            None => println!(
                "Tracewell ingest benchmark: rate {}, {:.1} s, concurrency {}, batch {} spans",
                self.rate, self.duration_secs, self.concurrency, self.batch_spans
            ),
        }
        row("metric", "value".to_string(), "target");
        let t = &self.targets;
        row("accepted spans/s", num(self.accepted_spans_per_second), "");
        let cpu_target = format!("≥ {}", num(t.min_spans_per_cpu_second));
        row(
            "spans per server CPU-second",
            num(self.spans_per_cpu_second),
            &verdict(&cpu_target, self.pass.spans_per_cpu_second),
        );
        row(
            "server CPU seconds (load)",
            format!("{:.2}", self.server_cpu_seconds),
            "",
        );
        row(
            "block bytes/span",
            format!("{:.1}", self.block_bytes_per_span),
            "",
        );
        row(
            "OTLP protobuf bytes/span",
            format!("{:.1}", self.otlp_bytes_per_span),
            "",
        );
        row(
            "OTLP+zstd(3) bytes/span",
            format!("{:.1}", self.otlp_zstd_bytes_per_span),
            "",
        );
        let ratio_target = format!("≤ {:.2}×", t.max_blocks_vs_otlp_zstd);
        row(
            "blocks / (OTLP+zstd)",
            format!("{:.3}×", self.blocks_vs_otlp_zstd),
            &verdict(&ratio_target, self.pass.blocks_vs_otlp_zstd),
        );
        let rss_target = format!(
            "≤ {} MiB at {} spans/s",
            t.max_rss_mib,
            num(t.rss_target_rate as f64)
        );
        row(
            "server peak RSS",
            format!("{:.1} MiB", self.peak_rss_mib),
            &verdict(&rss_target, self.pass.rss),
        );
        let l = &self.latency;
        let lat = format!(
            "{:.1}/{:.1}/{:.1}/{:.1}",
            l.p50_ms, l.p90_ms, l.p99_ms, l.max_ms
        );
        row("latency p50/p90/p99/max ms", lat, "");
        row(
            "requests (failed)",
            format!(
                "{} ({})",
                num(self.requests as f64),
                num(self.errors as f64)
            ),
            "",
        );
        row(
            "spans sent / acked / rejected",
            format!(
                "{} / {} / {}",
                num(self.spans_sent as f64),
                num(self.spans_acked as f64),
                num(self.spans_rejected as f64)
            ),
            "",
        );
        row(
            "block files / bytes",
            format!("{} / {}", self.block_files, num(self.block_bytes as f64)),
            "",
        );
        let exit = self
            .server_exit_code
            .map_or("signal".to_string(), |c| c.to_string());
        let stop = format!(
            "{:.2} s, exit {exit}{}",
            self.shutdown_secs,
            if self.shutdown_killed { ", KILLED" } else { "" }
        );
        row("server shutdown", stop, "");
        if self.shutdown_killed {
            println!("  note: the server was killed before its shutdown flush finished; block figures are incomplete");
        }
        for (kind, n) in &self.error_kinds {
            row(&format!("errors {kind}"), num(*n as f64), "");
        }
    }
}

fn row(label: &str, value: String, target: &str) {
    println!("  {label:<30} {value:>24}   {target}");
}

fn verdict(target: &str, pass: bool) -> String {
    format!("{target}  {}", if pass { "PASS" } else { "FAIL" })
}

/// A rounded number with thousands separators.
fn num(v: f64) -> String {
    crate::loadgen::report::thousands(v.max(0.0).round() as u64)
}

/// `a / b`, or 0 when `b` is not positive.
fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        0.0
    }
}
