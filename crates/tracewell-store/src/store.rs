//! The store: tenants, the append path (WAL then head), readiness, background flush and maintenance, shutdown.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use object_store::local::LocalFileSystem;
use object_store::ObjectStore;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use parking_lot::RwLock;
use prometheus_client::registry::Registry;
use tokio::sync::{watch, Notify};
use tracewell_model::{Span, TenantId};
use tracewell_wal::{Wal, WalConfig};

use crate::catalog::{self, BlockMeta, Catalog};
use crate::config::StoreConfig;
use crate::error::{Result, StoreError};
use crate::head::Inserted;
use crate::metrics::{tenant_label, StoreMetrics};
use crate::tenant::Tenant;

/// Where blocks, metas, rollups and catalogs are kept.
#[derive(Clone, Default)]
pub enum BlockStorage {
    /// `<data_dir>/blocks` on the local disk; writes are fsynced before they count as durable.
    #[default]
    LocalDisk,
    /// Any object store (S3-compatible, in memory...), whose `put` is durable once it returns.
    Objects(Arc<dyn ObjectStore>),
}

impl std::fmt::Debug for BlockStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BlockStorage::LocalDisk => f.write_str("LocalDisk"),
            BlockStorage::Objects(store) => write!(f, "Objects({store})"),
        }
    }
}

pub(crate) struct Inner {
    pub config: StoreConfig,
    pub objects: Arc<dyn ObjectStore>,
    /// Blocks are on the local disk (`config.blocks_dir()`), which needs explicit fsyncs.
    pub local_blocks: bool,
    tenants: RwLock<HashMap<TenantId, Arc<Tenant>>>,
    /// Tenants whose WAL cannot be opened (e.g. permissions); appends to them fail until restart.
    pub metrics: StoreMetrics,
    /// Bytes in all heads, for the memory budget.
    pub head_bytes: AtomicUsize,
    ready: AtomicBool,
    pub flush_wanted: Notify,
    /// Acknowledged spans for live tails.
    pub live: crate::live::LiveSpans,
    /// Where requests go instead of the WAL and heads (the distributor role).
    pub request_log: std::sync::OnceLock<Arc<dyn crate::RequestLog>>,
    /// Held before compaction and retention run, when several processes share the bucket (the compactor role).
    pub maintenance_lease: std::sync::OnceLock<crate::Lease>,
    /// Whether this process held the maintenance lease at the last check, and whether that was logged yet.
    holds_lease: AtomicBool,
    lease_logged: AtomicBool,
    /// Highest request-log offset appended per partition (the block-builder role).
    pub log_positions: parking_lot::Mutex<crate::LogPositions>,
    /// Held for the store's lifetime: one process per data directory.
    _lock: std::fs::File,
}

/// Takes an exclusive lock on `<data_dir>/LOCK`, so two servers never share a WAL.
fn lock_data_dir(data_dir: &std::path::Path) -> Result<std::fs::File> {
    let path = data_dir.join("LOCK");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => {
            Err(StoreError::DataDirInUse(data_dir.display().to_string()))
        }
        Err(std::fs::TryLockError::Error(e)) => Err(e.into()),
    }
}

/// Batches a live-tail subscriber may fall behind before it misses some.
const LIVE_BATCHES: usize = 1024;

/// Handle to the store; cheap to clone.
#[derive(Clone)]
pub struct Store(pub(crate) Arc<Inner>);

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("data_dir", &self.0.config.data_dir)
            .finish()
    }
}

impl Store {
    /// Creates directories and the block object store (`file://<data_dir>/blocks`). Does not replay anything:
    /// call [`Store::recover`] before accepting writes.
    pub fn open(config: StoreConfig, registry: &mut Registry) -> Result<Self> {
        Self::open_with(config, BlockStorage::LocalDisk, registry)
    }

    /// [`Store::open`] with blocks kept in `storage`; the WAL stays in `<data_dir>/wal`.
    pub fn open_with(
        config: StoreConfig,
        storage: BlockStorage,
        registry: &mut Registry,
    ) -> Result<Self> {
        std::fs::create_dir_all(config.wal_dir())?;
        let lock = lock_data_dir(&config.data_dir)?;
        let (objects, local_blocks): (Arc<dyn ObjectStore>, bool) = match storage {
            BlockStorage::LocalDisk => {
                std::fs::create_dir_all(config.blocks_dir())?;
                (
                    // Deleting a block's last file removes its directory.
                    Arc::new(
                        LocalFileSystem::new_with_prefix(config.blocks_dir())?
                            .with_automatic_cleanup(true),
                    ),
                    true,
                )
            }
            BlockStorage::Objects(objects) => (objects, false),
        };
        let metrics = StoreMetrics::new(registry);
        Ok(Self(Arc::new(Inner {
            config,
            objects,
            local_blocks,
            tenants: RwLock::new(HashMap::new()),
            metrics,
            head_bytes: AtomicUsize::new(0),
            ready: AtomicBool::new(false),
            flush_wanted: Notify::new(),
            live: crate::live::LiveSpans::new(LIVE_BATCHES),
            request_log: std::sync::OnceLock::new(),
            maintenance_lease: std::sync::OnceLock::new(),
            holds_lease: AtomicBool::new(false),
            lease_logged: AtomicBool::new(false),
            log_positions: Default::default(),
            _lock: lock,
        })))
    }

    pub fn config(&self) -> &StoreConfig {
        &self.0.config
    }

    /// Spans as appends acknowledge them, for live tails.
    pub fn subscribe_live(&self) -> tokio::sync::broadcast::Receiver<Arc<crate::live::LiveBatch>> {
        self.0.live.subscribe()
    }

    /// True once [`Store::recover`] finished: WALs replayed, catalogs loaded.
    pub fn is_ready(&self) -> bool {
        self.0.ready.load(Ordering::Acquire)
    }

    pub(crate) fn set_ready(&self) {
        self.0.ready.store(true, Ordering::Release);
    }

    pub(crate) fn tenant_if_exists(&self, id: &TenantId) -> Option<Arc<Tenant>> {
        self.0.tenants.read().get(id).cloned()
    }

    pub(crate) fn all_tenants(&self) -> Vec<Arc<Tenant>> {
        self.0.tenants.read().values().cloned().collect()
    }

    /// Tenants with data (WAL or blocks).
    pub fn tenants(&self) -> Vec<TenantId> {
        let mut ids: Vec<TenantId> = self.0.tenants.read().keys().cloned().collect();
        ids.sort();
        ids
    }

    /// Blocks of a tenant, oldest first.
    pub fn blocks(&self, tenant: &TenantId) -> Vec<Arc<BlockMeta>> {
        self.tenant_if_exists(tenant)
            .map(|t| t.catalog.lock().blocks().to_vec())
            .unwrap_or_default()
    }

    /// A tenant's head blocks (the active one and those being flushed), for readers.
    pub fn heads(&self, tenant: &TenantId) -> Vec<Arc<crate::head::Head>> {
        self.tenant_if_exists(tenant)
            .map(|t| t.heads())
            .unwrap_or_default()
    }

    /// The object store holding blocks (paths as in [`BlockMeta::data_path`]).
    pub fn objects(&self) -> Arc<dyn ObjectStore> {
        Arc::clone(&self.0.objects)
    }

    /// Counts a block that a reader outside the store failed to read (`tracewell_block_read_errors_total`).
    pub fn record_block_read_error(&self) {
        self.0.metrics.block_read_errors.inc();
    }

    /// Spans in a tenant's head blocks.
    pub fn head_spans(&self, tenant: &TenantId) -> usize {
        self.tenant_if_exists(tenant)
            .map(|t| t.heads().iter().map(|h| h.span_count()).sum())
            .unwrap_or(0)
    }

    /// Opens a tenant's WAL (replaying it into a fresh head) and registers the tenant, unless it exists.
    pub(crate) fn open_tenant(&self, id: &TenantId, catalog: Catalog) -> Result<Arc<Tenant>> {
        if let Some(t) = self.tenant_if_exists(id) {
            return Ok(t);
        }
        let mut tenants = self.0.tenants.write();
        if let Some(t) = tenants.get(id) {
            return Ok(Arc::clone(t));
        }
        // Existing data is always recovered; only brand-new tenants count against the limit.
        if self.is_ready() && tenants.len() >= self.0.config.max_tenants {
            return Err(StoreError::TooManyTenants {
                limit: self.0.config.max_tenants,
            });
        }
        let (wal, replay) = Wal::open(self.wal_config(id))?;
        let metrics = self.0.metrics.clone();
        wal.set_fsync_observer(Arc::new(move |took: Duration, records: usize| {
            metrics.wal_fsync_seconds.observe(took.as_secs_f64());
            metrics.wal_group_records.observe(records as f64);
        }));
        let tenant = Arc::new(Tenant::new(id.clone(), wal, catalog));
        crate::recovery::replay_into(self, &tenant, replay);
        self.publish_catalog_metrics(&tenant);
        tenants.insert(id.clone(), Arc::clone(&tenant));
        Ok(tenant)
    }

    fn wal_config(&self, id: &TenantId) -> WalConfig {
        WalConfig {
            dir: self.0.config.wal_dir().join(id.as_str()),
            segment_max_bytes: self.0.config.wal_segment_max_bytes,
            max_record_bytes: self.0.config.wal_max_record_bytes,
        }
    }

    /// Memory counted against the budget: all heads plus requests in flight.
    pub fn memory_used(&self) -> usize {
        self.0.head_bytes.load(Ordering::Relaxed) + self.inflight_bytes()
    }

    /// Bytes of requests in flight ([`Store::reserve`]).
    pub fn inflight_bytes(&self) -> usize {
        self.0.metrics.inflight_bytes.get().max(0) as usize
    }

    /// True while heads and requests in flight together are over the memory budget (flushes are asked to
    /// catch up).
    pub fn over_budget(&self) -> bool {
        let over = self.memory_used() >= self.0.config.memory_budget_bytes;
        if over {
            self.0.flush_wanted.notify_one();
        }
        over
    }

    /// Counts `bytes` of a request in flight (its body and decoded form) against the memory budget until the
    /// returned reservation is dropped, or refuses when heads and requests in flight already fill the budget.
    /// A request that is admitted may take the total past the budget by its own size; the next one is refused.
    pub fn reserve(&self, tenant: &TenantId, bytes: usize) -> Result<crate::Reservation> {
        self.refuse_over_budget(tenant, self.memory_used())?;
        Ok(crate::Reservation::take(
            &self.0.metrics.inflight_bytes,
            bytes,
        ))
    }

    /// Refuses work when all heads together are over the memory budget. Requests in flight are not counted:
    /// the caller's own request is one of them ([`Store::reserve`] counts them before it gets here).
    pub fn check_budget(&self, tenant: &TenantId) -> Result<()> {
        self.refuse_over_budget(tenant, self.0.head_bytes.load(Ordering::Relaxed))
    }

    fn refuse_over_budget(&self, tenant: &TenantId, used: usize) -> Result<()> {
        let budget = self.0.config.memory_budget_bytes;
        if used >= budget {
            self.0.flush_wanted.notify_one();
            return Err(StoreError::Overloaded {
                tenant: tenant.clone(),
                used,
                budget,
            });
        }
        Ok(())
    }

    /// Makes a sanitized export request durable and visible: appends it to the tenant's WAL, waits for the
    /// fsync, then inserts its spans into the head block. Returning `Ok` means the spans survive a crash. A store
    /// that forwards to a request log ([`Store::forward_to`]) returns once the log holds the request instead.
    ///
    /// `encoded`, when given, must be the protobuf encoding of `req`; it is written to the WAL as it is.
    pub async fn append(
        &self,
        tenant_id: &TenantId,
        req: ExportTraceServiceRequest,
        encoded: Option<&[u8]>,
    ) -> Result<Inserted> {
        if !self.is_ready() {
            return Err(StoreError::NotReady);
        }
        self.check_budget(tenant_id)?;
        if let Some(log) = self.request_log() {
            let spans = req
                .resource_spans
                .iter()
                .flat_map(|r| &r.scope_spans)
                .map(|s| s.spans.len())
                .sum();
            log.append_traces(tenant_id, req)
                .await
                .map_err(StoreError::LogUnavailable)?;
            return Ok(Inserted {
                spans,
                ..Inserted::default()
            });
        }
        let wal_record = match encoded {
            Some(bytes) => crate::wal_record::from_encoded(bytes),
            None => crate::wal_record::encode(&req),
        };
        self.append_traces_record(tenant_id, req, wal_record).await
    }

    /// Appends `wal_record` (which holds `req`) to the tenant's WAL, then inserts `req`'s spans into the head.
    pub(crate) async fn append_traces_record(
        &self,
        tenant_id: &TenantId,
        req: ExportTraceServiceRequest,
        wal_record: Vec<u8>,
    ) -> Result<Inserted> {
        let tenant = self.open_tenant(tenant_id, Catalog::default())?;
        let spans = tracewell_model::otlp::into_spans_sharing(req, &mut tenant.origins.lock());
        let guard = tenant.register();
        tenant.wal.append(wal_record).await?;
        self.0.live.publish(tenant_id, &spans);
        let inserted = self.insert(&tenant, guard.head(), spans);
        drop(guard);
        if tenant.active().bytes() >= self.0.config.head_max_bytes {
            self.0.flush_wanted.notify_one();
        }
        Ok(inserted)
    }

    pub(crate) fn insert(
        &self,
        tenant: &Tenant,
        head: &crate::head::Head,
        spans: Vec<Span>,
    ) -> Inserted {
        self.roll_up(tenant, head, &spans);
        let inserted = head.insert(
            spans,
            self.0.config.max_spans_per_trace_for(tenant.id.as_str()),
        );
        self.0
            .head_bytes
            .fetch_add(inserted.bytes, Ordering::Relaxed);
        self.0
            .metrics
            .spans_over_trace_limit
            .inc_by(inserted.over_trace_limit as u64);
        self.publish_head_metrics(tenant);
        inserted
    }

    pub(crate) fn publish_head_metrics(&self, tenant: &Tenant) {
        let heads = tenant.heads();
        let labels = tenant_label(tenant.id.as_str());
        let m = &self.0.metrics;
        m.head_bytes
            .get_or_create(&labels)
            .set(heads.iter().map(|h| h.bytes() as i64).sum());
        m.head_spans
            .get_or_create(&labels)
            .set(heads.iter().map(|h| h.span_count() as i64).sum());
        m.head_bytes_total
            .set(self.0.head_bytes.load(Ordering::Relaxed) as i64);
    }

    pub(crate) fn publish_catalog_metrics(&self, tenant: &Tenant) {
        let catalog = tenant.catalog.lock();
        let labels = tenant_label(tenant.id.as_str());
        let m = &self.0.metrics;
        m.blocks.get_or_create(&labels).set(catalog.len() as i64);
        m.block_bytes
            .get_or_create(&labels)
            .set(catalog.total_bytes() as i64);
        m.wal_disk_bytes
            .get_or_create(&labels)
            .set(tenant.wal.disk_bytes() as i64);
    }

    /// Runs the flusher (size/age checks) and maintenance (compaction, retention) until `shutdown` turns true.
    pub fn spawn_background(
        &self,
        mut shutdown: watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        let store = self.clone();
        tokio::spawn(async move {
            let mut flush_tick = tokio::time::interval(store.0.config.flush_check_interval);
            let mut maintenance_tick = tokio::time::interval(store.0.config.maintenance_interval);
            maintenance_tick.tick().await;
            loop {
                tokio::select! {
                    _ = shutdown.changed() => break,
                    _ = flush_tick.tick() => store.flush_due().await,
                    _ = store.0.flush_wanted.notified() => store.flush_due().await,
                    _ = maintenance_tick.tick(), if store.0.config.maintenance => {
                        if store.holds_maintenance_lease().await {
                            store.run_maintenance().await;
                        }
                    }
                }
            }
        })
    }

    /// Makes compaction and retention wait for `lease` (a lease in the shared bucket), so that of several processes
    /// only the holder maintains blocks. Set once, before [`Store::spawn_background`]; later calls return false.
    pub fn maintain_under_lease(&self, lease: crate::Lease) -> bool {
        self.0.maintenance_lease.set(lease).is_ok()
    }

    /// Whether maintenance may run now: always without a lease, else while this process holds it.
    async fn holds_maintenance_lease(&self) -> bool {
        let Some(lease) = self.0.maintenance_lease.get() else {
            return true;
        };
        let holds = match lease.acquire().await {
            Ok(holds) => holds,
            Err(error) => {
                tracing::warn!(%error, "could not check the maintenance lease; not compacting");
                false
            }
        };
        // Logged when it changes, not every run.
        if self.0.holds_lease.swap(holds, Ordering::Relaxed) != holds
            || !self.0.lease_logged.swap(true, Ordering::Relaxed)
        {
            if holds {
                tracing::info!(
                    holder = lease.holder(),
                    "took the maintenance lease; compacting and applying retention"
                );
            } else {
                tracing::info!(
                    holder = lease.holder(),
                    "another process holds the maintenance lease; standing by"
                );
            }
        }
        holds
    }

    /// Flushes every head, then closes the WALs. Call after receivers stopped.
    pub async fn shutdown(&self) -> Result<()> {
        let result = self.flush_all().await;
        for tenant in self.all_tenants() {
            if let Err(error) = tenant.wal.close() {
                tracing::warn!(tenant = %tenant.id, %error, "closing wal failed");
            }
        }
        result
    }

    pub(crate) async fn persist_catalog(&self, tenant: &Tenant) {
        let catalog = tenant.catalog.lock().clone();
        if let Err(error) = catalog::write_index(&self.0.objects, &tenant.id, &catalog).await {
            tracing::warn!(tenant = %tenant.id, %error, "could not write block index");
        }
        self.publish_catalog_metrics(tenant);
    }
}
