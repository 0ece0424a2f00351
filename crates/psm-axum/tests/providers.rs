//! The providers and the session authenticator: claim forms, session semantics, store
//! failures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use common::FlakyStore;
use http::HeaderMap;
use psm_axum::auth::SessionAuthenticator;
use psm_axum::providers::{JwtClaimProvider, SessionStoreProvider};
use psm_axum::{Authenticator, AuthzRejection};
use psm_core::{Error, NewSession, PermissionsProvider, Principal, SessionStore};
use psm_memory::MemoryStore;
use serde_json::json;

fn with_claims(claims: serde_json::Value) -> Principal {
    Principal::new("u").with_claims(claims)
}

#[tokio::test]
async fn the_claim_provider_reads_lists_and_space_separated_strings() {
    let p = JwtClaimProvider::default();
    let list = with_claims(json!({"permissions": ["a:b", "c.d"]}));
    assert_eq!(p.fetch_permissions(&list).await.unwrap(), ["a:b", "c.d"]);
    let spaced = with_claims(json!({"permissions": " a:b   c.d "}));
    assert_eq!(p.fetch_permissions(&spaced).await.unwrap(), ["a:b", "c.d"]);
    for absent in [json!({}), json!({"permissions": null})] {
        assert!(
            p.fetch_permissions(&with_claims(absent))
                .await
                .unwrap()
                .is_empty()
        );
    }
    let custom = JwtClaimProvider::new("scope");
    assert_eq!(
        custom
            .fetch_permissions(&with_claims(json!({"scope": "x"})))
            .await
            .unwrap(),
        ["x"]
    );
}

#[tokio::test]
async fn the_claim_provider_rejects_what_is_not_a_permission_list() {
    let p = JwtClaimProvider::default();
    for bad in [json!(42), json!({"a": 1}), json!(["ok", 7]), json!(true)] {
        let err = p
            .fetch_permissions(&with_claims(json!({"permissions": bad})))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Corrupt { .. }), "{err:?}");
    }
    let err = p
        .fetch_permissions(&with_claims(json!({"permissions": "ok a>b"})))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidPermission(_)), "{err:?}");
    let small = JwtClaimProvider::default().max_permissions(1);
    assert!(
        small
            .fetch_permissions(&with_claims(json!({"permissions": "a b"})))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn the_session_provider_serves_the_live_session_of_the_same_user_only() {
    let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
    store
        .store_session(NewSession::new("s1", "alice").permissions(["read"]))
        .await
        .unwrap();
    let p = SessionStoreProvider::new(store.clone());
    let alice = Principal::new("alice").with_session_id("s1");
    assert_eq!(p.fetch_permissions(&alice).await.unwrap(), ["read"]);
    let mallory = Principal::new("mallory").with_session_id("s1");
    assert!(
        p.fetch_permissions(&mallory).await.unwrap().is_empty(),
        "another user's session"
    );
    assert_eq!(
        SessionStoreProvider::new(store.clone())
            .any_user()
            .fetch_permissions(&mallory)
            .await
            .unwrap(),
        ["read"]
    );
    for none in [
        Principal::new("alice"),
        Principal::new("alice").with_session_id("missing"),
        Principal::new("alice").with_session_id("bad id!"),
    ] {
        assert!(
            p.fetch_permissions(&none).await.unwrap().is_empty(),
            "{none:?}"
        );
    }
    store.invalidate_session("s1").await.unwrap();
    assert!(
        p.fetch_permissions(&alice).await.unwrap().is_empty(),
        "logged out"
    );
}

#[tokio::test]
async fn a_session_store_failure_is_an_error_for_the_provider_and_503_for_the_authenticator() {
    let flaky = Arc::new(FlakyStore::new(MemoryStore::new()));
    flaky
        .store_session(NewSession::new("s1", "alice").permissions(["read"]))
        .await
        .unwrap();
    flaky.failing.store(true, Ordering::SeqCst);
    let p = SessionStoreProvider::new(flaky.clone());
    assert!(
        p.fetch_permissions(&Principal::new("alice").with_session_id("s1"))
            .await
            .is_err()
    );
    let auth = SessionAuthenticator::new(flaky.clone());
    let mut headers = HeaderMap::new();
    headers.insert("x-session-id", "s1".parse().unwrap());
    let err = auth.authenticate(&headers).await.unwrap_err();
    assert_eq!(err.status(), http::StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn the_session_authenticator_turns_a_live_session_into_a_principal() {
    let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
    store
        .store_session(NewSession::new("s1", "alice"))
        .await
        .unwrap();
    let auth = SessionAuthenticator::new(store.clone());
    assert_eq!(
        auth.authenticate(&HeaderMap::new()).await.unwrap(),
        None,
        "no header: anonymous"
    );
    let mut headers = HeaderMap::new();
    headers.insert("x-session-id", "s1".parse().unwrap());
    let p = auth.authenticate(&headers).await.unwrap().unwrap();
    assert_eq!(
        (p.subject.as_str(), p.session_id.as_deref()),
        ("alice", Some("s1"))
    );
    for bad in ["missing", "../etc", "a b"] {
        headers.insert("x-session-id", bad.parse().unwrap());
        let err = auth.authenticate(&headers).await.unwrap_err();
        assert!(
            matches!(err, AuthzRejection::Unauthenticated { .. }),
            "{bad}: {err:?}"
        );
    }
    let custom = SessionAuthenticator::new(store)
        .header("x-psm-session")
        .unwrap();
    let mut h = HeaderMap::new();
    h.insert("x-psm-session", "s1".parse().unwrap());
    assert!(custom.authenticate(&h).await.unwrap().is_some());
    assert!(
        SessionAuthenticator::new(Arc::new(MemoryStore::new()))
            .header("bad header")
            .is_err()
    );
}
