//! The behaviour cases of the backend suite, one function per rule; each gets a fresh store.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// Each case's name is its documentation: the rule it proves.
#![allow(missing_docs, clippy::bool_assert_comparison)]

use std::time::Duration;

use serde_json::json;

use crate::error::{Error, Field};
use crate::session::{DEFAULT_TTL, NewSession};
use crate::time::Timestamp;

use super::Subject as Store;

const HOUR: Duration = Duration::from_secs(3600);
/// Expiry tests use this TTL and then wait [`AFTER_SHORT`] (advance the clock, or sleep where
/// the time is the server's): long enough for any backend's clock.
const SHORT: Duration = Duration::from_millis(300);
const AFTER_SHORT: Duration = Duration::from_millis(700);

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

async fn put(store: &Store, sid: &str, uid: &str, perms: &[&str], ttl: Option<Duration>) {
    let new = NewSession::new(sid, uid).permissions(perms.iter().copied());
    let new = match ttl {
        Some(t) => new.ttl(t),
        None => new.no_expiry(),
    };
    store.store_session(new).await.expect("store_session");
}

fn assert_close(a: Timestamp, b: Timestamp, tolerance_ms: u64, what: &str) {
    let diff = a.as_millis().abs_diff(b.as_millis());
    assert!(
        diff <= tolerance_ms,
        "{what}: {a} vs {b} differ by {diff} ms"
    );
}

pub async fn store_then_get_returns_what_was_stored(store: Store) {
    let before = store.now();
    let stored = store
        .store_session(
            NewSession::new("sess-1", "user-1")
                .permissions(["read", "write", "admin:*"])
                .ttl(HOUR)
                .metadata(json!({"ip": "10.0.0.1"})),
        )
        .await
        .unwrap();
    let got = store
        .get_session("sess-1")
        .await
        .unwrap()
        .expect("stored session");
    assert_eq!(got, stored, "get returns exactly what store returned");
    assert_eq!(got.session_id, "sess-1");
    assert_eq!(got.user_id, "user-1");
    assert_eq!(got.permissions, strings(&["read", "write", "admin:*"]));
    assert_eq!(got.metadata, json!({"ip": "10.0.0.1"}));
    assert!(got.created_at >= before && got.created_at <= store.now());
    assert_eq!(got.created_at, got.updated_at);
    assert_close(
        got.expires_at.expect("has expiry"),
        before.saturating_add(HOUR),
        2_000,
        "expires_at",
    );
}

pub async fn duplicate_permissions_are_stored_once_in_first_seen_order(store: Store) {
    put(&store, "dup", "u", &["b", "a", "b", "c", "a"], Some(HOUR)).await;
    let got = store.get_session("dup").await.unwrap().unwrap();
    assert_eq!(got.permissions, strings(&["b", "a", "c"]));
}

pub async fn check_permission_follows_the_shared_grammar(store: Store) {
    put(
        &store,
        "g",
        "u",
        &["read:posts", "admin:*", "posts:*:read", "test>"],
        Some(HOUR),
    )
    .await;
    for (perm, want) in [
        ("read:posts", true),
        ("read:post", false),
        ("Read:posts", false),
        ("admin:read", true),
        ("admin:users:delete", true),
        ("admin", false),
        ("posts:42:read", true),
        ("posts:read", false),
        ("posts:1:2:read", false),
        ("test", true),
        ("test.sub1.x", true),
        ("tests", false),
        ("admin:*", true),
        ("read:*", false),
    ] {
        assert_eq!(
            store.check_permission("g", perm).await.unwrap(),
            want,
            "check {perm}"
        );
    }
    let err = store.check_permission("g", "foo*").await.unwrap_err();
    assert!(matches!(err, Error::InvalidPermission(_)), "{err}");
}

pub async fn check_permissions_answers_every_requested_permission(store: Store) {
    put(&store, "m", "u", &["read", "write"], Some(HOUR)).await;
    let got = store
        .check_permissions("m", &strings(&["read", "delete", "write"]))
        .await
        .unwrap();
    assert_eq!(got.len(), 3);
    assert_eq!(got["read"], true);
    assert_eq!(got["write"], true);
    assert_eq!(got["delete"], false);
    let none = store
        .check_permissions("absent", &strings(&["read"]))
        .await
        .unwrap();
    assert_eq!(none["read"], false);
}

pub async fn missing_session_is_none_and_checks_false(store: Store) {
    assert!(store.get_session("nope").await.unwrap().is_none());
    assert!(store.get_session_info("nope").await.unwrap().is_none());
    assert!(!store.check_permission("nope", "read").await.unwrap());
    assert!(
        !store
            .update_permissions("nope", &strings(&["a"]), None)
            .await
            .unwrap()
    );
    assert!(!store.extend_session_ttl("nope", HOUR).await.unwrap());
    assert!(!store.invalidate_session("nope").await.unwrap());
    assert!(
        store.get_session("nope").await.unwrap().is_none(),
        "update must not create"
    );
}

pub async fn expired_session_is_invisible_before_any_cleanup(store: Store) {
    put(&store, "short", "exp-user", &["read"], Some(SHORT)).await;
    put(&store, "long", "exp-user", &["read"], Some(HOUR)).await;
    assert!(store.check_permission("short", "read").await.unwrap());
    store.wait(AFTER_SHORT).await;
    assert!(store.get_session("short").await.unwrap().is_none(), "get");
    assert!(
        store.get_session_info("short").await.unwrap().is_none(),
        "info"
    );
    assert!(
        !store.check_permission("short", "read").await.unwrap(),
        "check"
    );
    let many = store
        .check_permissions("short", &strings(&["read"]))
        .await
        .unwrap();
    assert_eq!(many["read"], false, "check_permissions");
    assert_eq!(
        store.list_sessions("exp-user").await.unwrap(),
        strings(&["long"]),
        "list"
    );
    assert_eq!(store.count_sessions().await.unwrap(), 1, "count");
    assert!(
        !store
            .update_permissions("short", &strings(&["x"]), None)
            .await
            .unwrap(),
        "update"
    );
    assert!(
        !store.extend_session_ttl("short", HOUR).await.unwrap(),
        "extend"
    );
    assert!(
        store.get_session("short").await.unwrap().is_none(),
        "extend must not revive"
    );
    assert!(
        !store.invalidate_session("short").await.unwrap(),
        "invalidate"
    );
    assert_eq!(store.stats().await.unwrap().live_sessions, 1, "stats");
}

pub async fn update_without_ttl_keeps_the_remaining_ttl(store: Store) {
    put(
        &store,
        "keep",
        "u",
        &["read"],
        Some(Duration::from_secs(60)),
    )
    .await;
    let original = store.get_session("keep").await.unwrap().unwrap();
    store.wait(Duration::from_millis(1_100)).await;
    assert!(
        store
            .update_permissions("keep", &strings(&["write", "read"]), None)
            .await
            .unwrap()
    );
    let updated = store.get_session("keep").await.unwrap().unwrap();
    assert_eq!(updated.permissions, strings(&["write", "read"]));
    assert_close(
        updated.expires_at.unwrap(),
        original.expires_at.unwrap(),
        50,
        "update without TTL must keep expires_at",
    );
    assert!(updated.updated_at > original.updated_at);
    assert_eq!(updated.created_at, original.created_at);
    let info = store.get_session_info("keep").await.unwrap().unwrap();
    let left = info.ttl_remaining.unwrap();
    assert!(
        left <= Duration::from_millis(59_000),
        "ttl_remaining {left:?} did not keep running"
    );
    assert!(!store.check_permission("keep", "delete").await.unwrap());
    assert!(store.check_permission("keep", "write").await.unwrap());
}

pub async fn update_with_ttl_restarts_the_clock(store: Store) {
    put(&store, "restart", "u", &["read"], Some(SHORT)).await;
    assert!(
        store
            .update_permissions("restart", &strings(&["read"]), Some(HOUR))
            .await
            .unwrap()
    );
    store.wait(AFTER_SHORT).await;
    let got = store
        .get_session("restart")
        .await
        .unwrap()
        .expect("new TTL applies");
    assert_close(
        got.expires_at.unwrap(),
        got.updated_at.saturating_add(HOUR),
        2_000,
        "expiry",
    );
}

pub async fn extend_session_ttl_sets_expiry_from_now(store: Store) {
    put(&store, "ext", "u", &["read"], Some(SHORT)).await;
    let before = store.now();
    assert!(store.extend_session_ttl("ext", HOUR).await.unwrap());
    store.wait(AFTER_SHORT).await;
    let got = store
        .get_session("ext")
        .await
        .unwrap()
        .expect("extended session lives");
    assert_close(
        got.expires_at.unwrap(),
        before.saturating_add(HOUR),
        2_000,
        "expires_at",
    );
    assert!(store.check_permission("ext", "read").await.unwrap());
    assert_eq!(store.list_sessions("u").await.unwrap(), strings(&["ext"]));
}

pub async fn list_sessions_returns_only_live_sessions_of_that_user(store: Store) {
    put(&store, "b-2", "alice", &["read"], Some(HOUR)).await;
    put(&store, "a-1", "alice", &["read"], None).await;
    put(&store, "c-3", "bob", &["read"], Some(HOUR)).await;
    put(&store, "d-4", "alice", &["read"], Some(SHORT)).await;
    assert_eq!(store.list_sessions("alice").await.unwrap().len(), 3);
    store.wait(AFTER_SHORT).await;
    assert_eq!(
        store.list_sessions("alice").await.unwrap(),
        strings(&["a-1", "b-2"])
    );
    assert_eq!(store.list_sessions("bob").await.unwrap(), strings(&["c-3"]));
    assert!(store.list_sessions("carol").await.unwrap().is_empty());
}

pub async fn concurrent_stores_for_one_user_lose_no_index_entry(store: Store) {
    let mut tasks = Vec::new();
    for i in 0..64 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .store_session(
                    NewSession::new(format!("c{i:02}"), "busy")
                        .permissions(["read"])
                        .ttl(HOUR),
                )
                .await
                .map(|_| ())
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let listed = store.list_sessions("busy").await.unwrap();
    let want: Vec<String> = (0..64).map(|i| format!("c{i:02}")).collect();
    assert_eq!(listed, want);
    // and concurrent invalidations leave nothing behind
    let mut tasks = Vec::new();
    for i in 0..64 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store.invalidate_session(&format!("c{i:02}")).await
        }));
    }
    for t in tasks {
        assert!(t.await.unwrap().unwrap());
    }
    assert!(store.list_sessions("busy").await.unwrap().is_empty());
}

pub async fn restoring_a_session_for_another_user_moves_it_between_users(store: Store) {
    put(&store, "moved", "first", &["read"], Some(HOUR)).await;
    put(&store, "moved", "second", &["write"], Some(HOUR)).await;
    assert!(
        store.list_sessions("first").await.unwrap().is_empty(),
        "no foreign session listed"
    );
    assert_eq!(
        store.list_sessions("second").await.unwrap(),
        strings(&["moved"])
    );
    assert!(!store.check_permission("moved", "read").await.unwrap());
    assert!(store.check_permission("moved", "write").await.unwrap());
    assert_eq!(store.count_sessions().await.unwrap(), 1);
}

pub async fn returned_values_cannot_change_stored_state(store: Store) {
    let mut stored = store
        .store_session(NewSession::new("own", "u").permissions(["read"]).ttl(HOUR))
        .await
        .unwrap();
    stored.permissions.push("admin".into());
    let mut got = store.get_session("own").await.unwrap().unwrap();
    assert_eq!(got.permissions, strings(&["read"]));
    got.permissions.push("admin".into());
    got.user_id = "mallory".into();
    got.metadata = json!({"evil": true});
    let again = store.get_session("own").await.unwrap().unwrap();
    assert_eq!(again.permissions, strings(&["read"]));
    assert_eq!(again.user_id, "u");
    assert_eq!(again.metadata, json!({}));
    assert!(!store.check_permission("own", "admin").await.unwrap());
    let mut listed = store.list_sessions("u").await.unwrap();
    listed.push("forged".into());
    assert_eq!(store.list_sessions("u").await.unwrap(), strings(&["own"]));
}

fn expect_field(err: Error, field: Field, what: &str) {
    match err {
        Error::InvalidInput { field: f, .. } => assert_eq!(f, field, "{what}"),
        other => panic!("{what}: expected invalid {field}, got {other:?}"),
    }
}

pub async fn invalid_input_is_rejected_with_nothing_written(store: Store) {
    let long = "a".repeat(256);
    let bad_ids = [
        "../../etc/passwd",
        "..\\x",
        "/abs",
        "",
        long.as_str(),
        "nul\0byte",
        "space id",
        "é",
    ];
    for id in bad_ids {
        let err = store
            .store_session(NewSession::new(id, "u").permissions(["read"]))
            .await
            .unwrap_err();
        expect_field(err, Field::SessionId, &format!("session id {id:?}"));
        expect_field(
            store.get_session(id).await.unwrap_err(),
            Field::SessionId,
            "get",
        );
        expect_field(
            store.check_permission(id, "read").await.unwrap_err(),
            Field::SessionId,
            "check",
        );
        expect_field(
            store.invalidate_session(id).await.unwrap_err(),
            Field::SessionId,
            "invalidate",
        );
    }
    for uid in ["", "line\nbreak", long.as_str(), "tab\there"] {
        let err = store
            .store_session(NewSession::new("ok-id", uid))
            .await
            .unwrap_err();
        expect_field(err, Field::UserId, &format!("user id {uid:?}"));
        expect_field(
            store.list_sessions(uid).await.unwrap_err(),
            Field::UserId,
            "list",
        );
    }
    for perm in ["a::b", ":a", "a.", "foo*", "a>b", ">", "", "has space"] {
        let err = store
            .store_session(NewSession::new("ok-id", "u").permissions(["read", perm]))
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidPermission(_)),
            "permission {perm:?}: {err:?}"
        );
    }
    let too_many: Vec<String> = (0..10_001).map(|i| format!("p{i}")).collect();
    let err = store
        .store_session(NewSession::new("ok-id", "u").permissions(too_many))
        .await
        .unwrap_err();
    expect_field(err, Field::Permissions, "10,001 permissions");
    let err = store
        .store_session(NewSession::new("ok-id", "u").metadata(json!(["not", "an", "object"])))
        .await
        .unwrap_err();
    expect_field(err, Field::Metadata, "metadata");
    let err = store
        .store_session(NewSession::new("ok-id", "u").ttl(Duration::ZERO))
        .await
        .unwrap_err();
    expect_field(err, Field::Ttl, "ttl");
    assert!(
        store.get_session("ok-id").await.unwrap().is_none(),
        "nothing written"
    );
    assert_eq!(store.count_sessions().await.unwrap(), 0, "nothing counted");
    assert!(
        store.list_sessions("u").await.unwrap().is_empty(),
        "nothing indexed"
    );
}

pub async fn invalid_update_leaves_the_session_unchanged(store: Store) {
    put(&store, "upd", "u", &["read"], Some(HOUR)).await;
    let before = store.get_session("upd").await.unwrap().unwrap();
    let err = store
        .update_permissions("upd", &strings(&["write", "bad::perm"]), None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidPermission(_)), "{err:?}");
    let err = store
        .update_permissions("upd", &strings(&["write"]), Some(Duration::ZERO))
        .await
        .unwrap_err();
    expect_field(err, Field::Ttl, "update ttl");
    let err = store
        .extend_session_ttl("upd", Duration::ZERO)
        .await
        .unwrap_err();
    expect_field(err, Field::Ttl, "extend ttl");
    assert_eq!(store.get_session("upd").await.unwrap().unwrap(), before);
}

pub async fn invalidate_removes_the_session_and_its_index_entry(store: Store) {
    put(&store, "gone", "u", &["read"], Some(HOUR)).await;
    put(&store, "stays", "u", &["read"], Some(HOUR)).await;
    assert!(store.invalidate_session("gone").await.unwrap());
    assert!(
        !store.invalidate_session("gone").await.unwrap(),
        "second invalidate is false"
    );
    assert!(store.get_session("gone").await.unwrap().is_none());
    assert!(!store.check_permission("gone", "read").await.unwrap());
    assert_eq!(store.list_sessions("u").await.unwrap(), strings(&["stays"]));
}

pub async fn cleanup_removes_expired_sessions_and_keeps_live_ones(store: Store) {
    put(&store, "e1", "u", &["read"], Some(SHORT)).await;
    put(&store, "e2", "u", &["read"], Some(SHORT)).await;
    put(&store, "live", "u", &["read"], Some(HOUR)).await;
    store.wait(AFTER_SHORT).await;
    let removed = store.cleanup_expired_sessions().await.unwrap();
    assert!(removed <= 2, "removed {removed}, only 2 had expired");
    assert_eq!(
        store.cleanup_expired_sessions().await.unwrap(),
        0,
        "second cleanup finds nothing"
    );
    assert_eq!(store.count_sessions().await.unwrap(), 1);
    assert!(store.get_session("live").await.unwrap().is_some());
    assert_eq!(store.list_sessions("u").await.unwrap(), strings(&["live"]));
}

pub async fn count_sessions_counts_live_sessions_only(store: Store) {
    assert_eq!(
        store.count_sessions().await.unwrap(),
        0,
        "a fresh store is empty"
    );
    for i in 0..5 {
        put(&store, &format!("n{i}"), "u", &["read"], Some(HOUR)).await;
    }
    put(&store, "n0", "u", &["write"], Some(HOUR)).await; // replace, not add
    put(&store, "dies", "u", &["read"], Some(SHORT)).await;
    assert_eq!(store.count_sessions().await.unwrap(), 6);
    store.wait(AFTER_SHORT).await;
    assert_eq!(store.count_sessions().await.unwrap(), 5);
    store.invalidate_session("n1").await.unwrap();
    assert_eq!(store.count_sessions().await.unwrap(), 4);
}

pub async fn default_ttl_applies_when_none_is_given(store: Store) {
    let before = store.now();
    let s = store
        .store_session(NewSession::new("deflt", "u").permissions(["read"]))
        .await
        .unwrap();
    assert_close(
        s.expires_at.expect("default TTL"),
        before.saturating_add(DEFAULT_TTL),
        2_000,
        "default",
    );
}

pub async fn sessions_without_expiry_have_no_ttl(store: Store) {
    put(&store, "forever", "u", &["read"], None).await;
    let s = store.get_session("forever").await.unwrap().unwrap();
    assert_eq!(s.expires_at, None);
    let info = store.get_session_info("forever").await.unwrap().unwrap();
    assert_eq!(info.ttl_remaining, None);
    assert!(
        store
            .update_permissions("forever", &strings(&["x"]), None)
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .get_session("forever")
            .await
            .unwrap()
            .unwrap()
            .expires_at,
        None
    );
}

pub async fn metadata_round_trips_as_a_json_object(store: Store) {
    let meta =
        json!({"ip": "10.0.0.1", "nested": {"n": 1, "list": [1, "two", null]}, "unicode": "Zoë"});
    store
        .store_session(
            NewSession::new("meta", "u")
                .metadata(meta.clone())
                .ttl(HOUR),
        )
        .await
        .unwrap();
    assert_eq!(
        store.get_session("meta").await.unwrap().unwrap().metadata,
        meta
    );
    let info = store.get_session_info("meta").await.unwrap().unwrap();
    assert_eq!(info.metadata, meta);
    assert_eq!(info.permission_count, 0);
    put(&store, "nometa", "u", &[], Some(HOUR)).await;
    assert_eq!(
        store.get_session("nometa").await.unwrap().unwrap().metadata,
        json!({})
    );
}

pub async fn unicode_user_ids_and_longest_ids_work(store: Store) {
    let long_sid = "s".repeat(255);
    let long_uid = "ü".repeat(127); // 254 bytes
    put(&store, &long_sid, &long_uid, &["read"], Some(HOUR)).await;
    put(&store, "zoe", "Zoë 🦀 / ../..", &["read"], Some(HOUR)).await;
    assert_eq!(
        store.list_sessions(&long_uid).await.unwrap(),
        vec![long_sid.clone()]
    );
    assert_eq!(
        store.list_sessions("Zoë 🦀 / ../..").await.unwrap(),
        strings(&["zoe"])
    );
    assert!(store.check_permission(&long_sid, "read").await.unwrap());
}

pub async fn health_check_reports_healthy(store: Store) {
    let health = store.health_check().await;
    assert!(health.is_healthy(), "{health:?}");
    assert_eq!(health.backend, store.backend());
}

pub async fn stats_report_live_sessions(store: Store) {
    put(&store, "st1", "u1", &["read"], Some(HOUR)).await;
    put(&store, "st2", "u2", &["read"], Some(HOUR)).await;
    let stats = store.stats().await.unwrap();
    assert_eq!(stats.backend, store.backend());
    assert_eq!(stats.live_sessions, 2);
}

pub async fn closed_store_rejects_later_calls(store: Store) {
    put(&store, "cl", "u", &["read"], Some(HOUR)).await;
    store.close().await.unwrap();
    assert!(matches!(
        store.check_permission("cl", "read").await,
        Err(Error::Closed)
    ));
    assert!(matches!(store.get_session("cl").await, Err(Error::Closed)));
    assert!(matches!(
        store.store_session(NewSession::new("cl2", "u")).await,
        Err(Error::Closed)
    ));
    assert!(!store.health_check().await.is_healthy());
}
