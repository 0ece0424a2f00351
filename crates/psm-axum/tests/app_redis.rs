//! The example application on the Redis backend: two instances ("two managers") over one
//! psm-redis store, each behind its own `CachedStore`, connected by the Redis invalidation bus:
//! a revoke made through one instance is enforced by the other within 100 ms. Needs Redis
//! (`PSM_TEST_REDIS_URL`, default redis://127.0.0.1:6379).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
// The example application's router, shared with `examples/app/main.rs`.
#[allow(dead_code, unreachable_pub)]
#[path = "../examples/app/demo/mod.rs"]
mod demo;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::serve;
use demo::{AppState, UserDirectory, router};
use psm_cache::{CacheConfig, CachedStore, InvalidationBus, RedisBus, RedisBusConfig};
use psm_core::SessionStore;
use psm_core::testkit::{service_url, services_required, unique_suffix};
use psm_redis::RedisStore;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn bus() -> Option<Arc<dyn InvalidationBus>> {
    let url = service_url("REDIS", "redis://127.0.0.1:6379");
    let config = RedisBusConfig {
        channel: format!("psm_axum_test_{}", unique_suffix()),
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

async fn send(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    session: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = http.request(method, url).header("x-session-id", session);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoke_through_one_instance_is_enforced_by_the_other_within_100ms() {
    let Some(bus) = bus().await else { return };
    let url = format!(
        "{}?key_prefix=psm_axum_{}:",
        service_url("REDIS", "redis://127.0.0.1:6379"),
        unique_suffix()
    );
    let shared = Arc::new(RedisStore::from_url(url.parse().unwrap()).await.unwrap());
    let users = Arc::new(UserDirectory::demo());
    let mut bases = Vec::new();
    let mut caches = Vec::new();
    for _ in 0..2 {
        let cached = Arc::new(
            CachedStore::with_bus(shared.clone(), CacheConfig::default(), bus.clone())
                .await
                .unwrap(),
        );
        caches.push(cached.clone());
        let app = router(AppState::new(
            cached as Arc<dyn SessionStore>,
            users.clone(),
        ))
        .unwrap();
        bases.push(serve(app).await);
    }
    let (a, b) = (&bases[0], &bases[1]);
    let http = reqwest::Client::new();
    let login = |base: &String, user: &str| {
        let req = http
            .post(format!("{base}/login"))
            .json(&json!({"username": user}));
        async move {
            req.send().await.unwrap().json::<Value>().await.unwrap()["session_id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let alice = login(a, "alice").await;
    let admin = login(a, "admin").await;

    // instance B serves alice from its cache
    for _ in 0..3 {
        assert_eq!(
            send(
                &http,
                reqwest::Method::POST,
                format!("{b}/posts"),
                &alice,
                None
            )
            .await
            .0,
            StatusCode::CREATED
        );
    }
    assert!(
        caches[1].cache_stats().hits >= 2,
        "{:?}",
        caches[1].cache_stats()
    );

    // the admin revokes through instance A
    let revoke = json!({"username": "alice", "permission": "write:posts"});
    let (status, body) = send(
        &http,
        reqwest::Method::POST,
        format!("{a}/api/permissions/revoke"),
        &admin,
        Some(revoke),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let revoked_at = Instant::now();
    let mut enforced = false;
    while revoked_at.elapsed() <= Duration::from_millis(100) {
        if send(
            &http,
            reqwest::Method::POST,
            format!("{b}/posts"),
            &alice,
            None,
        )
        .await
        .0 == StatusCode::FORBIDDEN
        {
            enforced = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert!(
        enforced,
        "instance B still allowed the revoked permission 100 ms later"
    );
    assert!(caches[1].cache_stats().remote_invalidations >= 1);

    // logout through B is enforced by A
    assert_eq!(
        send(
            &http,
            reqwest::Method::GET,
            format!("{a}/posts"),
            &alice,
            None
        )
        .await
        .0,
        StatusCode::OK
    );
    assert_eq!(
        send(
            &http,
            reqwest::Method::POST,
            format!("{b}/logout"),
            &alice,
            None
        )
        .await
        .0,
        StatusCode::OK
    );
    let logged_out_at = Instant::now();
    let mut gone = false;
    while logged_out_at.elapsed() <= Duration::from_millis(100) {
        if send(
            &http,
            reqwest::Method::GET,
            format!("{a}/posts"),
            &alice,
            None,
        )
        .await
        .0 == StatusCode::UNAUTHORIZED
        {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert!(
        gone,
        "instance A still accepted the logged-out session 100 ms later"
    );
}
