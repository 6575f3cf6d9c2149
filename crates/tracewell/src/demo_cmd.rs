//! `tracewell demo`: runs the demo shop (tracewell-demo) and, unless `--otlp` points at another server,
//! an embedded Tracewell server it sends its traces to, so one command shows everything.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use tracewell_demo::faults::{ErrorBurst, FaultSpec, LatencyFault};
use tracewell_demo::traffic::Mix;
use tracewell_demo::{Demo, DemoConfig};

use crate::config::{ServeArgs, ServeConfig};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// OTLP/gRPC endpoint of a running Tracewell (e.g. 127.0.0.1:4317); without it an embedded server
    /// is started with the server flags below (data in a temporary directory unless --data-dir).
    #[arg(long)]
    pub otlp: Option<String>,
    /// Where the demo's gateway listens.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub gateway_addr: SocketAddr,
    /// Where the fault control endpoint listens (GET/PUT /faults, POST /faults/reset).
    #[arg(long, default_value = "127.0.0.1:8081")]
    pub control_addr: SocketAddr,
    /// Use NATS JetStream at this URL instead of the in-process broker.
    #[arg(long, conflicts_with = "kafka")]
    pub nats: Option<String>,
    /// Use Kafka at these bootstrap servers (host:port[,host:port…]) instead of the in-process broker;
    /// the demo creates its topics when missing.
    #[arg(long)]
    pub kafka: Option<String>,
    /// Use PostgreSQL at this URL instead of SQLite in memory.
    #[arg(long)]
    pub postgres: Option<String>,
    /// Synthetic requests per second.
    #[arg(long, default_value_t = 5.0)]
    pub rate: f64,
    /// Weights of the user actions: browse, view, checkout, lookup.
    #[arg(long, default_value = "browse=40,view=35,checkout=20,lookup=5")]
    pub mix: Mix,
    /// Share of traces the gateway samples (0 to 1).
    #[arg(long, default_value_t = 1.0)]
    pub sample_ratio: f64,
    /// Delivery attempts of an order before it is dead-lettered.
    #[arg(long, default_value_t = 3)]
    pub max_attempts: u32,
    /// Backoff between delivery attempts (times the attempt number).
    #[arg(long, default_value = "500ms", value_parser = parse_duration_arg)]
    pub retry_backoff: Duration,
    /// Stop after this long (default: run until Ctrl-C).
    #[arg(long, value_parser = parse_duration_arg)]
    pub duration: Option<Duration>,
    /// Added latency: SERVICE[:ROUTE]=MS, e.g. catalog:/products/{id}=300 (repeatable).
    #[arg(long, value_parser = parse_latency)]
    pub latency: Vec<LatencyFault>,
    /// Error burst: SERVICE[:ROUTE]=RATE[@SECONDS], e.g. payments=0.5@60 (repeatable).
    #[arg(long, value_parser = parse_burst)]
    pub error_burst: Vec<ErrorBurst>,
    /// The catalogue lists products with one query per product.
    #[arg(long)]
    pub n_plus_one: bool,
    /// The fulfilment worker takes this many milliseconds per message.
    #[arg(long, default_value_t = 0)]
    pub slow_consumer: u64,
    /// Share of orders (0 to 1) that are poison and end in the dead-letter queue.
    #[arg(long, default_value_t = 0.02)]
    pub poison_rate: f64,
    #[command(flatten)]
    pub serve: ServeArgs,
}

fn parse_duration_arg(s: &str) -> Result<Duration, String> {
    crate::units::parse_duration(s).map_err(|e| e.to_string())
}

fn service_and_route(spec: &str) -> (String, Option<String>) {
    match spec.split_once(':') {
        Some((service, route)) => (service.to_string(), Some(route.to_string())),
        None => (spec.to_string(), None),
    }
}

fn parse_latency(s: &str) -> Result<LatencyFault, String> {
    let (target, ms) = s
        .rsplit_once('=')
        .ok_or_else(|| format!("{s:?}: expected SERVICE[:ROUTE]=MS"))?;
    let ms = ms
        .trim()
        .parse()
        .map_err(|_| format!("{s:?}: {ms:?} is not a number of milliseconds"))?;
    let (service, route) = service_and_route(target.trim());
    Ok(LatencyFault { service, route, ms })
}

fn parse_burst(s: &str) -> Result<ErrorBurst, String> {
    let (target, rest) = s
        .rsplit_once('=')
        .ok_or_else(|| format!("{s:?}: expected SERVICE[:ROUTE]=RATE[@SECONDS]"))?;
    let (rate, seconds) = match rest.split_once('@') {
        Some((r, secs)) => (
            r,
            Some(
                secs.trim()
                    .parse()
                    .map_err(|_| format!("{s:?}: {secs:?} is not a number of seconds"))?,
            ),
        ),
        None => (rest, None),
    };
    let rate = rate
        .trim()
        .parse()
        .map_err(|_| format!("{s:?}: {rate:?} is not a rate between 0 and 1"))?;
    let (service, route) = service_and_route(target.trim());
    Ok(ErrorBurst {
        service,
        route,
        rate,
        seconds,
    })
}

fn endpoint(otlp: &str) -> String {
    if otlp.contains("://") {
        otlp.to_string()
    } else {
        format!("http://{otlp}")
    }
}

pub async fn run(mut args: DemoArgs) -> anyhow::Result<()> {
    let faults = FaultSpec {
        latency: std::mem::take(&mut args.latency),
        error_bursts: std::mem::take(&mut args.error_burst),
        n_plus_one: args.n_plus_one,
        slow_consumer_ms: args.slow_consumer,
        poison_rate: args.poison_rate,
    };
    let (stop_server, server_stopped) = tokio::sync::oneshot::channel::<()>();
    let mut server = None;
    let otlp = match &args.otlp {
        Some(otlp) => endpoint(otlp),
        None => {
            if args.serve.data_dir.is_none() {
                args.serve.data_dir = Some(std::env::temp_dir().join("tracewell-demo"));
            }
            let config = ServeConfig::resolve(std::mem::take(&mut args.serve))?;
            if config.auth_tokens.is_some() || config.tls.is_some() {
                anyhow::bail!(
                    "the embedded demo server runs without --auth-tokens and TLS: the demo's services send their \
                     spans without a token over plain gRPC"
                );
            }
            let grpc = config.addrs.otlp_grpc;
            let http = config.addrs.http;
            server = Some(tokio::spawn(crate::serve::run_until(config, async move {
                let _ = server_stopped.await;
            })));
            wait_ready(http).await?;
            tracing::info!(ui_and_api = %format!("http://{http}"), "embedded Tracewell server ready");
            format!("http://{grpc}")
        }
    };
    let demo = Demo::start(DemoConfig {
        otlp_endpoint: otlp.clone(),
        gateway_addr: args.gateway_addr,
        control_addr: args.control_addr,
        nats_url: args.nats.clone(),
        kafka_brokers: args.kafka.clone(),
        postgres_url: args.postgres.clone(),
        rate: args.rate,
        mix: args.mix.clone(),
        sample_ratio: args.sample_ratio,
        max_attempts: args.max_attempts,
        retry_backoff: args.retry_backoff,
        faults,
    })
    .await
    .context("starting the demo")?;
    tracing::info!(
        gateway = %format!("http://{}", demo.gateway),
        faults = %format!("http://{}/faults", demo.control),
        otlp,
        broker = match (&args.nats, &args.kafka) {
            (Some(_), _) => "nats",
            (_, Some(_)) => "kafka",
            _ => "in-process",
        },
        database = if args.postgres.is_some() { "postgresql" } else { "sqlite" },
        rate = args.rate,
        "demo running"
    );
    let mut report = tokio::time::interval(Duration::from_secs(10));
    report.tick().await;
    let until = async {
        match args.duration {
            Some(d) => tokio::time::sleep(d).await,
            None => crate::serve::shutdown_signal().await,
        }
    };
    tokio::pin!(until);
    loop {
        tokio::select! {
            _ = &mut until => break,
            _ = report.tick() => tracing::info!(traffic = %demo.traffic, pending_orders = demo.orders.pending(), "demo"),
        }
    }
    let traffic = demo.traffic.clone();
    let orders = demo.orders.clone();
    demo.shutdown(Duration::from_secs(15)).await;
    tracing::info!(
        traffic = %traffic,
        dead_lettered = orders.dead_lettered.load(std::sync::atomic::Ordering::Relaxed),
        "demo stopped"
    );
    let _ = stop_server.send(());
    if let Some(server) = server {
        server.await.context("embedded server task")??;
    }
    Ok(())
}

/// Waits until the embedded server answers `/readyz`.
async fn wait_ready(http: SocketAddr) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let url = format!("http://{http}/readyz");
    for _ in 0..600 {
        if let Ok(r) = client.get(&url).send().await {
            if r.status().is_success() {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("the embedded server did not become ready at {url}")
}
