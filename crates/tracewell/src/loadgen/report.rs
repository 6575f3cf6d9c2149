//! Load-generator statistics: per-worker counters, their merge into a
//! [`LoadReport`], latency percentiles and the human-readable summary.

use std::collections::BTreeMap;
use std::time::Duration;

/// Counters collected by one worker task.
#[derive(Debug, Default)]
pub struct WorkerStats {
    pub spans_sent: u64,
    pub spans_acked: u64,
    pub spans_rejected: u64,
    pub requests: u64,
    pub errors: u64,
    pub error_kinds: BTreeMap<String, u64>,
    pub latencies_ns: Vec<u64>,
    pub otlp_bytes: u64,
    pub otlp_zstd_bytes: u64,
}

impl WorkerStats {
    fn merge(&mut self, other: WorkerStats) {
        self.spans_sent += other.spans_sent;
        self.spans_acked += other.spans_acked;
        self.spans_rejected += other.spans_rejected;
        self.requests += other.requests;
        self.errors += other.errors;
        for (kind, n) in other.error_kinds {
            *self.error_kinds.entry(kind).or_default() += n;
        }
        self.latencies_ns.extend(other.latencies_ns);
        self.otlp_bytes += other.otlp_bytes;
        self.otlp_zstd_bytes += other.otlp_zstd_bytes;
    }
}

/// Outcome of one load-generator run.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    pub spans_sent: u64,
    pub spans_acked: u64,
    /// Spans the server reported as rejected via `partial_success`.
    pub spans_rejected: u64,
    pub requests: u64,
    pub errors: u64,
    /// Failed requests by gRPC status code name (e.g. `RESOURCE_EXHAUSTED`).
    pub error_kinds: BTreeMap<String, u64>,
    pub elapsed: Duration,
    pub latency_p50: Duration,
    pub latency_p90: Duration,
    pub latency_p99: Duration,
    pub latency_max: Duration,
    /// Encoded protobuf size of all sent requests.
    pub otlp_bytes: u64,
    /// The same bytes compressed with zstd level 3, request by request.
    pub otlp_zstd_bytes: u64,
}

impl LoadReport {
    /// Merges worker counters into a report covering `elapsed`.
    pub fn from_workers(workers: Vec<WorkerStats>, elapsed: Duration) -> LoadReport {
        let mut all = WorkerStats::default();
        for w in workers {
            all.merge(w);
        }
        all.latencies_ns.sort_unstable();
        let pct = |p: f64| Duration::from_nanos(percentile(&all.latencies_ns, p));
        LoadReport {
            spans_sent: all.spans_sent,
            spans_acked: all.spans_acked,
            spans_rejected: all.spans_rejected,
            requests: all.requests,
            errors: all.errors,
            error_kinds: all.error_kinds,
            elapsed,
            latency_p50: pct(50.0),
            latency_p90: pct(90.0),
            latency_p99: pct(99.0),
            latency_max: pct(100.0),
            otlp_bytes: all.otlp_bytes,
            otlp_zstd_bytes: all.otlp_zstd_bytes,
        }
    }

    /// Acknowledged spans per second of wall-clock time.
    pub fn spans_per_second(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.spans_acked as f64 / secs
        } else {
            0.0
        }
    }

    /// Average encoded OTLP protobuf bytes per sent span.
    pub fn otlp_bytes_per_span(&self) -> f64 {
        per_span(self.otlp_bytes, self.spans_sent)
    }

    /// Average zstd(3)-compressed OTLP bytes per sent span.
    pub fn otlp_zstd_bytes_per_span(&self) -> f64 {
        per_span(self.otlp_zstd_bytes, self.spans_sent)
    }

    /// Prints a human-readable summary to stdout.
    pub fn print(&self) {
        println!("Tracewell load generator");
        row("elapsed", format!("{:.2} s", self.elapsed.as_secs_f64()));
        row(
            "requests",
            format!(
                "{} ({} failed)",
                thousands(self.requests),
                thousands(self.errors)
            ),
        );
        row("spans sent", thousands(self.spans_sent));
        row("spans acked", thousands(self.spans_acked));
        row("spans rejected", thousands(self.spans_rejected));
        row(
            "throughput",
            format!("{} spans/s", thousands(self.spans_per_second() as u64)),
        );
        row(
            "latency p50/p90/p99/max",
            format!(
                "{} / {} / {} / {}",
                ms(self.latency_p50),
                ms(self.latency_p90),
                ms(self.latency_p99),
                ms(self.latency_max)
            ),
        );
        row(
            "OTLP bytes/span",
            format!("{:.1}", self.otlp_bytes_per_span()),
        );
        row(
            "OTLP+zstd(3) bytes/span",
            format!("{:.1}", self.otlp_zstd_bytes_per_span()),
        );
        for (kind, n) in &self.error_kinds {
            row(&format!("error {kind}"), thousands(*n));
        }
    }
}

fn row(label: &str, value: String) {
    println!("  {label:<26} {value}");
}

/// Bytes per span, 0 when no spans were sent.
pub fn per_span(bytes: u64, spans: u64) -> f64 {
    if spans == 0 {
        0.0
    } else {
        bytes as f64 / spans as f64
    }
}

/// Formats a duration as milliseconds with two decimals.
pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

/// Formats an integer with `,` thousands separators.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let head = digits.len() % 3;
    let mut out = String::from(&digits[..head]);
    for chunk in digits.as_bytes()[head..].chunks(3) {
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
    }
    out
}

/// Nearest-rank percentile of ascending `sorted` samples; 0 when empty.
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The canonical upper-snake-case name of a gRPC status code.
pub fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match code {
        Ok => "OK",
        Cancelled => "CANCELLED",
        Unknown => "UNKNOWN",
        InvalidArgument => "INVALID_ARGUMENT",
        DeadlineExceeded => "DEADLINE_EXCEEDED",
        NotFound => "NOT_FOUND",
        AlreadyExists => "ALREADY_EXISTS",
        PermissionDenied => "PERMISSION_DENIED",
        ResourceExhausted => "RESOURCE_EXHAUSTED",
        FailedPrecondition => "FAILED_PRECONDITION",
        Aborted => "ABORTED",
        OutOfRange => "OUT_OF_RANGE",
        Unimplemented => "UNIMPLEMENTED",
        Internal => "INTERNAL",
        Unavailable => "UNAVAILABLE",
        DataLoss => "DATA_LOSS",
        Unauthenticated => "UNAUTHENTICATED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_nearest_rank() {
        let samples: Vec<u64> = (1..=100).collect();
        let cases = [
            (50.0, 50),
            (90.0, 90),
            (99.0, 99),
            (100.0, 100),
            (0.0, 1),
            (0.5, 1),
            (99.5, 100),
        ];
        for (p, want) in cases {
            assert_eq!(percentile(&samples, p), want, "p{p}");
        }
        assert_eq!(percentile(&[], 50.0), 0);
        assert_eq!(percentile(&[7], 99.0), 7);
        assert_eq!(percentile(&[1, 2, 3, 4], 50.0), 2);
        assert_eq!(percentile(&[1, 2, 3, 4], 75.0), 3);
        assert_eq!(percentile(&[1, 2, 3, 4], 76.0), 4);
    }

    #[test]
    fn merges_workers() {
        let a = WorkerStats {
            spans_sent: 10,
            requests: 1,
            latencies_ns: vec![5, 1],
            ..Default::default()
        };
        let mut b = WorkerStats {
            spans_sent: 5,
            errors: 1,
            requests: 1,
            latencies_ns: vec![3],
            ..Default::default()
        };
        b.error_kinds.insert("UNAVAILABLE".into(), 1);
        let r = LoadReport::from_workers(vec![a, b], Duration::from_secs(1));
        assert_eq!((r.spans_sent, r.requests, r.errors), (15, 2, 1));
        assert_eq!(r.latency_p50, Duration::from_nanos(3));
        assert_eq!(r.latency_max, Duration::from_nanos(5));
        assert_eq!(r.error_kinds["UNAVAILABLE"], 1);
    }

    #[test]
    fn formats_numbers() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(
            code_name(tonic::Code::ResourceExhausted),
            "RESOURCE_EXHAUSTED"
        );
    }
}
