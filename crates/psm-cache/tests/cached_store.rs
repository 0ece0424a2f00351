//! Behaviour of `CachedStore`: caching, negative entries, expiry, size bound, invalidation,
//! bus interruptions, publish failures and the load/write race.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{DELIVERY, FailingBus, ManualBus, SlowReads, strings, within};
use psm_cache::{BusEvent, CacheConfig, CachedStore, Invalidation, LocalBus};
use psm_core::{Error, NewSession, SessionStore};
use psm_memory::MemoryStore;

const HOUR: Duration = Duration::from_secs(3600);

fn session(id: &str, perms: &[&str]) -> NewSession {
    NewSession::new(id, "u")
        .permissions(perms.iter().copied())
        .ttl(HOUR)
}

#[tokio::test]
async fn reads_are_served_from_the_cache_until_evicted() {
    let inner = Arc::new(MemoryStore::new());
    let cached = CachedStore::new(inner.clone(), CacheConfig::default()).unwrap();
    cached.store_session(session("s", &["read"])).await.unwrap();
    assert!(cached.check_permission("s", "read").await.unwrap());
    // a write around the cache is not seen: the answer comes from the cache
    inner.store_session(session("s", &["write"])).await.unwrap();
    assert!(cached.check_permission("s", "read").await.unwrap());
    assert_eq!(
        cached.get_session("s").await.unwrap().unwrap().permissions,
        strings(&["read"])
    );
    let stats = cached.cache_stats();
    assert_eq!((stats.misses, stats.hits), (1, 2));
    cached.evict("s").await.unwrap();
    assert!(!cached.check_permission("s", "read").await.unwrap());
    assert!(cached.check_permission("s", "write").await.unwrap());
}

#[tokio::test]
async fn every_write_through_the_cache_evicts_the_entry() {
    let cached = CachedStore::new(Arc::new(MemoryStore::new()), CacheConfig::default()).unwrap();
    cached.store_session(session("w", &["a"])).await.unwrap();
    assert!(cached.check_permission("w", "a").await.unwrap());
    cached
        .update_permissions("w", &strings(&["b"]), None)
        .await
        .unwrap();
    assert!(
        cached.check_permission("w", "b").await.unwrap(),
        "update evicts"
    );
    let before = cached
        .get_session("w")
        .await
        .unwrap()
        .unwrap()
        .expires_at
        .unwrap();
    cached.extend_session_ttl("w", HOUR * 2).await.unwrap();
    let after = cached
        .get_session("w")
        .await
        .unwrap()
        .unwrap()
        .expires_at
        .unwrap();
    assert!(after > before, "extend evicts");
    cached.store_session(session("w", &["c"])).await.unwrap();
    assert!(
        cached.check_permission("w", "c").await.unwrap(),
        "store evicts"
    );
    cached.invalidate_session("w").await.unwrap();
    assert!(
        cached.get_session("w").await.unwrap().is_none(),
        "invalidate evicts"
    );
    assert_eq!(cached.cache_stats().local_invalidations, 5, "one per write");
}

#[tokio::test]
async fn a_missing_session_is_cached_briefly_and_a_write_evicts_it() {
    let inner = Arc::new(MemoryStore::new());
    let config = CacheConfig::default().negative_ttl(Duration::from_millis(300));
    let cached = CachedStore::new(inner.clone(), config).unwrap();
    assert!(cached.get_session("n").await.unwrap().is_none());
    inner.store_session(session("n", &["read"])).await.unwrap();
    assert!(
        !cached.check_permission("n", "read").await.unwrap(),
        "negative entry served"
    );
    assert_eq!(cached.cache_stats().negative_hits, 1);
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert!(
        cached.check_permission("n", "read").await.unwrap(),
        "negative entry expired"
    );
    // and a write through the cache evicts a negative entry at once
    assert!(cached.get_session("m").await.unwrap().is_none());
    cached.store_session(session("m", &["read"])).await.unwrap();
    assert!(cached.check_permission("m", "read").await.unwrap());
}

#[tokio::test]
async fn negative_caching_can_be_turned_off() {
    let inner = Arc::new(MemoryStore::new());
    let config = CacheConfig::default().negative_ttl(Duration::ZERO);
    let cached = CachedStore::new(inner.clone(), config).unwrap();
    assert!(cached.get_session("n").await.unwrap().is_none());
    inner.store_session(session("n", &["read"])).await.unwrap();
    assert!(cached.check_permission("n", "read").await.unwrap());
}

#[tokio::test]
async fn a_cached_session_is_never_served_past_its_expiry() {
    let cached = CachedStore::new(
        Arc::new(MemoryStore::new()),
        CacheConfig::default().ttl(HOUR),
    )
    .unwrap();
    cached
        .store_session(
            NewSession::new("e", "u")
                .permissions(["read"])
                .ttl(Duration::from_millis(250)),
        )
        .await
        .unwrap();
    assert!(cached.check_permission("e", "read").await.unwrap());
    assert!(cached.get_session("e").await.unwrap().is_some());
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(!cached.check_permission("e", "read").await.unwrap());
    assert!(cached.get_session("e").await.unwrap().is_none());
    assert!(cached.get_session_info("e").await.unwrap().is_none());
    let many = cached
        .check_permissions("e", &strings(&["read"]))
        .await
        .unwrap();
    assert!(!many["read"]);
}

#[tokio::test]
async fn the_cache_ttl_bounds_how_long_a_write_around_it_goes_unseen() {
    let inner = Arc::new(MemoryStore::new());
    let config = CacheConfig::default().ttl(Duration::from_millis(200));
    let cached = CachedStore::new(inner.clone(), config).unwrap();
    cached.store_session(session("t", &["old"])).await.unwrap();
    assert!(cached.check_permission("t", "old").await.unwrap());
    inner.store_session(session("t", &["new"])).await.unwrap();
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert!(cached.check_permission("t", "new").await.unwrap());
}

#[tokio::test]
async fn idle_entries_are_dropped() {
    let inner = Arc::new(MemoryStore::new());
    let config = CacheConfig::default().idle(Duration::from_millis(200));
    let cached = CachedStore::new(inner.clone(), config).unwrap();
    cached.store_session(session("i", &["old"])).await.unwrap();
    assert!(cached.check_permission("i", "old").await.unwrap());
    inner.store_session(session("i", &["new"])).await.unwrap();
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert!(cached.check_permission("i", "new").await.unwrap());
}

#[tokio::test]
async fn the_size_bound_holds_and_evictions_are_counted() {
    let cached = CachedStore::new(
        Arc::new(MemoryStore::new()),
        CacheConfig::default().max_entries(10),
    )
    .unwrap();
    for i in 0..100 {
        let id = format!("s{i}");
        cached.store_session(session(&id, &["read"])).await.unwrap();
        assert!(cached.check_permission(&id, "read").await.unwrap());
    }
    let stats = cached.cache_stats_synced().await;
    assert!(stats.entries <= 10, "{stats:?}");
    assert!(stats.evictions > 0 || stats.entries < 100, "{stats:?}");
    assert_eq!(stats.misses, 100);
}

#[tokio::test]
async fn a_revoke_through_one_instance_is_seen_by_another_over_the_local_bus() {
    let shared = Arc::new(MemoryStore::new());
    let bus = Arc::new(LocalBus::default());
    let a = CachedStore::with_bus(shared.clone(), CacheConfig::default(), bus.clone())
        .await
        .unwrap();
    let b = CachedStore::with_bus(shared, CacheConfig::default(), bus)
        .await
        .unwrap();
    a.store_session(session("x", &["admin:*"])).await.unwrap();
    assert!(b.check_permission("x", "admin:users").await.unwrap());
    a.update_permissions("x", &strings(&["read"]), None)
        .await
        .unwrap();
    let seen = within(DELIVERY, || async {
        !b.check_permission("x", "admin:users").await.unwrap()
    })
    .await;
    assert!(seen.is_some(), "revoke not seen");
    assert!(b.cache_stats().remote_invalidations >= 1);
    assert_eq!(
        a.cache_stats().remote_invalidations,
        0,
        "own messages are ignored"
    );
}

#[tokio::test]
async fn an_interrupted_bus_makes_the_cache_bypass_itself_until_resumed() {
    let inner = Arc::new(MemoryStore::new());
    let bus = Arc::new(ManualBus::default());
    let cached = CachedStore::with_bus(inner.clone(), CacheConfig::default(), bus.clone())
        .await
        .unwrap();
    cached.store_session(session("i", &["old"])).await.unwrap();
    assert!(cached.check_permission("i", "old").await.unwrap());
    bus.send(BusEvent::Interrupted).await;
    assert!(
        within(Duration::from_secs(2), || async { !cached.is_caching() })
            .await
            .is_some()
    );
    inner.store_session(session("i", &["new"])).await.unwrap();
    assert!(
        cached.check_permission("i", "new").await.unwrap(),
        "bypassed while interrupted"
    );
    assert!(cached.check_permission("i", "new").await.unwrap());
    bus.send(BusEvent::Resumed).await;
    assert!(
        within(Duration::from_secs(2), || async { cached.is_caching() })
            .await
            .is_some()
    );
    assert!(cached.check_permission("i", "new").await.unwrap());
    let hits = cached.cache_stats().hits;
    assert!(cached.check_permission("i", "new").await.unwrap());
    assert_eq!(cached.cache_stats().hits, hits + 1, "caching again");
    assert_eq!(cached.cache_stats().bus_interruptions, 1);
}

#[tokio::test]
async fn remote_messages_evict_their_topic_only() {
    let inner = Arc::new(MemoryStore::new());
    let bus = Arc::new(ManualBus::default());
    let cached = CachedStore::with_bus(inner.clone(), CacheConfig::default(), bus.clone())
        .await
        .unwrap();
    cached.store_session(session("k", &["old"])).await.unwrap();
    assert!(cached.check_permission("k", "old").await.unwrap());
    inner.store_session(session("k", &["new"])).await.unwrap();
    bus.send(BusEvent::Invalidate(Invalidation::key(
        "other",
        "permissions",
        "k",
    )))
    .await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        cached.check_permission("k", "old").await.unwrap(),
        "another topic is ignored"
    );
    bus.send(BusEvent::Invalidate(Invalidation::key(
        "other", "sessions", "k",
    )))
    .await;
    assert!(
        within(Duration::from_secs(2), || async {
            cached.check_permission("k", "new").await.unwrap()
        })
        .await
        .is_some()
    );
    assert_eq!(
        bus.published.lock().len(),
        1,
        "the store_session write was published"
    );
    assert_eq!(bus.published.lock()[0].key.as_deref(), Some("k"));
}

#[tokio::test]
async fn a_write_whose_invalidation_cannot_be_published_is_reported_as_failed() {
    let inner = Arc::new(MemoryStore::new());
    let cached = CachedStore::with_bus(inner.clone(), CacheConfig::default(), Arc::new(FailingBus))
        .await
        .unwrap();
    let err = cached
        .store_session(session("p", &["read"]))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Backend {
                backend: "cache",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        inner.get_session("p").await.unwrap().is_some(),
        "the write itself was applied"
    );
    assert_eq!(cached.cache_stats().publish_errors, 1);
    // invalid input changes nothing and publishes nothing
    let err = cached
        .store_session(session("bad id", &["read"]))
        .await
        .unwrap_err();
    assert!(err.is_invalid_input());
    assert_eq!(cached.cache_stats().publish_errors, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_value_loaded_before_a_write_is_not_cached_after_it() {
    let slow = Arc::new(SlowReads {
        inner: MemoryStore::new(),
        delay: Duration::from_millis(150),
    });
    let cached = Arc::new(CachedStore::new(slow.clone(), CacheConfig::default()).unwrap());
    slow.inner
        .store_session(session("r", &["old"]))
        .await
        .unwrap();
    let reader = {
        let cached = cached.clone();
        tokio::spawn(async move { cached.check_permission("r", "old").await.unwrap() })
    };
    tokio::time::sleep(Duration::from_millis(40)).await; // the reader has read "old" and waits
    cached
        .update_permissions("r", &strings(&["new"]), None)
        .await
        .unwrap();
    assert!(
        reader.await.unwrap(),
        "the slow reader answers from what it read"
    );
    assert!(
        cached.check_permission("r", "new").await.unwrap(),
        "the stale value must not have been cached after the write"
    );
}

#[tokio::test]
async fn closing_stops_the_cache_and_the_inner_store() {
    let inner = Arc::new(MemoryStore::new());
    let cached = CachedStore::new(inner.clone(), CacheConfig::default()).unwrap();
    cached.store_session(session("c", &["read"])).await.unwrap();
    assert!(cached.check_permission("c", "read").await.unwrap());
    cached.close().await.unwrap();
    assert!(matches!(
        cached.check_permission("c", "read").await,
        Err(Error::Closed)
    ));
    assert!(matches!(inner.get_session("c").await, Err(Error::Closed)));
}

#[tokio::test]
async fn stats_carry_the_cache_counters() {
    let cached = CachedStore::new(Arc::new(MemoryStore::new()), CacheConfig::default()).unwrap();
    cached
        .store_session(session("st", &["read"]))
        .await
        .unwrap();
    cached.check_permission("st", "read").await.unwrap();
    cached.check_permission("st", "read").await.unwrap();
    let stats = cached.stats().await.unwrap();
    assert_eq!(stats.backend, "memory");
    assert_eq!(stats.extra["cache_hits"], 1);
    assert_eq!(stats.extra["cache_misses"], 1);
}

#[tokio::test]
async fn invalid_configuration_is_rejected() {
    let inner = Arc::new(MemoryStore::new());
    for bad in [
        CacheConfig::default().ttl(Duration::ZERO),
        CacheConfig::default().max_entries(0),
        CacheConfig::default().topic("has space"),
    ] {
        assert!(
            CachedStore::new(inner.clone(), bad)
                .unwrap_err()
                .is_invalid_input()
        );
    }
}

#[tokio::test]
async fn the_inner_store_keeps_its_own_write_limits_through_the_cache() {
    let with_max = |n: usize| {
        let mut config = psm_memory::MemoryConfig::default();
        config.limits.max_permissions = n;
        Arc::new(MemoryStore::with_config(config).unwrap())
    };
    // more than the default 10,000 permissions, allowed by the inner store: the cache lets it by
    let roomy = CachedStore::new(with_max(20_000), CacheConfig::default()).unwrap();
    let many: Vec<String> = (0..15_000).map(|i| format!("p:{i}")).collect();
    roomy
        .store_session(NewSession::new("big", "u").permissions(many.clone()))
        .await
        .unwrap();
    assert!(roomy.check_permission("big", "p:14999").await.unwrap());
    assert!(roomy.update_permissions("big", &many, None).await.unwrap());
    // fewer allowed by the inner store: its typed error comes back and nothing is cached
    let tight = CachedStore::new(with_max(2), CacheConfig::default()).unwrap();
    let err = tight
        .store_session(session("s", &["a", "b", "c"]))
        .await
        .unwrap_err();
    assert!(err.is_invalid_input(), "{err:?}");
    assert!(!tight.check_permission("s", "a").await.unwrap());
    // input the layer rejects never reaches the inner store or the cache
    assert!(
        tight
            .check_permission("../s", "a")
            .await
            .unwrap_err()
            .is_invalid_input()
    );
    assert!(tight.evict("s/1").await.unwrap_err().is_invalid_input());
    assert_eq!(tight.cache_stats().misses, 1, "only the valid check missed");
}
