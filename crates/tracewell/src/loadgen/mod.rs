//! `tracewell loadgen`: a synthetic OTLP/gRPC trace load generator.
//!
//! It simulates a microservice shop (frontend, checkout, cart, payment,
//! inventory, shipping, email, product catalog, recommendation, currency plus
//! PostgreSQL, Redis and Kafka peers), emitting realistic traces of 5–30 spans
//! at a target span rate (or as fast as possible) and reports throughput,
//! latency percentiles and OTLP payload sizes.

mod batch;
mod builder;
mod calls;
mod catalog;
mod client;
mod encode;
mod generate;
pub mod report;
mod runner;
mod scenarios;

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

pub use batch::{build_request, BatchBuilder};
pub use builder::GeneratedTrace;
pub use client::ExportClient;
pub use generate::generate_trace;
pub use report::LoadReport;
pub(crate) use runner::record;
pub use runner::run;

/// Command-line arguments of `tracewell loadgen`.
#[derive(clap::Args, Debug, Clone)]
pub struct LoadgenArgs {
    /// OTLP/gRPC endpoint to send to ("http://host:port" or "host:port").
    #[arg(long, default_value = "http://127.0.0.1:4317")]
    pub otlp_grpc: String,
    /// Target spans per second, or "max" to send as fast as possible.
    #[arg(long, default_value = "1000")]
    pub rate: Rate,
    /// How long to send for, e.g. "500ms", "10s", "2m".
    #[arg(long, default_value = "10s", value_parser = crate::units::parse_duration)]
    pub duration: Duration,
    /// Approximate number of spans per export request (whole traces).
    #[arg(long, default_value_t = 512)]
    pub batch_spans: usize,
    /// Number of export RPCs in flight at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Tenant id, sent as the `x-scope-orgid` gRPC metadata.
    #[arg(long)]
    pub tenant: Option<String>,
    /// Compress requests with gzip.
    #[arg(long)]
    pub gzip: bool,
    /// Seed for the trace generator (random when omitted).
    #[arg(long)]
    pub seed: Option<u64>,
}

/// Target send rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rate {
    /// This many spans per second.
    PerSecond(u64),
    /// As fast as the concurrency allows.
    Max,
}

impl FromStr for Rate {
    type Err = String;

    /// Accepts "max", a positive integer ("1000", "100_000") or a `k`/`m`
    /// multiple ("250k", "1m").
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().to_ascii_lowercase().replace('_', "");
        if t == "max" {
            return Ok(Rate::Max);
        }
        let (digits, mult) = match t.strip_suffix('k') {
            Some(d) => (d, 1_000),
            None => match t.strip_suffix('m') {
                Some(d) => (d, 1_000_000),
                None => (t.as_str(), 1),
            },
        };
        let n: u64 = digits
            .parse()
            .map_err(|_| format!("invalid rate {s:?}: expected spans per second or \"max\""))?;
        match n.checked_mul(mult) {
            Some(v) if v > 0 => Ok(Rate::PerSecond(v)),
            _ => Err(format!("invalid rate {s:?}: must be between 1 and 2^64-1")),
        }
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rate::PerSecond(n) => write!(f, "{n}"),
            Rate::Max => f.write_str("max"),
        }
    }
}

#[cfg(test)]
mod tests;
