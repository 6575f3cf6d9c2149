//! Live spans: every span made durable by an append is offered to live-tail subscribers through a bounded
//! broadcast. Nothing is copied while nobody subscribes; a subscriber that falls behind by more than the
//! broadcast's capacity misses batches and is told how many.

use std::sync::Arc;

use tokio::sync::broadcast;
use tracewell_model::{Span, TenantId};

/// Spans of one append, after the WAL acknowledged them.
#[derive(Debug)]
pub struct LiveBatch {
    pub tenant: TenantId,
    pub spans: Vec<Span>,
}

/// The broadcast of acknowledged spans.
#[derive(Debug)]
pub struct LiveSpans {
    sender: broadcast::Sender<Arc<LiveBatch>>,
}

impl LiveSpans {
    /// `capacity`: batches a subscriber may fall behind before it misses some.
    pub fn new(capacity: usize) -> Self {
        let (sender, _) = broadcast::channel(capacity.max(1));
        Self { sender }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<LiveBatch>> {
        self.sender.subscribe()
    }

    /// Whether anyone listens; appends skip copying spans when not.
    pub fn has_subscribers(&self) -> bool {
        self.sender.receiver_count() > 0
    }

    pub fn publish(&self, tenant: &TenantId, spans: &[Span]) {
        if self.has_subscribers() {
            let _ = self.sender.send(Arc::new(LiveBatch {
                tenant: tenant.clone(),
                spans: spans.to_vec(),
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn subscribers_get_batches_and_hear_when_they_fell_behind() {
        let live = LiveSpans::new(2);
        let tenant = TenantId::default_tenant();
        live.publish(&tenant, &[Span::default()]);
        let mut rx = live.subscribe();
        assert!(live.has_subscribers());
        for _ in 0..3 {
            live.publish(&tenant, &[Span::default(), Span::default()]);
        }
        assert!(matches!(
            rx.recv().await,
            Err(broadcast::error::RecvError::Lagged(1))
        ));
        assert_eq!(rx.recv().await.unwrap().spans.len(), 2);
        drop(rx);
        assert!(!live.has_subscribers());
    }
}
