//! Admission of expensive queries: searches (native, Jaeger, Tempo), TraceQL search, metrics and tag values narrowed
//! by a query, SQL, heatmaps, breakdowns and insights each take one of [`QueryConfig::max_concurrent`] permits for
//! as long as they run. When none is free the query is refused at once with [`QueryError::Busy`] (HTTP 429 with
//! `Retry-After`, gRPC `RESOURCE_EXHAUSTED`) instead of slowing every running query down and multiplying the
//! memory they hold. Trace lookups, catalogs and RED metrics (read from rollups) are cheap and never wait.
//!
//! A query that runs another one inside it (a breakdown's search, the searches insights sample) holds one permit
//! for the whole: the task-local [`ADMITTED`] marks a task that already holds one. Internal callers that should
//! wait rather than fail (alert rules) use [`QueryService::queued`]: their queries wait for a permit, within the
//! query timeout.
//!
//! [`QueryConfig::max_concurrent`]: crate::QueryConfig::max_concurrent

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::{QueryError, QueryService, Result};

tokio::task_local! {
    /// Set while a task runs an admitted query, so the queries it runs itself do not take a second permit.
    static ADMITTED: ();
}

/// The permits of expensive queries and their metrics; shared by every clone of a [`QueryService`].
#[derive(Debug)]
pub(crate) struct Admission {
    permits: Arc<Semaphore>,
    max: usize,
    retry_after: Duration,
    refused: Counter,
    running: Gauge,
}

/// One admitted query; gives its permit back when dropped.
struct Admitted {
    _permit: OwnedSemaphorePermit,
    running: Gauge,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.running.dec();
    }
}

impl Admission {
    pub fn new(max: usize, retry_after: Duration) -> Self {
        Self {
            // A limit of 0 would refuse everything; configuration refuses it, and 1 is the least that works.
            permits: Arc::new(Semaphore::new(max.clamp(1, Semaphore::MAX_PERMITS))),
            max: max.max(1),
            retry_after,
            refused: Counter::default(),
            running: Gauge::default(),
        }
    }

    fn admitted(&self, permit: OwnedSemaphorePermit) -> Admitted {
        self.running.inc();
        Admitted {
            _permit: permit,
            running: self.running.clone(),
        }
    }

    fn try_admit(&self) -> Result<Admitted> {
        match Arc::clone(&self.permits).try_acquire_owned() {
            Ok(permit) => Ok(self.admitted(permit)),
            Err(_) => {
                self.refused.inc();
                Err(QueryError::Busy {
                    limit: self.max,
                    retry_after: self.retry_after,
                })
            }
        }
    }

    async fn wait(&self) -> Result<Admitted> {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| QueryError::Internal("query permits closed".into()))?;
        Ok(self.admitted(permit))
    }

    /// Expensive queries running now.
    pub fn running(&self) -> i64 {
        self.running.get()
    }
}

impl QueryService {
    /// Runs an expensive query under a permit (see the module documentation) and the query timeout.
    pub(crate) async fn limited<T>(&self, work: impl Future<Output = Result<T>>) -> Result<T> {
        // On the heap: query futures are large, and the wrappers below would otherwise move them through several
        // stack frames (a worker's stack overflowed in debug builds).
        let work = Box::pin(work);
        if ADMITTED.try_with(|_| ()).is_ok() {
            return self.bounded(work).await;
        }
        let admission = &self.admission;
        let queued = self.queued;
        self.bounded(async move {
            let _admitted = if queued {
                admission.wait().await?
            } else {
                admission.try_admit()?
            };
            ADMITTED.scope((), work).await
        })
        .await
    }

    /// This service for internal callers (alert rules): its expensive queries wait for a permit, within the query
    /// timeout, instead of being refused. Permits are shared with the service it was made from.
    pub fn queued(&self) -> Self {
        Self {
            queued: true,
            ..self.clone()
        }
    }

    /// Expensive queries running now (each holds one of the `max_concurrent` permits).
    pub fn running_queries(&self) -> i64 {
        self.admission.running()
    }

    /// Registers the admission metrics: queries refused for lack of a permit, and queries running.
    pub fn register_metrics(&self, registry: &mut Registry) {
        registry.register(
            "tracewell_queries_refused",
            "Expensive queries (search, SQL, TraceQL, heatmap, breakdown, insights) refused because max_concurrent_queries were running",
            self.admission.refused.clone(),
        );
        registry.register(
            "tracewell_queries_running",
            "Expensive queries running, each holding one of the max_concurrent_queries permits",
            self.admission.running.clone(),
        );
    }
}

#[cfg(test)]
mod tests {
    use tokio::sync::oneshot;
    use tracewell_model::TenantId;
    use tracewell_store::{Store, StoreConfig};

    use super::*;
    use crate::{QueryConfig, SearchRequest};

    async fn service(
        max_concurrent: usize,
        timeout: Duration,
    ) -> (QueryService, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(StoreConfig::new(dir.path()), &mut Registry::default()).unwrap();
        store.recover().await.unwrap();
        let config = QueryConfig {
            max_concurrent,
            timeout,
            retry_after: Duration::from_secs(2),
            ..QueryConfig::default()
        };
        (QueryService::new(store, config), dir)
    }

    /// Starts a query that holds its permit until the returned sender is used or dropped.
    async fn hold(
        query: &QueryService,
    ) -> (oneshot::Sender<()>, tokio::task::JoinHandle<Result<()>>) {
        let (release, released) = oneshot::channel::<()>();
        let (started, running) = oneshot::channel::<()>();
        let query = query.clone();
        let task = tokio::spawn(async move {
            query
                .limited(async move {
                    let _ = started.send(());
                    let _ = released.await;
                    Ok(())
                })
                .await
        });
        running.await.expect("the held query started");
        (release, task)
    }

    #[tokio::test]
    async fn queries_past_the_limit_are_refused_until_a_permit_is_free() {
        let (query, _dir) = service(1, Duration::from_secs(30)).await;
        let tenant = TenantId::default_tenant();
        let (release, held) = hold(&query).await;
        assert_eq!(query.running_queries(), 1);

        let refused = query.search(&tenant, &SearchRequest::recent(10)).await;
        match refused {
            Err(QueryError::Busy { limit, retry_after }) => {
                assert_eq!((limit, retry_after), (1, Duration::from_secs(2)));
            }
            other => panic!("expected Busy, got {other:?}"),
        }
        let message = query
            .sql(&tenant, "SELECT 1")
            .await
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("the limit is 1 running")
                && message.contains("max_concurrent_queries")
                && message.contains("retry in 2s"),
            "{message}"
        );
        assert_eq!(query.admission.refused.get(), 2);
        // Cheap reads do not need a permit.
        query.services(&tenant).await.unwrap();

        release.send(()).unwrap();
        held.await.unwrap().unwrap();
        assert_eq!(query.running_queries(), 0);
        query
            .search(&tenant, &SearchRequest::recent(10))
            .await
            .unwrap();
        assert_eq!(query.admission.refused.get(), 2);
    }

    #[tokio::test]
    async fn a_query_inside_an_admitted_one_takes_no_second_permit() {
        let (query, _dir) = service(1, Duration::from_secs(30)).await;
        let tenant = TenantId::default_tenant();
        // A breakdown runs a search, then reads its traces: one permit for all of it.
        query
            .breakdown(&tenant, &SearchRequest::recent(10))
            .await
            .unwrap();
        let nested = query
            .limited(async { query.limited(async { Ok(7) }).await })
            .await;
        assert_eq!(nested.unwrap(), 7);
        assert_eq!(query.admission.refused.get(), 0);
        assert_eq!(query.running_queries(), 0);
    }

    #[tokio::test]
    async fn queued_queries_wait_for_a_permit_within_the_timeout() {
        let (query, _dir) = service(1, Duration::from_secs(30)).await;
        let (release, held) = hold(&query).await;
        let queued = query.queued();
        let waiting = tokio::spawn(async move { queued.limited(async { Ok(1) }).await });
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
        assert!(
            !waiting.is_finished(),
            "a queued query waits while the permit is held"
        );
        release.send(()).unwrap();
        held.await.unwrap().unwrap();
        assert_eq!(waiting.await.unwrap().unwrap(), 1);
        assert_eq!(query.admission.refused.get(), 0);

        // The permit is held outside any query here: a held query would itself end at the 50 ms timeout and free
        // its permit, racing the queued one on a slow machine.
        let (query, _dir) = service(1, Duration::from_millis(50)).await;
        let _permit = query
            .admission
            .try_admit()
            .expect("the only permit is free");
        let timed_out = query.queued().limited(async { Ok(()) }).await;
        assert!(
            matches!(timed_out, Err(QueryError::Timeout(_))),
            "{timed_out:?}"
        );
    }
}
