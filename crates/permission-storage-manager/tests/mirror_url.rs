//! `mirror=true` on a tuple-store URL: `psm serve`'s stores (through `server_state`, as the
//! CLI opens them) on SQLite with the relationships mirrored in process: the same URL still
//! opens the session store, answers are the store's, writes are seen at once, and a write made
//! through another handle is seen at `fully_consistent`; bad mirror options are typed URL
//! errors.
#![cfg(all(feature = "server", feature = "sqlite"))]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::call;

use axum::http::StatusCode;
use permission_storage_manager as psm;
use psm::server::router;
use psm::server_stores::server_state;
use psm::tuple_stores::open_tuple_store;
use serde_json::json;

async fn allowed(app: &axum::Router, subject: &str, consistency: &str) -> bool {
    let (status, body) = call(
        app,
        "POST",
        "/v1/check",
        json!({"resource": "doc:1", "permission": "view", "subject": subject,
               "consistency": consistency}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["allowed"]
        .as_bool()
        .unwrap_or_else(|| panic!("{body}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mirrored_sqlite_store_is_served_with_the_stores_answers() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let plain = format!("sqlite://{}?create=true", db.display());
    let url = format!("{plain}&mirror=true&mirror_poll=1h");
    let app = router(server_state(&url).await.unwrap().build().await.unwrap());
    let (status, body) = call(
        &app,
        "PUT",
        "/v1/schema",
        json!({"schema": "definition user {}\ndefinition doc { relation viewer: user\n permission view = viewer }"}),
    )
    .await;
    assert!(status.is_success(), "{body}");
    let (status, body) = call(
        &app,
        "POST",
        "/v1/relationships/write",
        json!({"updates": [{"operation": "touch", "relationship": "doc:1#viewer@user:ann"}]}),
    )
    .await;
    assert!(status.is_success(), "{body}");
    assert!(allowed(&app, "user:ann", "minimize_latency").await);
    assert!(!allowed(&app, "user:bob", "minimize_latency").await);

    // a write through another handle (another process would do the same)
    let other = open_tuple_store(&plain).await.unwrap();
    other
        .tuples()
        .write(
            &[psm::rebac::RelationshipUpdate::touch(
                "doc:1#viewer@user:bob".parse().unwrap(),
            )],
            &[],
        )
        .await
        .unwrap();
    assert!(allowed(&app, "user:bob", "fully_consistent").await);
    // the session store on the same URL took no offence at the mirror options
    let (status, body) = call(
        &app,
        "POST",
        "/v1/sessions",
        json!({"session_id": "s1", "user_id": "ann", "permissions": ["read:posts"]}),
    )
    .await;
    assert!(status.is_success(), "{body}");
}

#[tokio::test]
async fn bad_mirror_options_are_url_errors() {
    for (url, says) in [
        ("memory://?mirror=true", "already in it"),
        ("sqlite::memory:?mirror_poll=5ms", "need mirror=true"),
        ("sqlite::memory:?mirror=maybe", "not a boolean"),
        ("sqlite::memory:?mirror=true&mirror_poll=0", "at least 1ms"),
    ] {
        let err = open_tuple_store(url).await.unwrap_err();
        assert!(
            matches!(err, psm::core::Error::InvalidUrl { .. }) && err.to_string().contains(says),
            "{url}: {err}"
        );
    }
}
