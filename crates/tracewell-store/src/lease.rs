//! A lease in the object store that makes one process at a time the owner of a job (the cluster's compactor).
//! It is taken with a create-if-absent put (`If-None-Match: *`) and renewed, or taken over once expired, with a
//! put conditional on the e-tag just read (`If-Match`), so two processes never both get `true` for the same
//! term. Expiry compares wall clocks: keep the time to live well above clock skew and the renewal interval.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::error::{Result, StoreError};

/// What the lease object holds.
#[derive(Debug, Serialize, Deserialize)]
struct Term {
    holder: String,
    expires_unix_ms: u64,
}

/// One process's handle on a lease object.
pub struct Lease {
    objects: Arc<dyn ObjectStore>,
    path: Path,
    holder: String,
    ttl: Duration,
    /// The version this process last wrote, while it believes it holds the lease.
    held: Mutex<Option<UpdateVersion>>,
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease")
            .field("path", &self.path)
            .field("holder", &self.holder)
            .field("ttl", &self.ttl)
            .finish()
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Lease {
    pub fn new(objects: Arc<dyn ObjectStore>, path: &str, holder: String, ttl: Duration) -> Self {
        Lease {
            objects,
            path: Path::from(path),
            holder,
            ttl,
            held: Mutex::new(None),
        }
    }

    pub fn holder(&self) -> &str {
        &self.holder
    }

    fn term(&self) -> Result<PutPayload> {
        let term = Term {
            holder: self.holder.clone(),
            expires_unix_ms: now_ms() + self.ttl.as_millis() as u64,
        };
        serde_json::to_vec(&term)
            .map(PutPayload::from)
            .map_err(|e| StoreError::Internal(e.to_string()))
    }

    async fn put(&self, mode: PutMode) -> Result<Option<UpdateVersion>> {
        let options = PutOptions {
            mode,
            ..Default::default()
        };
        match self
            .objects
            .put_opts(&self.path, self.term()?, options)
            .await
        {
            Ok(result) => Ok(Some(UpdateVersion {
                e_tag: result.e_tag,
                version: result.version,
            })),
            Err(
                object_store::Error::AlreadyExists { .. }
                | object_store::Error::Precondition { .. },
            ) => Ok(None),
            Err(error) => Err(error.into()),
        }
    }

    /// Takes or renews the lease; `Ok(true)` while this process holds it until at least `ttl` from now.
    pub async fn acquire(&self) -> Result<bool> {
        let held = self.held.lock().clone();
        if let Some(version) = held {
            if let Some(renewed) = self.put(PutMode::Update(version)).await? {
                *self.held.lock() = Some(renewed);
                return Ok(true);
            }
            // Someone else wrote the lease: this process lost it.
            *self.held.lock() = None;
        }
        let taken = match self.objects.get(&self.path).await {
            Err(object_store::Error::NotFound { .. }) => self.put(PutMode::Create).await?,
            Err(error) => return Err(error.into()),
            Ok(current) => {
                let version = UpdateVersion {
                    e_tag: current.meta.e_tag.clone(),
                    version: current.meta.version.clone(),
                };
                let bytes = current.bytes().await?;
                let free = match serde_json::from_slice::<Term>(&bytes) {
                    Ok(term) => term.holder == self.holder || term.expires_unix_ms < now_ms(),
                    // An unreadable lease object is taken over like an expired one.
                    Err(_) => true,
                };
                if !free {
                    return Ok(false);
                }
                self.put(PutMode::Update(version)).await?
            }
        };
        let holds = taken.is_some();
        *self.held.lock() = taken;
        Ok(holds)
    }
}

#[cfg(test)]
mod tests {
    use object_store::memory::InMemory;

    use super::*;

    #[tokio::test]
    async fn one_holder_at_a_time_and_an_expired_lease_is_taken_over() {
        let objects: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let ttl = Duration::from_millis(300);
        let a = Lease::new(
            Arc::clone(&objects),
            "leases/compactor.json",
            "a".into(),
            ttl,
        );
        let b = Lease::new(
            Arc::clone(&objects),
            "leases/compactor.json",
            "b".into(),
            ttl,
        );
        assert!(a.acquire().await.unwrap(), "a takes the free lease");
        assert!(!b.acquire().await.unwrap(), "b waits while a holds it");
        assert!(a.acquire().await.unwrap(), "a renews");
        assert!(!b.acquire().await.unwrap());
        tokio::time::sleep(ttl + Duration::from_millis(100)).await;
        assert!(b.acquire().await.unwrap(), "b takes over the expired lease");
        assert!(!a.acquire().await.unwrap(), "a learns it lost the lease");
        assert!(b.acquire().await.unwrap(), "b renews");
    }

    #[tokio::test]
    async fn two_takers_of_an_expired_lease_cannot_both_win() {
        let objects: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let ttl = Duration::from_millis(50);
        let old = Lease::new(Arc::clone(&objects), "l", "old".into(), ttl);
        assert!(old.acquire().await.unwrap());
        tokio::time::sleep(Duration::from_millis(100)).await;
        let takers: Vec<Lease> = (0..4)
            .map(|i| {
                Lease::new(
                    Arc::clone(&objects),
                    "l",
                    format!("t{i}"),
                    Duration::from_secs(60),
                )
            })
            .collect();
        let won = futures::future::join_all(takers.iter().map(Lease::acquire)).await;
        assert_eq!(
            won.iter().filter(|w| matches!(w, Ok(true))).count(),
            1,
            "{won:?}"
        );
    }
}
