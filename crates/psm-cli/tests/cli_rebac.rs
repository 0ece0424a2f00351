//! `psm rebac ...` end to end on the embedded default (`./psm.db`) and, under `cargo xtask test`,
//! on PostgreSQL: schema write/read/validate with line and column errors, write/delete/check
//! exit codes, contextual relationships, lookups, import (file and stdin, progress hidden
//! off a terminal, all-or-nothing on bad lines) and export; revisions, `--consistency`,
//! `rebac watch` (with `--follow`), caveat `--context` and `rebac expand`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;

use common::{assert_code, json, psm, psm_with_stdin, stderr, stdout};

const SCHEMA: &str = "definition user {}

definition group {
    relation member: user | group#member
}

definition document {
    relation owner: user
    relation reader: user | group#member | user:*
    relation banned: user
    permission edit = owner
    permission read = (reader + edit) - banned
}
";

fn with_schema(dir: &Path, url: Option<&str>) {
    std::fs::write(dir.join("schema.zed"), SCHEMA).unwrap();
    let o = psm(dir, &args(url, &["rebac", "schema", "write", "schema.zed"]));
    assert_code(&o, 0);
}

fn args<'a>(url: Option<&'a str>, rest: &[&'a str]) -> Vec<&'a str> {
    let mut v = Vec::new();
    if let Some(u) = url {
        v.extend(["--url", u]);
    }
    v.extend_from_slice(rest);
    v
}

/// The whole relationship flow against one store URL (`None`: the default `./psm.db`).
fn relationship_flow(dir: &Path, url: Option<&str>) {
    let run = |rest: &[&str]| psm(dir, &args(url, rest));
    with_schema(dir, url);
    let o = run(&["rebac", "schema", "read"]);
    assert_code(&o, 0);
    assert_eq!(stdout(&o).trim_end(), SCHEMA.trim_end());

    assert_code(
        &run(&[
            "rebac",
            "write",
            "group:eng#member@user:alice",
            "document:spec#reader@group:eng#member",
            "document:spec#owner@user:carol",
        ]),
        0,
    );
    assert_code(
        &run(&["rebac", "check", "document:spec#read@user:alice"]),
        0,
    );
    assert_code(
        &run(&["rebac", "check", "document:spec#edit@user:alice"]),
        1,
    );
    assert_code(&run(&["rebac", "check", "document:spec#read@user:dave"]), 1);
    // A contextual relationship holds for that check only.
    assert_code(
        &run(&[
            "rebac",
            "check",
            "document:spec#read@user:dave",
            "--context",
            "group:eng#member@user:dave",
        ]),
        0,
    );
    assert_code(&run(&["rebac", "check", "document:spec#read@user:dave"]), 1);
    // Exclusion.
    assert_code(
        &run(&["rebac", "write", "document:spec#banned@user:alice"]),
        0,
    );
    assert_code(
        &run(&["rebac", "check", "document:spec#read@user:alice"]),
        1,
    );
    assert_code(
        &run(&["rebac", "delete", "document:spec#banned@user:alice"]),
        0,
    );
    assert_code(
        &run(&["rebac", "check", "document:spec#read@user:alice"]),
        0,
    );

    let v = json(&run(&[
        "--json",
        "rebac",
        "lookup-resources",
        "document",
        "read",
        "user:alice",
    ]));
    assert_eq!(v["resource_ids"], serde_json::json!(["spec"]));
    let o = run(&["rebac", "lookup-subjects", "document:spec", "read", "user"]);
    assert_code(&o, 0);
    assert_eq!(stdout(&o), "user:alice\nuser:carol\n");
    let o = run(&[
        "rebac",
        "lookup-subjects",
        "document:spec",
        "read",
        "group#member",
    ]);
    assert_eq!(stdout(&o), "group:eng#member\n");

    // --create refuses an existing relationship and writes nothing.
    let o = run(&[
        "rebac",
        "write",
        "--create",
        "document:new#owner@user:x",
        "document:spec#owner@user:carol",
    ]);
    assert_code(&o, 2);
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));
    assert_code(&run(&["rebac", "check", "document:new#edit@user:x"]), 1);
}

#[test]
fn the_relationship_flow_on_the_embedded_default() {
    let dir = tempfile::tempdir().unwrap();
    relationship_flow(dir.path(), None);
    assert!(dir.path().join("psm.db").is_file());
}

#[test]
fn the_relationship_flow_on_postgresql() {
    let Ok(base) = std::env::var("PSM_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var("PSM_REQUIRE_SERVICES").is_err(),
            "PSM_REQUIRE_SERVICES is set but PSM_TEST_POSTGRES_URL is not"
        );
        eprintln!("skipped: PSM_TEST_POSTGRES_URL is not set (run under cargo xtask test)");
        return;
    };
    let sep = if base.contains('?') { '&' } else { '?' };
    // Tables of its own, reused between runs: emptied first through the CLI itself.
    let url = format!("{base}{sep}table_prefix=psm_cli_test_");
    let dir = tempfile::tempdir().unwrap();
    with_schema(dir.path(), Some(&url));
    let left = stdout(&psm(dir.path(), &["--url", &url, "rebac", "export"]));
    let left: Vec<&str> = left.lines().collect();
    if !left.is_empty() {
        let mut del = vec!["--url", url.as_str(), "rebac", "delete"];
        del.extend(left);
        assert_code(&psm(dir.path(), &del), 0);
    }
    assert_eq!(
        stdout(&psm(dir.path(), &["--url", &url, "rebac", "export"])),
        ""
    );
    relationship_flow(dir.path(), Some(&url));
    // The quickstart runs there too, twice, with the same answers.
    let first = psm(dir.path(), &["--url", &url, "--json", "quickstart"]);
    assert_code(&first, 0);
    let second = psm(dir.path(), &["--url", &url, "--json", "quickstart"]);
    assert_eq!(
        json(&first)["relationships"],
        json(&second)["relationships"]
    );
    assert_eq!(json(&first)["sessions"]["backend"], "postgres");
}

#[test]
fn schema_errors_name_the_file_line_and_column_and_store_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("bad.zed"),
        "definition user {}\ndefinition doc {\n    relation reader: nobody\n}\n",
    )
    .unwrap();
    let o = psm(d, &["rebac", "schema", "write", "bad.zed"]);
    assert_code(&o, 2);
    let err = stderr(&o);
    assert!(err.contains("bad.zed:3:"), "{err}");
    assert!(err.contains("nobody"), "{err}");
    std::fs::write(
        d.join("syntax.zed"),
        "definition user {\n  relation x user\n}\n",
    )
    .unwrap();
    let o = psm(d, &["rebac", "schema", "validate", "syntax.zed"]);
    assert_code(&o, 2);
    assert!(stderr(&o).contains("syntax.zed:2:"), "{}", stderr(&o));
    assert_code(&psm(d, &["rebac", "schema", "read"]), 1);
    // Commands that need a schema say so.
    let o = psm(d, &["rebac", "check", "document:a#read@user:b"]);
    assert_code(&o, 2);
    assert!(stderr(&o).contains("schema write"), "{}", stderr(&o));
}

#[test]
fn schema_validate_reads_every_language() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("s.zed"), SCHEMA).unwrap();
    assert_code(&psm(d, &["rebac", "schema", "validate", "s.zed"]), 0);
    std::fs::write(
        d.join("m.fga"),
        "model\n  schema 1.1\ntype user\ntype doc\n  relations\n    define viewer: [user]\n",
    )
    .unwrap();
    let o = psm(
        d,
        &[
            "--json", "rebac", "schema", "validate", "--format", "openfga", "m.fga",
        ],
    );
    assert_code(&o, 0);
    assert_eq!(json(&o)["definitions"], serde_json::json!(["user", "doc"]));
    // Validating needs no store: nothing was created.
    assert!(!d.join("psm.db").exists());
    let o = psm_with_stdin(
        d,
        &["rebac", "schema", "validate", "-"],
        Some("definition {"),
    );
    assert_code(&o, 2);
    assert!(stderr(&o).starts_with("psm: error: -:1:"), "{}", stderr(&o));
}

/// A JSON model mixing an operator with direct assignment below it (`rel1: this | (this & rel2)`),
/// which the OpenFGA DSL cannot express: refused by `--format openfga-json`, as by the language
/// cases `psm validate` runs (`mixed operators with direct assignment`).
const MIXED_JSON: &str = r#"{"schema_version":"1.1","type_definitions":[{"type":"user","relations":{
  "rel1":{"union":{"child":[{"this":{}},{"intersection":{"child":[{"this":{}},{"computedUserset":{"relation":"rel2"}}]}}]}},
  "rel2":{"this":{}}},
  "metadata":{"relations":{"rel1":{"directly_related_user_types":[{"type":"user"}]},
  "rel2":{"directly_related_user_types":[{"type":"user"}]}}}}]}"#;

#[test]
fn schema_validate_refuses_openfga_json_the_dsl_cannot_express() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("mixed.json"), MIXED_JSON).unwrap();
    let o = psm(
        d,
        &[
            "rebac",
            "schema",
            "validate",
            "--format",
            "openfga-json",
            "mixed.json",
        ],
    );
    assert_code(&o, 2);
    assert!(
        stderr(&o).contains("not supported by the OpenFGA DSL"),
        "{}",
        stderr(&o)
    );
    // The same model with direct assignment only at the top of the union is accepted.
    let plain = MIXED_JSON.replace(
        r#"{"intersection":{"child":[{"this":{}},{"computedUserset":{"relation":"rel2"}}]}}"#,
        r#"{"computedUserset":{"relation":"rel2"}}"#,
    );
    assert_ne!(plain, MIXED_JSON);
    std::fs::write(d.join("plain.json"), plain).unwrap();
    let o = psm(
        d,
        &[
            "rebac",
            "schema",
            "validate",
            "--format",
            "openfga-json",
            "plain.json",
        ],
    );
    assert_code(&o, 0);
}

#[test]
fn bad_relationships_are_reported_by_argument_and_rule() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    with_schema(d, None);
    let o = psm(
        d,
        &[
            "rebac",
            "write",
            "document:a#owner@user:b",
            "document:a#read@user:b",
        ],
    );
    assert_code(&o, 2);
    let err = stderr(&o);
    assert!(err.contains("argument 2"), "{err}");
    assert!(err.contains("permission"), "{err}");
    let o = psm(d, &["rebac", "write", "document:a#owner@nobody:b"]);
    assert_code(&o, 2);
    assert!(stderr(&o).contains("nobody"));
    let o = psm(d, &["rebac", "check", "document:a@user:b"]);
    assert_code(&o, 2);
    assert!(
        stderr(&o).contains("resource#permission@subject"),
        "{}",
        stderr(&o)
    );
    // Nothing was written by the failed writes.
    let o = psm(d, &["rebac", "export"]);
    assert_eq!(stdout(&o), "");
}

#[test]
fn import_checks_the_whole_file_first_and_names_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    with_schema(d, None);
    std::fs::write(
        d.join("rels.txt"),
        "// a comment\ndocument:a#owner@user:x\n\n  document:b#owner@user:bad id\ndocument:c#reader@robot:r\n",
    )
    .unwrap();
    let o = psm(d, &["rebac", "import", "rels.txt"]);
    assert_code(&o, 2);
    let err = stderr(&o);
    assert!(err.contains("rels.txt:4:25:"), "{err}");
    assert!(err.contains("rels.txt:5:19:"), "{err}");
    assert!(err.contains("robot"), "{err}");
    assert_eq!(
        stdout(&psm(d, &["rebac", "export"])),
        "",
        "nothing was imported"
    );
}

#[test]
fn import_and_export_round_trip_between_stores() {
    let src = tempfile::tempdir().unwrap();
    with_schema(src.path(), None);
    let mut lines = String::new();
    for i in 0..2500 {
        lines.push_str(&format!("document:d{i}#reader@user:u{}\n", i % 7));
    }
    lines.push_str("document:d0#reader@user:*\n");
    std::fs::write(src.path().join("rels.txt"), &lines).unwrap();
    let o = psm(
        src.path(),
        &["--json", "rebac", "import", "--dry-run", "rels.txt"],
    );
    assert_code(&o, 0);
    assert_eq!(json(&o)["relationships"], 2501);
    assert_eq!(
        stdout(&psm(src.path(), &["rebac", "export"])),
        "",
        "dry run wrote nothing"
    );
    let o = psm(src.path(), &["rebac", "import", "rels.txt"]);
    assert_code(&o, 0);
    assert!(
        stdout(&o).contains("imported 2501 relationships"),
        "{}",
        stdout(&o)
    );
    // Not a terminal: no progress bar on stderr.
    assert_eq!(stderr(&o), "");
    // Importing again is harmless (writes are touches).
    assert_code(&psm(src.path(), &["rebac", "import", "rels.txt"]), 0);
    let exported = stdout(&psm(src.path(), &["rebac", "export"]));
    assert_eq!(exported.lines().count(), 2501);

    let dst = tempfile::tempdir().unwrap();
    with_schema(dst.path(), None);
    let o = psm_with_stdin(dst.path(), &["rebac", "import", "-"], Some(&exported));
    assert_code(&o, 0);
    assert_eq!(stdout(&psm(dst.path(), &["rebac", "export"])), exported);
    assert_code(
        &psm(dst.path(), &["rebac", "check", "document:d3#read@user:u3"]),
        0,
    );
    assert_code(
        &psm(dst.path(), &["rebac", "check", "document:d3#read@user:u4"]),
        1,
    );
    assert_code(
        &psm(
            dst.path(),
            &["rebac", "check", "document:d0#read@user:anyone"],
        ),
        0,
    );
}

#[test]
fn relationships_need_a_sql_or_memory_url() {
    let dir = tempfile::tempdir().unwrap();
    let o = psm(
        dir.path(),
        &["--url", "file:store", "rebac", "schema", "read"],
    );
    assert_code(&o, 2);
    assert!(stderr(&o).contains("not supported"), "{}", stderr(&o));
}

/// `psm --json ARGS` in `dir` (the default `./psm.db`), parsed.
fn run_json(dir: &Path, rest: &[&str], code: i32) -> serde_json::Value {
    let mut a = vec!["--json"];
    a.extend_from_slice(rest);
    let o = psm(dir, &a);
    assert_code(&o, code);
    json(&o)
}

#[test]
fn write_prints_a_revision_that_consistency_and_watch_take() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    with_schema(d, None);
    let v = run_json(d, &["rebac", "write", "document:spec#reader@user:alice"], 0);
    let r1 = v["revision"].as_u64().unwrap();
    let o = psm(d, &["rebac", "delete", "document:spec#reader@user:alice"]);
    assert_code(&o, 0);
    let text = stdout(&o);
    let r2: u64 = text
        .trim_end()
        .strip_suffix(')')
        .and_then(|t| t.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no revision in {text:?}"));
    assert!(r2 > r1, "{r1} then {r2}");

    // Reads at a revision that was issued answer; at one never issued they refuse (exit 2).
    let fresh = format!("at_least_as_fresh:{r2}");
    let check = ["rebac", "check", "document:spec#read@user:alice"];
    let o = psm(d, &[&check[..], &["--consistency", &fresh]].concat());
    assert_code(&o, 1);
    let future = format!("at_least_as_fresh:{}", r2 + 1);
    let o = psm(d, &[&check[..], &["--consistency", &future]].concat());
    assert_code(&o, 2);
    assert!(stderr(&o).contains("never issued"), "{}", stderr(&o));
    let o = psm(d, &[&check[..], &["--consistency", "latest"]].concat());
    assert_code(&o, 2);
    assert!(stderr(&o).contains("--consistency"), "{}", stderr(&o));
    let o = psm(
        d,
        &[
            "rebac",
            "lookup-resources",
            "document",
            "read",
            "user:alice",
            "--consistency",
            "fully_consistent",
        ],
    );
    assert_code(&o, 0);

    // The changes after 0: the write, then the delete, one line each.
    let o = psm(d, &["rebac", "watch", "--after", "0"]);
    assert_code(&o, 0);
    assert_eq!(
        stdout(&o),
        format!(
            "{r1} touch document:spec#reader@user:alice\n{r2} delete document:spec#reader@user:alice\n"
        )
    );
    let v = run_json(
        d,
        &["rebac", "watch", "--after", &r1.to_string(), "--limit", "5"],
        0,
    );
    assert_eq!(
        v,
        serde_json::json!({"changes": [{"revision": r2, "op": "delete",
            "relationship": "document:spec#reader@user:alice"}], "revision": r2})
    );
    let o = psm(d, &["rebac", "watch", "--after", &(r2 + 1).to_string()]);
    assert_code(&o, 2);
}

#[test]
fn watch_follow_prints_a_later_write_as_one_json_line() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    with_schema(d, None);
    let head = run_json(d, &["rebac", "write", "document:a#reader@user:x"], 0)["revision"]
        .as_u64()
        .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_psm"))
        .args(["--json", "rebac", "watch", "--follow", "--after"])
        .arg(head.to_string())
        .current_dir(d)
        .env_remove("PSM_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let r = run_json(d, &["rebac", "write", "document:b#owner@user:y"], 0)["revision"]
        .as_u64()
        .unwrap();
    // A guard against hanging forever, not a timing assertion.
    let line = rx.recv_timeout(std::time::Duration::from_secs(120));
    let _ = child.kill();
    let _ = child.wait();
    let line = line.expect("the watch printed nothing");
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"revision": r, "op": "touch", "relationship": "document:b#owner@user:y"})
    );
}

#[test]
fn caveat_context_on_the_command_line_grants_or_leaves_the_check_conditional() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("caveats.zed"),
        "caveat within_limit(n int, max int) {\n    n <= max\n}\n\ndefinition user {}\n\n\
         definition doc {\n    relation viewer: user with within_limit\n    permission view = viewer\n}\n",
    )
    .unwrap();
    assert_code(&psm(d, &["rebac", "schema", "write", "caveats.zed"]), 0);
    assert_code(
        &psm(
            d,
            &[
                "rebac",
                "write",
                r#"doc:a#viewer@user:alice[within_limit:{"max":5}]"#,
            ],
        ),
        0,
    );
    let check = ["rebac", "check", "doc:a#view@user:alice"];
    let v = run_json(d, &check, 1);
    assert_eq!(v["permissionship"], "conditional", "{v}");
    assert_eq!(v["missing_context"], serde_json::json!(["n"]));
    let o = psm(d, &check);
    assert!(stdout(&o).starts_with("conditional "), "{}", stdout(&o));
    let v = run_json(d, &[&check[..], &["--context", r#"{"n": 3}"#]].concat(), 0);
    assert_eq!(v["permissionship"], "has_permission", "{v}");
    let v = run_json(d, &[&check[..], &["--context", r#"{"n": 9}"#]].concat(), 1);
    assert_eq!(v["permissionship"], "no_permission", "{v}");
    let o = psm(d, &[&check[..], &["--context", "{not json"]].concat());
    assert_code(&o, 2);
    let v = run_json(
        d,
        &[
            "rebac",
            "lookup-resources",
            "doc",
            "view",
            "user:alice",
            "--context",
            r#"{"n": 3}"#,
        ],
        0,
    );
    assert_eq!(v["resource_ids"], serde_json::json!(["a"]));
    assert_eq!(v["conditional"], serde_json::json!([]));
    // Without the parameter the lookup names the resource as conditional, not as granted.
    let lookup = ["rebac", "lookup-resources", "doc", "view", "user:alice"];
    let v = run_json(d, &lookup, 0);
    assert_eq!(v["resource_ids"], serde_json::json!([]), "{v}");
    assert_eq!(
        v["conditional"],
        serde_json::json!([{"id": "a", "missing_context": ["n"]}])
    );
    let o = psm(d, &lookup);
    assert_eq!(
        stdout(&o).trim(),
        "a (conditional, missing context: n)",
        "{}",
        stdout(&o)
    );
}

#[test]
fn expand_prints_the_tree_with_caveated_subjects_and_without_expired_ones() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("expand.zed"),
        "use expiration\n\ncaveat limit(n int, max int) {\n    n <= max\n}\n\n\
         definition user {}\n\n\
         definition group {\n    relation member: user | user with limit | user with expiration\n}\n",
    )
    .unwrap();
    assert_code(&psm(d, &["rebac", "schema", "write", "expand.zed"]), 0);
    assert_code(
        &psm(
            d,
            &[
                "rebac",
                "write",
                "group:g#member@user:ann[expiration:2020-01-01T00:00:00Z]",
                "group:g#member@user:cat",
                r#"group:g#member@user:dan[limit:{"max":2}]"#,
            ],
        ),
        0,
    );
    let o = psm(d, &["rebac", "expand", "group:g", "member"]);
    assert_code(&o, 0);
    assert_eq!(
        stdout(&o).trim_end(),
        "group:g#member union\n  group:g#member leaf\n    user:cat\n  \
         group:g#member caveated\n    user:dan [limit:{\"max\":2}]"
    );
    let v = run_json(d, &["rebac", "expand", "group:g", "member"], 0);
    assert_eq!(v["tree"]["kind"], "union", "{v}");
    assert_eq!(
        v["tree"]["children"][1]["subjects"][0]["caveat"],
        serde_json::json!({"name": "limit", "context": {"max": 2}})
    );
    assert!(!v.to_string().contains("user:ann"), "{v}");
    assert_code(&psm(d, &["rebac", "expand", "group", "member"]), 2);
}
