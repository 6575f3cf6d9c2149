//! Memory held by requests between their arrival and their spans reaching a head block: counted against the
//! same budget as the heads, so an overload is refused before decoded request bodies pile up.

use prometheus_client::metrics::gauge::Gauge;

/// Bytes of one request in flight; given back when dropped.
#[derive(Debug)]
pub struct Reservation {
    /// All reservations together (the `tracewell_inflight_bytes` gauge).
    total: Gauge,
    bytes: usize,
}

impl Reservation {
    pub(crate) fn take(total: &Gauge, bytes: usize) -> Self {
        total.inc_by(bytes as i64);
        Self {
            total: total.clone(),
            bytes,
        }
    }

    /// The bytes this reservation holds.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.total.dec_by(self.bytes as i64);
    }
}

#[cfg(test)]
mod tests {
    use prometheus_client::registry::Registry;
    use tracewell_model::TenantId;

    use crate::{Store, StoreConfig, StoreError};

    #[test]
    fn requests_in_flight_count_against_the_memory_budget_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = StoreConfig::new(dir.path());
        config.memory_budget_bytes = 1_000;
        let store = Store::open(config, &mut Registry::default()).unwrap();
        let tenant = TenantId::default_tenant();

        let first = store.reserve(&tenant, 600).unwrap();
        assert_eq!(store.inflight_bytes(), 600);
        assert!(!store.over_budget());
        // Admitted while under the budget, even though it takes the total past it.
        let second = store.reserve(&tenant, 600).unwrap();
        assert_eq!(store.memory_used(), 1_200);
        assert!(store.over_budget());
        match store.reserve(&tenant, 1) {
            Err(StoreError::Overloaded { used, budget, .. }) => {
                assert_eq!((used, budget), (1_200, 1_000));
            }
            other => panic!("expected Overloaded, got {other:?}"),
        }
        // The append path's own check counts heads only: the request being appended is in flight itself.
        store.check_budget(&tenant).unwrap();

        drop(second);
        assert_eq!(store.inflight_bytes(), 600);
        let third = store.reserve(&tenant, 100).unwrap();
        assert_eq!(third.bytes(), 100);
        drop((first, third));
        assert_eq!(store.inflight_bytes(), 0);
        assert!(!store.over_budget());
    }
}
