//! The ACL in SQL tables (feature `acl`), on every compiled-in database: exact round trips of
//! hostile names, save replaces (never merges), concurrent saves never interleave, bounded and
//! validated loads, and write-through changes that leave the tables equal to memory.
#![cfg(feature = "acl")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "it/common.rs"]
mod common;

use psm_acl::{Acl, AclData, AclLimits};
use psm_core::Error;
use psm_sql::acl::{AclStoreConfig, SqlAcl, SqlAclStore};

use crate::common::with_options;

/// Names that break naive SQL, quoting, collation or encoding.
const HOSTILE: &[&str] = &[
    "",
    " ",
    "trailing ",
    "Admin",
    "admin",
    "a\0b",
    "'; DROP TABLE psm_acl_roles; --",
    "\" OR 1=1 --",
    "`tick`",
    "back\\slash",
    "100%_like",
    "?",
    "$1",
    "tab\there\nnewline\r",
    "ünïcødé 🦀",
    "\u{feff}bom",
    "e\u{301}",
    "\u{e9}",
];

fn sorted(mut data: AclData) -> AclData {
    data.sort();
    data
}

fn hostile_acl() -> Acl {
    let mut acl = Acl::new();
    for (i, name) in HOSTILE.iter().enumerate() {
        let next = HOSTILE[(i + 1) % HOSTILE.len()];
        acl.grant(*name, next, "read").unwrap();
        acl.grant(*name, *name, "posts:*").unwrap();
        acl.add_permission(*name, "admin:users:delete").unwrap();
    }
    acl.add_role("lonely role").unwrap();
    acl.add_resource("lonely resource").unwrap();
    // a chain of parents through hostile names (no cycle)
    for pair in HOSTILE.windows(2) {
        acl.add_parent(pair[0], pair[1]).unwrap();
    }
    acl
}

async fn hostile_names_round_trip_exactly(url: String) {
    let store = SqlAclStore::connect(&url).await.unwrap();
    let acl = hostile_acl();
    store.save(&acl).await.unwrap();
    let loaded = store.load().await.unwrap();
    assert_eq!(sorted(loaded.export()), sorted(acl.export()));
    // semantics survive: inheritance along the chain, pattern grants
    let (first, last) = (HOSTILE[0], HOSTILE[HOSTILE.len() - 1]);
    assert!(
        loaded.check(first, last, "posts:edit"),
        "inherited pattern grant"
    );
    assert!(
        !loaded.check(last, first, "posts:edit"),
        "inheritance is one-way"
    );
    assert!(loaded.check("a\0b", "a\0b", "posts:x"));
    // "Admin" inherits from "admin" (the chain), not the other way round: names are distinct
    assert!(loaded.check("Admin", "admin", "posts:x"));
    assert!(!loaded.check("admin", "Admin", "posts:x"), "case matters");
    assert!(loaded.has_role("trailing ") && !loaded.has_role("trailing"));
    assert!(loaded.has_resource("lonely resource"));
    assert!(loaded.has_permission("e\u{301}", "admin:users:delete"));
    assert!(!loaded.has_resource("\u{e9}x"));
    store.close().await;
}
per_database!(hostile_round_trip, crate::hostile_names_round_trip_exactly);

async fn save_replaces_and_never_merges(url: String) {
    let store = SqlAclStore::connect(&url).await.unwrap();
    let mut a = Acl::new();
    a.grant("alice", "blog", "read").unwrap();
    a.add_parent("alice", "staff").unwrap();
    store.save(&a).await.unwrap();
    let v1 = store.version().await.unwrap();
    let mut b = Acl::new();
    b.grant("bob", "wiki", "write").unwrap();
    store.save(&b).await.unwrap();
    assert!(store.version().await.unwrap() > v1);
    let loaded = store.load().await.unwrap();
    assert_eq!(sorted(loaded.export()), sorted(b.export()));
    assert!(!loaded.has_role("alice") && !loaded.has_role("staff"));
    // an empty ACL empties the tables
    store.save(&Acl::new()).await.unwrap();
    assert_eq!(store.load().await.unwrap().export(), AclData::default());
    store.close().await;
}
per_database!(save_replaces, crate::save_replaces_and_never_merges);

/// Many rows: crosses the multi-row INSERT chunk size with a partial tail.
async fn large_acl_round_trips(url: String) {
    let store = SqlAclStore::connect(&url).await.unwrap();
    let mut acl = Acl::new();
    acl.grant_many((0..7).flat_map(|r| {
        (0..97).flat_map(move |s| {
            (0..3).map(move |p| (format!("r{r}"), format!("s{s}"), format!("p{p}")))
        })
    }))
    .unwrap();
    assert_eq!(acl.grant_count(), 7 * 97 * 3);
    store.save(&acl).await.unwrap();
    let loaded = store.load().await.unwrap();
    assert_eq!(loaded.grant_count(), acl.grant_count());
    assert_eq!(sorted(loaded.export()), sorted(acl.export()));
    store.close().await;
}
per_database!(large_round_trip, crate::large_acl_round_trips);

async fn concurrent_saves_never_interleave(url: String) {
    let store = SqlAclStore::connect(&url).await.unwrap();
    let make = |tag: &str| {
        let mut acl = Acl::new();
        acl.grant_many(
            (0..400).map(|i| (format!("{tag}-role{}", i % 7), format!("res{i}"), "read")),
        )
        .unwrap();
        acl
    };
    let (a, b) = (make("a"), make("b"));
    let mut tasks = Vec::new();
    for k in 0..6 {
        let store = store.clone();
        let acl = if k % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move { store.save(&acl).await }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let loaded = sorted(store.load().await.unwrap().export());
    assert!(
        loaded == sorted(a.export()) || loaded == sorted(b.export()),
        "the tables hold one whole save, not a mix ({} grants)",
        loaded.grants.len()
    );
    store.close().await;
}
per_database!(concurrent_saves, crate::concurrent_saves_never_interleave);

async fn loads_are_bounded_by_the_limits(url: String) {
    let store = SqlAclStore::connect(&url).await.unwrap();
    let mut acl = Acl::new();
    acl.grant_many([("r", "s", "a"), ("r", "s", "b"), ("r", "s", "c")])
        .unwrap();
    store.save(&acl).await.unwrap();
    let config = AclStoreConfig::from_url(psm_core::StoreUrl::parse(&url).unwrap())
        .unwrap()
        .limits(AclLimits::default().with_max_grants(2))
        .migrate(false);
    let small = SqlAclStore::connect_with(config).await.unwrap();
    assert!(matches!(
        small.load().await,
        Err(Error::QuotaExceeded {
            what: "grants",
            limit: 2
        })
    ));
    small.close().await;
    store.close().await;
}
per_database!(bounded_loads, crate::loads_are_bounded_by_the_limits);

/// After every write-through change the tables hold exactly the in-memory ACL.
async fn write_through_keeps_tables_equal_to_memory(url: String) {
    let store = SqlAclStore::connect(&url).await.unwrap();
    let mut acl = SqlAcl::load(store.clone()).await.unwrap();
    async fn same(acl: &SqlAcl, store: &SqlAclStore) {
        let stored = store.load().await.unwrap();
        assert_eq!(sorted(stored.export()), sorted(acl.export()));
    }
    assert!(acl.grant("viewer", "blog", "read").await.unwrap());
    assert!(!acl.grant("viewer", "blog", "read").await.unwrap());
    assert!(acl.grant("editor", "blog", "write").await.unwrap());
    assert!(acl.grant("a\0'\"", "x; --", "posts:*").await.unwrap());
    assert!(acl.add_parent("editor", "viewer").await.unwrap());
    assert!(acl.add_parent("root", "editor").await.unwrap());
    assert!(acl.check("root", "blog", "read"));
    same(&acl, &store).await;

    // refusals write nothing and change nothing
    let before = store.version().await.unwrap();
    assert!(matches!(
        acl.add_parent("viewer", "root").await,
        Err(Error::InvalidHierarchy { .. })
    ));
    assert!(matches!(
        acl.grant("viewer", "blog", "bad permission").await,
        Err(Error::InvalidPermission(_))
    ));
    let long = "x".repeat(256);
    assert!(matches!(
        acl.grant(&long, "blog", "read").await,
        Err(Error::InvalidInput { .. })
    ));
    assert!(!acl.has_role(long.as_str()));
    assert!(!acl.revoke("nobody", "blog", "read").await.unwrap());
    assert_eq!(store.version().await.unwrap(), before);
    same(&acl, &store).await;

    assert!(acl.add_role("auditor").await.unwrap());
    assert!(acl.add_resource("wiki").await.unwrap());
    assert!(acl.add_permission("wiki", "edit").await.unwrap());
    assert!(acl.grant("auditor", "wiki", "edit").await.unwrap());
    assert!(acl.grant("auditor", "blog", "read").await.unwrap());
    same(&acl, &store).await;

    assert!(acl.revoke("viewer", "blog", "read").await.unwrap());
    assert!(!acl.check("root", "blog", "read"));
    assert_eq!(acl.revoke_all("auditor", Some("wiki")).await.unwrap(), 1);
    assert!(acl.remove_parent("root", "editor").await.unwrap());
    assert!(!acl.remove_parent("root", "editor").await.unwrap());
    same(&acl, &store).await;

    assert!(acl.remove_permission("blog", "write").await.unwrap());
    assert!(!acl.check("editor", "blog", "write"));
    assert!(acl.remove_resource("x; --").await.unwrap());
    assert!(acl.remove_role("editor").await.unwrap());
    assert!(!acl.remove_role("editor").await.unwrap());
    assert_eq!(acl.revoke_all("auditor", None).await.unwrap(), 1);
    same(&acl, &store).await;

    // another handle sees the changes after a reload
    let mut other = SqlAcl::load(store.clone()).await.unwrap();
    assert!(acl.grant("late", "blog", "read").await.unwrap());
    assert!(!other.check("late", "blog", "read"));
    other.reload().await.unwrap();
    assert!(other.check("late", "blog", "read"));

    acl.clear().await.unwrap();
    assert_eq!(store.load().await.unwrap().export(), AclData::default());
    store.close().await;
}
per_database!(
    write_through,
    crate::write_through_keeps_tables_equal_to_memory
);

/// A write the database refuses is undone in memory, and the copy stays marked dirty.
async fn failed_writes_are_undone_in_memory(url: String) {
    let store = SqlAclStore::connect(&url).await.unwrap();
    let mut acl = SqlAcl::load(store.clone()).await.unwrap();
    assert!(acl.grant("kept", "blog", "read").await.unwrap());
    store.close().await;
    assert!(matches!(
        acl.grant("lost", "wiki", "edit").await,
        Err(Error::Closed)
    ));
    assert!(acl.is_dirty());
    assert!(!acl.has_role("lost") && !acl.has_resource("wiki"));
    assert!(acl.check("kept", "blog", "read"));
    // the next call tries to reload first, and fails closed while the store is gone
    assert!(matches!(
        acl.revoke("kept", "blog", "read").await,
        Err(Error::Closed)
    ));
    assert!(acl.check("kept", "blog", "read"));
}
per_database!(failed_writes, crate::failed_writes_are_undone_in_memory);

async fn migrations_rerun_and_refuse_bad_prefixes(url: String) {
    let first = SqlAclStore::connect(&url).await.unwrap();
    let mut acl = Acl::new();
    acl.grant("r", "s", "p").unwrap();
    first.save(&acl).await.unwrap();
    // a second connect re-runs the migrations: nothing changes
    let second = SqlAclStore::connect(&url).await.unwrap();
    assert_eq!(
        sorted(second.load().await.unwrap().export()),
        sorted(acl.export())
    );
    second.close().await;
    first.close().await;
    let bad = with_options(url.split('?').next().unwrap(), "table_prefix=x;drop");
    assert!(SqlAclStore::connect(&bad).await.is_err());
}
per_database!(migrations, crate::migrations_rerun_and_refuse_bad_prefixes);

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn rows_breaking_the_rules_fail_the_load_as_corrupt() {
    use psm_sql::sqlx;
    let url = common::sqlite_store_url("");
    let store = SqlAclStore::connect(&url).await.unwrap();
    let mut acl = Acl::new();
    acl.add_parent("a", "b").unwrap();
    store.save(&acl).await.unwrap();
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    // a cycle written by another tool
    sqlx::query("INSERT INTO psm_acl_parents (role, parent) VALUES (?, ?)")
        .bind(b"b".as_slice())
        .bind(b"a".as_slice())
        .execute(&pool)
        .await
        .unwrap();
    assert!(matches!(store.load().await, Err(Error::Corrupt { .. })));
    sqlx::query("DELETE FROM psm_acl_parents")
        .execute(&pool)
        .await
        .unwrap();
    // a permission outside the grammar, and bytes that are not UTF-8
    sqlx::query("INSERT INTO psm_acl_resources (name) VALUES (?)")
        .bind(b"res".as_slice())
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO psm_acl_permissions (resource, permission) VALUES (?, ?)")
        .bind(b"res".as_slice())
        .bind(b"two words".as_slice())
        .execute(&pool)
        .await
        .unwrap();
    assert!(matches!(store.load().await, Err(Error::Corrupt { .. })));
    sqlx::query("DELETE FROM psm_acl_permissions")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO psm_acl_roles (name) VALUES (?)")
        .bind([0xffu8, 0xfe].as_slice())
        .execute(&pool)
        .await
        .unwrap();
    assert!(matches!(store.load().await, Err(Error::Corrupt { .. })));
    pool.close().await;
    store.close().await;
}
