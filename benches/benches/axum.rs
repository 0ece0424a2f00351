//! psm-axum's `require_permissions` layer: per-request overhead over a bare route, with the
//! permissions from an in-memory map provider (fetched and compiled every request) and from a
//! `CachedProvider` (compiled once, cached in moka). The principal is in the request
//! extensions, as the application's authentication would leave it; 1,000 users, random picks.
//! Odd users lack `read:posts`, so half the requests are refused (403) by the protected routes;
//! every status is counted and asserted after the loop.
// Bench harness code, not a library path: failing loudly on setup errors is intended.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::handler::Handler;
use axum::routing::get;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use http::{Request, StatusCode};
use psm_axum::{PermissionsLayer, require_permissions};
use psm_benches::{Tally, XorShift};
use psm_cache::{CacheConfig, CachedProvider};
use psm_core::{PermissionsProvider, Principal};
use tower::ServiceExt;

const USERS: usize = 1_000;

/// The "uncached" provider: a plain map, one hash probe and a `Vec` clone per request.
#[derive(Debug)]
struct MapProvider(HashMap<String, Vec<String>>);

#[psm_core::async_trait]
impl PermissionsProvider for MapProvider {
    async fn fetch_permissions(&self, p: &Principal) -> psm_core::Result<Vec<String>> {
        Ok(self.0.get(p.lookup_name()).cloned().unwrap_or_default())
    }
}

fn provider() -> Arc<MapProvider> {
    let perms = ["read:posts", "write:posts", "comments:*", "profile.self>"];
    let odd = ["read:drafts", "write:posts", "comments:*", "profile.self>"];
    Arc::new(MapProvider(
        (0..USERS)
            .map(|i| {
                let granted = if allowed(i) { perms } else { odd };
                (
                    format!("user-{i}"),
                    granted.iter().map(|p| p.to_string()).collect(),
                )
            })
            .collect(),
    ))
}

/// Whether user `i` may read posts (the protected routes answer 200, else 403).
fn allowed(i: usize) -> bool {
    i.is_multiple_of(2)
}

async fn ok() -> &'static str {
    "ok"
}

fn protected(layer: PermissionsLayer) -> Router {
    let require = require_permissions(["read:posts"]).unwrap_or_else(|e| panic!("{e}"));
    Router::new()
        .route("/posts", get(ok.layer(require)))
        .layer(layer)
}

fn runtime() -> tokio::runtime::Runtime {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("runtime: {e}"),
    }
}

fn layer_overhead(c: &mut Criterion) {
    let rt = runtime();
    let principals: Vec<Principal> = (0..USERS)
        .map(|i| Principal::new(format!("user-{i}")))
        .collect();
    let map = provider();
    let cached = rt.block_on(async {
        let cached = CachedProvider::new(map.clone(), CacheConfig::default())
            .unwrap_or_else(|e| panic!("{e}"));
        for p in &principals {
            let _ = cached.permission_set(p).await;
        }
        cached
    });
    let routers = [
        ("bare_route", Router::new().route("/posts", get(ok))),
        (
            "require_permissions/map_provider",
            protected(PermissionsLayer::from_provider(map.clone())),
        ),
        (
            "require_permissions/cached_provider",
            protected(PermissionsLayer::new(cached)),
        ),
    ];
    let mut group = c.benchmark_group("axum/request");
    group.throughput(Throughput::Elements(1));
    for (name, router) in routers {
        let mut rng = XorShift::new(17);
        let tally = std::sync::Mutex::new(Tally::new());
        let bare = name == "bare_route";
        group.bench_function(name, |b| {
            b.to_async(&rt).iter(|| {
                let mut req = Request::get("/posts")
                    .body(Body::empty())
                    .unwrap_or_else(|e| panic!("{e}"));
                let user = rng.below(USERS);
                req.extensions_mut().insert(principals[user].clone());
                let router = router.clone();
                let tally = &tally;
                async move {
                    let response = router.oneshot(req).await.unwrap_or_else(|e| match e {});
                    let got = match response.status() {
                        StatusCode::OK => true,
                        StatusCode::FORBIDDEN => false,
                        other => panic!("{name}: unexpected status {other}"),
                    };
                    tally.lock().unwrap().record(got, bare || allowed(user));
                    black_box(response)
                }
            })
        });
        tally
            .lock()
            .unwrap()
            .assert_right(&format!("axum {name}"), !bare);
    }
    group.finish();
}

criterion_group!(benches, layer_overhead);
criterion_main!(benches);
