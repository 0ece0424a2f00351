//! `psm acl ...` end to end: grants persist in the JSON file between runs, inheritance,
//! patterns, exit codes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{assert_code, json, psm, stderr};

#[test]
fn grants_persist_between_runs_and_checks_follow_inheritance_and_patterns() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_code(&psm(d, &["acl", "grant", "viewer", "blog", "read"]), 0);
    assert_code(&psm(d, &["acl", "grant", "admin", "users", "users:*"]), 0);
    assert_code(&psm(d, &["acl", "inherit", "editor", "viewer"]), 0);
    assert!(d.join("psm-acl.json").is_file());

    assert_code(
        &psm(d, &["acl", "check", "blog", "read", "--role", "editor"]),
        0,
    );
    assert_code(
        &psm(d, &["acl", "check", "blog", "write", "--role", "editor"]),
        1,
    );
    assert_code(
        &psm(
            d,
            &["acl", "check", "users", "users:delete", "--role", "admin"],
        ),
        0,
    );
    assert_code(
        &psm(
            d,
            &[
                "acl",
                "check",
                "users",
                "users:delete",
                "--role",
                "viewer,editor",
            ],
        ),
        1,
    );

    let v = json(&psm(d, &["--json", "acl", "which", "editor"]));
    assert_eq!(v["permissions"]["blog"], serde_json::json!(["read"]));

    assert_code(&psm(d, &["acl", "revoke", "viewer", "blog", "read"]), 0);
    assert_code(&psm(d, &["acl", "revoke", "viewer", "blog", "read"]), 1);
    assert_code(
        &psm(d, &["acl", "check", "blog", "read", "--role", "editor"]),
        1,
    );

    let v = json(&psm(d, &["--json", "acl", "show"]));
    assert_eq!(
        v["grants"]["admin"]["users"],
        serde_json::json!(["users:*"])
    );
}

#[test]
fn cycles_and_bad_permissions_are_input_errors_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_code(&psm(d, &["acl", "inherit", "a", "b"]), 0);
    let o = psm(d, &["acl", "inherit", "b", "a"]);
    assert_code(&o, 2);
    assert!(stderr(&o).contains("cycle"), "{}", stderr(&o));
    let o = psm(d, &["acl", "grant", "a", "blog", "foo*"]);
    assert_code(&o, 2);
    assert_code(&psm(d, &["acl", "check", "blog", "a>b", "--role", "a"]), 2);
    let v = json(&psm(d, &["--json", "acl", "show"]));
    assert!(
        v["grants"]
            .as_object()
            .unwrap()
            .values()
            .all(|m| m.as_object().unwrap().is_empty())
    );
}

#[test]
fn a_custom_file_is_used_and_a_corrupt_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_code(
        &psm(d, &["acl", "--file", "other.json", "grant", "r", "x", "y"]),
        0,
    );
    assert!(d.join("other.json").is_file());
    std::fs::write(d.join("psm-acl.json"), "{not json").unwrap();
    let o = psm(d, &["acl", "show"]);
    // a store whose data cannot be read is a store failure (3), as for every other store
    assert_code(&o, 3);
    assert!(stderr(&o).contains("psm-acl.json"), "{}", stderr(&o));
}

/// `--store URL` keeps the ACL in any store the registry opens: here SQLite tables, which a
/// second run reads back; the JSON file is not touched, and a scheme without an ACL store is
/// refused naming it.
#[test]
fn an_acl_store_url_keeps_the_acl_in_that_store() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let url = "sqlite://acl.db?create=true";
    assert_code(
        &psm(
            d,
            &["acl", "--store", url, "grant", "viewer", "blog", "read"],
        ),
        0,
    );
    assert_code(
        &psm(d, &["acl", "--store", url, "inherit", "editor", "viewer"]),
        0,
    );
    assert!(d.join("acl.db").is_file());
    assert!(!d.join("psm-acl.json").exists());
    assert_code(
        &psm(
            d,
            &[
                "acl", "--store", url, "check", "blog", "read", "--role", "editor",
            ],
        ),
        0,
    );
    // the default file knows nothing of it
    assert_code(
        &psm(d, &["acl", "check", "blog", "read", "--role", "editor"]),
        1,
    );
    // a read on a store that does not exist fails naming it and creates nothing
    let o = psm(d, &["acl", "--store", "sqlite://typo.db", "show"]);
    assert_code(&o, 2);
    assert!(stderr(&o).contains("typo.db"), "{}", stderr(&o));
    assert!(!d.join("typo.db").exists());
    let o = psm(d, &["acl", "--store", "redis://127.0.0.1:1", "show"]);
    assert_code(&o, 2);
    assert!(
        stderr(&o).contains("ACLs are not supported"),
        "{}",
        stderr(&o)
    );
}
