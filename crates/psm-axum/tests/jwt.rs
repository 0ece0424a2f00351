//! `JwtAuthenticator` over HTTP-shaped requests: HS256, RS256, ES256; expiry, issuer,
//! audience, algorithm and signature checks; the claim provider behind it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use axum::Router;
use axum::body::Body;
use axum::handler::Handler;
use axum::routing::get;
use common::call;
use http::{Request, StatusCode};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode, get_current_timestamp};
use psm_axum::auth::JwtAuthenticator;
use psm_axum::providers::JwtClaimProvider;
use psm_axum::{AuthenticateLayer, Authenticated, PermissionsLayer, require_permissions};
use serde_json::{Value, json};

const SECRET: &[u8] = b"test-secret-test-secret-test-secret!";
const RSA_PRIVATE: &[u8] = include_bytes!("keys/rsa_private.pem");
const RSA_PUBLIC: &[u8] = include_bytes!("keys/rsa_public.pem");
const EC_PRIVATE: &[u8] = include_bytes!("keys/ec_private.pem");
const EC_PUBLIC: &[u8] = include_bytes!("keys/ec_public.pem");

fn claims(extra: Value) -> Value {
    let mut c = json!({
        "sub": "user-1",
        "username": "alice",
        "iss": "https://auth.test",
        "aud": "posts-api",
        "exp": get_current_timestamp() + 600,
        "permissions": ["read:posts"],
    });
    for (k, v) in extra.as_object().unwrap() {
        if v.is_null() {
            c.as_object_mut().unwrap().remove(k);
        } else {
            c[k] = v.clone();
        }
    }
    c
}

fn hs256(c: &Value) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        c,
        &EncodingKey::from_secret(SECRET),
    )
    .unwrap()
}

async fn whoami(Authenticated(p): Authenticated) -> String {
    format!("{}|{}", p.subject, p.username.unwrap_or_default())
}

fn app(auth: JwtAuthenticator) -> Router {
    Router::new()
        .route(
            "/posts",
            get(whoami.layer(require_permissions(["read:posts"]).unwrap())),
        )
        .layer(PermissionsLayer::from_provider(JwtClaimProvider::default()))
        .layer(AuthenticateLayer::new(auth))
}

fn hs_auth() -> JwtAuthenticator {
    JwtAuthenticator::hs256(SECRET)
        .issuer("https://auth.test")
        .audience("posts-api")
        .build()
        .unwrap()
}

fn bearer(token: &str) -> Request<Body> {
    Request::get("/posts")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap()
}

async fn text(app: &Router, req: Request<Body>) -> (StatusCode, String) {
    let response = tower::ServiceExt::oneshot(app.clone(), req).await.unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 16)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn a_valid_hs256_token_authenticates_and_carries_its_permissions() {
    let app = app(hs_auth());
    let (status, body) = text(&app, bearer(&hs256(&claims(json!({}))))).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "user-1|alice"));
}

#[tokio::test]
async fn rs256_and_es256_tokens_verify_with_their_public_keys() {
    let rs = JwtAuthenticator::rs256_pem(RSA_PUBLIC)
        .issuer("https://auth.test")
        .audience("posts-api")
        .build()
        .unwrap();
    let token = encode(
        &Header::new(Algorithm::RS256),
        &claims(json!({})),
        &EncodingKey::from_rsa_pem(RSA_PRIVATE).unwrap(),
    )
    .unwrap();
    assert_eq!(
        text(&app(rs.clone()), bearer(&token)).await.0,
        StatusCode::OK
    );

    let es = JwtAuthenticator::es256_pem(EC_PUBLIC)
        .issuer("https://auth.test")
        .audience("posts-api")
        .build()
        .unwrap();
    let token_es = encode(
        &Header::new(Algorithm::ES256),
        &claims(json!({})),
        &EncodingKey::from_ec_pem(EC_PRIVATE).unwrap(),
    )
    .unwrap();
    assert_eq!(text(&app(es), bearer(&token_es)).await.0, StatusCode::OK);

    // an ES256 token is refused by the RS256 authenticator (one algorithm only)
    let (status, body) = call(&app(rs), bearer(&token_es)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "unauthorized");
}

#[tokio::test]
async fn an_hs256_token_is_refused_by_an_rs256_authenticator() {
    // the classic confusion: HMAC keyed with the public key
    let rs = JwtAuthenticator::rs256_pem(RSA_PUBLIC)
        .issuer("https://auth.test")
        .audience("posts-api")
        .build()
        .unwrap();
    let forged = encode(
        &Header::new(Algorithm::HS256),
        &claims(json!({})),
        &EncodingKey::from_secret(RSA_PUBLIC),
    )
    .unwrap();
    assert_eq!(
        call(&app(rs), bearer(&forged)).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn bad_tokens_are_401_with_the_reason() {
    let app = app(hs_auth());
    let now = get_current_timestamp();
    for (extra, reason) in [
        (json!({"exp": now - 3600}), "token expired"),
        (json!({"iss": "https://evil.test"}), "invalid token issuer"),
        (json!({"aud": "other-api"}), "invalid token audience"),
        (json!({"exp": null}), "token lacks a required claim"),
        (json!({"nbf": now + 3600}), "token not yet valid"),
        (json!({"sub": 42}), "token lacks a required claim"),
    ] {
        let (status, body) = call(&app, bearer(&hs256(&claims(extra.clone())))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{extra}");
        assert_eq!(body["error"]["message"], reason, "{extra}");
    }
    let wrong_key = encode(
        &Header::new(Algorithm::HS256),
        &claims(json!({})),
        &EncodingKey::from_secret(b"another-secret-another-secret-xx"),
    )
    .unwrap();
    let (status, body) = call(&app, bearer(&wrong_key)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["message"], "invalid token signature");
    let mut tampered = hs256(&claims(json!({})));
    tampered.push('x');
    assert_eq!(
        call(&app, bearer(&tampered)).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(&app, bearer("not.a.jwt")).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_missing_header_is_anonymous_and_protected_routes_answer_401() {
    let app = app(hs_auth());
    let req = Request::get("/posts").body(Body::empty()).unwrap();
    let (status, body) = call(&app, req).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["message"], "no credentials");
    let basic = Request::get("/posts")
        .header("authorization", "Basic YTpi")
        .body(Body::empty())
        .unwrap();
    assert_eq!(call(&app, basic).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn every_401_below_a_jwt_authenticator_challenges_bearer() {
    // The route layer's 401 (no token), the authenticator's own 401 (a bad token) and an
    // extractor's 401 all carry the challenge; a 200 and a 403 do not.
    let app = Router::new()
        .route(
            "/posts",
            get(whoami.layer(require_permissions(["read:posts"]).unwrap())),
        )
        .route("/me", get(whoami))
        .layer(PermissionsLayer::from_provider(JwtClaimProvider::default()))
        .layer(AuthenticateLayer::new(hs_auth()));
    let expired = hs256(&claims(json!({"exp": get_current_timestamp() - 3600})));
    let no_write = hs256(&claims(json!({"permissions": []})));
    let anonymous = || Request::get("/posts").body(Body::empty()).unwrap();
    let me = || Request::get("/me").body(Body::empty()).unwrap();
    for (name, req, status) in [
        ("no token", anonymous(), StatusCode::UNAUTHORIZED),
        ("expired token", bearer(&expired), StatusCode::UNAUTHORIZED),
        ("extractor", me(), StatusCode::UNAUTHORIZED),
        (
            "valid token",
            bearer(&hs256(&claims(json!({})))),
            StatusCode::OK,
        ),
        ("no permission", bearer(&no_write), StatusCode::FORBIDDEN),
    ] {
        let response = tower::ServiceExt::oneshot(app.clone(), req).await.unwrap();
        assert_eq!(response.status(), status, "{name}");
        let challenge = response.headers().get("www-authenticate");
        if status == StatusCode::UNAUTHORIZED {
            assert_eq!(
                challenge.map(|v| v.as_bytes()),
                Some(&b"Bearer"[..]),
                "{name}"
            );
        } else {
            assert!(challenge.is_none(), "{name}: {challenge:?}");
        }
    }
}

#[tokio::test]
async fn first_match_lists_each_challenge_once() {
    use psm_axum::{Authenticator, FirstMatch};
    use std::sync::Arc;
    let store: Arc<dyn psm_core::SessionStore> = Arc::new(psm_memory::MemoryStore::new());
    let session = Arc::new(psm_axum::auth::SessionAuthenticator::new(store));
    let jwt: Arc<dyn Authenticator> = Arc::new(hs_auth());
    assert_eq!(FirstMatch(vec![session.clone()]).challenge(), None);
    let both = FirstMatch(vec![session, jwt.clone(), jwt]);
    assert_eq!(both.challenge().unwrap(), "Bearer");
}

#[tokio::test]
async fn claim_permissions_decide_access_and_bad_claims_fail_closed() {
    let app = app(hs_auth());
    let none = hs256(&claims(json!({"permissions": ["write:posts"]})));
    assert_eq!(call(&app, bearer(&none)).await.0, StatusCode::FORBIDDEN);
    let scope = hs256(&claims(json!({"permissions": "write:posts read:posts"})));
    assert_eq!(call(&app, bearer(&scope)).await.0, StatusCode::OK);
    let invalid = hs256(&claims(json!({"permissions": ["read:posts", "bad::perm"]})));
    assert_eq!(
        call(&app, bearer(&invalid)).await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    let wrong_type = hs256(&claims(json!({"permissions": {"read:posts": true}})));
    assert_eq!(
        call(&app, bearer(&wrong_type)).await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
}

#[test]
fn unsafe_configurations_are_rejected() {
    assert!(
        JwtAuthenticator::hs256(b"short")
            .issuer("i")
            .audience("a")
            .build()
            .is_err()
    );
    assert!(
        JwtAuthenticator::hs256(SECRET)
            .audience("a")
            .build()
            .is_err(),
        "issuer required"
    );
    assert!(
        JwtAuthenticator::hs256(SECRET).issuer("i").build().is_err(),
        "audience required"
    );
    assert!(
        JwtAuthenticator::hs256(SECRET)
            .any_issuer()
            .any_audience()
            .build()
            .is_ok()
    );
    assert!(
        JwtAuthenticator::rs256_pem(b"not a key")
            .any_issuer()
            .any_audience()
            .build()
            .is_err()
    );
    assert!(
        JwtAuthenticator::hs256(SECRET)
            .any_issuer()
            .any_audience()
            .leeway(std::time::Duration::from_secs(3600))
            .build()
            .is_err()
    );
}
