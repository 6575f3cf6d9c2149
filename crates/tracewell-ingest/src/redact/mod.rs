//! Redaction before the WAL: per-tenant rules (`--redaction FILE`) that drop attributes by key, mask
//! sensitive text in values (e-mail addresses, card numbers, tokens, or any regex) and replace values that
//! must stay joinable (user ids) by a keyed hash. The pipeline applies them to every export request after
//! validation and before the request is written, so nothing unredacted reaches the disk.
//!
//! - `rules.rs`: the file format, its validation and compilation into per-tenant rule sets.
//! - `apply.rs`: walking a request's attributes and applying one rule set.
//!
//! The rules in force sit in a [`RedactionHandle`]; a [`watcher`] reloads the file when it changes
//! (an invalid edit is logged and counted, and the previous rules stay in force).

mod apply;
mod rules;

use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::RwLock;
use prometheus_client::registry::Registry;
use tracewell_store::watch::ConfigWatcher;

pub use apply::{RedactionReport, LOG_BODY_KEY, STATUS_MESSAGE_KEY};
pub use rules::{RedactionError, RedactionRules, RuleSet};

/// The redaction rules in force, shared and swappable; cheap to clone. The default holds no rules.
#[derive(Clone, Default)]
pub struct RedactionHandle(Arc<RwLock<Arc<RedactionRules>>>);

impl std::fmt::Debug for RedactionHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("RedactionHandle")
            .field(&!self.current().is_empty())
            .finish()
    }
}

impl RedactionHandle {
    pub fn new(rules: RedactionRules) -> Self {
        Self(Arc::new(RwLock::new(Arc::new(rules))))
    }

    /// The rules in force.
    pub fn current(&self) -> Arc<RedactionRules> {
        Arc::clone(&self.0.read())
    }

    /// Puts `rules` in force.
    pub fn replace(&self, rules: RedactionRules) {
        *self.0.write() = Arc::new(rules);
    }

    /// The rule set `tenant`'s spans go through, if it has any.
    pub fn for_tenant(&self, tenant: &str) -> Option<Arc<RuleSet>> {
        self.0.read().for_tenant(tenant).cloned()
    }
}

/// A watcher of a redaction rules file whose rules are already in `handle`: valid edits replace them
/// (`tracewell_redaction_reloads{outcome}` counts reloads).
pub fn watcher(path: PathBuf, handle: RedactionHandle, registry: &mut Registry) -> ConfigWatcher {
    ConfigWatcher::new(
        path,
        "redaction rules",
        "tracewell_redaction_reloads",
        registry,
        Box::new(move |path| {
            let rules = RedactionRules::load(path).map_err(|e| e.to_string())?;
            handle.replace(rules);
            Ok(String::new())
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_watcher_applies_good_edits_and_keeps_rules_after_bad_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("redaction.toml");
        std::fs::write(&path, "[all]\ndrop = ['a']\n").unwrap();
        let handle = RedactionHandle::new(RedactionRules::load(&path).unwrap());
        let mut watcher = watcher(path.clone(), handle.clone(), &mut Registry::default());
        assert!(!watcher.poll());
        std::fs::write(&path, "[all]\ndrop = ['a', 'bb']\n").unwrap();
        assert!(watcher.poll());
        assert!(handle.for_tenant("t").unwrap().drop.matches("bb"));
        std::fs::write(&path, "[all]\ndrop = 'not a list'\n").unwrap();
        assert!(!watcher.poll());
        assert!(handle.for_tenant("t").unwrap().drop.matches("bb"));
    }
}
