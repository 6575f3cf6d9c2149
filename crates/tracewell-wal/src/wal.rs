//! The public [`Wal`] handle and its configuration.

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use parking_lot::Mutex;
use tokio::sync::oneshot;

use crate::error::{Result, WalError};
use crate::replay::{self, Replay};
use crate::segment::{self, SegmentFile};
use crate::writer::{self, FsyncObserver, Pending, Shared};
use crate::SegmentId;

/// Default for [`WalConfig::segment_max_bytes`]: 64 MiB.
pub const DEFAULT_SEGMENT_MAX_BYTES: u64 = 64 << 20;
/// Default for [`WalConfig::max_record_bytes`]: 64 MiB.
pub const DEFAULT_MAX_RECORD_BYTES: u32 = 64 << 20;

/// Where the WAL lives and how large its files and records may grow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalConfig {
    /// Directory holding the segment files; created if missing. One process
    /// must own it exclusively.
    pub dir: PathBuf,
    /// The writer starts a new segment before a group that would push a
    /// non-empty segment past this size.
    pub segment_max_bytes: u64,
    /// Largest payload `append` accepts. Replay treats a longer length field
    /// as corruption, so do not lower this below sizes already on disk.
    pub max_record_bytes: u32,
}

impl WalConfig {
    /// Default limits with the given directory.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        WalConfig {
            dir: dir.into(),
            ..WalConfig::default()
        }
    }
}

impl Default for WalConfig {
    fn default() -> Self {
        WalConfig {
            dir: PathBuf::from("wal"),
            segment_max_bytes: DEFAULT_SEGMENT_MAX_BYTES,
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
        }
    }
}

/// Handle to an open write-ahead log. Cheap to clone; all clones share one
/// writer thread, which stops when [`Wal::close`] is called or the last
/// clone is dropped.
#[derive(Clone)]
pub struct Wal {
    inner: Arc<Handle>,
}

struct Handle {
    shared: Arc<Shared>,
    max_record_bytes: u32,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl fmt::Debug for Wal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wal")
            .field("dir", &self.inner.shared.dir)
            .field("active_segment", &self.active_segment())
            .field("disk_bytes", &self.disk_bytes())
            .finish_non_exhaustive()
    }
}

impl Wal {
    /// Opens the WAL in `config.dir` (creating the directory if needed) and
    /// replays it.
    ///
    /// Every `<id>.wal` segment is validated in id order. A torn or corrupt
    /// record (short header, short payload, CRC mismatch, length above
    /// `max_record_bytes`) ends its segment: the file is truncated at the last
    /// good record and a warning names the file, offset and reason. A file
    /// with a bad header is renamed to `<name>.corrupt` and skipped. Corrupt
    /// data never makes this fail; only real I/O errors do.
    ///
    /// Existing segments become sealed; appends go to a new segment whose id
    /// is one above every id found on disk (1 for an empty directory).
    pub fn open(config: WalConfig) -> Result<(Wal, Replay)> {
        let dir = config.dir;
        if !dir.is_dir() {
            fs::create_dir_all(&dir).map_err(|e| {
                WalError::io(format!("creating WAL directory {}", dir.display()), e)
            })?;
            if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                segment::sync_dir(parent).map_err(|e| {
                    WalError::io(format!("fsyncing directory {}", parent.display()), e)
                })?;
            }
        }
        let recovered = replay::recover(&dir, config.max_record_bytes)?;
        let active = SegmentFile::create(&dir, recovered.next_id).map_err(|e| {
            WalError::io(
                format!(
                    "creating WAL segment {}",
                    segment::segment_path(&dir, recovered.next_id).display()
                ),
                e,
            )
        })?;
        let shared = Arc::new(Shared::new(
            dir,
            config.segment_max_bytes,
            active,
            recovered.sealed,
        ));
        let thread = thread::Builder::new()
            .name("tracewell-wal-writer".into())
            .spawn({
                let shared = Arc::clone(&shared);
                move || writer::run(shared)
            })
            .map_err(|e| WalError::io("spawning the WAL writer thread", e))?;
        let wal = Wal {
            inner: Arc::new(Handle {
                shared,
                max_record_bytes: config.max_record_bytes,
                writer: Mutex::new(Some(thread)),
            }),
        };
        Ok((wal, recovered.replay))
    }

    /// Appends one record and resolves once it is written and fsynced,
    /// returning the id of the segment it landed in.
    ///
    /// Concurrent appends share one write and one fsync (group commit). A
    /// payload above `max_record_bytes` is refused with
    /// [`WalError::RecordTooLarge`] before anything is written. On an I/O
    /// error every append of the failed group gets the error and none of them
    /// is durable. Dropping the future after it was polled does not withdraw
    /// the record; it is still written.
    pub async fn append(&self, payload: Vec<u8>) -> Result<SegmentId> {
        let max = self.inner.max_record_bytes;
        if payload.len() > max as usize {
            return Err(WalError::RecordTooLarge {
                len: payload.len(),
                max,
            });
        }
        let header = segment::record_header(&payload);
        let (done, rx) = oneshot::channel();
        self.inner.shared.enqueue(Pending {
            header,
            payload,
            done,
        })?;
        rx.await.unwrap_or(Err(WalError::Closed))
    }

    /// Seals the current segment (fsync, close) and starts a new one; returns
    /// the id of the sealed segment. Every append that starts after this
    /// returns lands in a segment with a higher id.
    ///
    /// Synchronous: waits for at most one in-flight group commit, then does
    /// a few fsyncs. Safe to call while holding a lock.
    pub fn rotate(&self) -> Result<SegmentId> {
        let shared = &self.inner.shared;
        if shared.queue.lock().closed {
            return Err(WalError::Closed);
        }
        let mut act = shared.active.lock();
        shared.rotate_locked(&mut act)
    }

    /// Deletes every sealed segment with id `<= through` and fsyncs the
    /// directory. The active segment is never deleted, nor are `.corrupt`
    /// files. Segments that could not be deleted stay listed and are retried
    /// by the next call; the first error is returned.
    pub fn remove_through(&self, through: SegmentId) -> Result<()> {
        let shared = &self.inner.shared;
        let victims = {
            let mut sealed = shared.sealed.lock();
            match through.checked_add(1) {
                Some(keep_from) => {
                    let keep = sealed.split_off(&keep_from);
                    std::mem::replace(&mut *sealed, keep)
                }
                None => std::mem::take(&mut *sealed),
            }
        };
        if victims.is_empty() {
            return Ok(());
        }
        let mut first_err = None;
        let mut kept = Vec::new();
        for (id, len) in victims {
            let path = segment::segment_path(&shared.dir, id);
            match fs::remove_file(&path) {
                Ok(()) => {
                    shared.disk_bytes.fetch_sub(len, Ordering::Relaxed);
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    shared.disk_bytes.fetch_sub(len, Ordering::Relaxed);
                }
                Err(e) => {
                    kept.push((id, len));
                    first_err.get_or_insert_with(|| {
                        WalError::io(format!("removing WAL segment {}", path.display()), e)
                    });
                }
            }
        }
        if !kept.is_empty() {
            shared.sealed.lock().extend(kept);
        }
        if let Err(e) = segment::sync_dir(&shared.dir) {
            first_err.get_or_insert_with(|| {
                WalError::io(
                    format!("fsyncing WAL directory {}", shared.dir.display()),
                    e,
                )
            });
        }
        first_err.map_or(Ok(()), Err)
    }

    /// Id of the segment appends currently go to. Right after a failed write
    /// this is the sealed, failed segment; the next group opens `id + 1`.
    pub fn active_segment(&self) -> SegmentId {
        self.inner.shared.active_id.load(Ordering::Acquire)
    }

    /// Ids of the sealed segments still on disk, ascending.
    pub fn sealed_segments(&self) -> Vec<SegmentId> {
        self.inner.shared.sealed.lock().keys().copied().collect()
    }

    /// Total bytes of all segments on disk (sealed and active).
    pub fn disk_bytes(&self) -> u64 {
        self.inner.shared.disk_bytes.load(Ordering::Relaxed)
    }

    /// Number of group commits (one write + one fsync each) since open.
    pub fn fsync_count(&self) -> u64 {
        self.inner.shared.fsyncs.load(Ordering::Relaxed)
    }

    /// The WAL directory.
    pub fn dir(&self) -> &Path {
        &self.inner.shared.dir
    }

    /// Installs a callback run on the writer thread after every group
    /// commit with the fsync duration and the number of records in the
    /// group. Keep it cheap (e.g. observe two histograms). Replaces any
    /// previous observer; a panic in it is caught and logged.
    pub fn set_fsync_observer(&self, observer: FsyncObserver) {
        *self.inner.shared.observer.write() = Some(observer);
    }

    /// Stops accepting appends, lets the writer drain and commit everything
    /// already queued, and joins the writer thread. Later `append` and
    /// `rotate` calls fail with [`WalError::Closed`]. Idempotent. Blocks the
    /// calling thread for the length of the drain.
    pub fn close(&self) -> Result<()> {
        self.inner.close();
        Ok(())
    }

    /// Test hook: makes the next group commit fail with an I/O error.
    #[cfg(test)]
    pub(crate) fn break_active_segment_for_test(&self) -> io::Result<()> {
        self.inner.shared.break_active_segment_for_test()
    }
}

impl Handle {
    fn close(&self) {
        self.shared.close_queue();
        let Some(thread) = self.writer.lock().take() else {
            return;
        };
        if thread.thread().id() == thread::current().id() {
            // Closed from the fsync observer: the writer exits on its own
            // once the queue is drained.
            return;
        }
        if thread.join().is_err() {
            tracing::error!("WAL writer thread panicked");
        }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.close();
    }
}
