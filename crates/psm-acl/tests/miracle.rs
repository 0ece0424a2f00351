//! Miracle's documented behaviour, call by call: structure, grants, checks and `which` queries.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{HashMap, HashSet};

use psm_acl::Acl;

fn set<const N: usize>(items: [&str; N]) -> HashSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn sorted<'a>(it: impl Iterator<Item = &'a String>) -> Vec<String> {
    let mut v: Vec<String> = it.cloned().collect();
    v.sort();
    v
}

#[test]
fn add_role_and_add_roles_define_roles_once() {
    let mut acl = Acl::new();
    assert!(acl.add_role("admin").unwrap());
    assert!(!acl.add_role("admin").unwrap());
    assert_eq!(acl.add_roles(["admin", "root", "root", "user"]).unwrap(), 2);
    assert_eq!(sorted(acl.roles()), vec!["admin", "root", "user"]);
}

#[test]
fn add_resource_and_add_permission_define_the_structure() {
    let mut acl = Acl::new();
    assert!(acl.add_resource("blog").unwrap());
    assert!(!acl.add_resource("blog").unwrap());
    assert_eq!(acl.permissions("blog").count(), 0);
    assert!(acl.add_permission("blog", "post").unwrap());
    assert!(!acl.add_permission("blog", "post").unwrap());
    assert!(acl.add_permission("page", "view").unwrap()); // creates the resource
    assert_eq!(sorted(acl.resources()), vec!["blog", "page"]);
    assert_eq!(sorted(acl.permissions("blog")), vec!["post"]);
    assert_eq!(acl.permissions("missing").count(), 0);
    // a defined permission is granted to no one
    assert!(acl.roles().next().is_none());
    assert!(!acl.check("anyone", "blog", "post"));
}

#[test]
fn add_defines_a_whole_structure_and_get_returns_it() {
    let mut acl = Acl::new();
    let n = acl
        .add([
            ("blog", vec!["post"]),
            ("page", vec!["create", "read", "update", "delete"]),
            ("empty", vec![]),
        ])
        .unwrap();
    assert_eq!(n, 5);
    let want: HashMap<String, HashSet<String>> = [
        ("blog".to_string(), set(["post"])),
        (
            "page".to_string(),
            set(["create", "read", "update", "delete"]),
        ),
        ("empty".to_string(), HashSet::new()),
    ]
    .into();
    assert_eq!(acl.structure(), want);
    assert_eq!(acl.permission_count(), 5);
}

#[test]
fn grant_creates_missing_roles_resources_and_permissions() {
    let mut acl = Acl::new();
    assert!(acl.grant("admin", "blog", "delete").unwrap());
    assert!(!acl.grant("admin", "blog", "delete").unwrap());
    assert!(acl.has_role("admin"));
    assert!(acl.has_resource("blog"));
    assert!(acl.has_permission("blog", "delete"));
    assert!(acl.check("admin", "blog", "delete"));
    assert_eq!(acl.grant_count(), 1);
}

#[test]
fn check_with_unknown_role_resource_or_permission_is_false() {
    let mut acl = Acl::new();
    acl.grant("admin", "blog", "delete").unwrap();
    acl.add_role("nobody").unwrap();
    acl.add_permission("blog", "post").unwrap();
    assert!(!acl.check("ghost", "blog", "delete"));
    assert!(!acl.check("admin", "ghost", "delete"));
    assert!(!acl.check("admin", "blog", "ghost"));
    assert!(!acl.check("nobody", "blog", "delete"));
    assert!(!acl.check("admin", "blog", "post")); // defined but not granted
    assert!(!acl.check("admin", "blog", "not a permission")); // invalid: never granted
}

#[test]
fn grants_adds_a_nested_map_of_grants() {
    let mut acl = Acl::new();
    let n = acl
        .grants([
            (
                "admin".to_string(),
                vec![("blog".to_string(), vec!["post".to_string()])],
            ),
            (
                "anonymous".to_string(),
                vec![(
                    "page".to_string(),
                    vec!["view".to_string(), "list".to_string()],
                )],
            ),
        ])
        .unwrap();
    assert_eq!(n, 3);
    assert!(acl.check("admin", "blog", "post"));
    assert!(acl.check("anonymous", "page", "list"));
    assert!(!acl.check("anonymous", "blog", "post"));
}

#[test]
fn grants_is_all_or_nothing_on_an_invalid_permission() {
    let mut acl = Acl::new();
    let err = acl
        .grants([(
            "admin".to_string(),
            vec![(
                "blog".to_string(),
                vec!["post".to_string(), "bad*".to_string()],
            )],
        )])
        .unwrap_err();
    assert!(matches!(err, psm_acl::Error::InvalidPermission(_)));
    assert_eq!(acl.role_count(), 0);
    assert_eq!(acl.grant_count(), 0);
}

#[test]
fn revoke_removes_one_grant_and_ignores_absent_ones() {
    let mut acl = Acl::new();
    acl.grant("anonymous", "page", "view").unwrap();
    acl.grant("anonymous", "page", "list").unwrap();
    assert!(acl.revoke("anonymous", "page", "view"));
    assert!(!acl.revoke("anonymous", "page", "view"));
    assert!(!acl.revoke("user", "account", "delete"));
    assert!(!acl.check("anonymous", "page", "view"));
    assert!(acl.check("anonymous", "page", "list"));
    // the structure stays
    assert!(acl.has_permission("page", "view"));
    assert_eq!(acl.grant_count(), 1);
}

#[test]
fn revoke_all_clears_one_resource_or_every_resource() {
    let mut acl = Acl::new();
    for (res, perm) in [("page", "view"), ("page", "list"), ("blog", "read")] {
        acl.grant("anonymous", res, perm).unwrap();
    }
    acl.grant("admin", "page", "view").unwrap();
    assert_eq!(acl.revoke_all("anonymous", Some(&"page".to_string())), 2);
    assert!(!acl.check("anonymous", "page", "list"));
    assert!(acl.check("anonymous", "blog", "read"));
    assert_eq!(acl.revoke_all_on("anonymous", "nowhere"), 0);
    assert_eq!(acl.revoke_all("anonymous", None), 1);
    assert!(!acl.check("anonymous", "blog", "read"));
    assert!(acl.check("admin", "page", "view"));
    assert!(acl.has_role("anonymous"));
    assert_eq!(acl.revoke_all("ghost", None), 0);
}

#[test]
fn check_any_and_check_all_are_false_on_an_empty_role_list() {
    let mut acl = Acl::new();
    acl.grant("a", "blog", "read").unwrap();
    acl.grant("b", "blog", "read").unwrap();
    acl.grant("b", "blog", "write").unwrap();
    let none: [&str; 0] = [];
    assert!(!acl.check_any(none, "blog", "read"));
    assert!(!acl.check_all(none, "blog", "read"));
    assert!(acl.check_any(["ghost", "a"], "blog", "read"));
    assert!(acl.check_any(["a", "b"], "blog", "write"));
    assert!(!acl.check_any(["a", "ghost"], "blog", "write"));
    assert!(acl.check_all(["a", "b"], "blog", "read"));
    assert!(!acl.check_all(["a", "b"], "blog", "write"));
    assert!(!acl.check_all(["a", "ghost"], "blog", "read"));
    assert!(!acl.check_any(["a", "b"], "ghost", "read"));
}

#[test]
fn which_permissions_lists_one_resource_for_one_any_or_all_roles() {
    let mut acl = Acl::new();
    acl.grant("anonymous", "page", "view").unwrap();
    acl.grant("registered", "page", "view").unwrap();
    acl.grant("registered", "page", "edit").unwrap();
    assert_eq!(
        acl.which_permissions("registered", "page").to_set(),
        set(["view", "edit"])
    );
    assert!(acl.which_permissions("ghost", "page").is_empty());
    assert!(acl.which_permissions("registered", "ghost").is_empty());
    let both = ["anonymous", "registered"];
    assert_eq!(
        acl.which_permissions_any(both, "page").to_set(),
        set(["view", "edit"])
    );
    let all = acl.which_permissions_all(both, "page");
    assert_eq!(all.to_set(), set(["view"]));
    assert!(all.contains("view") && !all.contains("edit"));
    assert_eq!(all.len(), 1);
    let none: [&str; 0] = [];
    assert!(acl.which_permissions_all(none, "page").is_empty());
    assert!(acl.which_permissions_any(none, "page").is_empty());
}

#[test]
fn which_collects_grants_per_resource() {
    let mut acl = Acl::new();
    acl.grant("admin", "blog", "post").unwrap();
    acl.grant("admin", "blog", "delete").unwrap();
    acl.grant("admin", "page", "view").unwrap();
    acl.add_role("empty").unwrap();
    let which = acl.which("admin");
    assert_eq!(which.len(), 2);
    assert_eq!(which.pair_count(), 3);
    assert!(which.contains("blog", "delete"));
    assert!(!which.contains("page", "delete"));
    assert_eq!(which.get("page").unwrap().to_set(), set(["view"]));
    assert!(which.get("ghost").is_none());
    assert_eq!(
        which.to_map(),
        HashMap::from([
            ("blog".to_string(), set(["post", "delete"])),
            ("page".to_string(), set(["view"])),
        ])
    );
    assert!(acl.which("empty").is_empty());
    assert!(acl.which("ghost").is_empty());
}

#[test]
fn which_any_unions_and_which_all_intersects_dropping_resources_a_role_lacks() {
    let mut acl = Acl::new();
    acl.grant("anonymous", "page", "view").unwrap();
    acl.grant("anonymous", "blog", "read").unwrap();
    acl.grant("registered", "page", "view").unwrap();
    acl.grant("registered", "page", "edit").unwrap();
    acl.grant("registered", "forum", "post").unwrap();
    acl.grant("registered", "blog", "comment").unwrap();
    let both = ["anonymous", "registered"];
    assert_eq!(
        acl.which_any(both).to_map(),
        HashMap::from([
            ("page".to_string(), set(["view", "edit"])),
            ("blog".to_string(), set(["read", "comment"])),
            ("forum".to_string(), set(["post"])),
        ])
    );
    // blog: both hold something, but nothing in common -> dropped; forum: anonymous lacks it
    assert_eq!(
        acl.which_all(both).to_map(),
        HashMap::from([("page".to_string(), set(["view"]))])
    );
    assert!(acl.which_all(["anonymous", "ghost"]).is_empty());
    let none: [&str; 0] = [];
    assert!(acl.which_all(none).is_empty());
    assert!(acl.which_any(none).is_empty());
}

#[test]
fn show_returns_every_direct_grant() {
    let mut acl = Acl::new();
    acl.grant("admin", "blog", "post").unwrap();
    acl.grant("anonymous", "page", "view").unwrap();
    acl.add_role("idle").unwrap();
    assert_eq!(
        acl.show(),
        HashMap::from([
            (
                "admin".to_string(),
                HashMap::from([("blog".to_string(), set(["post"]))])
            ),
            (
                "anonymous".to_string(),
                HashMap::from([("page".to_string(), set(["view"]))])
            ),
        ])
    );
}

#[test]
fn remove_permission_affects_only_the_named_resource() {
    let mut acl = Acl::new();
    acl.grant("admin", "blog", "post").unwrap();
    acl.grant("admin", "page", "post").unwrap();
    acl.grant("user", "blog", "post").unwrap();
    assert!(acl.remove_permission("blog", "post"));
    assert!(!acl.remove_permission("blog", "post"));
    assert!(!acl.check("admin", "blog", "post"));
    assert!(!acl.check("user", "blog", "post"));
    assert!(acl.check("admin", "page", "post"));
    assert!(acl.has_resource("blog"));
    assert_eq!(acl.permissions("blog").count(), 0);
    assert_eq!(acl.grant_count(), 1);
    // a permission defined again later is not granted to anyone
    acl.add_permission("blog", "post").unwrap();
    assert!(!acl.check("admin", "blog", "post"));
}

#[test]
fn remove_role_drops_the_role_and_its_grants() {
    let mut acl = Acl::new();
    acl.grant("admin", "blog", "post").unwrap();
    acl.grant("user", "blog", "read").unwrap();
    assert!(acl.remove_role("admin"));
    assert!(!acl.remove_role("admin"));
    assert!(!acl.has_role("admin"));
    assert!(!acl.check("admin", "blog", "post"));
    assert!(acl.has_permission("blog", "post"));
    assert_eq!(acl.grant_count(), 1);
    // a role of the same name starts empty
    acl.add_role("admin").unwrap();
    assert!(!acl.check("admin", "blog", "post"));
    assert!(acl.check("user", "blog", "read"));
}

#[test]
fn remove_resource_drops_its_permissions_and_grants() {
    let mut acl = Acl::new();
    acl.grant("admin", "blog", "post").unwrap();
    acl.grant("admin", "page", "view").unwrap();
    assert!(acl.remove_resource("blog"));
    assert!(!acl.remove_resource("blog"));
    assert!(!acl.check("admin", "blog", "post"));
    assert_eq!(sorted(acl.resources()), vec!["page"]);
    assert_eq!(acl.which("admin").len(), 1);
    assert_eq!(acl.grant_count(), 1);
    acl.add_permission("blog", "post").unwrap();
    assert!(!acl.check("admin", "blog", "post"));
}

#[test]
fn clear_removes_everything() {
    let mut acl = Acl::new();
    acl.grant("admin", "blog", "post").unwrap();
    acl.add_parent("root", "admin").unwrap();
    acl.clear();
    assert_eq!(acl.role_count(), 0);
    assert_eq!(acl.resource_count(), 0);
    assert_eq!(acl.grant_count(), 0);
    assert_eq!(acl.parent_count(), 0);
    assert!(!acl.check("root", "blog", "post"));
}

#[test]
fn generic_types_work_with_exact_permissions() {
    use psm_acl::Exact;
    let mut acl: Acl<u32, (u8, u8), Exact<String>> = Acl::default();
    acl.grant(7u32, (1, 2), Exact("any thing*".to_string()))
        .unwrap();
    let granted = Exact("any thing*".to_string());
    assert!(acl.check(&7, &(1, 2), &granted));
    assert!(acl.check(&7, &(1, 2), &"any thing*".to_string())); // through Borrow<String>
    assert!(!acl.check(&7, &(1, 2), &Exact("any".to_string())));
    assert!(!acl.check(&8, &(1, 2), &granted));
    assert_eq!(acl.which(&7).pair_count(), 1);
}

#[test]
fn limits_refuse_growth_without_changing_anything() {
    use psm_acl::{AclLimits, Error};
    let mut acl: Acl = Acl::with_limits(AclLimits::default().with_max_grants(2));
    acl.grant("a", "r", "p1").unwrap();
    let err = acl
        .grant_many([("a", "r", "p2"), ("b", "r", "p3")])
        .unwrap_err();
    assert!(matches!(
        err,
        Error::QuotaExceeded {
            what: "grants",
            limit: 2
        }
    ));
    assert_eq!(acl.grant_count(), 1);
    assert!(!acl.has_role("b"));
    // re-granting existing grants does not count
    assert_eq!(acl.grant_many([("a", "r", "p1")]).unwrap(), 0);
    let mut acl: Acl = Acl::with_limits(AclLimits::default().with_max_permissions(1));
    acl.add_permission("r", "p").unwrap();
    assert!(acl.add_permission("r", "q").is_err());
    assert!(acl.add([("s", ["p"])]).is_err());
    assert!(!acl.has_resource("s"));
    let mut acl: Acl = Acl::with_limits(AclLimits::default().with_max_resources(1));
    acl.add_resource("r").unwrap();
    assert!(acl.grant("a", "s", "p").is_err());
    assert!(!acl.has_role("a"));
    let mut acl: Acl = Acl::with_limits(AclLimits::default().with_max_parents(1));
    acl.add_parent("a", "b").unwrap();
    assert!(acl.add_parent("a", "c").is_err());
    assert!(!acl.has_role("c"));
}
