//! Memory-backend specifics: the `max_sessions` quota, the background sweep, URL options.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use psm_core::{Error, ManualClock, NewSession, SessionStore, StoreUrl};
use psm_memory::{MemoryConfig, MemoryStore};

/// A store holding at most `max` sessions, on a manual clock the test advances.
fn capped(max: u64, sweep: Option<Duration>) -> (MemoryStore, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::starting_now());
    let store = MemoryStore::with_config(MemoryConfig {
        max_sessions: Some(max),
        cleanup_interval: sweep,
        clock: clock.clone().into(),
        ..MemoryConfig::default()
    })
    .unwrap();
    (store, clock)
}

#[tokio::test]
async fn new_session_at_the_cap_gets_a_quota_error_but_replacing_one_does_not() {
    let (store, _) = capped(2, None);
    store
        .store_session(NewSession::new("a", "u"))
        .await
        .unwrap();
    store
        .store_session(NewSession::new("b", "u"))
        .await
        .unwrap();
    let err = store
        .store_session(NewSession::new("c", "u"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::QuotaExceeded {
                what: "sessions",
                limit: 2
            }
        ),
        "{err:?}"
    );
    assert!(store.get_session("c").await.unwrap().is_none());
    store
        .store_session(NewSession::new("a", "u").permissions(["x"]))
        .await
        .unwrap();
    store.invalidate_session("b").await.unwrap();
    store
        .store_session(NewSession::new("c", "u"))
        .await
        .unwrap();
}

#[tokio::test]
async fn expired_sessions_never_count_against_the_cap() {
    let (store, clock) = capped(2, None);
    for id in ["a", "b"] {
        store
            .store_session(NewSession::new(id, "u").ttl(Duration::from_millis(50)))
            .await
            .unwrap();
    }
    clock.advance(Duration::from_millis(120));
    store
        .store_session(NewSession::new("c", "u"))
        .await
        .unwrap();
    store
        .store_session(NewSession::new("d", "u"))
        .await
        .unwrap();
    assert_eq!(store.count_sessions().await.unwrap(), 2);
}

#[tokio::test]
async fn background_sweep_frees_expired_sessions_and_stops_on_close() {
    let (store, clock) = capped(100, Some(Duration::from_millis(50)));
    store
        .store_session(NewSession::new("a", "u").ttl(Duration::from_millis(20)))
        .await
        .unwrap();
    clock.advance(Duration::from_millis(21));
    assert_eq!(store.stats().await.unwrap().expired_pending, 1);
    // the sweep runs on real time (every 50 ms): wait for it, boundedly
    let mut freed = false;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(25)).await;
        if store.stats().await.unwrap().expired_pending == 0 {
            freed = true;
            break;
        }
    }
    assert!(freed, "the sweep removed the expired entry");
    store.close().await.unwrap();
    assert!(matches!(store.stats().await, Err(Error::Closed)));
}

#[tokio::test]
async fn dropping_the_store_ends_the_sweep_task() {
    let (store, _) = capped(10, Some(Duration::from_millis(10)));
    let metrics = tokio::runtime::Handle::current().metrics();
    let before = metrics.num_alive_tasks();
    assert!(before >= 1);
    drop(store);
    let mut ended = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(10)).await;
        if metrics.num_alive_tasks() < before {
            ended = true;
            break;
        }
    }
    assert!(ended, "sweep task still alive after drop");
}

#[tokio::test]
async fn url_options_are_typed_and_unknown_ones_rejected() {
    let url =
        StoreUrl::parse("memory://?max_sessions=5&cleanup_interval=0&default_ttl=2h").unwrap();
    let store = MemoryStore::from_url(url).await.unwrap();
    assert_eq!(store.config().max_sessions, Some(5));
    assert_eq!(store.config().cleanup_interval, None);
    assert_eq!(store.config().default_ttl, Some(Duration::from_secs(7200)));
    for bad in [
        "memory://?max_sessions=-1",
        "memory://?shards=0",
        "memory://?bogus=1",
        "memory://?default_ttl=soon",
    ] {
        let err = MemoryStore::from_url(StoreUrl::parse(bad).unwrap())
            .await
            .unwrap_err();
        assert!(err.is_invalid_input(), "{bad}: {err:?}");
    }
}
