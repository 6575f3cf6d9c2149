//! The query benchmark: fill a throw-away server with load-generator traces (10 million spans by default), then
//! time trace lookups without a time range, searches over the full range, a 24 h RED query and a SQL group-by
//! through the HTTP API, as a user would.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde::Serialize;
use serde_json::Value;

use super::server::ServerProcess;
use crate::loadgen::{self, report::percentile, LoadgenArgs, Rate};

/// Arguments of `tracewell bench query`.
#[derive(clap::Args, Debug, Clone)]
pub struct QueryBenchArgs {
    /// Spans to store before measuring.
    #[arg(long, default_value_t = 10_000_000)]
    pub spans: u64,
    /// Fill the server with the requests of an `otlp-blast dump` file instead of the built-in generator (all of
    /// them; --spans is ignored). Searches then cover the dump's time range.
    #[arg(long)]
    pub dump: Option<std::path::PathBuf>,
    /// Times each query runs.
    #[arg(long, default_value_t = 50)]
    pub iterations: usize,
    /// Keep the temporary data directory afterwards.
    #[arg(long)]
    pub keep: bool,
    /// Print the results as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Latency figures of one query kind, in milliseconds.
#[derive(Debug, Serialize)]
pub struct QueryFigures {
    pub name: String,
    pub runs: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// What one answer held (traces, rows, series).
    pub answer: String,
    pub target: Option<String>,
    /// Why the query failed (it is then not run again; the figures cover the runs before).
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct QueryBenchResult {
    pub spans_stored: u64,
    pub load_seconds: f64,
    pub blocks: u64,
    pub queries: Vec<QueryFigures>,
}

/// Runs `bench query` and prints its results.
pub async fn run(args: &QueryBenchArgs) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("tracewell-bench-query-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let outcome = bench_in(&dir, args).await;
    if args.keep || outcome.is_err() {
        eprintln!("bench: data directory kept at {}", dir.display());
    } else if let Err(e) = std::fs::remove_dir_all(&dir) {
        eprintln!("bench: could not remove {}: {e}", dir.display());
    }
    let result = outcome?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&result)?);
    } else {
        print(&result);
    }
    let failed: Vec<&str> = result
        .queries
        .iter()
        .filter(|q| q.error.is_some())
        .map(|q| q.name.as_str())
        .collect();
    if !failed.is_empty() {
        bail!("queries failed: {}", failed.join(", "));
    }
    Ok(())
}

struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        let r = self.http.get(format!("{}{path}", self.base)).send().await?;
        let status = r.status();
        let body: Value = r.json().await?;
        if !status.is_success() {
            bail!("{path} answered {status}: {body}");
        }
        Ok(body)
    }

    async fn sql(&self, query: &str) -> anyhow::Result<Value> {
        let r = self
            .http
            .post(format!("{}/api/v1/sql", self.base))
            .json(&serde_json::json!({ "query": query }))
            .send()
            .await?;
        let status = r.status();
        let body: Value = r.json().await?;
        if !status.is_success() {
            bail!("sql answered {status}: {body}");
        }
        Ok(body)
    }
}

async fn bench_in(dir: &Path, args: &QueryBenchArgs) -> anyhow::Result<QueryBenchResult> {
    eprintln!("bench: starting server in {}", dir.display());
    let server = ServerProcess::start(dir).await?;
    let api = Api {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()?,
        base: format!("http://{}", server.ports.http),
    };
    let started = Instant::now();
    let (stored, range) = match &args.dump {
        Some(path) => fill_from_dump(&server, path).await?,
        None => (
            fill_from_generator(&server, args.spans).await?,
            "lookback=24h".to_owned(),
        ),
    };
    let load_seconds = started.elapsed().as_secs_f64();
    // Let the index warmer build block trace indexes, as a running server would have.
    tokio::time::sleep(Duration::from_secs(15)).await;
    let blocks = super::server::parquet_usage(&dir.join("blocks"))?.0;
    let mut queries = Vec::new();

    let sample = api
        .sql("SELECT encode(trace_id, 'hex') AS id FROM spans WHERE parent_span_id IS NULL ORDER BY random() LIMIT 500")
        .await?;
    let ids: Vec<String> = sample["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r[0].as_str().map(str::to_owned))
        .collect();
    if ids.is_empty() {
        bail!("no trace ids to look up");
    }
    let (key, value) = attribute_of(&api, &ids).await?;
    // Lookups right after a restart: trace indexes come from the blocks (v2) or are rebuilt by scanning (v1).
    eprintln!("bench: restarting the server");
    let mut server = server;
    server.terminate(Duration::from_secs(60)).await?;
    server = ServerProcess::start(dir).await?;
    let api = Api {
        http: api.http.clone(),
        base: format!("http://{}", server.ports.http),
    };

    let mut n = 0usize;
    queries.push(
        time(
            "trace by id after a restart, no time range",
            args.iterations.max(ids.len().min(200)),
            Some("p99 ≤ 5 ms"),
            || {
                n += 1;
                let path = format!("/api/v1/traces/{}", ids[n % ids.len()]);
                let api = &api;
                async move {
                    let body = api.get(&path).await?;
                    let spans: usize = body["resourceSpans"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .flat_map(|rs| rs["scopeSpans"].as_array().into_iter().flatten())
                        .map(|ss| ss["spans"].as_array().map_or(0, Vec::len))
                        .sum();
                    Ok(format!("{spans} spans"))
                }
            },
        )
        .await?,
    );
    let tag = |k: &str, v: &str| format!("{}%3D{}", url_escape(k), url_escape(v));
    let searches = [
        ("search service + duration, full range", format!("/api/v1/search?service=checkout&minDuration=100ms&{range}&limit=20"), "p50 ≤ 100 ms"),
        ("search attribute, full range", format!("/api/v1/search?tag=db.namespace%3Dorders&{range}&limit=20"), "p50 ≤ 100 ms"),
        ("search rare attribute, full range", format!("/api/v1/search?tag=http.response.status_code%3D503&service=payment&{range}&limit=20"), "p50 ≤ 100 ms"),
        ("search attribute value present", format!("/api/v1/search?tag={}&{range}&limit=20", tag(&key, &value)), "p50 ≤ 100 ms"),
        ("search attribute value absent", format!("/api/v1/search?tag={}&{range}&limit=20", tag(&key, &format!("{value}-absent"))), "p50 ≤ 20 ms"),
    ];
    for (name, path, target) in &searches {
        queries.push(
            time(name, args.iterations, Some(target), || {
                let api = &api;
                async move {
                    let body = api.get(path).await?;
                    Ok(format!(
                        "{} traces, {} spans inspected",
                        body["traces"].as_array().map_or(0, Vec::len),
                        body["metrics"]["inspectedSpans"]
                    ))
                }
            })
            .await?,
        );
    }
    let literal = if value.parse::<i64>().is_ok() {
        value.clone()
    } else {
        format!("{value:?}")
    };
    let (hour, day) = match &args.dump {
        Some(_) => (range.clone(), range.clone()),
        None => ("lookback=1h".to_owned(), "lookback=24h".to_owned()),
    };
    let traceql = [
        (
            "TraceQL selective attribute",
            format!("{{ span.{key} = {literal} }}"),
            &range,
            "",
            "p50 ≤ 100 ms",
        ),
        (
            "TraceQL structural",
            "{ kind = server } >> { status = error }".to_owned(),
            &range,
            "",
            "p50 ≤ 100 ms",
        ),
        (
            "TraceQL count() pipeline",
            "{ resource.service.name = \"checkout\" } | count() > 3".to_owned(),
            &range,
            "",
            "p50 ≤ 100 ms",
        ),
        (
            "TraceQL rate() by service, 1 h",
            "{ } | rate() by (resource.service.name)".to_owned(),
            &hour,
            "&step=1m",
            "≤ 500 ms",
        ),
        (
            "TraceQL quantile_over_time, 24 h",
            "{ kind = server } | quantile_over_time(duration, .5, .99)".to_owned(),
            &day,
            "&step=1h",
            "",
        ),
    ];
    for (name, q, window, extra, target) in &traceql {
        let target = (!target.is_empty()).then_some(*target);
        queries.push(
            time(name, args.iterations.min(20), target, || {
                let api = &api;
                let path = format!(
                    "/api/v1/traceql?q={}&{window}&limit=20{extra}",
                    url_escape(q)
                );
                async move {
                    let body = api.get(&path).await?;
                    Ok(match body["series"].as_array() {
                        Some(series) => format!(
                            "{} series, {} spans inspected",
                            series.len(),
                            body["inspectedSpans"]
                        ),
                        None => format!(
                            "{} traces, {} candidates evaluated",
                            body["traces"].as_array().map_or(0, Vec::len),
                            body["inspectedTraces"]
                        ),
                    })
                }
            })
            .await?,
        );
    }
    queries.push(
        time("RED per operation, 24 h", args.iterations, None, || {
            let (api, range) = (&api, &range);
            async move {
                let body = api
                    .get(&format!(
                        "/api/v1/metrics?{range}&step=5m&groupByOperation=true"
                    ))
                    .await?;
                Ok(format!(
                    "{} series",
                    body["series"].as_array().map_or(0, Vec::len)
                ))
            }
        })
        .await?,
    );
    queries.push(
        time("dependencies, 24 h", args.iterations, None, || {
            let (api, range) = (&api, &range);
            async move {
                let body = api.get(&format!("/api/v1/dependencies?{range}")).await?;
                Ok(format!(
                    "{} edges",
                    body["edges"].as_array().map_or(0, Vec::len)
                ))
            }
        })
        .await?,
    );
    let diagnosis = [
        (
            "insights (2m vs 30m)",
            "/api/v1/insights".to_owned(),
            "findings",
        ),
        (
            "breakdown, 200 traces",
            format!("/api/v1/breakdown?service=checkout&{range}"),
            "operations",
        ),
        (
            "heatmap, full range",
            format!("/api/v1/heatmap?{range}&buckets=60"),
            "counts",
        ),
        (
            "slowest traces, full range",
            format!("/api/v1/search?service=checkout&{range}&order=duration&limit=20"),
            "traces",
        ),
    ];
    for (name, path, list) in &diagnosis {
        queries.push(
            time(name, args.iterations.min(10), None, || {
                let api = &api;
                async move {
                    let body = api.get(path).await?;
                    Ok(format!(
                        "{} {list}",
                        body[list].as_array().map_or(0, Vec::len)
                    ))
                }
            })
            .await?,
        );
    }
    queries.push(
        time("SQL group-by over all spans", args.iterations.min(10), None, || {
            let api = &api;
            async move {
                let body = api
                    .sql("SELECT service_name, count(*) AS spans, avg(duration_nano) AS mean FROM spans GROUP BY service_name")
                    .await?;
                Ok(format!("{} rows", body["rowCount"]))
            }
        })
        .await?,
    );
    server.terminate(Duration::from_secs(60)).await?;
    Ok(QueryBenchResult {
        spans_stored: stored,
        load_seconds,
        blocks,
        queries,
    })
}

/// Sends load-generator traces until `spans` are stored; returns the spans stored.
async fn fill_from_generator(server: &ServerProcess, spans: u64) -> anyhow::Result<u64> {
    let started = Instant::now();
    let mut stored = 0u64;
    while stored < spans {
        let load = loadgen::run(&LoadgenArgs {
            otlp_grpc: server.ports.otlp_grpc.to_string(),
            rate: Rate::Max,
            duration: Duration::from_secs(20),
            batch_spans: 512,
            concurrency: 8,
            tenant: None,
            gzip: false,
            seed: None,
        })
        .await
        .with_context(|| {
            format!(
                "load generation failed (server log: {})",
                server.log.display()
            )
        })?;
        stored += load.spans_acked;
        eprintln!(
            "bench: {stored} spans stored ({:.0}s)",
            started.elapsed().as_secs_f64()
        );
    }
    Ok(stored)
}

/// Sends every request of a dump file (8 at a time); returns the spans stored and the query-string range covering
/// their start times.
async fn fill_from_dump(
    server: &ServerProcess,
    path: &std::path::Path,
) -> anyhow::Result<(u64, String)> {
    let dump = super::replay::Dump::read(path)?;
    eprintln!(
        "bench: sending {} spans of {}",
        dump.span_count(),
        path.display()
    );
    let report = dump.replay(&server.ports.otlp_grpc.to_string(), 8).await?;
    anyhow::ensure!(
        report.errors == 0,
        "{} requests of the dump failed: {:?}",
        report.errors,
        report.error_kinds
    );
    let (min, max) = dump.start_range;
    Ok((
        report.spans_acked,
        format!("start={min}&end={}", max.saturating_add(60_000_000_000)),
    ))
}

/// A string span attribute of the sampled traces to search for: a high-cardinality key when one is there.
async fn attribute_of(api: &Api, ids: &[String]) -> anyhow::Result<(String, String)> {
    const PREFERRED: [&str; 5] = [
        "app.user_id",
        "app.order.id",
        "user.id",
        "enduser.id",
        "client.address",
    ];
    let mut fallback = None;
    for id in ids.iter().take(20) {
        let body = api.get(&format!("/api/v1/traces/{id}")).await?;
        let spans = body["resourceSpans"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|rs| rs["scopeSpans"].as_array().into_iter().flatten())
            .flat_map(|ss| ss["spans"].as_array().into_iter().flatten());
        for span in spans {
            for a in span["attributes"].as_array().into_iter().flatten() {
                let (Some(key), Some(value)) =
                    (a["key"].as_str(), a["value"]["stringValue"].as_str())
                else {
                    continue;
                };
                if PREFERRED.contains(&key) {
                    return Ok((key.to_owned(), value.to_owned()));
                }
                fallback.get_or_insert_with(|| (key.to_owned(), value.to_owned()));
            }
        }
    }
    fallback.context("the sampled traces have no string attribute")
}

fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Runs `query` `runs` times, one after another, and summarizes the latencies. A failure (an error answer, a
/// timeout) ends the runs and is reported with the figures, so one failing query does not hide the others'.
async fn time<F, Fut>(
    name: &str,
    runs: usize,
    target: Option<&str>,
    mut query: F,
) -> anyhow::Result<QueryFigures>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<String>>,
{
    eprintln!("bench: {name} × {runs}");
    let mut micros = Vec::with_capacity(runs);
    let mut answer = String::new();
    let mut error = None;
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        match query().await {
            Ok(a) => answer = a,
            Err(e) => {
                eprintln!("bench: {name} failed: {e:#}");
                error = Some(format!("{e:#}"));
                break;
            }
        }
        micros.push(started.elapsed().as_micros() as u64);
    }
    micros.sort_unstable();
    let ms = |v: u64| v as f64 / 1000.0;
    Ok(QueryFigures {
        name: name.to_owned(),
        runs: micros.len(),
        p50_ms: ms(percentile(&micros, 50.0)),
        p99_ms: ms(percentile(&micros, 99.0)),
        max_ms: ms(*micros.last().unwrap_or(&0)),
        answer,
        target: target.map(str::to_owned),
        error,
    })
}

fn print(r: &QueryBenchResult) {
    println!(
        "stored {} spans in {:.0}s ({} block files)\n",
        r.spans_stored, r.load_seconds, r.blocks
    );
    println!(
        "{:<40} {:>6} {:>10} {:>10} {:>10}  {:<14} answer",
        "query", "runs", "p50 ms", "p99 ms", "max ms", "target"
    );
    for q in &r.queries {
        println!(
            "{:<40} {:>6} {:>10.2} {:>10.2} {:>10.2}  {:<14} {}",
            q.name,
            q.runs,
            q.p50_ms,
            q.p99_ms,
            q.max_ms,
            q.target.as_deref().unwrap_or("-"),
            match &q.error {
                Some(e) => format!("FAILED after {} good runs: {e}", q.runs),
                None => q.answer.clone(),
            }
        );
    }
}
