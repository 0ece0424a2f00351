//! The example application over HTTP (a real client against a server on 127.0.0.1:0), on the
//! memory backend: login, protected routes, logout, grant and revoke, failures, sessions by
//! header and by cookie, and psm's one JSON error shape.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
// The example application's router, shared with `examples/app/main.rs`.
#[allow(dead_code, unreachable_pub)]
#[path = "../examples/app/demo/mod.rs"]
mod demo;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use common::{FlakyStore, serve};
use demo::{AppState, UserDirectory, router};
use psm_core::SessionStore;
use psm_memory::MemoryStore;
use reqwest::StatusCode;
use serde_json::{Value, json};

struct Client {
    base: String,
    http: reqwest::Client,
}

impl Client {
    async fn start(store: Arc<dyn SessionStore>) -> Self {
        let app = router(AppState::new(store, Arc::new(UserDirectory::demo()))).unwrap();
        Client {
            base: serve(app).await,
            http: reqwest::Client::new(),
        }
    }

    async fn login(&self, user: &str) -> String {
        let (status, body) = self
            .send("POST", "/login", None, Some(json!({"username": user})))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["session_id"].as_str().unwrap().to_owned()
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        session: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(s) = session {
            req = req.header("x-session-id", s);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let response = req.send().await.unwrap();
        let status = response.status();
        let body = response.json::<Value>().await.unwrap_or(Value::Null);
        (status, body)
    }
}

fn memory() -> Arc<dyn SessionStore> {
    Arc::new(MemoryStore::new())
}

#[tokio::test]
async fn a_logged_in_user_gets_exactly_the_routes_their_permissions_allow() {
    let c = Client::start(memory()).await;
    let alice = c.login("alice").await;
    assert_eq!(
        c.send("GET", "/posts", Some(&alice), None).await.0,
        StatusCode::OK
    );
    assert_eq!(
        c.send("POST", "/posts", Some(&alice), None).await.0,
        StatusCode::CREATED
    );
    let (status, body) = c.send("DELETE", "/posts/1", Some(&alice), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body,
        json!({"error": {"code": "forbidden", "message": "requires all of: delete:posts"}})
    );
    let (status, me) = c.send("GET", "/me", Some(&alice), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        me,
        json!({"user": "alice", "permissions": ["read:posts", "write:posts"]})
    );
    let admin = c.login("admin").await;
    let (status, body) = c.send("DELETE", "/posts/7", Some(&admin), None).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (StatusCode::OK, Some("post 7 deleted"))
    );
}

#[tokio::test]
async fn requests_without_a_valid_session_are_401() {
    let c = Client::start(memory()).await;
    let (status, body) = c.send("GET", "/posts", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body,
        json!({"error": {"code": "unauthorized", "message": "no credentials"}})
    );
    for bad in ["no-such-session", "bad id with spaces"] {
        let (status, body) = c.send("GET", "/posts", Some(bad), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{bad}");
        assert_eq!(body["error"]["code"], "unauthorized");
    }
    let (status, body) = c
        .send("POST", "/login", None, Some(json!({"username": "mallory"})))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body,
        json!({"error": {"code": "unauthorized", "message": "unknown user"}})
    );
    assert_eq!(c.send("GET", "/health", None, None).await.0, StatusCode::OK);
}

#[tokio::test]
async fn logout_invalidates_the_session() {
    let c = Client::start(memory()).await;
    let bob = c.login("bob").await;
    assert_eq!(
        c.send("GET", "/posts", Some(&bob), None).await.0,
        StatusCode::OK
    );
    let (status, body) = c.send("POST", "/logout", Some(&bob), None).await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, json!({"logged_out": true}))
    );
    assert_eq!(
        c.send("GET", "/posts", Some(&bob), None).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        c.send("POST", "/logout", None, None).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn admins_grant_and_revoke_and_live_sessions_follow_at_once() {
    let c = Client::start(memory()).await;
    let bob = c.login("bob").await;
    let admin = c.login("admin").await;
    assert_eq!(
        c.send("POST", "/posts", Some(&bob), None).await.0,
        StatusCode::FORBIDDEN
    );
    let grant = json!({"username": "bob", "permission": "write:posts"});
    let (status, body) = c
        .send(
            "POST",
            "/api/permissions/grant",
            Some(&admin),
            Some(grant.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["message"], "Permission write:posts granted to bob");
    assert_eq!(body["sessions_updated"], 1);
    assert_eq!(
        c.send("POST", "/posts", Some(&bob), None).await.0,
        StatusCode::CREATED
    );
    let (_, listed) = c
        .send("GET", "/api/permissions/bob", Some(&admin), None)
        .await;
    assert_eq!(
        listed,
        json!({"username": "bob", "permissions": ["read:posts", "write:posts"]})
    );
    let (status, _) = c
        .send("POST", "/api/permissions/revoke", Some(&admin), Some(grant))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        c.send("POST", "/posts", Some(&bob), None).await.0,
        StatusCode::FORBIDDEN
    );
    // a new login gets the directory's current permissions
    let bob2 = c.login("bob").await;
    assert_eq!(
        c.send("POST", "/posts", Some(&bob2), None).await.0,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn the_management_api_is_for_admins_and_validates_its_input() {
    let c = Client::start(memory()).await;
    let alice = c.login("alice").await;
    let admin = c.login("admin").await;
    let req = json!({"username": "alice", "permission": "delete:posts"});
    assert_eq!(
        c.send(
            "POST",
            "/api/permissions/grant",
            Some(&alice),
            Some(req.clone())
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        c.send("POST", "/api/permissions/grant", None, Some(req))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        c.send("GET", "/api/permissions/alice", Some(&alice), None)
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let bad = json!({"username": "alice", "permission": "bad::perm"});
    let (status, body) = c
        .send("POST", "/api/permissions/grant", Some(&admin), Some(bad))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        (&body["error"]["code"], &body["error"]["field"]),
        (&json!("invalid_input"), &json!("permission")),
        "{body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("bad::perm"),
        "{body}"
    );
    let unknown = json!({"username": "zed", "permission": "read:posts"});
    let (status, body) = c
        .send(
            "POST",
            "/api/permissions/revoke",
            Some(&admin),
            Some(unknown),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body,
        json!({"error": {"code": "not_found", "message": "unknown user", "field": "username"}})
    );
}

#[tokio::test]
async fn a_failing_store_is_503_never_a_pass() {
    let flaky = Arc::new(FlakyStore::new(MemoryStore::new()));
    let c = Client::start(flaky.clone()).await;
    let alice = c.login("alice").await;
    flaky.failing.store(true, Ordering::SeqCst);
    let (status, body) = c.send("GET", "/posts", Some(&alice), None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["error"]["code"], "unavailable");
    assert_eq!(
        c.send("POST", "/login", None, Some(json!({"username": "bob"})))
            .await
            .0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    flaky.failing.store(false, Ordering::SeqCst);
    assert_eq!(
        c.send("GET", "/posts", Some(&alice), None).await.0,
        StatusCode::OK
    );
}

/// The `Set-Cookie` header of `response`, and the `name=value` pair a client sends back.
fn set_cookie(response: &reqwest::Response) -> (String, String) {
    let set = response
        .headers()
        .get("set-cookie")
        .expect("a Set-Cookie header")
        .to_str()
        .unwrap()
        .to_owned();
    let pair = set.split(';').next().unwrap().trim().to_owned();
    (set, pair)
}

#[tokio::test]
async fn a_session_cookie_set_at_login_authenticates_and_logout_clears_it() {
    let c = Client::start(memory()).await;
    let login = c
        .http
        .post(format!("{}/login", c.base))
        .json(&json!({"username": "alice"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    let (set, pair) = set_cookie(&login);
    let body: Value = login.json().await.unwrap();
    let id = body["session_id"].as_str().unwrap();
    assert_eq!(pair, format!("psm_session={id}"));
    for attribute in [
        "Path=/",
        "Max-Age=3600",
        "HttpOnly",
        "Secure",
        "SameSite=Lax",
    ] {
        assert!(set.contains(attribute), "{attribute} missing: {set}");
    }
    let with_cookie = |path: &str, method: reqwest::Method, cookie: &str| {
        c.http
            .request(method, format!("{}{path}", c.base))
            .header("cookie", format!("theme=dark; {cookie}"))
            .send()
    };
    // The cookie alone authenticates, with the session's permissions.
    let r = with_cookie("/posts", reqwest::Method::POST, &pair)
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = with_cookie("/posts/1", reqwest::Method::DELETE, &pair)
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = with_cookie("/logout", reqwest::Method::POST, &pair)
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let (cleared, cleared_pair) = set_cookie(&r);
    assert_eq!(cleared_pair, "psm_session=");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    // The stale cookie no longer authenticates protected routes, and does not lock the
    // browser out of public ones.
    let r = with_cookie("/posts", reqwest::Method::GET, &pair)
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers().get("www-authenticate").is_none());
    let r = with_cookie("/health", reqwest::Method::GET, &pair)
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = with_cookie("/posts", reqwest::Method::GET, "psm_session=not a valid id")
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_header_wins_over_the_cookie_and_401s_carry_no_bearer_challenge() {
    let c = Client::start(memory()).await;
    let bob = c.login("bob").await;
    let alice = c.login("alice").await;
    // bob's header and alice's cookie: the header decides (bob may not write).
    let r = c
        .http
        .post(format!("{}/posts", c.base))
        .header("x-session-id", &bob)
        .header("cookie", format!("psm_session={alice}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // A session header that names no session is refused at once, without a challenge: the
    // example authenticates by session header or cookie, not by an HTTP auth scheme.
    for session in [None, Some("no-such-session")] {
        let mut req = c.http.get(format!("{}/posts", c.base));
        if let Some(s) = session {
            req = req.header("x-session-id", s);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{session:?}");
        assert!(
            r.headers().get("www-authenticate").is_none(),
            "{session:?}: {:?}",
            r.headers()
        );
    }
}

#[tokio::test]
async fn bad_request_bodies_answer_in_the_one_error_shape() {
    let c = Client::start(memory()).await;
    let post = |body: &'static str, content_type: Option<&'static str>| {
        let mut req = c.http.post(format!("{}/login", c.base)).body(body);
        if let Some(t) = content_type {
            req = req.header("content-type", t);
        }
        req.send()
    };
    for (body, content_type, status, code) in [
        ("{", Some("application/json"), 400, "malformed_body"),
        (
            r#"{"user": "alice"}"#,
            Some("application/json"),
            422,
            "invalid_body",
        ),
        (
            r#"{"username": "alice"}"#,
            None,
            415,
            "unsupported_media_type",
        ),
    ] {
        let r = post(body, content_type).await.unwrap();
        assert_eq!(r.status().as_u16(), status, "{body}");
        let parsed: psm_core::ErrorBody = r.json().await.unwrap();
        assert_eq!(parsed.error.code, code, "{body}");
        assert!(!parsed.error.message.is_empty());
    }
}

#[tokio::test]
async fn the_app_runs_on_sqlite_the_embedded_default() {
    let manager = permission_storage_manager::PermissionStorageManager::connect("sqlite::memory:")
        .await
        .unwrap();
    assert_eq!(manager.store().backend(), "sqlite");
    let c = Client::start(manager.store().clone()).await;
    let alice = c.login("alice").await;
    assert_eq!(
        c.send("POST", "/posts", Some(&alice), None).await.0,
        StatusCode::CREATED
    );
    assert_eq!(
        c.send("DELETE", "/posts/1", Some(&alice), None).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        c.send("POST", "/logout", Some(&alice), None).await.0,
        StatusCode::OK
    );
    assert_eq!(
        c.send("GET", "/posts", Some(&alice), None).await.0,
        StatusCode::UNAUTHORIZED
    );
}
