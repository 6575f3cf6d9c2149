//! `tracewell serve`: binds every port, recovers the store, runs until SIGINT/SIGTERM, then shuts down in order:
//! stop accepting and finish in-flight requests, flush head blocks, exit.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracewell_api::auth::{AuthLayer, Authenticator, GrpcAuth, Scope, Surface};
use tracewell_api::ApiState;
use tracewell_ingest::{receivers, Ingester};
use tracewell_store::Store;

use crate::config::ServeConfig;
use crate::tls::Tls;

/// Runs the server until a shutdown signal.
pub async fn run(config: ServeConfig) -> anyhow::Result<()> {
    run_until(config, shutdown_signal()).await
}

/// Runs the server until `shutdown` completes.
pub async fn run_until(
    config: ServeConfig,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let mut registry = Registry::default();
    // Token and certificate files first: a mistake in them stops start-up before the data directory is touched.
    let security = Security {
        auth: load_tokens(&config, &mut registry)?,
        tls: match &config.tls {
            Some(files) => Some(Tls::load(files, &mut registry)?),
            None => None,
        },
    };
    let storage = config.storage.open()?;
    let store = Store::open_with(config.store.clone(), storage, &mut registry)
        .context("opening the store")?;
    if config.cluster.role == crate::cluster::Role::Distributor {
        let kafka = config
            .cluster
            .kafka
            .as_ref()
            .context("distributor without kafka")?;
        let log = crate::cluster::kafka_log::KafkaLog::connect(kafka).await?;
        store.forward_to(Arc::new(log));
    }
    if config.cluster.role == crate::cluster::Role::Compactor {
        let holder = format!("{}-{}", std::process::id(), ulid::Ulid::new());
        // Renewed every maintenance run, so three missed runs hand the lease to another compactor.
        let ttl = config.store.maintenance_interval * 3;
        let lease = tracewell_store::Lease::new(
            store.objects(),
            crate::cluster::COMPACTOR_LEASE,
            holder,
            ttl,
        );
        store.maintain_under_lease(lease);
    }
    let ingester = Ingester::new(store.clone(), config.ingest.clone(), &mut registry);
    let self_tracing = config
        .self_tracing
        .clone()
        .map(|tenant| crate::self_tracing::install(store.clone(), tenant));
    let _overrides_watcher = config.tenant_overrides.clone().map(|path| {
        tracewell_store::overrides::watcher(path, config.store.overrides.clone(), &mut registry)
            .spawn(config.tenant_overrides_interval)
    });
    let _sampling_watcher = config.tail_sampling.clone().map(|path| {
        tracewell_store::sampling::watcher(path, config.store.tail_sampling.clone(), &mut registry)
            .spawn(config.tenant_overrides_interval)
    });
    let _redaction_watcher = config.redaction.clone().map(|path| {
        tracewell_ingest::redact::watcher(path, config.ingest.redaction.clone(), &mut registry)
            .spawn(config.tenant_overrides_interval)
    });
    let query = tracewell_query::QueryService::new(store.clone(), config.query.clone());
    query.register_metrics(&mut registry);
    let alerts = match &config.alert_rules {
        Some(path) => {
            let rules = tracewell_alerts::RulesFile::load(path)?;
            tracing::info!(
                rules = rules.rules.len(),
                notifiers = rules.notifiers.len(),
                "alerting rules loaded"
            );
            Some(Arc::new(tracewell_alerts::AlertEngine::new(
                rules,
                // Rules wait for a query permit instead of failing while users' queries hold them all.
                query.queued(),
                config.alert_interval,
                config.public_url.clone(),
                &mut registry,
            )))
        }
        None => None,
    };
    let api = ApiState {
        store: store.clone(),
        query: query.clone(),
        registry: Arc::new(registry),
        allowed_tenants: Arc::new(config.ingest.allowed_tenants.clone()),
        recent: Arc::new(tracewell_api::recent::RecentTraces::default()),
        tail: Arc::new(tracewell_api::tail::TailHub::new(
            config.tail_max_clients,
            config.tail_buffer_spans,
        )),
        alerts: alerts.clone(),
        mcp: Arc::default(),
    };

    let (stop_tx, stop_rx) = watch::channel(false);
    let listeners = Listeners::bind(&config).await?;
    tracing::info!(
        otlp_grpc = %listeners.otlp_grpc.local_addr()?, otlp_http = %listeners.otlp_http.local_addr()?,
        zipkin = %listeners.zipkin.local_addr()?, http = %listeners.http.local_addr()?,
        tempo = %listeners.tempo.local_addr()?,
        tls = security.tls.is_some(), mtls = security.tls.as_ref().is_some_and(Tls::is_mutual),
        auth = security.auth.is_some(),
        data_dir = %config.store.data_dir.display(), storage = %config.storage, "listening"
    );
    let tail = Arc::clone(&api.tail);
    let servers = listeners.serve(ingester, api, &security, &stop_rx);

    let report = store.recover().await.context("recovering the store")?;
    tracing::info!(
        tenants = report.tenants,
        blocks = report.blocks,
        replayed_spans = report.replayed_spans,
        truncated_segments = report.truncated_segments,
        "ready"
    );
    let background = store.spawn_background(stop_rx.clone());
    let role = config.cluster.role;
    tracing::info!(role = role.as_str(), "role");
    let refresh = role.refreshes_catalogs().then(|| {
        crate::cluster::spawn_catalog_refresh(
            store.clone(),
            config.cluster.block_refresh_interval,
            stop_rx.clone(),
        )
    });
    let builder = match (role, &config.cluster.kafka) {
        (crate::cluster::Role::BlockBuilder, Some(kafka)) => {
            let builder = crate::cluster::block_builder::start(store.clone(), kafka)?;
            Some(tokio::spawn(builder.run(stop_rx.clone())))
        }
        _ => None,
    };
    let indexer = spawn_index_warmer(query, stop_rx.clone());
    let alerting = alerts.map(|engine| engine.spawn(stop_rx.clone()));

    shutdown.await;
    tracing::info!("shutting down: finishing in-flight requests");
    let _ = stop_tx.send(true);
    tail.close();
    let drained = tokio::time::timeout(config.shutdown_timeout, async {
        for server in servers {
            match server.await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => tracing::error!(%error, "server stopped with an error"),
                Err(error) => tracing::error!(%error, "server task failed"),
            }
        }
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            timeout_ms = config.shutdown_timeout.as_millis() as u64,
            "connections did not finish in time; flushing anyway"
        );
    }
    let _ = background.await;
    if let Some(refresh) = refresh {
        let _ = refresh.await;
    }
    if let Some(builder) = builder {
        if let Err(error) = builder.await {
            tracing::error!(%error, "block-builder task failed");
        }
    }
    let _ = indexer.await;
    if let Some(alerting) = alerting {
        let _ = alerting.await;
    }
    if let Some(provider) = self_tracing {
        // Blocking: it waits for the last batch, which the runtime writes.
        let _ = tokio::task::spawn_blocking(move || provider.shutdown()).await;
    }
    tracing::info!("flushing head blocks");
    store.shutdown().await.context("flushing at shutdown")?;
    tracing::info!("stopped");
    Ok(())
}

/// Loads the bearer token file, if configured, and registers its metrics.
fn load_tokens(
    config: &ServeConfig,
    registry: &mut Registry,
) -> anyhow::Result<Option<Arc<Authenticator>>> {
    let Some(path) = &config.auth_tokens else {
        return Ok(None);
    };
    let auth =
        Authenticator::load(path).with_context(|| format!("auth_tokens {}", path.display()))?;
    let allowed = &config.ingest.allowed_tenants;
    for token in auth.tokens() {
        if !allowed.is_empty() && !allowed.iter().any(|t| t == token.tenant().as_str()) {
            anyhow::bail!(
                "auth_tokens {}: token {:?} is for tenant {:?}, which allowed_tenants does not list",
                path.display(),
                token.name(),
                token.tenant().as_str()
            );
        }
    }
    auth.register_metrics(registry);
    tracing::info!(tokens = auth.tokens().len(), file = %path.display(), "bearer token authentication on");
    Ok(Some(Arc::new(auth)))
}

/// Authentication and TLS, applied to every listener.
struct Security {
    auth: Option<Arc<Authenticator>>,
    tls: Option<Tls>,
}

struct Listeners {
    otlp_grpc: TcpListener,
    otlp_http: TcpListener,
    zipkin: TcpListener,
    http: TcpListener,
    tempo: TcpListener,
}

type ServerTask = tokio::task::JoinHandle<anyhow::Result<()>>;

impl Listeners {
    async fn bind(config: &ServeConfig) -> anyhow::Result<Self> {
        let a = &config.addrs;
        Ok(Self {
            otlp_grpc: bind(a.otlp_grpc, "otlp_grpc_addr").await?,
            otlp_http: bind(a.otlp_http, "otlp_http_addr").await?,
            zipkin: bind(a.zipkin, "zipkin_addr").await?,
            http: bind(a.http, "http_addr").await?,
            tempo: bind(a.tempo, "tempo_addr").await?,
        })
    }

    fn serve(
        self,
        ingester: Ingester,
        api: ApiState,
        security: &Security,
        stop: &watch::Receiver<bool>,
    ) -> Vec<ServerTask> {
        let grpc = {
            let service = receivers::otlp_grpc::service(ingester.clone());
            let logs_service = receivers::otlp_grpc::logs_service(ingester.clone());
            let stop = stopped(stop.clone());
            let server = tonic::transport::Server::builder()
                .layer(receivers::otlp_grpc::oversize_status_layer())
                .layer(tonic::service::InterceptorLayer::new(GrpcAuth::new(
                    security.auth.clone(),
                    "otlp_grpc",
                    Scope::Write,
                )))
                .add_service(service)
                .add_service(logs_service);
            match &security.tls {
                Some(tls) => {
                    let incoming = tls
                        .listen(self.otlp_grpc, "otlp_grpc", true)
                        .into_incoming();
                    tokio::spawn(async move {
                        server
                            .serve_with_incoming_shutdown(incoming, stop)
                            .await
                            .context("otlp grpc server (TLS)")
                    })
                }
                None => {
                    let incoming = tonic::transport::server::TcpIncoming::from(self.otlp_grpc);
                    tokio::spawn(async move {
                        server
                            .serve_with_incoming_shutdown(incoming, stop)
                            .await
                            .context("otlp grpc server")
                    })
                }
            }
        };
        let http = |listener, name, surface, mutual, router| Http {
            listener,
            name,
            surface,
            mutual,
            router,
        };
        vec![
            grpc,
            http(
                self.otlp_http,
                "otlp_http",
                Surface::Ingest,
                true,
                receivers::otlp_http::router(ingester.clone()),
            )
            .serve(security, stop.clone()),
            http(
                self.zipkin,
                "zipkin",
                Surface::Ingest,
                false,
                receivers::zipkin::router(ingester),
            )
            .serve(security, stop.clone()),
            http(
                self.http,
                "http",
                Surface::Query,
                false,
                tracewell_api::router(api.clone()),
            )
            .serve(security, stop.clone()),
            http(
                self.tempo,
                "tempo",
                Surface::Tempo,
                false,
                tracewell_api::tempo_router(api),
            )
            .serve(security, stop.clone()),
        ]
    }
}

async fn bind(addr: SocketAddr, key: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} ({key})"))
}

/// An HTTP listener and what it serves.
struct Http {
    listener: TcpListener,
    /// The listener's name in metrics.
    name: &'static str,
    surface: Surface,
    /// Whether client certificates are required when mutual TLS is configured.
    mutual: bool,
    router: axum::Router,
}

impl Http {
    fn serve(self, security: &Security, stop: watch::Receiver<bool>) -> ServerTask {
        let router = match &security.auth {
            Some(auth) => {
                self.router
                    .layer(AuthLayer::new(Arc::clone(auth), self.name, self.surface))
            }
            None => self.router,
        };
        match &security.tls {
            Some(tls) => {
                let listener = tls.listen(self.listener, self.name, self.mutual);
                tokio::spawn(async move {
                    axum::serve(listener, router)
                        .with_graceful_shutdown(stopped(stop))
                        .await
                        .context("https server")
                })
            }
            None => tokio::spawn(async move {
                axum::serve(self.listener, router)
                    .with_graceful_shutdown(stopped(stop))
                    .await
                    .context("http server")
            }),
        }
    }
}

/// Builds block trace indexes after start-up and whenever blocks change, so lookups and searches find them ready.
fn spawn_index_warmer(
    query: tracewell_query::QueryService,
    stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
        loop {
            tokio::select! {
                _ = stopped(stop.clone()) => break,
                _ = tick.tick() => query.warm_indexes().await,
            }
        }
    })
}

async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

pub async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(error) => {
            tracing::warn!(%error, "cannot listen for SIGTERM; only SIGINT stops the server");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
