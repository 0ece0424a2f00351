//! `HttpProvider` (feature `http`) against a local permissions API on 127.0.0.1:0.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use common::serve;
use psm_axum::providers::HttpProvider;
use psm_core::{Error, PermissionsProvider, Principal};
use serde_json::json;

async fn api() -> String {
    let app = Router::new()
        .route(
            "/users/{name}/permissions",
            get(|Path(name): Path<String>, headers: HeaderMap| async move {
                let authorized =
                    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some("Bearer k");
                match name.as_str() {
                    _ if !authorized => (StatusCode::UNAUTHORIZED, "no".to_owned()),
                    "alice" => (
                        StatusCode::OK,
                        json!(["read:posts", "write:posts"]).to_string(),
                    ),
                    "bob" => (
                        StatusCode::OK,
                        json!({"permissions": ["read:posts"]}).to_string(),
                    ),
                    "bad-json" => (StatusCode::OK, "{not json".to_owned()),
                    "bad-perm" => (StatusCode::OK, json!(["a::b"]).to_string()),
                    "not-strings" => (StatusCode::OK, json!([1, 2]).to_string()),
                    "slow" => {
                        tokio::time::sleep(Duration::from_secs(3)).await;
                        (StatusCode::OK, "[]".to_owned())
                    }
                    // echo the decoded name, to prove it arrived as one path segment
                    other => (
                        StatusCode::OK,
                        json!([format!("echo.{}", other.len())]).to_string(),
                    ),
                }
            }),
        )
        .route("/missing/{name}", get(|| async { StatusCode::NOT_FOUND }))
        .route(
            "/redirect/{name}",
            get(|| async {
                (
                    StatusCode::FOUND,
                    [("location", "/users/alice/permissions")],
                )
            }),
        );
    serve(app).await
}

fn provider(base: &str, path: &str) -> HttpProvider {
    HttpProvider::builder(format!("{base}{path}"))
        .bearer_token("k")
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap()
}

#[tokio::test]
async fn lists_and_objects_are_accepted() {
    let base = api().await;
    let p = provider(&base, "/users/{username}/permissions");
    assert_eq!(
        p.fetch_permissions(&Principal::new("alice")).await.unwrap(),
        ["read:posts", "write:posts"]
    );
    let bob = Principal::new("sub-9").with_username("bob");
    assert_eq!(p.fetch_permissions(&bob).await.unwrap(), ["read:posts"]);
}

#[tokio::test]
async fn every_failure_is_an_error_never_an_empty_list() {
    let base = api().await;
    let p = provider(&base, "/users/{subject}/permissions");
    for who in ["bad-json", "bad-perm", "not-strings"] {
        assert!(
            p.fetch_permissions(&Principal::new(who)).await.is_err(),
            "{who}"
        );
    }
    let err = p
        .fetch_permissions(&Principal::new("slow"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    let missing = provider(&base, "/missing/{subject}");
    assert!(
        missing
            .fetch_permissions(&Principal::new("x"))
            .await
            .is_err(),
        "404"
    );
    let redirect = provider(&base, "/redirect/{subject}");
    assert!(
        redirect
            .fetch_permissions(&Principal::new("x"))
            .await
            .is_err(),
        "redirects are not followed"
    );
    let unauthorized = HttpProvider::builder(format!("{base}/users/{{subject}}/permissions"))
        .build()
        .unwrap();
    assert!(
        unauthorized
            .fetch_permissions(&Principal::new("alice"))
            .await
            .is_err(),
        "401"
    );
    let closed = provider("http://127.0.0.1:9", "/users/{subject}");
    assert!(
        closed
            .fetch_permissions(&Principal::new("alice"))
            .await
            .is_err(),
        "connection refused"
    );
}

#[tokio::test]
async fn substituted_values_cannot_escape_their_path_segment() {
    let base = api().await;
    let p = provider(&base, "/users/{subject}/permissions");
    // "../../x/y" would leave the segment if not encoded; encoded, it reaches the route whole
    let got = p
        .fetch_permissions(&Principal::new("../../x/y"))
        .await
        .unwrap();
    assert_eq!(got, ["echo.9"]);
}

#[test]
fn bad_templates_are_rejected() {
    for bad in [
        "ftp://h/{subject}",
        "http://{subject}.evil/x",
        "http://h/{unknown}",
        "http://h/{subject",
        "not a url",
    ] {
        assert!(HttpProvider::builder(bad).build().is_err(), "{bad}");
    }
    assert!(
        HttpProvider::builder("https://h/u/{username}?s={subject}")
            .build()
            .is_ok()
    );
}
