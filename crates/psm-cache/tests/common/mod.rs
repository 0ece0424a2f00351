//! Test doubles shared by the cache tests: a bus driven by hand, a bus that cannot publish,
//! and a store whose reads are slow (to open race windows).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::time::Duration;

use parking_lot::Mutex;
use psm_cache::{Invalidation, InvalidationBus, Subscription, SubscriptionSender};
use psm_core::{
    Capabilities, Error, Health, NewSession, Result, Session, SessionStore, StoreStats, async_trait,
};

/// A bus whose events the test sends by hand; it records what was published.
#[derive(Debug, Default)]
pub struct ManualBus {
    pub senders: Mutex<Vec<SubscriptionSender>>,
    pub published: Mutex<Vec<Invalidation>>,
}

#[async_trait]
impl InvalidationBus for ManualBus {
    fn name(&self) -> &'static str {
        "manual"
    }
    async fn publish(&self, invalidation: &Invalidation) -> Result<()> {
        self.published.lock().push(invalidation.clone());
        Ok(())
    }
    async fn subscribe(&self) -> Result<Subscription> {
        let (tx, rx) = Subscription::channel();
        self.senders.lock().push(tx);
        Ok(rx)
    }
}

impl ManualBus {
    pub async fn send(&self, event: psm_cache::BusEvent) {
        let senders: Vec<SubscriptionSender> = self.senders.lock().clone();
        for s in senders {
            assert!(s.send(event.clone()).await);
        }
    }
}

/// A bus that accepts subscribers but fails every publish.
#[derive(Debug, Default)]
pub struct FailingBus;

#[async_trait]
impl InvalidationBus for FailingBus {
    fn name(&self) -> &'static str {
        "failing"
    }
    async fn publish(&self, _: &Invalidation) -> Result<()> {
        Err(Error::Connection {
            backend: "failing",
            message: "down".into(),
        })
    }
    async fn subscribe(&self) -> Result<Subscription> {
        let (tx, rx) = Subscription::channel();
        std::mem::forget(tx); // keep the subscription open forever
        Ok(rx)
    }
}

/// Delegates to `inner`, but `get_session` waits `delay` after reading (the value it returns
/// is the one read before the wait).
#[derive(Debug)]
pub struct SlowReads<S> {
    pub inner: S,
    pub delay: Duration,
}

#[async_trait]
impl<S: SessionStore> SessionStore for SlowReads<S> {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    async fn store_session(&self, s: NewSession) -> Result<Session> {
        self.inner.store_session(s).await
    }
    async fn check_permission(&self, id: &str, p: &str) -> Result<bool> {
        self.inner.check_permission(id, p).await
    }
    async fn check_permissions(&self, id: &str, p: &[String]) -> Result<BTreeMap<String, bool>> {
        self.inner.check_permissions(id, p).await
    }
    async fn get_session(&self, id: &str) -> Result<Option<Session>> {
        let got = self.inner.get_session(id).await;
        tokio::time::sleep(self.delay).await;
        got
    }
    async fn update_permissions(
        &self,
        id: &str,
        p: &[String],
        ttl: Option<Duration>,
    ) -> Result<bool> {
        self.inner.update_permissions(id, p, ttl).await
    }
    async fn extend_session_ttl(&self, id: &str, ttl: Duration) -> Result<bool> {
        self.inner.extend_session_ttl(id, ttl).await
    }
    async fn list_sessions(&self, u: &str) -> Result<Vec<String>> {
        self.inner.list_sessions(u).await
    }
    async fn invalidate_session(&self, id: &str) -> Result<bool> {
        self.inner.invalidate_session(id).await
    }
    async fn cleanup_expired_sessions(&self) -> Result<u64> {
        self.inner.cleanup_expired_sessions().await
    }
    async fn count_sessions(&self) -> Result<u64> {
        self.inner.count_sessions().await
    }
    async fn stats(&self) -> Result<StoreStats> {
        self.inner.stats().await
    }
    async fn health_check(&self) -> Health {
        self.inner.health_check().await
    }
    async fn close(&self) -> Result<()> {
        self.inner.close().await
    }
}

pub fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// How long a test waits for an invalidation to reach another instance: generous, so a loaded
/// machine cannot fail a correct build (delivery normally takes about a millisecond; tests
/// assert that it happens, not how fast).
pub const DELIVERY: Duration = Duration::from_secs(5);

/// Polls `probe` every millisecond until it returns true or `within` has passed; returns how
/// long it took, or `None` when it never became true.
pub async fn within<F, Fut>(within: Duration, mut probe: F) -> Option<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = std::time::Instant::now();
    loop {
        if probe().await {
            return Some(start.elapsed());
        }
        if start.elapsed() > within {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}
