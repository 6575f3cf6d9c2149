//! `tracewell bench diagnose`: how well insights name the culprit.
//!
//! Starts a throw-away server (child process) and the demo shop in-process sending to it, lets it run clean, then
//! injects each fault the demo has, one after another with recovery between. For each injection it polls
//! `/api/v1/insights` and records whether and when the top finding names the right service and kind with a score
//! at or above the alerting line. During the
//! clean run it records the highest score any finding reached (it should stay below the alerting line).

use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::Value;
use tracewell_demo::faults::{ErrorBurst, FaultSpec, LatencyFault};
use tracewell_demo::{Demo, DemoConfig};

use super::server::ServerProcess;
use crate::units::parse_duration;

/// Arguments of `tracewell bench diagnose`.
#[derive(clap::Args, Debug, Clone)]
pub struct DiagnoseBenchArgs {
    /// Demo requests per second.
    #[arg(long, default_value_t = 10.0)]
    pub rate: f64,
    /// Clean run before the first injection (also the false-positive check).
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    pub clean: Duration,
    /// How long to wait for the culprit to be named after an injection.
    #[arg(long, default_value = "120s", value_parser = parse_duration)]
    pub detect_timeout: Duration,
    /// Clean time after each injection, so the next one starts from a quiet window.
    #[arg(long, default_value = "150s", value_parser = parse_duration)]
    pub recovery: Duration,
    /// How often insights are asked.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub poll: Duration,
    /// Score at or above which a finding would alert.
    #[arg(long, default_value_t = 50.0)]
    pub threshold: f64,
    /// Comma-separated scenario names (see the table); all when absent.
    #[arg(long, value_delimiter = ',')]
    pub scenarios: Option<Vec<String>>,
    /// Insights baseline (`baseline` parameter), e.g. 30m.
    #[arg(long, default_value = "30m")]
    pub baseline: String,
    /// Print the results as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// One injection and the finding that should answer it.
struct Scenario {
    name: &'static str,
    service: &'static str,
    kind: &'static str,
    faults: FaultSpec,
}

fn latency(service: &str, ms: u64) -> FaultSpec {
    FaultSpec {
        latency: vec![LatencyFault {
            service: service.into(),
            route: None,
            ms,
        }],
        ..FaultSpec::default()
    }
}

fn errors(service: &str, rate: f64) -> FaultSpec {
    FaultSpec {
        error_bursts: vec![ErrorBurst {
            service: service.into(),
            route: None,
            rate,
            seconds: None,
        }],
        ..FaultSpec::default()
    }
}

fn scenarios() -> Vec<Scenario> {
    let mut out = Vec::new();
    for (name, service) in [
        ("gateway-latency", "gateway"),
        ("catalog-latency", "catalog"),
        ("orders-latency", "orders"),
        ("payments-latency", "payments"),
    ] {
        out.push(Scenario {
            name,
            service,
            kind: "latency",
            faults: latency(service, 300),
        });
    }
    for (name, service) in [
        ("gateway-errors", "gateway"),
        ("catalog-errors", "catalog"),
        ("orders-errors", "orders"),
        ("payments-errors", "payments"),
    ] {
        out.push(Scenario {
            name,
            service,
            kind: "errors",
            faults: errors(service, 0.5),
        });
    }
    out.push(Scenario {
        name: "n-plus-one",
        service: "catalog",
        kind: "n_plus_one",
        faults: FaultSpec {
            n_plus_one: true,
            ..FaultSpec::default()
        },
    });
    out.push(Scenario {
        name: "slow-consumer",
        service: "fulfilment-worker",
        kind: "queue_backlog",
        faults: FaultSpec {
            slow_consumer_ms: 1500,
            ..FaultSpec::default()
        },
    });
    out.push(Scenario {
        name: "poison-orders",
        service: "fulfilment-worker",
        kind: "dead_letters",
        faults: FaultSpec {
            poison_rate: 0.4,
            ..FaultSpec::default()
        },
    });
    out
}

/// The demo's steady state: 2% poison orders, as `tracewell demo` runs by default.
fn clean_faults() -> FaultSpec {
    FaultSpec {
        poison_rate: 0.02,
        ..FaultSpec::default()
    }
}

fn with_clean(mut spec: FaultSpec) -> FaultSpec {
    if spec.poison_rate == 0.0 {
        spec.poison_rate = clean_faults().poison_rate;
    }
    spec
}

#[derive(Debug, serde::Serialize)]
struct Outcome {
    scenario: &'static str,
    expected: String,
    /// Seconds from injection until the top finding named the culprit.
    detected_after_s: Option<f64>,
    /// The top finding when detection ended (or timed out).
    top: Option<String>,
    top_score: Option<f64>,
    /// Rank of the right finding in the last answer when it was not first.
    rank: Option<usize>,
}

#[derive(Debug, serde::Serialize)]
struct Report {
    clean_seconds: f64,
    clean_max_score: f64,
    clean_max_finding: Option<String>,
    threshold: f64,
    outcomes: Vec<Outcome>,
    named_first: usize,
    within_60s: usize,
    injections: usize,
}

async fn findings(
    http: &reqwest::Client,
    base: &str,
    baseline: &str,
) -> anyhow::Result<Vec<Value>> {
    let body: Value = http
        .get(format!(
            "{base}/api/v1/insights?limit=50&baseline={baseline}"
        ))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(body["findings"].as_array().cloned().unwrap_or_default())
}

fn describe(f: &Value) -> String {
    format!(
        "{} {} ({}) {:.0}",
        f["kind"].as_str().unwrap_or("?"),
        f["service"].as_str().unwrap_or("?"),
        f["operation"].as_str().unwrap_or("?"),
        f["score"].as_f64().unwrap_or(0.0)
    )
}

pub async fn run(args: &DiagnoseBenchArgs) -> anyhow::Result<()> {
    let chosen: Vec<Scenario> = match &args.scenarios {
        None => scenarios(),
        Some(names) => {
            let all = scenarios();
            let known: Vec<&str> = all.iter().map(|s| s.name).collect();
            for n in names {
                anyhow::ensure!(
                    known.contains(&n.as_str()),
                    "unknown scenario {n:?}; known: {}",
                    known.join(", ")
                );
            }
            all.into_iter()
                .filter(|s| names.iter().any(|n| n == s.name))
                .collect()
        }
    };
    let dir = std::env::temp_dir().join(format!("tracewell-diagnose-{}", std::process::id()));
    // A directory left by an earlier run under the same process id must not feed this one.
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let server = ServerProcess::start(&dir).await?;
    let base = format!("http://{}", server.ports.http);
    let any_port = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let demo = Demo::start(DemoConfig {
        otlp_endpoint: format!("http://{}", server.ports.otlp_grpc),
        gateway_addr: any_port,
        control_addr: any_port,
        rate: args.rate,
        faults: clean_faults(),
        ..DemoConfig::default()
    })
    .await
    .context("starting the demo")?;
    let http = reqwest::Client::new();
    let report_progress = |line: String| {
        if !args.json {
            eprintln!("{line}");
        }
    };

    report_progress(format!(
        "clean run for {}s at {} requests/s",
        args.clean.as_secs(),
        args.rate
    ));
    let started = Instant::now();
    let (mut clean_max, mut clean_max_finding) = (0.0f64, None);
    while started.elapsed() < args.clean {
        tokio::time::sleep(args.poll).await;
        for f in findings(&http, &base, &args.baseline).await? {
            let score = f["score"].as_f64().unwrap_or(0.0);
            if score > clean_max {
                clean_max = score;
                clean_max_finding = Some(describe(&f));
            }
        }
    }

    let mut outcomes = Vec::new();
    for (i, scenario) in chosen.iter().enumerate() {
        demo.faults.set(with_clean(scenario.faults.clone()));
        let injected = Instant::now();
        let expected = format!("{} {}", scenario.kind, scenario.service);
        report_progress(format!("inject {} (expect {expected})", scenario.name));
        let mut outcome = Outcome {
            scenario: scenario.name,
            expected,
            detected_after_s: None,
            top: None,
            top_score: None,
            rank: None,
        };
        while injected.elapsed() < args.detect_timeout {
            tokio::time::sleep(args.poll).await;
            let list = findings(&http, &base, &args.baseline).await?;
            let right = |f: &Value| f["service"] == scenario.service && f["kind"] == scenario.kind;
            outcome.top = list.first().map(describe);
            outcome.top_score = list.first().and_then(|f| f["score"].as_f64());
            outcome.rank = list.iter().position(right).map(|r| r + 1);
            // Named first, and scored as a regression worth alerting on (steady behaviour scores low).
            let alerting = |f: &Value| f["score"].as_f64().unwrap_or(0.0) >= args.threshold;
            if list.first().is_some_and(|f| right(f) && alerting(f)) {
                outcome.detected_after_s = Some(injected.elapsed().as_secs_f64());
                break;
            }
        }
        report_progress(format!(
            "  {}: top {}",
            match outcome.detected_after_s {
                Some(s) => format!("named after {s:.0}s"),
                None => "not named first".into(),
            },
            outcome.top.as_deref().unwrap_or("none")
        ));
        outcomes.push(outcome);
        demo.faults.set(clean_faults());
        if i + 1 < chosen.len() {
            tokio::time::sleep(args.recovery).await;
        }
    }
    demo.shutdown(Duration::from_secs(2)).await;
    let _ = server.terminate(Duration::from_secs(10)).await;
    let _ = std::fs::remove_dir_all(&dir);

    let report = Report {
        clean_seconds: args.clean.as_secs_f64(),
        clean_max_score: clean_max,
        clean_max_finding,
        threshold: args.threshold,
        named_first: outcomes
            .iter()
            .filter(|o| o.detected_after_s.is_some())
            .count(),
        within_60s: outcomes
            .iter()
            .filter(|o| o.detected_after_s.is_some_and(|s| s <= 60.0))
            .count(),
        injections: outcomes.len(),
        outcomes,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_table(&report);
    }
    Ok(())
}

fn print_table(r: &Report) {
    println!(
        "clean run {:.0}s: highest finding score {:.1} (alert line {}){}",
        r.clean_seconds,
        r.clean_max_score,
        r.threshold,
        r.clean_max_finding
            .as_deref()
            .map(|f| format!(": {f}"))
            .unwrap_or_default()
    );
    println!(
        "{:<18} {:<32} {:>10} {:>5}  top finding at the end",
        "scenario", "expected", "named in", "rank"
    );
    for o in &r.outcomes {
        println!(
            "{:<18} {:<32} {:>10} {:>5}  {}",
            o.scenario,
            o.expected,
            o.detected_after_s
                .map(|s| format!("{s:.0}s"))
                .unwrap_or_else(|| "–".into()),
            o.rank.map(|r| r.to_string()).unwrap_or_else(|| "–".into()),
            o.top.as_deref().unwrap_or("none"),
        );
    }
    println!(
        "culprit named first: {}/{} ({:.0}%), within 60s: {}/{}",
        r.named_first,
        r.injections,
        100.0 * r.named_first as f64 / r.injections.max(1) as f64,
        r.within_60s,
        r.injections
    );
}
