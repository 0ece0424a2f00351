//! Role inheritance: transitive grants, several parents, cycle rejection, edge and role removal.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;

use psm_acl::{Acl, Error};

fn names<'a>(it: impl Iterator<Item = &'a String>) -> HashSet<String> {
    it.cloned().collect()
}

fn hierarchy() -> Acl {
    let mut acl = Acl::new();
    acl.grant("viewer", "blog", "read").unwrap();
    acl.grant("editor", "blog", "write").unwrap();
    acl.grant("moderator", "forum", "ban").unwrap();
    acl.add_parent("editor", "viewer").unwrap();
    acl.add_parent("admin", "editor").unwrap();
    acl.add_parent("admin", "moderator").unwrap();
    acl
}

#[test]
fn a_role_holds_what_its_ancestors_hold_transitively() {
    let acl = hierarchy();
    assert!(acl.check("admin", "blog", "read"));
    assert!(acl.check("admin", "blog", "write"));
    assert!(acl.check("admin", "forum", "ban"));
    assert!(acl.check("editor", "blog", "read"));
    assert!(!acl.check("editor", "forum", "ban"));
    assert!(!acl.check("viewer", "blog", "write"));
    assert_eq!(
        names(acl.parents("admin")),
        names(["editor".to_string(), "moderator".to_string()].iter())
    );
    assert_eq!(acl.ancestors("admin").count(), 3);
    assert_eq!(acl.parent_count(), 3);
}

#[test]
fn which_includes_inherited_grants_but_show_lists_direct_ones() {
    let acl = hierarchy();
    let which = acl.which("admin");
    assert_eq!(which.pair_count(), 3);
    assert!(which.contains("blog", "read"));
    assert!(acl.which_permissions("editor", "blog").contains("read"));
    assert!(!acl.show().contains_key("admin"));
    assert_eq!(acl.grant_count(), 3);
    assert_eq!(
        acl.which_all(["admin", "editor"]).to_map(),
        acl.which("editor").to_map()
    );
}

#[test]
fn add_parent_creates_roles_and_is_idempotent() {
    let mut acl = Acl::new();
    assert!(acl.add_parent("child", "parent").unwrap());
    assert!(!acl.add_parent("child", "parent").unwrap());
    assert!(acl.has_role("child") && acl.has_role("parent"));
    assert_eq!(acl.parent_count(), 1);
}

#[test]
fn grants_made_after_the_edge_are_inherited_too() {
    let mut acl = Acl::new();
    acl.add_parent("b", "a").unwrap();
    acl.add_parent("c", "b").unwrap();
    acl.grant("a", "r", "p").unwrap();
    assert!(acl.check("c", "r", "p"));
    assert!(acl.revoke("a", "r", "p"));
    assert!(!acl.check("c", "r", "p"));
}

#[test]
fn revoking_on_a_child_keeps_what_a_parent_grants() {
    let mut acl = Acl::new();
    acl.grant("parent", "r", "p").unwrap();
    acl.grant("child", "r", "p").unwrap();
    acl.add_parent("child", "parent").unwrap();
    assert!(acl.revoke("child", "r", "p"));
    assert!(acl.check("child", "r", "p"));
    assert_eq!(acl.revoke_all("child", None), 0);
    assert!(acl.check("child", "r", "p"));
    assert_eq!(acl.revoke_all("parent", None), 1);
    assert!(!acl.check("child", "r", "p"));
}

#[test]
fn cycles_are_rejected_with_the_path_and_nothing_changes() {
    let mut acl = hierarchy();
    let before = acl.export();
    let err = acl.add_parent("viewer", "admin").unwrap_err();
    match &err {
        Error::Cycle { path } => assert_eq!(
            path,
            &["\"viewer\"", "\"admin\"", "\"editor\"", "\"viewer\""]
        ),
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.is_invalid_input());
    assert!(matches!(
        acl.add_parent("viewer", "viewer"),
        Err(Error::Cycle { .. })
    ));
    assert!(matches!(
        acl.add_parent("ghost", "ghost"),
        Err(Error::Cycle { .. })
    ));
    assert!(!acl.has_role("ghost"));
    assert_eq!(acl.export(), before);
    assert!(!acl.check("viewer", "blog", "write"));
}

#[test]
fn diamond_inheritance_is_not_a_cycle() {
    let mut acl = Acl::new();
    acl.add_parent("b", "a").unwrap();
    acl.add_parent("c", "a").unwrap();
    acl.add_parent("d", "b").unwrap();
    acl.add_parent("d", "c").unwrap();
    acl.grant("a", "r", "p").unwrap();
    assert!(acl.check("d", "r", "p"));
    assert_eq!(acl.ancestors("d").count(), 3);
    assert!(acl.remove_parent("d", "b"));
    assert!(acl.check("d", "r", "p")); // still through c
    assert!(acl.remove_parent("d", "c"));
    assert!(!acl.check("d", "r", "p"));
    assert!(!acl.remove_parent("d", "c"));
}

#[test]
fn removing_a_role_cuts_what_its_children_inherited_through_it() {
    let mut acl = hierarchy();
    assert!(acl.remove_role("editor"));
    assert!(!acl.check("admin", "blog", "write"));
    assert!(!acl.check("admin", "blog", "read")); // viewer was reached only through editor
    assert!(acl.check("admin", "forum", "ban"));
    assert_eq!(
        names(acl.parents("admin")),
        names(["moderator".to_string()].iter())
    );
    assert_eq!(acl.parent_count(), 1);
    // re-adding the role does not bring old edges back
    acl.add_role("editor").unwrap();
    assert_eq!(acl.parents("editor").count(), 0);
}

#[test]
fn removing_a_resource_or_permission_reaches_inherited_grants() {
    let mut acl = hierarchy();
    assert!(acl.remove_permission("blog", "read"));
    assert!(!acl.check("admin", "blog", "read"));
    assert!(acl.check("admin", "blog", "write"));
    assert!(acl.remove_resource("forum"));
    assert!(!acl.check("admin", "forum", "ban"));
    assert_eq!(acl.which("admin").pair_count(), 1);
}

#[test]
fn check_any_and_check_all_see_inherited_grants() {
    let acl = hierarchy();
    assert!(acl.check_all(["admin", "editor"], "blog", "read"));
    assert!(!acl.check_all(["admin", "viewer"], "blog", "write"));
    assert!(acl.check_any(["viewer", "editor"], "blog", "write"));
}
