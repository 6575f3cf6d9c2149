//! One tenant's write-side state: its WAL, its active head block, heads being flushed, and its block catalog.
//!
//! The flush protocol keeps "acknowledged ⇒ durable" without holding a lock across an fsync:
//! 1. an appender *registers* with the active head (under a read lock) before it appends to the WAL, and inserts
//!    into that same head after the fsync, whatever happened meanwhile;
//! 2. a flush *seals* under the write lock: it rotates the WAL (sealing segment N) and swaps in a new head. Every
//!    record in segments ≤ N therefore belongs to an appender registered with the old head;
//! 3. the flush waits until the old head has no registered appenders, writes it as a block, and only then deletes
//!    WAL segments ≤ N.
//!
//! A record written after the rotation by an appender of the old head lands in segment N+1 and in the old head's
//! block: after a crash it is replayed again, a duplicate that reads and compaction remove.

use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use tracewell_model::TenantId;
use tracewell_wal::{SegmentId, Wal};

use crate::catalog::Catalog;
use crate::error::Result;
use crate::head::Head;
use crate::rollup::{EdgeJoin, RollupFiles};

struct Heads {
    active: Arc<Head>,
    /// Sealed heads waiting for (or in) a flush, oldest first, with the last WAL segment each covers. A head
    /// whose flush failed stays here, readable, and is retried by the next flush.
    flushing: Vec<(SegmentId, Arc<Head>)>,
}

pub(crate) struct Tenant {
    pub id: TenantId,
    pub wal: Wal,
    heads: RwLock<Heads>,
    pub catalog: Mutex<Catalog>,
    /// Resources and scopes shared among the spans of this tenant's requests (most arrive from a few service
    /// instances, each request with its own copy).
    pub origins: Mutex<tracewell_model::Origins>,
    /// Joins spans to their parents' services for dependency edges.
    pub edge_join: Mutex<EdgeJoin>,
    pub rollup_files: RollupFiles,
    /// One flush at a time per tenant.
    pub flush_lock: tokio::sync::Mutex<()>,
    /// One compaction or retention pass at a time per tenant.
    pub maintenance_lock: tokio::sync::Mutex<()>,
}

/// Registration of an appender with a head; leaving is automatic on drop, also on error paths.
pub(crate) struct HeadGuard(Arc<Head>);

impl HeadGuard {
    pub fn head(&self) -> &Head {
        &self.0
    }
}

impl Drop for HeadGuard {
    fn drop(&mut self) {
        self.0.leave();
    }
}

impl Tenant {
    pub fn new(id: TenantId, wal: Wal, catalog: Catalog) -> Self {
        Self {
            id,
            wal,
            heads: RwLock::new(Heads {
                active: Arc::new(Head::new()),
                flushing: Vec::new(),
            }),
            catalog: Mutex::new(catalog),
            origins: Mutex::default(),
            edge_join: Mutex::default(),
            rollup_files: RollupFiles::default(),
            flush_lock: tokio::sync::Mutex::new(()),
            maintenance_lock: tokio::sync::Mutex::new(()),
        }
    }

    pub fn register(&self) -> HeadGuard {
        let heads = self.heads.read();
        heads.active.enter();
        HeadGuard(Arc::clone(&heads.active))
    }

    pub fn active(&self) -> Arc<Head> {
        Arc::clone(&self.heads.read().active)
    }

    /// Seals the active head for a flush; does nothing when it is empty.
    pub fn seal(&self) -> Result<()> {
        let mut heads = self.heads.write();
        if heads.active.is_empty() {
            return Ok(());
        }
        let sealed = self.wal.rotate()?;
        let old = std::mem::replace(&mut heads.active, Arc::new(Head::new()));
        self.edge_join.lock().rotate();
        heads.flushing.push((sealed, old));
        Ok(())
    }

    /// Sealed heads not yet flushed, oldest first.
    pub fn sealed(&self) -> Vec<(SegmentId, Arc<Head>)> {
        self.heads.read().flushing.clone()
    }

    /// Forgets a flushed head once its block is in the catalog.
    pub fn finish_flush(&self, head: &Arc<Head>) {
        self.heads
            .write()
            .flushing
            .retain(|(_, h)| !Arc::ptr_eq(h, head));
    }

    /// Every head that may hold spans: the active one and those being flushed.
    pub fn heads(&self) -> Vec<Arc<Head>> {
        let heads = self.heads.read();
        let mut out = Vec::with_capacity(1 + heads.flushing.len());
        out.push(Arc::clone(&heads.active));
        out.extend(heads.flushing.iter().map(|(_, h)| Arc::clone(h)));
        out
    }
}
