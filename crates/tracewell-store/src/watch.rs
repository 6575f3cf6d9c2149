//! Watching a configuration file for edits by polling its modification time and size, for files that apply
//! without a restart (tenant overrides, redaction rules).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// A file and the stamp (modification time, size) it had when last seen.
#[derive(Debug)]
pub struct FileStamp {
    path: PathBuf,
    seen: Option<(SystemTime, u64)>,
}

impl FileStamp {
    /// Remembers `path` as it is now.
    pub fn new(path: PathBuf) -> Self {
        let seen = stamp(&path);
        Self { path, seen }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the file's modification time or size changed since last seen (a vanished or reappearing file
    /// counts as a change).
    pub fn changed(&mut self) -> bool {
        let now = stamp(&self.path);
        if now == self.seen {
            return false;
        }
        self.seen = now;
        true
    }
}

fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// Runs `poll` every `interval` until the returned task is dropped.
pub fn poll_every(interval: Duration, mut poll: impl FnMut() + Send + 'static) -> WatcherTask {
    WatcherTask(tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            poll();
        }
    }))
}

/// A polling task; dropping it stops the polling.
#[derive(Debug)]
pub struct WatcherTask(tokio::task::JoinHandle<()>);

impl Drop for WatcherTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}
