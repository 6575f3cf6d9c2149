//! Retention: delete a tenant's blocks whose newest span is older than the retention age, then the oldest blocks
//! while the tenant's blocks exceed the size limit.

use std::sync::Arc;

use crate::catalog::{self, BlockMeta};
use crate::flush::now_unix_nano;
use crate::metrics::Labels;
use crate::store::Store;
use crate::tenant::Tenant;

impl Store {
    /// Applies retention to one tenant; returns the number of deleted blocks.
    pub(crate) async fn apply_retention(&self, tenant: &Arc<Tenant>) -> usize {
        let _maintenance = tenant.maintenance_lock.lock().await;
        let (expired, oversize) = self.retention_victims(tenant);
        if expired.is_empty() && oversize.is_empty() {
            return 0;
        }
        {
            let ids: Vec<String> = expired
                .iter()
                .chain(&oversize)
                .map(|m| m.id.clone())
                .collect();
            tenant.catalog.lock().remove(&ids);
        }
        self.persist_catalog(tenant).await;
        for (reason, victims) in [("age", &expired), ("size", &oversize)] {
            let labels: Labels = vec![("reason", reason.into())];
            self.0
                .metrics
                .retention_deleted_blocks
                .get_or_create(&labels)
                .inc_by(victims.len() as u64);
            for meta in victims {
                tracing::info!(tenant = %tenant.id, block = %meta.id, reason, "retention deleted block");
                catalog::delete_block(&self.0.objects, meta).await;
            }
        }
        expired.len() + oversize.len()
    }

    fn retention_victims(&self, tenant: &Tenant) -> (Vec<Arc<BlockMeta>>, Vec<Arc<BlockMeta>>) {
        let config = &self.0.config;
        let retention = config.retention_for(tenant.id.as_str());
        let cutoff = now_unix_nano().saturating_sub(retention.as_nanos() as u64);
        let mut blocks = tenant.catalog.lock().blocks().to_vec();
        let (expired, mut kept): (Vec<_>, Vec<_>) = blocks
            .drain(..)
            .partition(|m| m.stats.max_end_unix_nano < cutoff);
        let mut oversize = Vec::new();
        if config.retention_max_bytes > 0 {
            kept.sort_by_key(|m| m.stats.max_end_unix_nano);
            let mut total: u64 = kept.iter().map(|m| m.size_bytes).sum();
            for meta in kept {
                if total <= config.retention_max_bytes {
                    break;
                }
                total -= meta.size_bytes;
                oversize.push(meta);
            }
        }
        (expired, oversize)
    }

    /// Runs compaction then retention for every tenant; errors are logged.
    pub async fn run_maintenance(&self) {
        for tenant in self.all_tenants() {
            if let Err(error) = self.compact_tenant(&tenant).await {
                tracing::error!(tenant = %tenant.id, %error, "compaction failed");
            }
            self.apply_retention(&tenant).await;
            self.apply_log_retention(&tenant.id, self.0.config.log_retention)
                .await;
            if let Err(error) = self.maintain_rollups(&tenant).await {
                tracing::error!(tenant = %tenant.id, %error, "rollup maintenance failed");
            }
        }
    }
}
