//! ACL stores by URL: the built-in `memory://`, `file:` (a JSON file) and `sqlite://` stores
//! keep what was saved, unknown schemes and options are refused, and a third-party scheme
//! registered with `register_acl_store` is opened like a built-in one.
#![cfg(feature = "acl")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use permission_storage_manager as psm;
use psm::acl::Acl;
use psm::acl_stores::{
    AclStore, MemoryAclStore, acl_store_schemes, open_acl_store, register_acl_store, supports_acl,
};

/// Saves a grant and an inheritance through a store opened by `url`, then reads them back
/// through a second store opened by the same URL.
async fn round_trip(url: &str) {
    let store = open_acl_store(url).await.unwrap();
    let mut acl = store.load().await.unwrap();
    assert!(!acl.check("editor", "blog", "posts:edit"), "{url}");
    acl.grant("viewer", "blog", "posts:*").unwrap();
    acl.add_parent("editor", "viewer").unwrap();
    store.save(&acl).await.unwrap();
    store.close().await;
    let again = open_acl_store(url).await.unwrap().load().await.unwrap();
    assert!(again.check("editor", "blog", "posts:edit"), "{url}");
    assert!(!again.check("editor", "wiki", "posts:edit"), "{url}");
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("psm-acl-stores-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn a_json_file_acl_is_kept_across_opens() {
    let dir = scratch("file");
    let file = dir.join("acl.json");
    round_trip(&format!("file://{}", file.display())).await;
    assert!(file.is_file());
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn an_sqlite_acl_is_kept_across_opens() {
    let dir = scratch("sqlite");
    round_trip(&format!(
        "sqlite://{}?create=true",
        dir.join("acl.db").display()
    ))
    .await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn memory_file_and_a_registered_scheme_are_acl_stores_and_others_are_refused() {
    // memory:// is per store: a second open starts empty
    let store = open_acl_store("memory://").await.unwrap();
    let mut acl = Acl::new();
    acl.grant("r", "res", "p").unwrap();
    store.save(&acl).await.unwrap();
    assert!(store.load().await.unwrap().check("r", "res", "p"));
    assert!(
        !open_acl_store("memory://")
            .await
            .unwrap()
            .load()
            .await
            .unwrap()
            .check("r", "res", "p")
    );
    assert!(open_acl_store("memory://?bogus=1").await.is_err());

    assert!(!supports_acl("toyacl2://x"));
    let e = open_acl_store("toyacl2://x").await.unwrap_err();
    assert!(e.to_string().contains("ACLs are not supported"), "{e}");
    // one shared store behind the toy scheme: what one open saves, the next loads
    let shared = Arc::new(MemoryAclStore::default());
    let handed = shared.clone();
    register_acl_store("toyacl2", move |_url| {
        let s = handed.clone();
        async move { Ok(s as Arc<dyn AclStore>) }
    })
    .unwrap();
    assert!(supports_acl("toyacl2://x"));
    assert!(acl_store_schemes().contains(&"toyacl2".to_owned()));
    assert!(
        register_acl_store("file", |_url| async {
            Ok(Arc::new(MemoryAclStore::default()) as Arc<dyn AclStore>)
        })
        .is_err(),
        "a built-in scheme cannot be taken over"
    );
    round_trip("toyacl2://x").await;
    assert!(
        shared
            .load()
            .await
            .unwrap()
            .check("editor", "blog", "posts:x")
    );
}
