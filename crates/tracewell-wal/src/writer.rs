//! Group commit: the pending-append queue, the active segment and the
//! dedicated writer thread.
//!
//! `append` pushes a framed record onto the queue and waits on a oneshot.
//! The writer thread takes everything pending (up to a size cap), writes it
//! with one `write_all`, fsyncs once and completes every waiter of that group
//! with the same result. The active segment sits behind its own mutex, held
//! for the whole write+fsync, so `rotate` waits for at most one in-flight
//! group and never splits one.

use std::collections::{BTreeMap, VecDeque};
use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Condvar, Mutex, RwLock};
use tokio::sync::oneshot;

use crate::error::{Result, WalError};
use crate::segment::{SegmentFile, FILE_HEADER_LEN, RECORD_HEADER_LEN};
use crate::SegmentId;

/// Callback told the duration of every group fsync and the number of
/// records that fsync made durable.
pub type FsyncObserver = Arc<dyn Fn(Duration, usize) + Send + Sync>;

/// Upper bound on the bytes the writer puts in one group, whatever the
/// segment size.
const MAX_GROUP_BYTES: u64 = 64 << 20;
/// The group buffer is released after a group larger than this.
const RETAINED_BUFFER_BYTES: usize = 8 << 20;

/// One append waiting for the writer.
pub(crate) struct Pending {
    pub(crate) header: [u8; RECORD_HEADER_LEN],
    pub(crate) payload: Vec<u8>,
    pub(crate) done: oneshot::Sender<Result<SegmentId>>,
}

#[derive(Default)]
pub(crate) struct Queue {
    pending: VecDeque<Pending>,
    pub(crate) closed: bool,
}

/// The segment appends go to.
pub(crate) struct Active {
    /// Id of the open segment, or of the last one when `seg` is `None`.
    pub(crate) id: SegmentId,
    /// `None` after a failed write (or a failed segment creation): the next
    /// group opens segment `id + 1`.
    pub(crate) seg: Option<SegmentFile>,
}

/// State shared by every `Wal` handle and the writer thread.
pub(crate) struct Shared {
    pub(crate) dir: PathBuf,
    pub(crate) segment_max_bytes: u64,
    pub(crate) queue: Mutex<Queue>,
    wake: Condvar,
    /// Lock order: `active` before `sealed`.
    pub(crate) active: Mutex<Active>,
    pub(crate) active_id: AtomicU64,
    pub(crate) sealed: Mutex<BTreeMap<SegmentId, u64>>,
    pub(crate) disk_bytes: AtomicU64,
    pub(crate) fsyncs: AtomicU64,
    pub(crate) observer: RwLock<Option<FsyncObserver>>,
}

impl Shared {
    pub(crate) fn new(
        dir: PathBuf,
        segment_max_bytes: u64,
        active: SegmentFile,
        sealed: BTreeMap<SegmentId, u64>,
    ) -> Self {
        let disk_bytes = sealed.values().sum::<u64>() + active.len;
        Shared {
            dir,
            segment_max_bytes,
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
            active_id: AtomicU64::new(active.id),
            active: Mutex::new(Active {
                id: active.id,
                seg: Some(active),
            }),
            sealed: Mutex::new(sealed),
            disk_bytes: AtomicU64::new(disk_bytes),
            fsyncs: AtomicU64::new(0),
            observer: RwLock::new(None),
        }
    }

    /// Queues a record for the writer; fails once the WAL is closed.
    pub(crate) fn enqueue(&self, p: Pending) -> Result<()> {
        let mut q = self.queue.lock();
        if q.closed {
            return Err(WalError::Closed);
        }
        q.pending.push_back(p);
        drop(q);
        self.wake.notify_one();
        Ok(())
    }

    /// Refuses new appends and wakes the writer so it drains and exits.
    pub(crate) fn close_queue(&self) {
        self.queue.lock().closed = true;
        self.wake.notify_all();
    }

    /// Blocks until records are pending; `None` once closed and drained.
    fn next_group(&self) -> Option<Vec<Pending>> {
        let cap = self.segment_max_bytes.clamp(1, MAX_GROUP_BYTES);
        let mut q = self.queue.lock();
        while q.pending.is_empty() {
            if q.closed {
                return None;
            }
            self.wake.wait(&mut q);
        }
        let mut group = Vec::new();
        let mut bytes = 0u64;
        while let Some(p) = q.pending.front() {
            let size = (RECORD_HEADER_LEN + p.payload.len()) as u64;
            if !group.is_empty() && bytes + size > cap {
                break;
            }
            bytes += size;
            if let Some(p) = q.pending.pop_front() {
                group.push(p);
            }
        }
        Some(group)
    }

    /// Seals the active segment (if any) and opens the next one. Returns the
    /// id of the sealed segment.
    pub(crate) fn rotate_locked(&self, act: &mut Active) -> Result<SegmentId> {
        let sealed_id = act.id;
        if let Some(seg) = act.seg.take() {
            let len = seg.seal();
            self.sealed.lock().insert(sealed_id, len);
        }
        let next = sealed_id.checked_add(1).ok_or_else(|| {
            WalError::io(
                "allocating a WAL segment id",
                std::io::Error::other("segment ids exhausted"),
            )
        })?;
        let seg = SegmentFile::create(&self.dir, next).map_err(|e| {
            WalError::io(
                format!(
                    "creating WAL segment {}",
                    crate::segment_path(&self.dir, next).display()
                ),
                e,
            )
        })?;
        self.disk_bytes.fetch_add(seg.len, Ordering::Relaxed);
        act.id = next;
        act.seg = Some(seg);
        self.active_id.store(next, Ordering::Release);
        Ok(sealed_id)
    }

    /// Writes and fsyncs one group. Returns the segment it landed in and the
    /// fsync duration.
    fn commit(&self, buf: &[u8]) -> Result<(SegmentId, Duration)> {
        let mut act = self.active.lock();
        let needs_new = match &act.seg {
            None => true,
            // Rotate before a group that would push a non-empty segment past
            // the limit; a segment only exceeds it when one record does.
            Some(seg) => {
                seg.len > FILE_HEADER_LEN && seg.len + buf.len() as u64 > self.segment_max_bytes
            }
        };
        if needs_new {
            self.rotate_locked(&mut act)?;
        }
        let Some(seg) = act.seg.as_mut() else {
            return Err(WalError::io(
                "appending to the WAL",
                std::io::Error::other("no active segment"),
            ));
        };
        match seg.append(buf) {
            Ok(took) => {
                self.disk_bytes
                    .fetch_add(buf.len() as u64, Ordering::Relaxed);
                self.fsyncs.fetch_add(1, Ordering::Relaxed);
                Ok((seg.id, took))
            }
            Err(e) => {
                let err = WalError::io(
                    format!("appending to WAL segment {}", seg.path.display()),
                    e,
                );
                // The segment is poisoned: seal it at its last good length;
                // the next group goes to a new segment.
                tracing::error!(error = %err, "WAL group commit failed; sealing the segment");
                if let Some(seg) = act.seg.take() {
                    let id = seg.id;
                    let len = seg.seal();
                    self.sealed.lock().insert(id, len);
                }
                Err(err)
            }
        }
    }

    fn observe(&self, took: Duration, records: usize) {
        let observer = self.observer.read().clone();
        if let Some(f) = observer {
            if panic::catch_unwind(AssertUnwindSafe(|| f(took, records))).is_err() {
                tracing::warn!("WAL fsync observer panicked");
            }
        }
    }

    /// Test hook: makes the next write to the active segment fail.
    #[cfg(test)]
    pub(crate) fn break_active_segment_for_test(&self) -> std::io::Result<()> {
        match self.active.lock().seg.as_mut() {
            Some(seg) => seg.make_unwritable_for_test(),
            None => Ok(()),
        }
    }
}

/// Fails every queued append and closes the queue when the writer thread
/// exits, however it exits.
struct ExitGuard(Arc<Shared>);

impl Drop for ExitGuard {
    fn drop(&mut self) {
        let pending = {
            let mut q = self.0.queue.lock();
            q.closed = true;
            std::mem::take(&mut q.pending)
        };
        for p in pending {
            let _ = p.done.send(Err(WalError::Closed));
        }
    }
}

/// Body of the writer thread.
pub(crate) fn run(shared: Arc<Shared>) {
    let _guard = ExitGuard(Arc::clone(&shared));
    let mut buf = Vec::new();
    while let Some(group) = shared.next_group() {
        buf.clear();
        let mut waiters = Vec::with_capacity(group.len());
        for p in group {
            buf.extend_from_slice(&p.header);
            buf.extend_from_slice(&p.payload);
            waiters.push(p.done);
        }
        let records = waiters.len();
        let result = shared.commit(&buf);
        let reply = result.as_ref().map(|(id, _)| *id).map_err(Clone::clone);
        for w in waiters {
            // A dropped receiver means the caller stopped waiting; the record
            // is durable regardless.
            let _ = w.send(reply.clone());
        }
        if let Ok((_, took)) = result {
            shared.observe(took, records);
        }
        if buf.capacity() > RETAINED_BUFFER_BYTES {
            buf = Vec::new();
        }
    }
}
