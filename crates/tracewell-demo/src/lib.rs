//! # tracewell-demo
//!
//! A record shop of six instrumented services that send their traces to Tracewell:
//!
//! - `gateway` (HTTP, the edge): starts and samples traces, routes to `catalog` and `orders`;
//! - `catalog` (HTTP): products from the database;
//! - `orders` (HTTP): prices items through `catalog`, stores the order, publishes `demo.orders.created`;
//! - `payments` (HTTP): authorises charges;
//! - `fulfilment-worker` (consumer): charges orders through `payments`, retries failures, dead-letters
//!   what keeps failing to `demo.dead.orders`;
//! - `dead-letter-processor` (consumer): marks dead-lettered orders failed, in the original trace.
//!
//! Each service exports its spans and its `tracing` events (order received, card declined, failed
//! attempts, dead-lettering, N+1 listings, injected errors) as OTLP log records with the ids of the span
//! they were emitted in, so a trace shows its log lines.
//!
//! The database is SQLite in memory unless a PostgreSQL URL is given; the broker is in-process unless
//! a NATS URL or Kafka brokers are given. A traffic generator drives the gateway, and [`faults`] injects latency, error
//! bursts, an N+1 query pattern, a slow consumer and poison messages.

pub mod broker;
pub mod db;
pub mod faults;
pub mod services;
pub mod traffic;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::Sampler;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracewell_instrument::messaging::RetryPolicy;
use tracewell_instrument::{Builder, Instrumentation, Protocol, Telemetry};

use crate::broker::{Broker, DEAD_LETTER_SUBJECT, ORDERS_SUBJECT};
use crate::db::Db;
use crate::faults::{FaultSpec, Faults};
use crate::services::{OrderStats, Stats};
use crate::traffic::{Mix, TrafficStats};

/// How to run the demo.
#[derive(Clone, Debug)]
pub struct DemoConfig {
    /// OTLP/gRPC endpoint of the Tracewell server, e.g. `http://127.0.0.1:4317`.
    pub otlp_endpoint: String,
    /// Where the gateway listens (port 0: any free port).
    pub gateway_addr: SocketAddr,
    /// Where the fault control endpoint listens.
    pub control_addr: SocketAddr,
    /// NATS server URL; `None` uses the in-process broker (or Kafka when `kafka_brokers` is set).
    pub nats_url: Option<String>,
    /// Kafka bootstrap servers (`host:port[,host:port…]`); `None` uses the in-process broker.
    pub kafka_brokers: Option<String>,
    /// PostgreSQL URL; `None` uses SQLite in memory.
    pub postgres_url: Option<String>,
    /// Synthetic requests per second (0: no traffic, only what others send to the gateway).
    pub rate: f64,
    pub mix: Mix,
    /// Share of traces the gateway keeps (parent-based ratio sampling at the edge).
    pub sample_ratio: f64,
    /// Delivery attempts of an order before it is dead-lettered.
    pub max_attempts: u32,
    /// Backoff between attempts (multiplied by the attempt number).
    pub retry_backoff: Duration,
    pub faults: FaultSpec,
}

impl Default for DemoConfig {
    fn default() -> Self {
        DemoConfig {
            otlp_endpoint: "http://127.0.0.1:4317".into(),
            gateway_addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            control_addr: SocketAddr::from(([127, 0, 0, 1], 8081)),
            nats_url: None,
            kafka_brokers: None,
            postgres_url: None,
            rate: 5.0,
            mix: Mix::default(),
            sample_ratio: 1.0,
            max_attempts: 3,
            retry_backoff: Duration::from_millis(500),
            faults: FaultSpec::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("database: {0}")]
    Db(#[from] db::DbError),
    #[error("broker: {0}")]
    Broker(#[from] broker::BrokerError),
    #[error("telemetry for {service}: {message}")]
    Telemetry { service: String, message: String },
    #[error("cannot listen on {addr}: {error}")]
    Listen {
        addr: SocketAddr,
        error: std::io::Error,
    },
}

/// A running demo.
pub struct Demo {
    pub gateway: SocketAddr,
    pub control: SocketAddr,
    /// Every HTTP service and its address.
    pub services: Vec<(&'static str, SocketAddr)>,
    pub faults: Faults,
    pub orders: Stats,
    pub traffic: Arc<TrafficStats>,
    telemetry: Vec<Telemetry>,
    tasks: Vec<JoinHandle<()>>,
    traffic_task: Option<JoinHandle<()>>,
    stop: watch::Sender<bool>,
    stop_traffic: watch::Sender<bool>,
}

impl std::fmt::Debug for Demo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Demo")
            .field("gateway", &self.gateway)
            .field("services", &self.services)
            .finish_non_exhaustive()
    }
}

fn telemetry(name: &str, config: &DemoConfig, sampler: Sampler) -> Result<Telemetry, DemoError> {
    Builder::new()
        .service_name(name)
        .service_version(env!("CARGO_PKG_VERSION"))
        .resource_attribute(KeyValue::new("deployment.environment.name", "demo"))
        // Every service sets its own name: the process environment must not rename them all.
        .env(|_| None)
        .protocol(Protocol::Grpc)
        .endpoint(config.otlp_endpoint.clone())
        .sampler(sampler)
        .build()
        .map_err(|e| DemoError::Telemetry {
            service: name.to_string(),
            message: e.to_string(),
        })
}

fn downstream() -> Sampler {
    Sampler::ParentBased(Box::new(Sampler::AlwaysOn))
}

impl Demo {
    /// Starts every service, the consumers, the control endpoint and the traffic generator.
    pub async fn start(config: DemoConfig) -> Result<Demo, DemoError> {
        if !(0.0..=1.0).contains(&config.sample_ratio) {
            return Err(DemoError::Config(format!(
                "sample ratio must be between 0 and 1, got {}",
                config.sample_ratio
            )));
        }
        if !config.rate.is_finite() || config.rate < 0.0 || config.rate > 10_000.0 {
            return Err(DemoError::Config(format!(
                "rate must be between 0 and 10000 requests per second, got {}",
                config.rate
            )));
        }
        config.faults.validate().map_err(DemoError::Config)?;

        let db = match &config.postgres_url {
            Some(url) => Db::postgres(url).await?,
            None => Db::sqlite().await?,
        };
        let broker = match (&config.nats_url, &config.kafka_brokers) {
            (Some(_), Some(_)) => {
                return Err(DemoError::Config(
                    "choose one broker: NATS or Kafka, not both".into(),
                ))
            }
            (Some(url), None) => Broker::nats(url).await?,
            (None, Some(brokers)) => Broker::kafka(brokers).await?,
            (None, None) => Broker::in_process(),
        };
        let faults = Faults::new(config.faults.clone());
        let stats: Stats = Arc::new(OrderStats::default());
        let (stop, stop_rx) = watch::channel(false);
        let mut tasks = Vec::new();
        let mut services = Vec::new();
        let mut all_telemetry = Vec::new();
        let any = SocketAddr::from(([127, 0, 0, 1], 0));

        // Each service's requests and messages are handled under its own `tracing` dispatcher, which
        // exports their events as the service's log records and passes them on to the process's
        // subscriber, whose log lines stay as they were.
        let start_http = |name: &'static str,
                          addr: SocketAddr,
                          router: axum::Router,
                          telemetry: &Telemetry,
                          instr: &Instrumentation| {
            let faults = faults.clone();
            let stop_rx = stop_rx.clone();
            let instr = instr.clone();
            let logs = telemetry.log_dispatch();
            async move {
                services::serve(name, addr, router, &instr, logs, &faults, stop_rx)
                    .await
                    .map_err(|error| DemoError::Listen { addr, error })
            }
        };

        let payments_t = telemetry("payments", &config, downstream())?;
        let payments_i = Instrumentation::from_telemetry(&payments_t);
        let (payments, task) = start_http(
            "payments",
            any,
            services::payments::router(payments_i.clone()),
            &payments_t,
            &payments_i,
        )
        .await?;
        tasks.push(task);
        services.push(("payments", payments));

        let catalog_t = telemetry("catalog", &config, downstream())?;
        let catalog_i = Instrumentation::from_telemetry(&catalog_t);
        let router = services::catalog::router(db.clone(), faults.clone(), catalog_i.clone());
        let (catalog, task) = start_http("catalog", any, router, &catalog_t, &catalog_i).await?;
        tasks.push(task);
        services.push(("catalog", catalog));

        let orders_t = telemetry("orders", &config, downstream())?;
        let orders_i = Instrumentation::from_telemetry(&orders_t);
        let router = services::orders::router(
            db.clone(),
            broker.clone(),
            faults.clone(),
            format!("http://{catalog}"),
            orders_i.clone(),
            stats.clone(),
        );
        let (orders, task) = start_http("orders", any, router, &orders_t, &orders_i).await?;
        tasks.push(task);
        services.push(("orders", orders));

        let edge_sampler =
            Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(config.sample_ratio)));
        let gateway_t = telemetry("gateway", &config, edge_sampler)?;
        let gateway_i = Instrumentation::from_telemetry(&gateway_t);
        let router = services::gateway::router(
            format!("http://{catalog}"),
            format!("http://{orders}"),
            &gateway_i,
        );
        let (gateway, task) = start_http(
            "gateway",
            config.gateway_addr,
            router,
            &gateway_t,
            &gateway_i,
        )
        .await?;
        tasks.push(task);
        services.push(("gateway", gateway));

        let worker_t = telemetry("fulfilment-worker", &config, downstream())?;
        let worker_i = Instrumentation::from_telemetry(&worker_t);
        let handler = services::worker::fulfilment(
            db.clone(),
            faults.clone(),
            format!("http://{payments}"),
            worker_i.clone(),
            stats.clone(),
            config.max_attempts,
        );
        let policy = RetryPolicy::new(config.max_attempts, DEAD_LETTER_SUBJECT)
            .backoff(config.retry_backoff);
        tasks.push(
            broker
                .spawn_consumer(
                    worker_i,
                    worker_t.log_dispatch(),
                    ORDERS_SUBJECT,
                    "fulfilment",
                    policy,
                    handler,
                )
                .await?,
        );

        let dlq_t = telemetry("dead-letter-processor", &config, downstream())?;
        let dlq_i = Instrumentation::from_telemetry(&dlq_t);
        let handler = services::worker::dead_letters(db.clone(), dlq_i.clone(), stats.clone());
        let policy = RetryPolicy::without_dead_letter(3).backoff(config.retry_backoff);
        tasks.push(
            broker
                .spawn_consumer(
                    dlq_i,
                    dlq_t.log_dispatch(),
                    DEAD_LETTER_SUBJECT,
                    "dead-letters",
                    policy,
                    handler,
                )
                .await?,
        );
        all_telemetry.extend([payments_t, catalog_t, orders_t, gateway_t, worker_t, dlq_t]);

        let control_listener = tokio::net::TcpListener::bind(config.control_addr)
            .await
            .map_err(|error| DemoError::Listen {
                addr: config.control_addr,
                error,
            })?;
        let control = control_listener
            .local_addr()
            .map_err(|error| DemoError::Listen {
                addr: config.control_addr,
                error,
            })?;
        let router = faults::control_router(faults.clone());
        let mut control_stop = stop_rx.clone();
        tasks.push(tokio::spawn(async move {
            let _ = axum::serve(control_listener, router)
                .with_graceful_shutdown(async move {
                    let _ = control_stop.wait_for(|s| *s).await;
                })
                .await;
        }));

        let traffic = Arc::new(TrafficStats::default());
        let (stop_traffic, traffic_rx) = watch::channel(false);
        let traffic_task = tokio::spawn(traffic::run(
            format!("http://{gateway}"),
            config.rate,
            config.mix.clone(),
            traffic.clone(),
            traffic_rx,
        ));

        Ok(Demo {
            gateway,
            control,
            services,
            faults,
            orders: stats,
            traffic,
            telemetry: all_telemetry,
            tasks,
            traffic_task: Some(traffic_task),
            stop,
            stop_traffic,
        })
    }

    /// Stops the traffic, waits (up to `drain`) for accepted orders to settle, stops the services and
    /// flushes every service's spans and log records.
    pub async fn shutdown(mut self, drain: Duration) {
        let _ = self.stop_traffic.send(true);
        if let Some(task) = self.traffic_task.take() {
            let _ = task.await;
        }
        let deadline = Instant::now() + drain;
        while self.orders.pending() > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = self.stop.send(true);
        for task in self.tasks.drain(..) {
            task.abort();
            let _ = task.await;
        }
        let telemetry = std::mem::take(&mut self.telemetry);
        // Shutting a provider down blocks until its exporter is done: keep that off the runtime's threads.
        let _ = tokio::task::spawn_blocking(move || {
            for t in telemetry {
                if let Err(error) = t.shutdown() {
                    tracing::warn!(%error, "flushing demo spans and log records failed");
                }
            }
        })
        .await;
    }
}
