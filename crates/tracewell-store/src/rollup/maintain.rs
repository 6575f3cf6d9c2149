//! The store's side of rollups: write a flushed head's rollup, answer range reads (files plus unflushed heads),
//! merge old files per day and delete files past the rollup retention.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use object_store::path::Path;
use tracewell_model::TenantId;

use super::files::{self, RollupFileRef};
use super::{Rollup, MINUTE_NANO};
use crate::error::Result;
use crate::flush::now_unix_nano;
use crate::store::Store;
use crate::tenant::Tenant;

/// Files of a day are merged once the day is this many minutes in the past.
const MERGE_AFTER_MINUTES: u64 = 60;
const MINUTES_PER_DAY: u64 = 24 * 60;

impl Store {
    /// Persists a flushed head's rollup. Called after the head's block is durable and before its WAL segments
    /// are deleted, so a crash before this point rebuilds the rollup from the WAL.
    pub(crate) async fn write_rollup(&self, tenant: &Tenant, rollup: &Rollup) -> Result<()> {
        let Some((min, max)) = rollup.minute_range() else {
            return Ok(());
        };
        let file = RollupFileRef::new(&tenant.id, min, max, false);
        let bytes = files::encode(rollup, Vec::new())?;
        self.put_durable(&file.path, bytes.into()).await?;
        tenant.rollup_files.add(file);
        Ok(())
    }

    /// Every rollup entry of `tenant` whose minute lies in `[from_nano, to_nano]`: persisted files and the heads
    /// not flushed yet. An unknown tenant has none.
    pub async fn rollups(&self, tenant: &TenantId, from_nano: u64, to_nano: u64) -> Result<Rollup> {
        let (from, to) = (from_nano / MINUTE_NANO, to_nano / MINUTE_NANO);
        let mut out = Rollup::default();
        self.for_each_rollup(tenant, from, to, |r| {
            out.merge_filtered(r, |m| from <= m && m <= to)
        })
        .await?;
        Ok(out)
    }

    /// Distinct `(service, operation, kind)` of the RED entries in `[from_nano, to_nano]`, without merging their
    /// statistics (pickers need names, not numbers).
    pub async fn rollup_operations(
        &self,
        tenant: &TenantId,
        from_nano: u64,
        to_nano: u64,
    ) -> Result<BTreeSet<(String, String, u8)>> {
        let (from, to) = (from_nano / MINUTE_NANO, to_nano / MINUTE_NANO);
        // Nested by service then operation, so lookups borrow the keys and only new names are copied.
        let mut seen: BTreeMap<String, BTreeMap<String, BTreeSet<u8>>> = BTreeMap::new();
        self.for_each_rollup(tenant, from, to, |r| {
            for (k, _) in r.red().filter(|(k, _)| from <= k.minute && k.minute <= to) {
                if !seen.contains_key(&k.service) {
                    seen.insert(k.service.clone(), BTreeMap::new());
                }
                let ops = seen.get_mut(&k.service).expect("inserted above");
                match ops.get_mut(&k.operation) {
                    Some(kinds) => {
                        kinds.insert(k.kind);
                    }
                    None => {
                        ops.insert(k.operation.clone(), BTreeSet::from([k.kind]));
                    }
                }
            }
        })
        .await?;
        let mut out = BTreeSet::new();
        for (service, ops) in seen {
            for (operation, kinds) in ops {
                out.extend(
                    kinds
                        .into_iter()
                        .map(|kind| (service.clone(), operation.clone(), kind)),
                );
            }
        }
        Ok(out)
    }

    /// Calls `f` with each rollup (file or unflushed head) that may hold minutes in `[from, to]`.
    async fn for_each_rollup(
        &self,
        tenant: &TenantId,
        from: u64,
        to: u64,
        mut f: impl FnMut(&Rollup),
    ) -> Result<()> {
        let Some(tenant) = self.tenant_if_exists(tenant) else {
            return Ok(());
        };
        for file in tenant
            .rollup_files
            .list()
            .iter()
            .filter(|f| f.overlaps(from, to))
        {
            let rollup = tenant
                .rollup_files
                .read(&self.0.objects, file, self.0.config.rollup_cache_bytes)
                .await;
            match rollup {
                Ok(rollup) => f(&rollup),
                // Merged or expired meanwhile: its content lives in the merge, or is out of retention.
                Err(_) if !tenant.rollup_files.list().contains(file) => {}
                Err(error) => return Err(error),
            }
        }
        for head in tenant.heads() {
            f(&head.rollup.lock());
        }
        Ok(())
    }

    /// Deletes rollup files past the rollup retention, then merges the files of each finished day into one.
    pub(crate) async fn maintain_rollups(&self, tenant: &Arc<Tenant>) -> Result<()> {
        let now_minute = now_unix_nano() / MINUTE_NANO;
        let retention_minutes = self.0.config.rollup_retention.as_secs() / 60;
        let cutoff = now_minute.saturating_sub(retention_minutes);
        let expired: Vec<Path> = tenant
            .rollup_files
            .list()
            .into_iter()
            .filter(|f| f.max_minute < cutoff)
            .map(|f| f.path)
            .collect();
        if !expired.is_empty() {
            tenant.rollup_files.remove(&expired);
            for path in &expired {
                files::delete(&self.0.objects, path).await;
            }
            tracing::info!(tenant = %tenant.id, files = expired.len(), "rollup retention deleted files");
        }
        let merge_before = now_minute.saturating_sub(MERGE_AFTER_MINUTES);
        let mut by_day: std::collections::BTreeMap<u64, Vec<RollupFileRef>> = Default::default();
        for f in tenant.rollup_files.list() {
            let day = f.min_minute / MINUTES_PER_DAY;
            if f.max_minute / MINUTES_PER_DAY == day && f.max_minute < merge_before {
                by_day.entry(day).or_default().push(f);
            }
        }
        for (_, inputs) in by_day.into_iter().filter(|(_, files)| files.len() > 1) {
            self.merge_rollups(tenant, inputs).await?;
        }
        Ok(())
    }

    async fn merge_rollups(&self, tenant: &Tenant, inputs: Vec<RollupFileRef>) -> Result<()> {
        let mut merged = Rollup::default();
        for file in &inputs {
            let rollup = files::read_uncached(&self.0.objects, &file.path).await?;
            merged.merge(&rollup);
        }
        let min = inputs.iter().map(|f| f.min_minute).min().unwrap_or(0);
        let max = inputs.iter().map(|f| f.max_minute).max().unwrap_or(0);
        let output = RollupFileRef::new(&tenant.id, min, max, true);
        let names = inputs.iter().map(|f| f.path.to_string()).collect();
        let bytes = files::encode(&merged, names)?;
        self.put_durable(&output.path, bytes.into()).await?;
        tenant.rollup_files.add(output);
        let paths: Vec<Path> = inputs.into_iter().map(|f| f.path).collect();
        tenant.rollup_files.remove(&paths);
        for path in &paths {
            files::delete(&self.0.objects, path).await;
        }
        tracing::info!(tenant = %tenant.id, files = paths.len(), "merged rollup files of a day");
        Ok(())
    }
}
