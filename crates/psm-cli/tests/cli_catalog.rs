//! `psm catalog ...` end to end on the default SQLite store: permagate's README tree listed,
//! grants to users and groups, an undeclared grant refused with exit 2, checks with exit 0/1.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{assert_code, json, psm, stdout};

const TREE: &str = r#"{"children": [
  {"key": "test", "name": "Optional Name", "description": "Optional Description",
   "children": [{"key": "sub1", "children": [{"key": "sub-sub1"}]}, {"key": "sub2"}]},
  {"key": "test1"}]}"#;

#[test]
fn permagate_readme_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("perms.json"), TREE).unwrap();
    let c = |rest: &[&str]| {
        let mut args = vec!["catalog", "--catalog", "perms.json"];
        args.extend_from_slice(rest);
        psm(d, &args)
    };
    let o = c(&["list"]);
    assert_code(&o, 0);
    assert_eq!(
        stdout(&o),
        "*\ntest\ntest>\ntest.sub1\ntest.sub1>\ntest.sub1.sub-sub1\ntest.sub2\ntest1\n"
    );
    assert_code(&c(&["describe", "test"]), 0);
    assert_code(&c(&["describe", "nope"]), 1);
    assert_code(&c(&["grant-user", "test", "test>"]), 0);
    assert_code(&c(&["grant-user", "test", "test.sub2>"]), 2);
    assert_code(&c(&["grant-group", "team", "test.sub1>"]), 0);
    assert_code(&c(&["add-member", "team", "test2"]), 0);
    assert_code(&c(&["check", "test", "test.sub1"]), 0);
    assert_code(&c(&["check", "test2", "test.sub1.sub-sub1"]), 0);
    assert_code(&c(&["check", "test2", "test.sub2"]), 1);
    let mut args = vec![
        "--json",
        "catalog",
        "--catalog",
        "perms.json",
        "grants",
        "test2",
    ];
    let o = psm(d, &args);
    assert_code(&o, 0);
    assert_eq!(json(&o)["grants"], serde_json::json!(["test.sub1>"]));
    args.truncate(4);
    args.extend(["remove-member", "team", "test2"]);
    assert_code(&psm(d, &args), 0);
    assert_code(&c(&["check", "test2", "test.sub1"]), 1);
}
