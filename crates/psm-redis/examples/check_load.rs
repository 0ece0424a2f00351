//! Profiling driver for the client side of the hot path: `check_permission` (or, with `store`,
//! `store_session`) from T tasks over C multiplexed connections against a local Redis, every
//! answer counted and asserted. Run it under `perf record` or callgrind to see where the client's
//! time goes:
//!
//! `cargo run --release -p psm-redis --example check_load -- [check|store] [tasks] [connections] [ops]`
//!
//! Uses `PSM_TEST_REDIS_URL` (default `redis://127.0.0.1:6379`) and its own key prefix, removed
//! at the end.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use psm_core::{NewSession, SessionStore, StoreUrl};
use psm_redis::RedisStore;

const SESSIONS: usize = 1_000;

fn arg(n: usize, default: usize) -> usize {
    std::env::args()
        .nth(n)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

fn grants(k: usize) -> [&'static str; 3] {
    if k.is_multiple_of(2) {
        ["read:posts", "admin:*", "posts:*:read"]
    } else {
        ["read:posts", "audit:*", "posts:*:read"]
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let store_mode = std::env::args().nth(1).as_deref() == Some("store");
    let (tasks, connections, ops) = (arg(2, 64), arg(3, 2), arg(4, 200_000));
    let base =
        std::env::var("PSM_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let url = format!(
        "{base}?key_prefix=psmload:{}:&default_ttl=10m&connections={connections}",
        std::process::id()
    );
    let store = Arc::new(
        RedisStore::from_url(StoreUrl::parse(&url).unwrap())
            .await
            .unwrap(),
    );
    let ids: Arc<Vec<String>> = Arc::new((0..SESSIONS).map(|k| format!("s-{k}")).collect());
    for (k, id) in ids.iter().enumerate() {
        store
            .store_session(NewSession::new(id.clone(), "u").permissions(grants(k)))
            .await
            .unwrap();
    }
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let (store, ids, next) = (store.clone(), ids.clone(), next.clone());
            tokio::spawn(async move {
                let mut right = 0usize;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= ops {
                        return right;
                    }
                    let k = i.wrapping_mul(7919) % SESSIONS;
                    if store_mode {
                        let new = NewSession::new(ids[k].clone(), "u").permissions(grants(k));
                        right += usize::from(store.store_session(new).await.is_ok());
                    } else {
                        let got = store
                            .check_permission(&ids[k], "admin:users")
                            .await
                            .unwrap();
                        right += usize::from(got == (k.is_multiple_of(2)));
                    }
                }
            })
        })
        .collect();
    let mut right = 0;
    for h in handles {
        right += h.await.unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(right, ops, "every answer must be right");
    let what = if store_mode { "stores" } else { "checks" };
    println!(
        "{ops} {what} at {tasks} tasks over {connections} connections: {:.0}/s (answers asserted)",
        ops as f64 / secs
    );
    for id in ids.iter() {
        store.invalidate_session(id).await.unwrap();
    }
}
