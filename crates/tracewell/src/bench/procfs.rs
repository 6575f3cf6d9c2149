//! Linux process accounting for the benchmarked server: resident memory from
//! `/proc/<pid>/status`, CPU time from `/proc/<pid>/stat`, and a background
//! sampler that tracks peak RSS.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::task::JoinHandle;

/// How often the RSS sampler reads `/proc/<pid>/status`.
const SAMPLE_EVERY: Duration = Duration::from_millis(100);

/// Reads a `kB` field (e.g. `VmRSS`, `VmHWM`) of `/proc/<pid>/status`.
pub fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_status_kib(&text, field)
}

fn parse_status_kib(text: &str, field: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// User plus system CPU time of `pid`, in clock ticks.
pub fn cpu_ticks(pid: u32) -> anyhow::Result<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat"))?;
    parse_cpu_ticks(&text).with_context(|| format!("malformed /proc/{pid}/stat"))
}

/// utime (field 14) + stime (field 15); fields are counted after the
/// parenthesised command name, which may itself contain spaces.
fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let after_comm = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// Clock ticks per second used by `/proc/<pid>/stat`.
pub fn clock_ticks_per_second() -> u64 {
    #[allow(unsafe_code)]
    // SAFETY: sysconf takes a plain integer name, touches no caller memory and
    // is thread-safe; _SC_CLK_TCK is a valid name on every Linux libc.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as u64
    } else {
        100
    }
}

/// Samples a process's VmRSS in the background and remembers the maximum.
pub struct RssSampler {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<u64>,
}

impl RssSampler {
    pub fn start(pid: u32) -> RssSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let handle = tokio::spawn(async move {
            let mut peak = 0;
            let mut tick = tokio::time::interval(SAMPLE_EVERY);
            while !flag.load(Ordering::Relaxed) {
                tick.tick().await;
                // Gone or a zombie (no VmRSS line): the process has exited.
                let Some(rss) = status_kib(pid, "VmRSS") else {
                    break;
                };
                peak = peak.max(rss);
            }
            peak
        });
        RssSampler { stop, handle }
    }

    /// Stops sampling and returns the peak VmRSS in KiB.
    pub async fn finish(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.await.unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_fields() {
        let text = "Name:\ttracewell\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\nThreads:\t9\n";
        let cases = [
            ("VmRSS", Some(102_400)),
            ("VmHWM", Some(204_800)),
            ("VmSwap", None),
            ("Vm", None),
        ];
        for (field, want) in cases {
            assert_eq!(parse_status_kib(text, field), want, "{field}");
        }
    }

    #[test]
    fn parses_cpu_ticks_with_spaces_in_comm() {
        let stat = "4242 (trace well) S 1 4242 4242 0 -1 4194560 900 0 0 0 150 25 0 0 20 0 9 0 123 456 789";
        assert_eq!(parse_cpu_ticks(stat), Some(175));
        assert_eq!(parse_cpu_ticks("garbage"), None);
    }

    #[test]
    fn reads_own_process() {
        let me = std::process::id();
        assert!(status_kib(me, "VmRSS").unwrap_or(0) > 0);
        assert!(cpu_ticks(me).is_ok());
        assert!(clock_ticks_per_second() > 0);
    }
}
