//! `psm session ...` and `psm quickstart` end to end: the real binary on the embedded default
//! (`./psm.db` in a temporary directory), exit codes, `--json`, and errors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{assert_code, json, psm, stderr, stdout};

#[test]
fn the_default_store_is_a_sqlite_file_in_the_current_directory() {
    let dir = tempfile::tempdir().unwrap();
    let o = psm(
        dir.path(),
        &["session", "store", "s1", "alice", "read:posts", "admin:*"],
    );
    assert_code(&o, 0);
    assert!(
        dir.path().join("psm.db").is_file(),
        "psm.db was not created"
    );
    // A second process sees what the first wrote: it is on disk.
    let o = psm(
        dir.path(),
        &["session", "check", "s1", "read:posts", "admin:users:delete"],
    );
    assert_code(&o, 0);
    assert_eq!(
        stdout(&o),
        "allowed  read:posts\nallowed  admin:users:delete\n"
    );
}

#[test]
fn check_exits_1_when_any_permission_is_denied_and_reports_each() {
    let dir = tempfile::tempdir().unwrap();
    assert_code(
        &psm(dir.path(), &["session", "store", "s1", "alice", "read"]),
        0,
    );
    let o = psm(
        dir.path(),
        &["--json", "session", "check", "s1", "read", "write"],
    );
    assert_code(&o, 1);
    let v = json(&o);
    assert_eq!(v["allowed"], false);
    assert_eq!(v["results"]["read"], true);
    assert_eq!(v["results"]["write"], false);
    // An unknown session is denied, not an error.
    assert_code(&psm(dir.path(), &["session", "check", "nobody", "read"]), 1);
}

#[test]
fn every_session_subcommand_round_trips_through_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = psm(
        d,
        &[
            "--json",
            "session",
            "store",
            "s1",
            "alice",
            "a",
            "b",
            "--ttl",
            "2h",
            "--metadata",
            r#"{"ip":"10.0.0.1"}"#,
        ],
    );
    assert_code(&o, 0);
    let v = json(&o);
    assert_eq!(v["permissions"], serde_json::json!(["a", "b"]));
    let ttl = v["ttl_remaining_seconds"].as_u64().unwrap();
    assert!((7000..=7200).contains(&ttl), "{ttl}");
    assert_code(
        &psm(d, &["session", "store", "s2", "alice", "a", "--no-expiry"]),
        0,
    );

    let v = json(&psm(d, &["--json", "session", "list", "alice"]));
    assert_eq!(v["sessions"], serde_json::json!(["s1", "s2"]));

    let o = psm(d, &["--json", "session", "get", "s1"]);
    assert_code(&o, 0);
    assert_eq!(json(&o)["metadata"]["ip"], "10.0.0.1");

    assert_code(&psm(d, &["session", "update", "s1", "c"]), 0);
    let v = json(&psm(d, &["--json", "session", "get", "s1"]));
    assert_eq!(v["permissions"], serde_json::json!(["c"]));
    assert!(
        v["ttl_remaining_seconds"].as_u64().unwrap() > 3600,
        "update kept the TTL"
    );

    assert_code(&psm(d, &["session", "extend", "s1", "30d"]), 0);
    let v = json(&psm(d, &["--json", "session", "get", "s1"]));
    assert!(v["ttl_remaining_seconds"].as_u64().unwrap() > 29 * 86_400);

    // The one duration syntax of psm_core::duration: fractions, weeks, compound spans.
    for (ttl, secs) in [
        ("1.5h", 5_400),
        ("0.5m", 30),
        ("2w", 1_209_600),
        ("1h30m", 5_400),
    ] {
        assert_code(&psm(d, &["session", "extend", "s1", ttl]), 0);
        let v = json(&psm(d, &["--json", "session", "get", "s1"]));
        let left = v["ttl_remaining_seconds"].as_u64().unwrap();
        assert!((secs - 5..=secs).contains(&left), "{ttl}: {left}");
    }

    assert_code(&psm(d, &["session", "invalidate", "s1"]), 0);
    assert_code(&psm(d, &["session", "invalidate", "s1"]), 1);
    assert_code(&psm(d, &["session", "get", "s1"]), 1);
    assert_code(&psm(d, &["session", "update", "s1", "x"]), 1);
    assert_code(&psm(d, &["session", "extend", "s1", "60"]), 1);

    let o = psm(d, &["--json", "session", "cleanup"]);
    assert_code(&o, 0);
    assert!(json(&o)["removed"].is_u64());

    let o = psm(d, &["--json", "session", "stats"]);
    assert_code(&o, 0);
    let v = json(&o);
    assert_eq!(v["stats"]["backend"], "sqlite");
    assert_eq!(v["stats"]["live_sessions"], 1);
    assert_eq!(v["health"]["healthy"], true);
}

#[test]
fn bad_input_exits_2_with_a_message_naming_the_field_and_rule() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = psm(d, &["session", "store", "bad id", "alice", "read"]);
    assert_code(&o, 2);
    assert!(stderr(&o).contains("session_id"), "{}", stderr(&o));
    let o = psm(d, &["session", "store", "s1", "alice", "foo*"]);
    assert_code(&o, 2);
    assert!(stderr(&o).contains("foo*"), "{}", stderr(&o));
    let o = psm(
        d,
        &["session", "store", "s1", "alice", "r", "--metadata", "[1]"],
    );
    assert_code(&o, 2);
    assert!(stderr(&o).contains("JSON object"));
    let o = psm(
        d,
        &["session", "store", "s1", "alice", "r", "--ttl", "101y"],
    );
    assert_code(&o, 2);
    assert!(stderr(&o).contains("100 years"), "{}", stderr(&o));
    let o = psm(
        d,
        &[
            "session",
            "store",
            "s1",
            "alice",
            "r",
            "--ttl",
            "5fortnights",
        ],
    );
    assert_code(&o, 2);
    assert_code(&psm(d, &["session", "frobnicate"]), 2);
    assert_code(&psm(d, &["--url", "nosuch://x", "session", "list", "u"]), 2);
    // Nothing was written by the failed stores.
    assert_code(&psm(d, &["session", "get", "s1"]), 1);
}

#[test]
fn json_errors_are_machine_readable() {
    let dir = tempfile::tempdir().unwrap();
    let o = psm(
        dir.path(),
        &["--json", "session", "store", "s1", "alice", "a::b"],
    );
    assert_code(&o, 2);
    let v: serde_json::Value = serde_json::from_str(stderr(&o).trim()).unwrap();
    assert_eq!(v["error"]["code"], "invalid_input");
    assert!(v["error"]["message"].as_str().unwrap().contains("a::b"));
    // the field at fault is named, as the HTTP API names it
    let o = psm(
        dir.path(),
        &["--json", "session", "store", "bad id", "alice", "read"],
    );
    assert_code(&o, 2);
    let v: serde_json::Value = serde_json::from_str(stderr(&o).trim()).unwrap();
    assert_eq!(
        (&v["error"]["code"], &v["error"]["field"]),
        (
            &serde_json::json!("invalid_input"),
            &serde_json::json!("session_id")
        ),
        "{v}"
    );
}

#[test]
fn an_unreachable_backend_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    // Port 1 on loopback: nothing listens there.
    let o = psm(
        dir.path(),
        &[
            "--url",
            "postgres://nobody@127.0.0.1:1/none",
            "session",
            "list",
            "u",
        ],
    );
    assert_code(&o, 3);
    assert!(!stderr(&o).is_empty());
}

#[test]
fn psm_url_selects_the_backend() {
    let dir = tempfile::tempdir().unwrap();
    let with_env = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_psm"))
            .args(args)
            .current_dir(dir.path())
            .env("PSM_URL", "file:store")
            .output()
            .unwrap()
    };
    assert_code(&with_env(&["session", "store", "s1", "ann", "read"]), 0);
    let o = with_env(&["--json", "session", "stats"]);
    assert_code(&o, 0);
    assert_eq!(json(&o)["stats"]["backend"], "file");
    assert!(dir.path().join("store").is_dir());
    assert!(!dir.path().join("psm.db").exists());
}

/// A read never creates a store: a mistyped path is an error naming it, not "denied" from a
/// fresh empty store; `create=true` or a write command creates it.
#[test]
fn a_read_on_a_missing_store_fails_naming_it_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for url in ["file:nodir/x", "sqlite://typo.db"] {
        let o = psm(dir.path(), &["--url", url, "session", "check", "s", "read"]);
        assert_code(&o, 2);
        let err = stderr(&o);
        assert!(err.contains("does not exist"), "{url}: {err}");
        assert!(
            err.contains("typo.db") || err.contains("nodir"),
            "{url}: {err}"
        );
    }
    assert!(!dir.path().join("nodir").exists());
    assert!(!dir.path().join("typo.db").exists());
    // a missing directory of an SQLite file is named, even for a write
    let o = psm(
        dir.path(),
        &[
            "--url",
            "sqlite://no/such/dir/x.db",
            "session",
            "store",
            "s",
            "u",
            "read",
        ],
    );
    assert_code(&o, 2);
    assert!(stderr(&o).contains("no/such/dir"), "{}", stderr(&o));
    // asked to create, a read creates
    let o = psm(
        dir.path(),
        &[
            "--url",
            "sqlite://new.db?create=true",
            "session",
            "check",
            "s",
            "read",
        ],
    );
    assert_code(&o, 1);
    assert!(dir.path().join("new.db").is_file());
}

#[test]
fn quickstart_writes_to_psm_db_and_answers_the_same_when_run_twice() {
    let dir = tempfile::tempdir().unwrap();
    let first = psm(dir.path(), &["--json", "quickstart"]);
    assert_code(&first, 0);
    assert!(dir.path().join("psm.db").is_file());
    let second = psm(dir.path(), &["--json", "quickstart"]);
    assert_code(&second, 0);
    assert_eq!(json(&first), json(&second));
    let v = json(&first);
    let checks = v["sessions"]["checks"].as_array().unwrap();
    let answer = |p: &str| {
        checks
            .iter()
            .find(|c| c["permission"] == p)
            .map(|c| c["allowed"].as_bool().unwrap())
            .unwrap()
    };
    assert!(answer("read:posts"));
    assert!(!answer("delete:posts"));
    assert!(answer("admin:users:delete"));
    // The session it wrote is there for the next command.
    assert_code(
        &psm(
            dir.path(),
            &["session", "check", "quickstart-alice", "reports.q3.pdf"],
        ),
        0,
    );
    let text = psm(dir.path(), &["quickstart"]);
    assert_code(&text, 0);
    assert!(
        stdout(&text).contains("check delete:posts"),
        "{}",
        stdout(&text)
    );
}
