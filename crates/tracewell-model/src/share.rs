//! Sharing equal resources and scopes among spans: every export request (and every decoded block batch) brings
//! its own copy of the same few service instances, and spans that point at one `Arc` instead of a copy each keep
//! the head small and let block writing recognise a resource by its address.

use std::sync::Arc;

/// Distinct values remembered for sharing.
const RECENT_VALUES: usize = 64;

/// The most recently shared values, most recent first; an equal value is answered with the remembered `Arc`.
#[derive(Debug)]
pub struct Recent<T>(Vec<Arc<T>>);

impl<T> Default for Recent<T> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<T: PartialEq> Recent<T> {
    /// The remembered `Arc` equal to `value`, or `value` in a new one (remembered from now on).
    pub fn share(&mut self, value: T) -> Arc<T> {
        match self.0.iter().position(|v| **v == value) {
            Some(0) => Arc::clone(&self.0[0]),
            Some(i) => {
                let found = self.0.remove(i);
                self.0.insert(0, Arc::clone(&found));
                found
            }
            None => {
                let new = Arc::new(value);
                self.0.truncate(RECENT_VALUES - 1);
                self.0.insert(0, Arc::clone(&new));
                new
            }
        }
    }
}

/// The resources and scopes one writer (a tenant's ingest, a replay) shares among its spans.
#[derive(Debug, Default)]
pub struct Origins {
    pub resources: Recent<crate::Resource>,
    pub scopes: Recent<crate::Scope>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_values_share_one_arc_and_the_oldest_is_forgotten() {
        let mut recent = Recent::default();
        let a = recent.share(1);
        assert!(Arc::ptr_eq(&a, &recent.share(1)));
        for v in 2..=RECENT_VALUES as i32 {
            recent.share(v);
        }
        // 1 is the oldest of 64: still there, and asking moves it to the front.
        assert!(Arc::ptr_eq(&a, &recent.share(1)));
        recent.share(1000);
        // Now 2 is the oldest and was dropped by the 65th distinct value.
        let two = recent.share(2);
        assert_eq!(*two, 2);
        assert_eq!(recent.0.len(), RECENT_VALUES);
    }
}
