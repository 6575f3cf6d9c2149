//! Watching a configuration file for edits by polling its modification time and size, for files that apply
//! without a restart (tenant overrides, redaction rules): [`ConfigWatcher`] reloads them and counts reloads.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

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

/// Applies a file's new contents; `Ok` carries what changed (for the log), `Err` why the file was refused.
pub type Reload = Box<dyn FnMut(&Path) -> Result<String, String> + Send>;

/// Polls a configuration file and reloads it when it changes: a valid edit applies, an invalid one is logged
/// and counted while the previous configuration stays in force.
pub struct ConfigWatcher {
    file: FileStamp,
    /// What the file holds, for the log ("tenant overrides").
    what: &'static str,
    reload: Reload,
    reloads: Family<Vec<(&'static str, String)>, Counter>,
}

impl ConfigWatcher {
    /// A watcher of `path`, whose current contents are already in force; registers `metric` (reloads by
    /// outcome: ok, error).
    pub fn new(
        path: PathBuf,
        what: &'static str,
        metric: &'static str,
        registry: &mut Registry,
        reload: Reload,
    ) -> Self {
        let reloads = Family::default();
        registry.register(
            metric,
            format!("Reloads of the {what} file, by outcome (ok, error: the previous {what} stay in force)"),
            reloads.clone(),
        );
        Self {
            file: FileStamp::new(path),
            what,
            reload,
            reloads,
        }
    }

    /// Reloads the file if it changed since last seen; returns whether a new configuration was applied.
    pub fn poll(&mut self) -> bool {
        if !self.file.changed() {
            return false;
        }
        let what = self.what;
        let outcome = match (self.reload)(self.file.path()) {
            Ok(changes) => {
                tracing::info!(path = %self.file.path().display(), %changes, "{what} reloaded");
                "ok"
            }
            Err(error) => {
                tracing::error!(%error, "{what} not reloaded; the previous ones stay in force");
                "error"
            }
        };
        self.reloads
            .get_or_create(&vec![("outcome", outcome.to_string())])
            .inc();
        outcome == "ok"
    }

    /// Polls every `interval` until the returned task is dropped.
    pub fn spawn(mut self, interval: Duration) -> WatcherTask {
        poll_every(interval, move || {
            self.poll();
        })
    }
}
