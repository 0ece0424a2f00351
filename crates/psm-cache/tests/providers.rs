//! Behaviour of `CachedProvider` and `HierarchyProvider`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::RwLock;
use psm_cache::{CacheConfig, CacheKey, CachedProvider, HierarchyProvider, LocalBus};
use psm_core::{Error, Hierarchy, PermissionsProvider, Principal, Result, async_trait};

/// A user → permissions table that counts its fetches; `fail` makes it fail.
#[derive(Debug, Default)]
struct Table {
    users: RwLock<HashMap<String, Vec<String>>>,
    fetches: AtomicUsize,
    fail: std::sync::atomic::AtomicBool,
}

impl Table {
    fn set(&self, user: &str, perms: &[&str]) {
        self.users
            .write()
            .insert(user.into(), perms.iter().map(|p| p.to_string()).collect());
    }
}

#[async_trait]
impl PermissionsProvider for Table {
    async fn fetch_permissions(&self, p: &Principal) -> Result<Vec<String>> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        if self.fail.load(Ordering::SeqCst) {
            return Err(Error::Connection {
                backend: "table",
                message: "down".into(),
            });
        }
        Ok(self
            .users
            .read()
            .get(p.lookup_name())
            .cloned()
            .unwrap_or_default())
    }
}

#[tokio::test]
async fn answers_are_cached_per_lookup_name_until_invalidated() {
    let table = Arc::new(Table::default());
    table.set("alice", &["read:posts"]);
    let cached = CachedProvider::new(table.clone(), CacheConfig::default()).unwrap();
    let alice = Principal::new("sub-1").with_username("alice");
    assert!(
        cached
            .permission_set(&alice)
            .await
            .unwrap()
            .check("read:posts")
            .unwrap()
    );
    table.set("alice", &[]);
    assert!(
        cached
            .permission_set(&alice)
            .await
            .unwrap()
            .check("read:posts")
            .unwrap()
    );
    assert_eq!(table.fetches.load(Ordering::SeqCst), 1);
    cached.invalidate("alice").await.unwrap();
    assert!(
        !cached
            .permission_set(&alice)
            .await
            .unwrap()
            .check("read:posts")
            .unwrap()
    );
    assert_eq!(
        cached.fetch_permissions(&alice).await.unwrap(),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn errors_are_not_cached_and_surface() {
    let table = Arc::new(Table::default());
    table.set("bob", &["read"]);
    table.fail.store(true, Ordering::SeqCst);
    let cached = CachedProvider::new(table.clone(), CacheConfig::default()).unwrap();
    let bob = Principal::new("bob");
    assert!(cached.permission_set(&bob).await.is_err());
    table.fail.store(false, Ordering::SeqCst);
    assert!(
        cached
            .permission_set(&bob)
            .await
            .unwrap()
            .check("read")
            .unwrap()
    );
}

#[tokio::test]
async fn an_answer_outside_the_grammar_is_an_error() {
    let table = Arc::new(Table::default());
    table.set("eve", &["read", "bad::perm"]);
    let cached = CachedProvider::new(table, CacheConfig::default()).unwrap();
    let err = cached
        .permission_set(&Principal::new("eve"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidPermission(_)), "{err:?}");
}

#[tokio::test]
async fn an_oversized_answer_is_an_error() {
    let table = Arc::new(Table::default());
    table.set("big", &["a", "b", "c"]);
    let cached = CachedProvider::new(table, CacheConfig::default())
        .unwrap()
        .max_permissions(2);
    assert!(
        cached
            .permission_set(&Principal::new("big"))
            .await
            .unwrap_err()
            .is_invalid_input()
    );
}

#[tokio::test]
async fn session_keyed_caches_skip_principals_without_a_session() {
    let table = Arc::new(Table::default());
    table.set("s", &["read"]);
    let cached = CachedProvider::new(table.clone(), CacheConfig::default())
        .unwrap()
        .key_by(CacheKey::SessionId);
    let no_session = Principal::new("s");
    cached.permission_set(&no_session).await.unwrap();
    cached.permission_set(&no_session).await.unwrap();
    assert_eq!(table.fetches.load(Ordering::SeqCst), 2, "not cached");
    let with = Principal::new("s").with_session_id("sid-1");
    cached.permission_set(&with).await.unwrap();
    cached.permission_set(&with).await.unwrap();
    assert_eq!(table.fetches.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn an_invalidation_on_one_instance_reaches_the_other() {
    let table = Arc::new(Table::default());
    table.set("carol", &["admin:*"]);
    let bus = Arc::new(LocalBus::default());
    let a = CachedProvider::with_bus(table.clone(), CacheConfig::default(), bus.clone())
        .await
        .unwrap();
    let b = CachedProvider::with_bus(table.clone(), CacheConfig::default(), bus)
        .await
        .unwrap();
    let carol = Principal::new("carol");
    assert!(
        b.permission_set(&carol)
            .await
            .unwrap()
            .check("admin:x")
            .unwrap()
    );
    table.set("carol", &[]);
    a.invalidate("carol").await.unwrap();
    let mut revoked = false;
    // Generous, so a loaded machine cannot fail a correct build: the test asserts delivery,
    // not its speed.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while std::time::Instant::now() < deadline {
        if !b
            .permission_set(&carol)
            .await
            .unwrap()
            .check("admin:x")
            .unwrap()
        {
            revoked = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    assert!(revoked, "revoke not seen");
}

#[tokio::test]
async fn hierarchy_expansion_is_transitive_and_cached_expanded() {
    let table = Arc::new(Table::default());
    table.set("dave", &["admin"]);
    let hierarchy = Hierarchy::builder()
        .bundle("admin", ["editor", "delete:posts"])
        .bundle("editor", ["read:posts", "write:posts"])
        .build()
        .unwrap();
    let expanded = HierarchyProvider::new(table.clone(), hierarchy);
    let got = expanded
        .fetch_permissions(&Principal::new("dave"))
        .await
        .unwrap();
    assert_eq!(
        got,
        [
            "admin",
            "delete:posts",
            "editor",
            "read:posts",
            "write:posts"
        ]
    );
    let cached = CachedProvider::new(expanded, CacheConfig::default()).unwrap();
    let set = cached
        .permission_set(&Principal::new("dave"))
        .await
        .unwrap();
    assert!(set.check("write:posts").unwrap());
    assert!(!set.check("admin:x").unwrap());
}
