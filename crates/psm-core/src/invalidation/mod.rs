//! The invalidation bus: how a write through one cache evicts the same key from every other
//! instance's cache. [`InvalidationBus`] is object safe; implementations live beside their
//! backends: `psm_cache::LocalBus` (in process), `psm_redis::RedisBus` (pub/sub) and
//! `psm_sql::PgBus` (PostgreSQL LISTEN/NOTIFY), which all reconnect through the one
//! [`run_feed`] loop (feature `invalidation`).
//!
//! A bus delivers [`BusEvent`]s to each subscriber. When a bus cannot vouch that no message was
//! lost (a dropped connection, a lagging receiver) it sends [`BusEvent::Interrupted`]: the cache
//! then clears itself and serves nothing from memory until [`BusEvent::Resumed`] — so a lost
//! revoke can never be served from a stale entry.

mod config;
mod reconnect;
mod wire;

use std::fmt;

use async_trait::async_trait;
use tokio::sync::mpsc;

use crate::error::Result;

pub use config::{BusConfig, MAX_TOPIC_LEN, validate_topic};
pub use reconnect::{Feed, run_feed};
pub use wire::{Invalidation, MAX_KEY_LEN};

/// Default channel name of the Redis and PostgreSQL buses.
pub const DEFAULT_CHANNEL: &str = "psm_cache_invalidation";

/// Capacity of a subscription's queue; a full queue makes the bus wait (back-pressure), it
/// never drops an event.
pub const SUBSCRIPTION_CAPACITY: usize = 1024;

/// Carries invalidations between cache instances. Object safe: `Arc<dyn InvalidationBus>`.
#[async_trait]
pub trait InvalidationBus: Send + Sync + fmt::Debug {
    /// Short name (`local`, `redis`, `postgres`).
    fn name(&self) -> &'static str;

    /// Sends `invalidation` to every subscriber (this instance's own included; caches ignore
    /// their own messages by origin).
    async fn publish(&self, invalidation: &Invalidation) -> Result<()>;

    /// Starts receiving. Returns once the subscription is established, so that nothing
    /// published after this call returns is missed.
    async fn subscribe(&self) -> Result<Subscription>;
}

/// What a subscriber receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BusEvent {
    /// Evict these keys.
    Invalidate(Invalidation),
    /// Messages may have been lost: clear the cache and bypass it until `Resumed`.
    Interrupted,
    /// The subscription is re-established: clear the cache once more and use it again.
    Resumed,
}

/// The receiving end of a subscription.
#[derive(Debug)]
pub struct Subscription {
    rx: mpsc::Receiver<BusEvent>,
}

/// The sending end a bus implementation feeds a [`Subscription`] through.
#[derive(Debug, Clone)]
pub struct SubscriptionSender {
    tx: mpsc::Sender<BusEvent>,
}

impl Subscription {
    /// A connected pair with room for [`SUBSCRIPTION_CAPACITY`] events.
    pub fn channel() -> (SubscriptionSender, Subscription) {
        let (tx, rx) = mpsc::channel(SUBSCRIPTION_CAPACITY);
        (SubscriptionSender { tx }, Subscription { rx })
    }

    /// The next event; `None` when the bus has stopped for good.
    pub async fn recv(&mut self) -> Option<BusEvent> {
        self.rx.recv().await
    }
}

impl SubscriptionSender {
    /// Delivers `event`, waiting while the queue is full. False when the subscriber is gone
    /// (the bus task should then stop).
    pub async fn send(&self, event: BusEvent) -> bool {
        self.tx.send(event).await.is_ok()
    }

    /// Resolves when the subscriber has gone away.
    pub async fn closed(&self) {
        self.tx.closed().await;
    }

    /// True when the subscriber has gone away.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}
