//! `LocalBus`: an in-process invalidation bus (tokio broadcast), for several caches in one
//! process and for tests.

use async_trait::async_trait;
use psm_core::Result;
use tokio::sync::broadcast;

use super::{BusEvent, Invalidation, InvalidationBus, Subscription};

/// Broadcasts invalidations to every cache of this process that subscribed to it. A subscriber
/// that falls more than `capacity` messages behind gets [`BusEvent::Interrupted`] then
/// [`BusEvent::Resumed`] (it clears itself) instead of silently missing messages.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use psm_cache::{BusEvent, Invalidation, InvalidationBus, LocalBus};
/// let bus = LocalBus::new(64);
/// let mut sub = bus.subscribe().await?;
/// bus.publish(&Invalidation::key("a", "sessions", "s1")).await?;
/// assert_eq!(sub.recv().await, Some(BusEvent::Invalidate(Invalidation::key("a", "sessions", "s1"))));
/// # Ok::<(), psm_core::Error>(()) }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct LocalBus {
    tx: broadcast::Sender<Invalidation>,
}

impl LocalBus {
    /// A bus whose subscribers may lag `capacity` messages (at least 1) before they are reset.
    pub fn new(capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(capacity.max(1));
        LocalBus { tx }
    }
}

impl Default for LocalBus {
    fn default() -> Self {
        Self::new(1024)
    }
}

#[async_trait]
impl InvalidationBus for LocalBus {
    fn name(&self) -> &'static str {
        "local"
    }

    async fn publish(&self, invalidation: &Invalidation) -> Result<()> {
        // No subscriber is not an error: nobody holds a stale entry.
        let _ = self.tx.send(invalidation.clone());
        Ok(())
    }

    async fn subscribe(&self) -> Result<Subscription> {
        let mut rx = self.tx.subscribe();
        let (out, sub) = Subscription::channel();
        tokio::spawn(async move {
            loop {
                let event = tokio::select! {
                    _ = out.closed() => return,
                    got = rx.recv() => got,
                };
                let delivered = match event {
                    Ok(inv) => out.send(BusEvent::Invalidate(inv)).await,
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        out.send(BusEvent::Interrupted).await && out.send(BusEvent::Resumed).await
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                };
                if !delivered {
                    return;
                }
            }
        });
        Ok(sub)
    }
}
