//! Cross-instance invalidation over Redis pub/sub (feature `redis`; needs a Redis server:
//! `PSM_TEST_REDIS_URL`, default redis://127.0.0.1:6379).
#![cfg(feature = "redis")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{DELIVERY, strings, within};
use psm_cache::{
    CacheConfig, CachedProvider, CachedStore, Invalidation, InvalidationBus, RedisBus,
    RedisBusConfig,
};
use psm_core::testkit::{service_url, services_required, unique_suffix};
use psm_core::{NewSession, PermissionsProvider, Principal, SessionStore};
use psm_memory::MemoryStore;

/// A bus on a channel of its own, or `None` (skip) when Redis is unreachable and not required.
async fn bus() -> Option<Arc<dyn InvalidationBus>> {
    let url = service_url("REDIS", "redis://127.0.0.1:6379");
    let config = RedisBusConfig {
        channel: format!("psm_cache_test_{}", unique_suffix()),
        ..RedisBusConfig::default()
    };
    match RedisBus::connect_with(&url, config).await {
        Ok(bus) => Some(Arc::new(bus)),
        Err(e) if services_required() => panic!("Redis required but unreachable at {url}: {e}"),
        Err(e) => {
            eprintln!("SKIPPED: Redis unreachable at {url}: {e}");
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoke_through_one_manager_is_seen_by_the_other() {
    let Some(bus) = bus().await else { return };
    let shared = Arc::new(MemoryStore::new());
    let first = CachedStore::with_bus(shared.clone(), CacheConfig::default(), bus.clone())
        .await
        .unwrap();
    let second = CachedStore::with_bus(shared, CacheConfig::default(), bus)
        .await
        .unwrap();
    first
        .store_session(NewSession::new("sess", "alice").permissions(["posts:*", "admin:*"]))
        .await
        .unwrap();
    // The first manager's store also announces an invalidation, which may reach the second
    // after its first check cached the session (and clear it once): answered from the cache
    // means a check that adds a hit, eventually, with the grant intact.
    let cached = within(Duration::from_secs(5), || async {
        let hits = second.cache_stats().hits;
        let granted = second
            .check_permission("sess", "admin:users")
            .await
            .unwrap();
        granted && second.cache_stats().hits > hits
    })
    .await;
    assert!(
        cached.is_some(),
        "the second manager answers from its cache"
    );

    first
        .update_permissions("sess", &strings(&["posts:*"]), None)
        .await
        .unwrap();
    let seen = within(DELIVERY, || async {
        !second
            .check_permission("sess", "admin:users")
            .await
            .unwrap()
    })
    .await;
    assert!(seen.is_some(), "revoke not seen by the second manager");
    assert!(second.check_permission("sess", "posts:read").await.unwrap());

    first.invalidate_session("sess").await.unwrap();
    let gone = within(DELIVERY, || async {
        second.get_session("sess").await.unwrap().is_none()
    })
    .await;
    assert!(gone.is_some(), "logout not seen by the second manager");
    assert!(second.cache_stats().remote_invalidations >= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_invalidations_reach_every_instance() {
    #[derive(Debug)]
    struct Flag(std::sync::atomic::AtomicBool);
    #[psm_core::async_trait]
    impl PermissionsProvider for Flag {
        async fn fetch_permissions(&self, _: &Principal) -> psm_core::Result<Vec<String>> {
            let on = self.0.load(std::sync::atomic::Ordering::SeqCst);
            Ok(if on { vec!["admin:*".into()] } else { vec![] })
        }
    }
    let Some(bus) = bus().await else { return };
    let source = Arc::new(Flag(true.into()));
    let a = CachedProvider::with_bus(source.clone(), CacheConfig::default(), bus.clone())
        .await
        .unwrap();
    let b = CachedProvider::with_bus(source.clone(), CacheConfig::default(), bus)
        .await
        .unwrap();
    let p = Principal::new("erin");
    assert!(
        b.permission_set(&p)
            .await
            .unwrap()
            .check("admin:x")
            .unwrap()
    );
    source.0.store(false, std::sync::atomic::Ordering::SeqCst);
    a.invalidate("erin").await.unwrap();
    let seen = within(DELIVERY, || async {
        !b.permission_set(&p)
            .await
            .unwrap()
            .check("admin:x")
            .unwrap()
    })
    .await;
    assert!(seen.is_some(), "not seen");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_message_clears_every_cache() {
    let Some(bus) = bus().await else { return };
    let shared = Arc::new(MemoryStore::new());
    let cached = CachedStore::with_bus(shared.clone(), CacheConfig::default(), bus.clone())
        .await
        .unwrap();
    cached
        .store_session(NewSession::new("m", "u").permissions(["old"]))
        .await
        .unwrap();
    assert!(cached.check_permission("m", "old").await.unwrap());
    shared
        .store_session(NewSession::new("m", "u").permissions(["new"]))
        .await
        .unwrap();
    // a message from elsewhere that names every topic
    bus.publish(&Invalidation::everything()).await.unwrap();
    let seen = within(Duration::from_millis(500), || async {
        cached.check_permission("m", "new").await.unwrap()
    })
    .await;
    assert!(seen.is_some());
}
