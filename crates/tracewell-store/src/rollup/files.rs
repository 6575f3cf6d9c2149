//! Rollup files in the object store: `<tenant>/rollups/<min minute>-<max minute>-<ulid>.json`, one per flushed
//! head and one per daily merge. The minute range in the name lets a query pick files without reading them.
//!
//! A merge writes `<min>-<max>-<ulid>.merged.json`, listing its inputs in `merged_from`, then deletes the inputs.
//! Loading reads only the (few) merged files and deletes inputs a merge left behind, so a crash mid-merge never
//! counts spans twice.

use std::collections::HashMap;
use std::sync::Arc;

use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use parking_lot::Mutex;
use tracewell_model::TenantId;

use super::{Rollup, RollupData};
use crate::error::{Result, StoreError};

const MERGED_SUFFIX: &str = ".merged.json";

/// One rollup file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollupFileRef {
    pub path: Path,
    pub min_minute: u64,
    pub max_minute: u64,
    pub merged: bool,
}

impl RollupFileRef {
    pub(crate) fn new(tenant: &TenantId, min: u64, max: u64, merged: bool) -> Self {
        let suffix = if merged { MERGED_SUFFIX } else { ".json" };
        let name = format!("{min}-{max}-{}{suffix}", ulid::Ulid::new());
        Self {
            path: Path::from(format!("{}/rollups/{name}", tenant.as_str())),
            min_minute: min,
            max_minute: max,
            merged,
        }
    }

    fn parse(path: &Path) -> Option<Self> {
        let name = path.filename()?;
        let (stem, merged) = match name.strip_suffix(MERGED_SUFFIX) {
            Some(stem) => (stem, true),
            None => (name.strip_suffix(".json")?, false),
        };
        let mut parts = stem.splitn(3, '-');
        let min = parts.next()?.parse().ok()?;
        let max = parts.next()?.parse().ok()?;
        parts
            .next()
            .filter(|id| ulid::Ulid::from_string(id).is_ok())?;
        Some(Self {
            path: path.clone(),
            min_minute: min,
            max_minute: max,
            merged,
        })
    }

    pub fn overlaps(&self, from_minute: u64, to_minute: u64) -> bool {
        self.min_minute <= to_minute && from_minute <= self.max_minute
    }
}

/// A tenant's rollup files and a cache of parsed ones (files never change once written).
#[derive(Default)]
pub struct RollupFiles {
    files: Mutex<Vec<RollupFileRef>>,
    cache: Mutex<HashMap<Path, Arc<Rollup>>>,
}

pub(crate) fn prefix(tenant: &TenantId) -> Path {
    Path::from(format!("{}/rollups", tenant.as_str()))
}

pub(crate) fn encode(rollup: &Rollup, merged_from: Vec<String>) -> Result<Vec<u8>> {
    serde_json::to_vec(&rollup.to_data(merged_from))
        .map_err(|e| StoreError::Internal(e.to_string()))
}

pub(crate) async fn read_uncached(objects: &Arc<dyn ObjectStore>, path: &Path) -> Result<Rollup> {
    let data = read_data(objects, path).await?;
    tokio::task::spawn_blocking(move || Rollup::from_data(data))
        .await
        .map_err(|e| StoreError::Internal(format!("rollup decoder panicked: {e}")))
}

async fn read_data(objects: &Arc<dyn ObjectStore>, path: &Path) -> Result<RollupData> {
    let bytes = objects.get(path).await?.bytes().await?;
    serde_json::from_slice(&bytes)
        .map_err(|e| StoreError::Internal(format!("rollup file {path} is unreadable: {e}")))
}

impl RollupFiles {
    /// Lists a tenant's rollup files, finishing interrupted merges, and makes them this tenant's files.
    pub(crate) async fn load(
        &self,
        objects: &Arc<dyn ObjectStore>,
        tenant: &TenantId,
    ) -> Result<()> {
        let listed: Vec<_> = objects.list(Some(&prefix(tenant))).try_collect().await?;
        let mut files: Vec<RollupFileRef> = listed
            .iter()
            .filter_map(|o| {
                let parsed = RollupFileRef::parse(&o.location);
                if parsed.is_none() {
                    tracing::warn!(tenant = %tenant, path = %o.location, "ignoring unexpected file among rollups");
                }
                parsed
            })
            .collect();
        let mut replaced = Vec::new();
        for merged in files.iter().filter(|f| f.merged) {
            match read_data(objects, &merged.path).await {
                Ok(data) => replaced.extend(data.merged_from),
                Err(error) => {
                    tracing::warn!(tenant = %tenant, %error, "skipping unreadable rollup file")
                }
            }
        }
        for path in &replaced {
            let path = Path::from(path.as_str());
            if files.iter().any(|f| f.path == path) {
                tracing::info!(tenant = %tenant, %path, "deleting rollup file left behind by an interrupted merge");
                delete(objects, &path).await;
            }
        }
        files.retain(|f| !replaced.iter().any(|r| r.as_str() == f.path.as_ref()));
        files.sort_by_key(|f| f.min_minute);
        *self.files.lock() = files;
        Ok(())
    }

    pub fn list(&self) -> Vec<RollupFileRef> {
        self.files.lock().clone()
    }

    pub(crate) fn add(&self, file: RollupFileRef) {
        let mut files = self.files.lock();
        files.push(file);
        files.sort_by_key(|f| f.min_minute);
    }

    pub(crate) fn remove(&self, paths: &[Path]) {
        self.files.lock().retain(|f| !paths.contains(&f.path));
        let mut cache = self.cache.lock();
        for p in paths {
            cache.remove(p);
        }
    }

    /// Parsed content of a file, from the cache when possible. The cache is emptied when it grows past
    /// `cache_bytes`.
    pub(crate) async fn read(
        &self,
        objects: &Arc<dyn ObjectStore>,
        file: &RollupFileRef,
        cache_bytes: usize,
    ) -> Result<Arc<Rollup>> {
        if let Some(hit) = self.cache.lock().get(&file.path) {
            return Ok(Arc::clone(hit));
        }
        let rollup = Arc::new(read_uncached(objects, &file.path).await?);
        let mut cache = self.cache.lock();
        let used: usize = cache.values().map(|r| r.approx_bytes()).sum();
        if used + rollup.approx_bytes() > cache_bytes {
            cache.clear();
        }
        cache.insert(file.path.clone(), Arc::clone(&rollup));
        Ok(rollup)
    }
}

pub(crate) async fn delete(objects: &Arc<dyn ObjectStore>, path: &Path) {
    match objects.delete(path).await {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
        Err(error) => tracing::warn!(%path, %error, "could not delete rollup file"),
    }
}
