//! Bounded caches of the strings that repeat from request to request (span names, routes, hosts, user agents),
//! so a span shares one copy instead of allocating its own, and the batch processor's thread, which frees finished
//! spans, frees fewer allocations of the request threads' (with glibc's allocator, such cross-thread frees contend
//! for the request threads' arena lock). Values past the caps are allocated as before.

use std::collections::HashSet;
use std::sync::{Arc, OnceLock, RwLock};

use opentelemetry::{StringValue, Value};

/// Longest value worth sharing.
const MAX_SHARED_LEN: usize = 256;
/// Distinct attribute values shared per layer.
const MAX_SHARED_VALUES: usize = 4096;
/// Distinct span names kept for the process's lifetime (they are leaked to be `'static`).
const MAX_STATIC_NAMES: usize = 4096;

/// Reference-counted copies of attribute values.
#[derive(Debug, Default)]
pub(crate) struct SharedStrings {
    values: RwLock<HashSet<Arc<str>>>,
}

impl SharedStrings {
    fn shared(&self, s: &str) -> Option<Arc<str>> {
        if s.len() > MAX_SHARED_LEN {
            return None;
        }
        if let Some(found) = self.values.read().ok()?.get(s) {
            return Some(Arc::clone(found));
        }
        let mut values = self.values.write().ok()?;
        if let Some(found) = values.get(s) {
            return Some(Arc::clone(found));
        }
        if values.len() >= MAX_SHARED_VALUES {
            return None;
        }
        let value: Arc<str> = Arc::from(s);
        values.insert(Arc::clone(&value));
        Some(value)
    }

    /// `s` as an attribute value: a shared copy when there is room, else an owned one.
    pub(crate) fn value(&self, s: &str) -> Value {
        match self.shared(s) {
            Some(shared) => Value::String(StringValue::from(shared)),
            None => Value::String(StringValue::from(s.to_string())),
        }
    }
}

/// `s` as a `'static` string, from a process-wide set of at most [`MAX_STATIC_NAMES`] (span names are a bounded
/// set: method and route template).
pub(crate) fn static_name(s: &str) -> Option<&'static str> {
    static NAMES: OnceLock<RwLock<HashSet<&'static str>>> = OnceLock::new();
    if s.len() > MAX_SHARED_LEN {
        return None;
    }
    let names = NAMES.get_or_init(Default::default);
    if let Some(found) = names.read().ok()?.get(s) {
        return Some(found);
    }
    let mut names = names.write().ok()?;
    if let Some(found) = names.get(s) {
        return Some(found);
    }
    if names.len() >= MAX_STATIC_NAMES {
        return None;
    }
    let leaked: &'static str = Box::leak(s.to_owned().into_boxed_str());
    names.insert(leaked);
    Some(leaked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_values_share_one_copy_and_long_ones_are_owned() {
        let strings = SharedStrings::default();
        let (Some(a), Some(b)) = (strings.shared("GET /orders"), strings.shared("GET /orders"))
        else {
            panic!("short values are shared");
        };
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(strings.shared(&"x".repeat(MAX_SHARED_LEN + 1)), None);
        assert_eq!(strings.value("/a").as_str(), "/a");
        let first = static_name("GET /hello/{name}").unwrap();
        assert!(std::ptr::eq(
            first,
            static_name("GET /hello/{name}").unwrap()
        ));
    }
}
