//! The route layers and extractors: 401 / 403 / 503 / 500 with JSON bodies, all and any,
//! patterns, per-layer sources, caching sources, and the extractors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::handler::Handler;
use axum::routing::get;
use common::{MapProvider, call, get_as};
use http::StatusCode;
use psm_axum::{
    Authenticated, Permissions, PermissionsLayer, require_any_permission, require_permissions,
};
use psm_cache::{CacheConfig, CachedProvider};
use psm_core::Principal;
use serde_json::json;

async fn ok() -> &'static str {
    "ok"
}

async fn whoami(Authenticated(p): Authenticated, perms: Permissions) -> String {
    format!("{}:{}", p.subject, perms.len())
}

fn app(provider: Arc<MapProvider>) -> Router {
    Router::new()
        .route(
            "/all",
            get(ok.layer(require_permissions(["read:posts", "write:posts"]).unwrap())),
        )
        .route(
            "/any",
            get(ok.layer(require_any_permission(["admin:x", "read:posts"]).unwrap())),
        )
        .route(
            "/pattern",
            get(ok.layer(require_permissions(["admin:*"]).unwrap())),
        )
        .route("/me", get(whoami))
        .route("/open", get(ok))
        .layer(PermissionsLayer::from_provider(provider))
}

fn users() -> Arc<MapProvider> {
    MapProvider::with(&[
        ("alice", &["read:posts", "write:posts"]),
        ("bob", &["read:posts"]),
        ("root", &["admin>"]),
    ])
}

fn who(name: &str) -> Option<Principal> {
    Some(Principal::new(name))
}

#[tokio::test]
async fn require_permissions_needs_every_permission() {
    let app = app(users());
    assert_eq!(
        call(&app, get_as("/all", who("alice"))).await.0,
        StatusCode::OK
    );
    let (status, body) = call(&app, get_as("/all", who("bob"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body,
        json!({"error": {"code": "forbidden", "message": "requires all of: read:posts, write:posts"}})
    );
}

#[tokio::test]
async fn require_any_permission_needs_one() {
    let app = app(users());
    assert_eq!(
        call(&app, get_as("/any", who("bob"))).await.0,
        StatusCode::OK
    );
    assert_eq!(
        call(&app, get_as("/any", who("nobody"))).await.0,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn a_pattern_requirement_needs_full_coverage() {
    let app = app(users());
    assert_eq!(
        call(&app, get_as("/pattern", who("root"))).await.0,
        StatusCode::OK
    );
    assert_eq!(
        call(&app, get_as("/pattern", who("alice"))).await.0,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn no_principal_is_401_with_a_json_body() {
    let app = app(users());
    let req = get_as("/all", None);
    let response = tower::ServiceExt::oneshot(app.clone(), req).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // No AuthenticateLayer here: no authenticator, so no challenge to announce.
    assert!(response.headers().get("www-authenticate").is_none());
    let (status, body) = call(&app, get_as("/me", None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body,
        json!({"error": {"code": "unauthorized", "message": "no credentials"}})
    );
    assert_eq!(call(&app, get_as("/open", None)).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_provider_failure_is_503_never_a_pass() {
    let provider = users();
    let app = app(provider.clone());
    provider.failing.store(true, Ordering::SeqCst);
    for path in ["/all", "/any", "/pattern", "/me"] {
        let (status, body) = call(&app, get_as(path, who("alice"))).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert_eq!(body["error"]["code"], "unavailable");
    }
}

#[tokio::test]
async fn a_route_without_a_permissions_source_is_500_never_a_pass() {
    let app = Router::new().route("/x", get(ok.layer(require_permissions(["read"]).unwrap())));
    let (status, body) = call(&app, get_as("/x", who("alice"))).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body["error"]["code"], "internal");
}

#[tokio::test]
async fn a_layer_with_its_own_source_asks_that_source() {
    let strict = MapProvider::with(&[("alice", &[])]);
    let app = Router::new()
        .route(
            "/x",
            get(ok.layer(
                require_permissions(["read:posts"])
                    .unwrap()
                    .with_provider(strict),
            )),
        )
        .layer(PermissionsLayer::from_provider(users()));
    assert_eq!(
        call(&app, get_as("/x", who("alice"))).await.0,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn invalid_or_empty_requirements_are_rejected_when_built() {
    for bad in [vec!["a::b"], vec!["foo*"], vec![""], vec![]] {
        assert!(require_permissions(bad.clone()).is_err(), "{bad:?}");
        assert!(require_any_permission(bad.clone()).is_err(), "{bad:?}");
    }
    let too_many: Vec<String> = (0..=psm_axum::MAX_REQUIRED)
        .map(|i| format!("p{i}"))
        .collect();
    assert!(require_permissions(too_many).is_err());
}

#[tokio::test]
async fn the_extractors_see_the_principal_and_its_permissions() {
    let app = app(users());
    let response = tower::ServiceExt::oneshot(app, get_as("/me", who("alice")))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = axum::body::to_bytes(response.into_body(), 1024)
        .await
        .unwrap();
    assert_eq!(&body[..], b"alice:2");
}

#[tokio::test]
async fn permissions_are_resolved_once_per_request() {
    #[derive(Debug, Default)]
    struct Counting(std::sync::atomic::AtomicUsize);
    #[psm_core::async_trait]
    impl psm_core::PermissionsProvider for Counting {
        async fn fetch_permissions(&self, _: &Principal) -> psm_core::Result<Vec<String>> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(vec!["read".into()])
        }
    }
    let counting = Arc::new(Counting::default());
    let app = Router::new()
        .route(
            "/x",
            get(whoami.layer(require_permissions(["read"]).unwrap())),
        )
        .layer(PermissionsLayer::from_provider(counting.clone()));
    assert_eq!(call(&app, get_as("/x", who("a"))).await.0, StatusCode::OK);
    assert_eq!(
        counting.0.load(Ordering::SeqCst),
        1,
        "layer and extractor share one fetch"
    );
}

#[tokio::test]
async fn a_cached_provider_serves_repeat_requests_and_honours_invalidation() {
    let provider = users();
    let cached = CachedProvider::new(provider.clone(), CacheConfig::default()).unwrap();
    let cached = Arc::new(cached);
    let app = Router::new()
        .route(
            "/all",
            get(ok.layer(require_permissions(["read:posts", "write:posts"]).unwrap())),
        )
        .layer(PermissionsLayer::from_source(cached.clone()));
    assert_eq!(
        call(&app, get_as("/all", who("alice"))).await.0,
        StatusCode::OK
    );
    provider.users.write().insert("alice".into(), vec![]);
    assert_eq!(
        call(&app, get_as("/all", who("alice"))).await.0,
        StatusCode::OK,
        "cached"
    );
    assert_eq!(cached.cache_stats().hits, 1);
    cached.invalidate("alice").await.unwrap();
    assert_eq!(
        call(&app, get_as("/all", who("alice"))).await.0,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn permissions_require_denies_with_403() {
    let p = Permissions(Arc::new(psm_core::PermissionSet::new(["read"]).unwrap()));
    assert!(p.require("read").is_ok());
    assert_eq!(
        p.require("write").unwrap_err().status(),
        StatusCode::FORBIDDEN
    );
    assert!(p.require("bad::perm").is_err());
}
