//! `SessionStore::check_permission_now`, the synchronous seam the manager tries first: the same
//! answers, validation and errors as the async `check_permission`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use psm_core::{Error, NewSession, SessionStore};
use psm_memory::MemoryStore;

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
