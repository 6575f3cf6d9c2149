//! Block metadata (`meta.json`) and the per-tenant catalog of blocks.
//!
//! Layout in the object store, per tenant:
//! `<tenant>/v1/<ulid>/data.parquet`, `<tenant>/v1/<ulid>/meta.json`, and `<tenant>/index.json` (the catalog,
//! rewritten after every change for readers that do not want to list). A block exists once its `meta.json`
//! exists: data is written first, meta second, so a crash in between leaves an orphan data file and no block.

use std::sync::Arc;

use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};
use tracewell_model::{TenantId, TraceId};

use crate::block::{BlockFormat, BlockStats};
use crate::error::Result;

/// `meta.json` of one block.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BlockMeta {
    pub id: String,
    pub tenant: String,
    pub format: String,
    /// Size of `data.parquet` in bytes.
    pub size_bytes: u64,
    /// Size of the block's other files (`index.bin`) in bytes.
    #[serde(default)]
    pub index_bytes: u64,
    /// 0 for blocks written by a flush; compaction writes `max(inputs) + 1`.
    pub compaction_level: u32,
    /// Blocks this one replaces (compaction); they are deleted once this block is durable.
    #[serde(default)]
    pub compacted_from: Vec<String>,
    pub created_unix_nano: u64,
    #[serde(flatten)]
    pub stats: BlockStats,
}

impl BlockMeta {
    pub fn data_path(&self) -> Path {
        Path::from(format!(
            "{}/{}/{}/data.parquet",
            self.tenant, self.format, self.id
        ))
    }

    pub fn meta_path(&self) -> Path {
        Path::from(format!(
            "{}/{}/{}/meta.json",
            self.tenant, self.format, self.id
        ))
    }

    /// Whether the block's trace-id range can contain `id`.
    pub fn may_contain(&self, id: &TraceId) -> bool {
        let hex = id.to_hex();
        self.stats.min_trace_id.as_str() <= hex.as_str()
            && hex.as_str() <= self.stats.max_trace_id.as_str()
    }
}

/// The blocks of one tenant, kept in memory and mirrored to `<tenant>/index.json`.
#[derive(Debug, Default, Clone)]
pub struct Catalog {
    blocks: Vec<Arc<BlockMeta>>,
}

impl Catalog {
    pub fn blocks(&self) -> &[Arc<BlockMeta>] {
        &self.blocks
    }

    pub fn add(&mut self, meta: BlockMeta) {
        self.blocks.push(Arc::new(meta));
        self.blocks.sort_by_key(|b| b.stats.min_start_unix_nano);
    }

    pub fn remove(&mut self, ids: &[String]) {
        self.blocks.retain(|b| !ids.contains(&b.id));
    }

    pub fn total_bytes(&self) -> u64 {
        self.blocks.iter().map(|b| b.size_bytes).sum()
    }

    pub fn len(&self) -> usize {
        self.blocks.len()
    }
}

/// Writes `meta.json`.
pub async fn write_meta(store: &Arc<dyn ObjectStore>, meta: &BlockMeta) -> Result<()> {
    let json =
        serde_json::to_vec_pretty(meta).map_err(|e| crate::StoreError::Internal(e.to_string()))?;
    store.put(&meta.meta_path(), PutPayload::from(json)).await?;
    Ok(())
}

/// Rewrites `<tenant>/index.json` from the catalog.
pub async fn write_index(
    store: &Arc<dyn ObjectStore>,
    tenant: &TenantId,
    catalog: &Catalog,
) -> Result<()> {
    let metas: Vec<&BlockMeta> = catalog.blocks.iter().map(|b| b.as_ref()).collect();
    let json = serde_json::to_vec_pretty(&metas)
        .map_err(|e| crate::StoreError::Internal(e.to_string()))?;
    store
        .put(
            &Path::from(format!("{}/index.json", tenant.as_str())),
            PutPayload::from(json),
        )
        .await?;
    Ok(())
}

/// Lists the tenants that have blocks.
pub async fn list_tenants(store: &Arc<dyn ObjectStore>) -> Result<Vec<TenantId>> {
    let listing = store.list_with_delimiter(None).await?;
    Ok(listing
        .common_prefixes
        .iter()
        .filter_map(|p| p.filename().and_then(|name| TenantId::new(name).ok()))
        .collect())
}

/// Loads a tenant's catalog by listing its `meta.json` files. Unreadable metas are logged and skipped; blocks
/// replaced by a finished compaction are deleted (the compaction was interrupted before it could).
pub async fn load(store: &Arc<dyn ObjectStore>, tenant: &TenantId) -> Result<Catalog> {
    load_with(store, tenant, true).await
}

/// [`load`] for a reader of a bucket others write: blocks replaced by a compaction are left out, not deleted (their
/// compactor deletes them).
pub async fn load_read_only(store: &Arc<dyn ObjectStore>, tenant: &TenantId) -> Result<Catalog> {
    load_with(store, tenant, false).await
}

async fn load_with(
    store: &Arc<dyn ObjectStore>,
    tenant: &TenantId,
    delete_replaced: bool,
) -> Result<Catalog> {
    let mut objects = Vec::new();
    for format in BlockFormat::ALL {
        let prefix = Path::from(format!("{}/{}", tenant.as_str(), format.as_str()));
        objects.extend(store.list(Some(&prefix)).try_collect::<Vec<_>>().await?);
    }
    let mut metas = Vec::new();
    for object in objects
        .iter()
        .filter(|o| o.location.filename() == Some("meta.json"))
    {
        match read_meta(store, &object.location).await {
            Ok(meta) => metas.push(meta),
            Err(reason) => {
                tracing::warn!(tenant = %tenant, path = %object.location, %reason, "skipping unreadable block meta")
            }
        }
    }
    let replaced: Vec<String> = metas
        .iter()
        .flat_map(|m| m.compacted_from.iter().cloned())
        .collect();
    let mut catalog = Catalog::default();
    for meta in metas {
        if replaced.contains(&meta.id) && !delete_replaced {
            continue;
        } else if replaced.contains(&meta.id) {
            tracing::info!(tenant = %tenant, block = %meta.id, "deleting block left behind by an interrupted compaction");
            delete_block(store, &meta).await;
        } else {
            catalog.add(meta);
        }
    }
    Ok(catalog)
}

async fn read_meta(
    store: &Arc<dyn ObjectStore>,
    path: &Path,
) -> std::result::Result<BlockMeta, String> {
    let bytes = store
        .get(path)
        .await
        .map_err(|e| e.to_string())?
        .bytes()
        .await
        .map_err(|e| e.to_string())?;
    serde_json::from_slice(&bytes).map_err(|e| e.to_string())
}

/// Deletes a block: meta first (so it stops being a block), then data. Failures are logged; an orphan data file
/// is harmless.
pub async fn delete_block(store: &Arc<dyn ObjectStore>, meta: &BlockMeta) {
    let side = BlockFormat::parse(&meta.format)
        .map(|f| crate::block::side_files(f, &meta.data_path()))
        .unwrap_or_default();
    for path in [meta.meta_path(), meta.data_path()].into_iter().chain(side) {
        match store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(error) => {
                tracing::warn!(block = %meta.id, path = %path, %error, "could not delete block file")
            }
        }
    }
}
