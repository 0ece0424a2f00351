//! The one behaviour suite every `AssignmentStore` runs (feature `testkit`).
//!
//! A backend's test file calls the macro with an async factory returning a fresh, empty,
//! isolated store (its own tables or prefix):
//!
//! ```ignore
//! async fn store() -> psm_catalog::MemoryAssignments { psm_catalog::MemoryAssignments::new() }
//! psm_catalog::assignment_store_tests!(store);
//! ```
//!
//! This expands to one `#[tokio::test]` per behaviour, each calling the case of the same name
//! here, plus `model_equivalence`, which runs a seeded random sequence of operations on the store
//! and on a plain model and demands the same answers. Test code: assertions panic by design.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};

use psm_core::{PermissionSet, PermissionsProvider, Principal};

use crate::{AssignmentStore, Assignments, Catalog, Error, Permission};

/// The `permission_list` django-permagate's README gives for its tree.
pub const README_LIST: [&str; 8] = [
    "*",
    "test",
    "test>",
    "test.sub1",
    "test.sub1>",
    "test.sub1.sub-sub1",
    "test.sub2",
    "test1",
];

/// django-permagate's README tree, as declared.
pub fn readme_tree() -> Permission {
    Permission::root().register([
        Permission::new("test")
            .name("Optional Name")
            .description("Optional Description")
            .register([
                Permission::new("sub1").register([Permission::new("sub-sub1")]),
                Permission::new("sub2"),
            ]),
        Permission::new("test1"),
    ])
}

/// django-permagate's README tree, validated.
pub fn readme_catalog() -> Catalog {
    Catalog::new(readme_tree()).unwrap()
}

fn gate<S: AssignmentStore>(store: S) -> Assignments<S> {
    Assignments::new(readme_catalog(), store)
}

/// Permagate's README: a direct `test>` and a group's `test.sub1>` both give `test.sub1`.
pub async fn direct_and_group_grants<S: AssignmentStore>(store: S) {
    let g = gate(store);
    assert!(g.assign_user("test", "test>").await.unwrap());
    assert!(g.assign_group("test", "test.sub1>").await.unwrap());
    assert!(g.add_member("test", "test2").await.unwrap());
    assert!(g.has_permission("test", "test.sub1").await.unwrap());
    assert!(g.has_permission("test", "test").await.unwrap());
    assert!(g.has_permission("test2", "test.sub1").await.unwrap());
    assert!(
        g.has_permission("test2", "test.sub1.sub-sub1")
            .await
            .unwrap()
    );
    assert!(!g.has_permission("test2", "test.sub2").await.unwrap());
    assert!(!g.has_permission("test2", "test").await.unwrap());
    assert!(!g.has_permission("test", "test1").await.unwrap());
    assert!(!g.has_permission("nobody", "test").await.unwrap());
    assert_eq!(g.groups_of("test2").await.unwrap(), ["test"]);
    assert_eq!(g.group_grants("test").await.unwrap(), ["test.sub1>"]);
    assert_eq!(g.user_grants("test").await.unwrap(), ["test>"]);
    assert!(
        g.user_grants("test2").await.unwrap().is_empty(),
        "a group named like a user grants nothing to that user's own list"
    );
}

/// Undeclared grants are a typed error and write nothing, for users and groups alike.
pub async fn undeclared_grants_write_nothing<S: AssignmentStore>(store: S) {
    let g = gate(store);
    for bad in [
        "test.sub3",
        "test.sub2>",
        "test1>",
        "tests",
        "test:sub1",
        "admin:*",
    ] {
        assert!(
            matches!(g.assign_user("u", bad).await, Err(Error::Undeclared { .. })),
            "{bad}"
        );
        assert!(matches!(
            g.assign_group("g", bad).await,
            Err(Error::Undeclared { .. })
        ));
    }
    let err = g.assign_user("u", "a::b").await.unwrap_err();
    assert!(err.is_invalid_input(), "{err}");
    assert!(g.user_grants("u").await.unwrap().is_empty());
    assert!(g.group_grants("g").await.unwrap().is_empty());
    assert!(g.effective_grants("u").await.unwrap().is_empty());
}

/// Bad user and group ids are refused before the store is touched.
pub async fn bad_ids_are_refused<S: AssignmentStore>(store: S) {
    let g = gate(store);
    for bad in ["", "a\nb", &"x".repeat(256)] {
        assert!(
            g.assign_user(bad, "test")
                .await
                .unwrap_err()
                .is_invalid_input()
        );
        assert!(
            g.assign_group(bad, "test")
                .await
                .unwrap_err()
                .is_invalid_input()
        );
        assert!(g.add_member(bad, "u").await.unwrap_err().is_invalid_input());
        assert!(g.add_member("g", bad).await.unwrap_err().is_invalid_input());
        assert!(
            g.has_permission(bad, "test")
                .await
                .unwrap_err()
                .is_invalid_input()
        );
    }
    assert!(
        g.has_permission("u", "a..b")
            .await
            .unwrap_err()
            .is_invalid_input()
    );
}

/// Grants and memberships are sets: a repeat changes nothing and says so; revokes say whether
/// there was something to take back, and take the access with them.
pub async fn writes_are_idempotent_and_revocable<S: AssignmentStore>(store: S) {
    let g = gate(store);
    assert!(g.assign_user("u", "test.sub2").await.unwrap());
    assert!(!g.assign_user("u", "test.sub2").await.unwrap());
    assert!(g.assign_group("g", "test1").await.unwrap());
    assert!(!g.assign_group("g", "test1").await.unwrap());
    assert!(g.add_member("g", "u").await.unwrap());
    assert!(!g.add_member("g", "u").await.unwrap());
    assert!(g.has_permission("u", "test1").await.unwrap());
    assert!(g.remove_member("g", "u").await.unwrap());
    assert!(!g.remove_member("g", "u").await.unwrap());
    assert!(!g.has_permission("u", "test1").await.unwrap());
    assert!(g.unassign_user("u", "test.sub2").await.unwrap());
    assert!(!g.unassign_user("u", "test.sub2").await.unwrap());
    assert!(!g.has_permission("u", "test.sub2").await.unwrap());
    assert!(g.unassign_group("g", "test1").await.unwrap());
    assert!(!g.unassign_group("g", "test1").await.unwrap());
    assert!(g.group_grants("g").await.unwrap().is_empty());
}

/// `*` covers everything, declared or not; effective grants are sorted and without duplicates;
/// ids compare byte for byte; the provider answers the effective grants.
pub async fn root_wildcard_effective_list_and_provider<S: AssignmentStore>(store: S) {
    let g = gate(store);
    assert!(g.assign_user("root", "*").await.unwrap());
    assert!(
        g.has_permission("root", "test.sub1.sub-sub1")
            .await
            .unwrap()
    );
    assert!(g.has_permission("root", "anything.else").await.unwrap());
    for p in ["test1", "test.sub2", "test>"] {
        g.assign_user("Zoë 🦀", p).await.unwrap();
    }
    g.assign_group("team", "test.sub2").await.unwrap();
    g.assign_group("team", "test.sub1").await.unwrap();
    g.add_member("team", "Zoë 🦀").await.unwrap();
    let all = g.effective_grants("Zoë 🦀").await.unwrap();
    assert_eq!(all, ["test.sub1", "test.sub2", "test1", "test>"]);
    assert!(g.effective_grants("zoë 🦀").await.unwrap().is_empty());
    let fetched = g
        .fetch_permissions(&Principal::new("sub-1").with_username("Zoë 🦀"))
        .await
        .unwrap();
    assert_eq!(fetched, all);
}

/// A seeded random sequence of operations agrees with a plain model at every step.
pub async fn model_equivalence<S: AssignmentStore>(store: S) {
    let g = gate(store);
    let list: Vec<String> = g.catalog().permission_list().to_vec();
    let users = ["u1", "u2", "u3"];
    let groups = ["g1", "g2"];
    let mut users_m: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    let mut groups_m: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    let mut members_m: BTreeSet<(&str, &str)> = BTreeSet::new();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    for _ in 0..150 {
        let (u, gr, p) = (
            users[next(3)],
            groups[next(2)],
            list[next(list.len())].clone(),
        );
        match next(6) {
            0 => assert_eq!(
                g.assign_user(u, &p).await.unwrap(),
                users_m.entry(u).or_default().insert(p)
            ),
            1 => assert_eq!(
                g.unassign_user(u, &p).await.unwrap(),
                users_m.entry(u).or_default().remove(&p)
            ),
            2 => assert_eq!(
                g.assign_group(gr, &p).await.unwrap(),
                groups_m.entry(gr).or_default().insert(p)
            ),
            3 => assert_eq!(
                g.unassign_group(gr, &p).await.unwrap(),
                groups_m.entry(gr).or_default().remove(&p)
            ),
            4 => assert_eq!(
                g.add_member(gr, u).await.unwrap(),
                members_m.insert((gr, u))
            ),
            _ => assert_eq!(
                g.remove_member(gr, u).await.unwrap(),
                members_m.remove(&(gr, u))
            ),
        }
        let mut expected: BTreeSet<String> = users_m.get(u).cloned().unwrap_or_default();
        for (group, member) in &members_m {
            if *member == u {
                expected.extend(groups_m.get(group).cloned().unwrap_or_default());
            }
        }
        let expected: Vec<String> = expected.into_iter().collect();
        assert_eq!(g.effective_grants(u).await.unwrap(), expected);
        let set = PermissionSet::new(&expected).unwrap();
        for probe in ["test", "test.sub1.sub-sub1", "test1", "test.sub2"] {
            assert_eq!(
                g.has_permission(u, probe).await.unwrap(),
                set.check(probe).unwrap(),
                "{u} {probe}"
            );
        }
    }
}

/// Expands to one `#[tokio::test]` per case of [`crate::testkit`], each on a fresh store from the
/// async factory `$make`.
#[macro_export]
macro_rules! assignment_store_tests {
    ($make:path) => {
        $crate::assignment_store_tests!(@cases $make;
            direct_and_group_grants,
            undeclared_grants_write_nothing,
            bad_ids_are_refused,
            writes_are_idempotent_and_revocable,
            root_wildcard_effective_list_and_provider,
            model_equivalence);
    };
    (@cases $make:path; $($case:ident),*) => {
        $(
            #[tokio::test]
            async fn $case() {
                if let Some(store) = $make().await {
                    $crate::testkit::$case(store).await;
                }
            }
        )*
    };
}
