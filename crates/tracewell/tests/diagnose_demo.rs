//! Diagnosis accuracy on the demo, CI-sized: `tracewell bench diagnose` runs the demo shop against its own
//! server, lets it run clean, injects one fault and reports whether the top finding names the culprit. Two
//! scenarios (a latency fault and an error burst, on different services) run at once in two processes; each must
//! stay below the alerting line while clean and name its culprit first. The full table comes from
//! `tracewell bench diagnose` without `--scenarios`.

use std::process::{Command, Stdio};

use serde_json::Value;

fn bench(scenario: &str) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_tracewell"))
        .args([
            "bench",
            "diagnose",
            "--json",
            "--rate",
            "8",
            // Three baseline minutes with data and a two-minute window.
            "--clean",
            "285s",
            "--detect-timeout",
            "150s",
            "--scenarios",
            scenario,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tracewell bench diagnose")
}

#[test]
fn insights_name_the_injected_culprit_on_the_demo() {
    let runs: Vec<(&str, std::process::Child)> = ["catalog-latency", "payments-errors"]
        .into_iter()
        .map(|s| (s, bench(s)))
        .collect();
    for (scenario, child) in runs {
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{scenario}: {stderr}");
        let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!(
                "{scenario}: {e}: {}",
                String::from_utf8_lossy(&output.stdout)
            )
        });
        assert!(
            report["clean_max_score"].as_f64().unwrap() < report["threshold"].as_f64().unwrap(),
            "{scenario}: a clean run scored {} ({})",
            report["clean_max_score"],
            report["clean_max_finding"]
        );
        let outcome = &report["outcomes"][0];
        assert!(
            outcome["detected_after_s"].is_number(),
            "{scenario}: expected {}, top finding {} (rank of the right one: {})",
            outcome["expected"],
            outcome["top"],
            outcome["rank"]
        );
    }
}
