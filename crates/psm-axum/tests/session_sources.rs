//! Sessions named by a header or by a cookie: `SessionAuthenticator` with each source, the
//! `SessionCookie` reader and `Set-Cookie` writer, and the 401 answers of session sources
//! (no `WWW-Authenticate` challenge) through an `AuthenticateLayer`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::handler::Handler;
use axum::routing::get;
use common::FlakyStore;
use http::{HeaderMap, Request, StatusCode, header};
use psm_axum::auth::{SameSite, SessionAuthenticator, SessionCookie, SessionSource};
use psm_axum::providers::SessionStoreProvider;
use psm_axum::{
    AuthenticateLayer, Authenticated, Authenticator, AuthzRejection, PermissionsLayer,
    require_permissions,
};
use psm_core::{NewSession, SessionStore};
use psm_memory::MemoryStore;

async fn store_with_alice() -> Arc<dyn SessionStore> {
    let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new());
    store
        .store_session(NewSession::new("s-alice", "alice").permissions(["read:posts"]))
        .await
        .unwrap();
    store
}

fn cookies(line: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(header::COOKIE, line.parse().unwrap());
    h
}

#[tokio::test]
async fn a_cookie_names_the_session_and_a_stale_or_bad_cookie_is_anonymous() {
    let store = store_with_alice().await;
    let auth = SessionAuthenticator::from_cookie(store.clone(), SessionCookie::default());
    assert!(matches!(auth.source(), SessionSource::Cookie(c) if c.name() == "psm_session"));
    let p = auth
        .authenticate(&cookies("a=1; psm_session=s-alice; b=2"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (p.subject.as_str(), p.session_id.as_deref()),
        ("alice", Some("s-alice"))
    );
    // quoted values (RFC 6265 allows them) and split Cookie headers (HTTP/2)
    assert!(
        auth.authenticate(&cookies("psm_session=\"s-alice\""))
            .await
            .unwrap()
            .is_some()
    );
    let mut split = HeaderMap::new();
    split.append(header::COOKIE, "theme=dark".parse().unwrap());
    split.append(header::COOKIE, "psm_session=s-alice".parse().unwrap());
    assert!(auth.authenticate(&split).await.unwrap().is_some());
    // The header source does not read cookies, nor the cookie source headers.
    let mut by_header = HeaderMap::new();
    by_header.insert("x-session-id", "s-alice".parse().unwrap());
    assert_eq!(auth.authenticate(&by_header).await.unwrap(), None);
    assert_eq!(
        SessionAuthenticator::new(store.clone())
            .authenticate(&cookies("psm_session=s-alice"))
            .await
            .unwrap(),
        None
    );
    // Stale, malformed, or another cookie's name: anonymous, not an error.
    for line in [
        "psm_session=s-unknown",
        "psm_session=../etc",
        "psm_session=",
        "xpsm_session=s-alice",
        "psm_sessionx=s-alice",
        "other=1",
    ] {
        assert_eq!(
            auth.authenticate(&cookies(line)).await.unwrap(),
            None,
            "{line}"
        );
    }
}

#[tokio::test]
async fn the_cookie_name_is_configurable_and_validated() {
    let store = store_with_alice().await;
    let custom =
        SessionAuthenticator::new(store.clone()).cookie(SessionCookie::new("sid").unwrap());
    assert!(
        custom
            .authenticate(&cookies("sid=s-alice"))
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        custom
            .authenticate(&cookies("psm_session=s-alice"))
            .await
            .unwrap(),
        None
    );
    for bad in ["", "a b", "a;b", "a=b", "sé", "a\"b"] {
        assert!(
            matches!(
                SessionCookie::new(bad),
                Err(psm_axum::Error::InvalidCookie { .. })
            ),
            "{bad:?}"
        );
    }
    for bad in ["", "app", "/a b", "/a;b"] {
        assert!(SessionCookie::default().path(bad).is_err(), "{bad:?}");
    }
}

#[tokio::test]
async fn a_store_failure_behind_a_cookie_is_503_never_a_pass() {
    let flaky = Arc::new(FlakyStore::new(MemoryStore::new()));
    flaky
        .store_session(NewSession::new("s1", "alice"))
        .await
        .unwrap();
    flaky.failing.store(true, Ordering::SeqCst);
    let auth = SessionAuthenticator::from_cookie(flaky, SessionCookie::default());
    let err = auth
        .authenticate(&cookies("psm_session=s1"))
        .await
        .unwrap_err();
    assert!(matches!(err, AuthzRejection::Unavailable { .. }), "{err:?}");
}

#[test]
fn set_cookie_values_carry_the_documented_attributes() {
    let cookie = SessionCookie::new("app_session")
        .unwrap()
        .path("/app")
        .unwrap();
    assert_eq!(
        cookie.set("s-1", None).unwrap(),
        "app_session=s-1; Path=/app; HttpOnly; Secure; SameSite=Lax"
    );
    assert_eq!(
        cookie
            .clone()
            .secure(false)
            .same_site(SameSite::Strict)
            .set("s-1", Some(Duration::from_millis(10)))
            .unwrap(),
        "app_session=s-1; Path=/app; Max-Age=1; HttpOnly; SameSite=Strict"
    );
    // SameSite=None is only honoured with Secure, so it always gets it.
    assert_eq!(
        cookie
            .clone()
            .secure(false)
            .same_site(SameSite::None)
            .set("s-1", None)
            .unwrap(),
        "app_session=s-1; Path=/app; HttpOnly; Secure; SameSite=None"
    );
    assert_eq!(
        cookie.clear(),
        "app_session=; Path=/app; Max-Age=0; HttpOnly; Secure; SameSite=Lax"
    );
    // Only valid session ids are written into a cookie.
    for bad in ["", "a;b", "a b", "x=y"] {
        assert!(cookie.set(bad, None).is_err(), "{bad:?}");
    }
}

async fn whoami(Authenticated(p): Authenticated) -> String {
    p.subject
}

fn app(store: Arc<dyn SessionStore>, auth: SessionAuthenticator) -> Router {
    Router::new()
        .route(
            "/posts",
            get(whoami.layer(require_permissions(["read:posts"]).unwrap())),
        )
        .route("/me", get(whoami))
        .layer(PermissionsLayer::from_provider(SessionStoreProvider::new(
            store,
        )))
        .layer(AuthenticateLayer::new(auth))
}

async fn send(app: &Router, name: &str, value: &str, path: &str) -> http::Response<Body> {
    let mut req = Request::get(path);
    if !name.is_empty() {
        req = req.header(name, value);
    }
    tower::ServiceExt::oneshot(app.clone(), req.body(Body::empty()).unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn session_sources_answer_401_without_a_www_authenticate_challenge() {
    let store = store_with_alice().await;
    let by_header = app(store.clone(), SessionAuthenticator::new(store.clone()));
    let by_cookie = app(
        store.clone(),
        SessionAuthenticator::from_cookie(store.clone(), SessionCookie::default()),
    );
    let cases = [
        (
            &by_header,
            "x-session-id",
            "s-alice",
            "/posts",
            StatusCode::OK,
        ),
        (&by_header, "", "", "/posts", StatusCode::UNAUTHORIZED),
        (
            &by_header,
            "x-session-id",
            "s-gone",
            "/posts",
            StatusCode::UNAUTHORIZED,
        ),
        (
            &by_header,
            "x-session-id",
            "s-gone",
            "/me",
            StatusCode::UNAUTHORIZED,
        ),
        (
            &by_cookie,
            "cookie",
            "psm_session=s-alice",
            "/posts",
            StatusCode::OK,
        ),
        (&by_cookie, "", "", "/posts", StatusCode::UNAUTHORIZED),
        (
            &by_cookie,
            "cookie",
            "psm_session=s-gone",
            "/posts",
            StatusCode::UNAUTHORIZED,
        ),
        (
            &by_cookie,
            "cookie",
            "psm_session=s-gone",
            "/me",
            StatusCode::UNAUTHORIZED,
        ),
    ];
    for (app, name, value, path, status) in cases {
        let response = send(app, name, value, path).await;
        assert_eq!(response.status(), status, "{name}: {value} {path}");
        assert!(
            response.headers().get(header::WWW_AUTHENTICATE).is_none(),
            "{name}: {value} {path}: {:?}",
            response.headers()
        );
    }
}
