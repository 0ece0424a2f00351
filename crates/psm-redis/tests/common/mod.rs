//! Shared helpers of the integration tests: server URLs, isolated stores, skip-or-fail policy.
#![allow(dead_code)]

use std::sync::Arc;

use psm_core::testkit::{service_url, services_required, unique_suffix};
use psm_core::{SessionStore, StoreUrl};
use psm_redis::RedisStore;

pub fn redis_url() -> String {
    service_url("REDIS", "redis://127.0.0.1:6379")
}

pub fn cluster_url() -> String {
    service_url(
        "REDIS_CLUSTER",
        "redis+cluster://127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003",
    )
}

/// `url` with `key_prefix` set to a fresh unique prefix (plus any extra options).
pub fn isolated(url: &str, extra: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}key_prefix=psmtest:{}:{extra}", unique_suffix())
}

/// Connects, or explains loudly why not. The shared suite has no skip hook, so a missing server
/// fails its tests whether or not `PSM_REQUIRE_SERVICES` is set; other tests use [`try_store`].
pub async fn store(url: &str) -> Arc<dyn SessionStore> {
    match RedisStore::from_url(StoreUrl::parse(url).unwrap()).await {
        Ok(store) => Arc::new(store),
        Err(e) => panic!(
            "Redis is not reachable at {url}: {e}. Start it (cargo xtask services) or point \
             PSM_TEST_REDIS_URL / PSM_TEST_REDIS_CLUSTER_URL at one."
        ),
    }
}

/// Connects; `None` (with a loud message) when the server is missing and services are not
/// required, a failure when they are.
pub async fn try_store(url: &str) -> Option<RedisStore> {
    match RedisStore::from_url(StoreUrl::parse(url).unwrap()).await {
        Ok(store) => Some(store),
        Err(e) if services_required() => panic!("PSM_REQUIRE_SERVICES=1 but {url}: {e}"),
        Err(e) => {
            eprintln!("SKIPPED: Redis not reachable at {url}: {e}");
            None
        }
    }
}
