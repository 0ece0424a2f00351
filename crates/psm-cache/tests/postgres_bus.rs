//! Cross-instance invalidation over PostgreSQL LISTEN/NOTIFY (feature `postgres`; needs a
//! server: `PSM_TEST_POSTGRES_URL`, default postgres://postgres@127.0.0.1:5432/test).
#![cfg(feature = "postgres")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{DELIVERY, strings, within};
use psm_cache::{CacheConfig, CachedStore, InvalidationBus, PgBus, PgBusConfig};
use psm_core::testkit::{service_url, services_required, unique_suffix};
use psm_core::{NewSession, SessionStore};
use psm_memory::MemoryStore;

fn base_url() -> String {
    service_url("POSTGRES", "postgres://postgres@127.0.0.1:5432/test")
}

/// A bus on a channel of its own whose connections carry `app` as application_name, or `None`
/// (skip) when PostgreSQL is unreachable and not required.
async fn bus(app: &str) -> Option<Arc<dyn InvalidationBus>> {
    let base = base_url();
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}application_name={app}");
    let config = PgBusConfig {
        channel: format!("psm_cache_test_{}", unique_suffix()),
        ping_interval: Duration::from_millis(200),
        ..PgBusConfig::default()
    };
    match PgBus::connect_with(&url, config).await {
        Ok(bus) => Some(Arc::new(bus)),
        Err(e) if services_required() => {
            panic!("PostgreSQL required but unreachable at {base}: {e}")
        }
        Err(e) => {
            eprintln!("SKIPPED: PostgreSQL unreachable at {base}: {e}");
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoke_through_one_manager_is_seen_by_the_other() {
    let Some(bus) = bus("psm_cache_test").await else {
        return;
    };
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
    assert!(second.cache_stats().remote_invalidations >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_listener_connection_clears_and_bypasses_the_cache_until_it_is_back() {
    let app = format!("psm_cache_kill_{}", unique_suffix());
    let Some(bus) = bus(&app).await else { return };
    let shared = Arc::new(MemoryStore::new());
    let cached = CachedStore::with_bus(shared.clone(), CacheConfig::default(), bus.clone())
        .await
        .unwrap();
    cached
        .store_session(NewSession::new("k", "u").permissions(["old"]))
        .await
        .unwrap();
    assert!(cached.check_permission("k", "old").await.unwrap());

    let admin = psm_sql::sqlx::PgPool::connect(&base_url()).await.unwrap();
    let killed: Vec<(bool,)> = psm_sql::sqlx::query_as(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
    )
    .bind(&app)
    .fetch_all(&admin)
    .await
    .unwrap();
    assert!(!killed.is_empty(), "found the bus connections");

    let interrupted = within(Duration::from_secs(5), || async {
        cached.cache_stats().bus_interruptions >= 1
    })
    .await;
    assert!(interrupted.is_some(), "the lost listener was noticed");
    let back = within(Duration::from_secs(10), || async { cached.is_caching() }).await;
    assert!(back.is_some(), "the listener came back");
    // the cache was cleared: a write made around it is visible
    shared
        .store_session(NewSession::new("k", "u").permissions(["new"]))
        .await
        .unwrap();
    assert!(cached.check_permission("k", "new").await.unwrap());
}
