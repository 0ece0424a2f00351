//! `SessionStore::check_permission_now`, the synchronous seam the manager tries first: the same
//! answers, validation and errors as the async `check_permission`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use psm_core::clock::{ManualClock, SharedClock};
use psm_core::{Error, NewSession, SessionStore};
use psm_memory::{MemoryConfig, MemoryStore};

#[tokio::test]
async fn the_synchronous_check_answers_like_the_async_one() {
    let store = MemoryStore::new();
    let store: &dyn SessionStore = &store;
    store
        .store_session(NewSession::new("s1", "u").permissions(["posts:*", "read"]))
        .await
        .unwrap();
    for (sid, perm) in [
        ("s1", "read"),
        ("s1", "posts:edit"),
        ("s1", "write"),
        ("missing", "read"),
    ] {
        let now = store
            .check_permission_now(sid, perm)
            .into_result()
            .expect("memory answers at once");
        assert_eq!(
            now.unwrap(),
            store.check_permission(sid, perm).await.unwrap(),
            "{sid} {perm}"
        );
    }
    let bad_id = store
        .check_permission_now("../s1", "read")
        .into_result()
        .unwrap();
    assert!(bad_id.unwrap_err().is_invalid_input());
    let bad_perm = store
        .check_permission_now("s1", "a::b")
        .into_result()
        .unwrap();
    assert!(bad_perm.unwrap_err().is_invalid_input());
    store.close().await.unwrap();
    assert!(matches!(
        store.check_permission_now("s1", "read").into_result(),
        Some(Err(Error::Closed))
    ));
}

/// The exact grants are compared before the permission is parsed: an invalid permission is
/// still a typed error on a held session (live or expired), and a pattern asked as written is
/// matched as a pattern.
#[tokio::test]
async fn exact_grants_first_still_rejects_invalid_permissions() {
    let manual = Arc::new(ManualClock::starting_now());
    let config = MemoryConfig {
        clock: SharedClock::new(manual.clone()),
        ..MemoryConfig::default()
    };
    let store = MemoryStore::with_config(config).unwrap();
    let store: &dyn SessionStore = &store;
    store
        .store_session(NewSession::new("s1", "u").permissions(["read", "posts:*", "a.b"]))
        .await
        .unwrap();
    store
        .store_session(
            NewSession::new("s2", "u")
                .permissions(["read"])
                .ttl(Duration::from_secs(1)),
        )
        .await
        .unwrap();
    let answer = |sid: &str, perm: &str| {
        store
            .check_permission_now(sid, perm)
            .into_result()
            .expect("memory answers at once")
    };
    assert!(answer("s1", "read").unwrap());
    assert!(answer("s1", "a.b").unwrap());
    assert!(answer("s1", "posts:edit").unwrap());
    assert!(
        answer("s1", "posts:*").unwrap(),
        "a pattern asked is covered by itself"
    );
    assert!(!answer("s1", "write").unwrap());
    assert!(
        !answer("s1", "posts>").unwrap(),
        "posts:* does not cover posts>"
    );
    for bad in ["", "re ad", "a::b", "read:", "*x", "a..b"] {
        let err = answer("s1", bad).expect_err(bad);
        assert!(err.is_invalid_input(), "{bad:?}: {err}");
        assert_eq!(
            err.to_string(),
            store
                .check_permission("s1", bad)
                .await
                .unwrap_err()
                .to_string(),
            "{bad:?}"
        );
    }
    // an invalid id and an invalid permission: the id's error, as on every path
    let both = answer("../s1", "a::b").unwrap_err();
    assert!(both.to_string().contains("session_id"), "{both}");
    // expired: no grant answers, an invalid permission is still an error
    manual.advance(Duration::from_secs(2));
    assert!(!answer("s2", "read").unwrap());
    assert!(answer("s2", "a::b").unwrap_err().is_invalid_input());
    assert!(answer("s1", "read").unwrap(), "s1 is still live");
}
