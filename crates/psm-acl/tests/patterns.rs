//! Pattern permissions through psm's grammar, per resource, with inheritance and removal.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use psm_acl::{Acl, Error};

#[test]
fn the_design_table_holds_for_acl_grants() {
    let mut acl = Acl::new();
    for grant in ["read:posts", "admin:*", "posts:*:read", "test>"] {
        acl.grant("r", "res", grant).unwrap();
    }
    for (perm, want) in [
        ("read:posts", true),
        ("read:post", false),
        ("admin:read", true),
        ("admin:users:delete", true),
        ("admin", false),
        ("posts:42:read", true),
        ("posts:read", false),
        ("posts:1:2:read", false),
        ("test", true),
        ("test.sub1", true),
        ("test.sub1.x", true),
        ("tests", false),
        ("tes", false),
    ] {
        assert_eq!(acl.check("r", "res", perm), want, "{perm}");
    }
}

#[test]
fn a_pattern_grant_holds_only_on_its_resource() {
    let mut acl = Acl::new();
    acl.grant("editor", "blog", "posts:*").unwrap();
    acl.add_permission("page", "posts:edit").unwrap();
    assert!(acl.check("editor", "blog", "posts:edit")); // never defined, matched
    assert!(!acl.check("editor", "page", "posts:edit"));
    assert!(!acl.check("editor", "blog", "posts"));
}

#[test]
fn star_grants_everything_on_the_resource() {
    let mut acl = Acl::new();
    acl.grant("root", "blog", "*").unwrap();
    assert!(acl.check("root", "blog", "anything:at.all"));
    assert!(acl.check("root", "blog", "admin:*"));
    assert!(!acl.check("root", "page", "read"));
}

#[test]
fn checking_a_pattern_asks_for_coverage() {
    let mut acl = Acl::new();
    acl.grant("a", "r", "admin>").unwrap();
    acl.grant("b", "r", "admin:read").unwrap();
    acl.grant("c", "r", "admin:*").unwrap();
    assert!(acl.check("a", "r", "admin:*"));
    assert!(!acl.check("b", "r", "admin:*"));
    assert!(acl.check("c", "r", "admin:*"));
    assert!(!acl.check("c", "r", "admin>"));
}

#[test]
fn exact_grants_take_part_in_covering_a_checked_pattern() {
    let mut acl = Acl::new();
    acl.grant("a", "r", "posts.*").unwrap();
    acl.grant("a", "r", "posts:*").unwrap();
    assert!(!acl.check("a", "r", "posts>"));
    acl.grant("parent", "r", "posts").unwrap();
    acl.add_parent("a", "parent").unwrap();
    assert!(acl.check("a", "r", "posts>")); // posts (inherited) + posts.* + posts:*
    acl.revoke("parent", "r", "posts");
    assert!(!acl.check("a", "r", "posts>"));
    acl.grant("a", "r", "posts").unwrap(); // an exact grant next to existing patterns
    assert!(acl.check("a", "r", "posts>"));
}

#[test]
fn patterns_are_inherited_and_removed_with_their_grants() {
    let mut acl = Acl::new();
    acl.grant("staff", "blog", "posts>").unwrap();
    acl.add_parent("intern", "staff").unwrap();
    assert!(acl.check("intern", "blog", "posts.draft.edit"));
    assert!(acl.check_any(["ghost", "intern"], "blog", "posts"));
    assert!(acl.check_all(["staff", "intern"], "blog", "posts.x"));
    assert!(acl.remove_permission("blog", "posts>"));
    assert!(!acl.check("intern", "blog", "posts.draft.edit"));
    acl.grant("staff", "blog", "posts>").unwrap();
    assert!(acl.revoke("staff", "blog", "posts>"));
    assert!(!acl.check("staff", "blog", "posts"));
    acl.grant("staff", "blog", "posts>").unwrap();
    assert!(acl.remove_parent("intern", "staff"));
    assert!(!acl.check("intern", "blog", "posts"));
    assert!(acl.check("staff", "blog", "posts"));
}

#[test]
fn which_lists_patterns_as_written() {
    let mut acl = Acl::new();
    acl.grant("r", "res", "admin:*").unwrap();
    acl.grant("r", "res", "read").unwrap();
    let perms = acl.which_permissions("r", "res");
    assert!(perms.contains("admin:*"));
    assert!(!perms.contains("admin:users"));
    assert_eq!(perms.len(), 2);
}

#[test]
fn invalid_permissions_are_rejected_on_entry_and_never_granted() {
    let mut acl = Acl::new();
    for bad in ["", "foo*", "a>b", "a::b", "with space", ">"] {
        let err = acl.grant("r", "res", bad).unwrap_err();
        assert!(matches!(err, Error::InvalidPermission(_)), "{bad}");
        assert!(acl.add_permission("res", bad).is_err());
    }
    assert_eq!(acl.role_count(), 0);
    assert_eq!(acl.resource_count(), 0);
    acl.grant("r", "res", "*").unwrap();
    assert!(!acl.check("r", "res", "foo*"));
    assert!(!acl.check("r", "res", ""));
}

#[test]
fn exact_permission_types_never_match_patterns() {
    use psm_acl::Exact;
    let mut acl: Acl<String, String, Exact<String>> = Acl::default();
    acl.grant("r", "res", Exact("admin:*".to_string())).unwrap();
    assert!(acl.check("r", "res", &Exact("admin:*".to_string())));
    assert!(!acl.check("r", "res", &Exact("admin:read".to_string())));
}
