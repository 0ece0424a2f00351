//! `psm validate` end to end: the conformance data, exit codes, and the summary line.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::{Command, Output};

fn psm(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_psm"))
        .args(args)
        .output()
        .expect("run psm")
}

/// `$PSM_CONFORMANCE_DIR`, else `shared/conformance` beside the repository (as `cargo xtask
/// conformance` looks for it).
fn conformance_dir() -> PathBuf {
    let dir = std::env::var_os("PSM_CONFORMANCE_DIR")
        .filter(|d| !d.is_empty())
        .map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance"),
            PathBuf::from,
        );
    assert!(
        dir.is_dir(),
        "conformance data not found at {} (it lives in shared/, beside the repository)",
        dir.display()
    );
    dir
}

fn summary(stdout: &str) -> (usize, usize, usize) {
    let last = stdout.lines().last().expect("a summary line");
    let nums: Vec<usize> = last
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    assert_eq!(
        last,
        format!(
            "{} passed, {} failed, {} skipped",
            nums[0], nums[1], nums[2]
        ),
        "summary line format"
    );
    (nums[0], nums[1], nums[2])
}

#[test]
fn conformance_suites_pass_with_only_caveat_condition_and_expiration_skips() {
    let dir = conformance_dir();
    let out = psm(&["validate", dir.to_str().unwrap()]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let (passed, failed, skipped) = summary(&stdout);
    let fails: Vec<&str> = stdout.lines().filter(|l| l.starts_with("FAIL")).collect();
    assert_eq!(failed, 0, "failures:\n{}", fails.join("\n"));
    assert_eq!(out.status.code(), Some(0));
    assert!(passed > 0);
    let lines = stdout.lines().count() - 1;
    assert_eq!(lines, passed + failed + skipped, "one line per case");
    for l in stdout.lines().filter(|l| l.starts_with("SKIP")) {
        let ok = [
            "caveats",
            "conditions",
            "expiration",
            "not part of the conformance data",
        ]
        .iter()
        .any(|w| l.contains(w));
        assert!(ok, "unexpected skip: {l}");
    }
    for suite in [
        "spicedb/",
        "spicedb-validationfile/",
        "openfga/consolidated",
        "openfga/language/",
    ] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with("PASS") && l.contains(suite)),
            "no passing case from {suite}"
        );
    }
}

#[test]
fn a_wrong_assertion_fails_and_exits_one() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("wrong.yaml"),
        "schema: |\n  definition user {}\n  definition doc {\n    relation viewer: user\n  }\nrelationships: |\n  doc:a#viewer@user:tom\nassertions:\n  assertTrue:\n    - doc:a#viewer@user:jerry\n  assertFalse:\n    - doc:a#viewer@user:jerry\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("README.md"), "not yaml: [").unwrap();
    let out = psm(&["validate", dir.path().to_str().unwrap()]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let (passed, failed, _) = summary(&stdout);
    assert_eq!(failed, 1, "{stdout}");
    assert!(passed >= 2, "load and the assertFalse pass: {stdout}");
    assert!(stdout.contains("FAIL") && stdout.contains("assertTrue doc:a#viewer@user:jerry"));
    assert!(!stdout.contains("README"), "README.md is ignored");
}

#[test]
fn usage_errors_exit_two() {
    assert_eq!(psm(&["validate"]).status.code(), Some(2));
    assert_eq!(psm(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(
        psm(&["validate", "/definitely/not/here.yaml"])
            .status
            .code(),
        Some(2)
    );
}

/// A store test file with a model of users viewing docs and `n` users checked on `doc:1`.
fn fga_file(dir: &std::path::Path, name: &str, n: usize) -> PathBuf {
    let users: Vec<String> = (0..n).map(|i| format!("user:u{i}")).collect();
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!(
            "model: |\n  model\n    schema 1.1\n  type user\n  type doc\n    relations\n      define viewer: [user]\ntuples:\n  - user: user:u0\n    relation: viewer\n    object: doc:1\ntests:\n  - name: many\n    check:\n      - users: [{}]\n        object: doc:2\n        assertions:\n          viewer: false\n",
            users.join(", ")
        ),
    )
    .unwrap();
    path
}

#[test]
fn openfga_store_files_run_and_count_every_assertion() {
    let dir = tempfile::tempdir().unwrap();
    let f = fga_file(dir.path(), "s.fga.yaml", 3);
    let out = psm(&["validate", f.to_str().unwrap()]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(summary(&stdout), (3, 0, 0), "{stdout}");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn a_file_psm_cannot_interpret_exits_two_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad.fga.yaml");
    std::fs::write(
        &f,
        "model: |\n  model\n    schema 1.1\n  type user\ntests:\n  - name: t\n    chek: []\n",
    )
    .unwrap();
    let out = psm(&["validate", f.to_str().unwrap()]);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("{}:7:", f.display())) && stderr.contains("chek"),
        "{stderr}"
    );
    let other = dir.path().join("other.yaml");
    std::fs::write(&other, "hello: world\n").unwrap();
    let out = psm(&["validate", other.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let garbage = dir.path().join("garbage.yaml");
    std::fs::write(&garbage, "a: [\n").unwrap();
    let out = psm(&["validate", garbage.to_str().unwrap()]);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("garbage.yaml:"), "{stderr}");
}

#[test]
fn a_file_or_run_without_tests_fails_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("empty.fga.yaml");
    std::fs::write(
        &f,
        "model: |\n  model\n    schema 1.1\n  type user\ntests: []\n",
    )
    .unwrap();
    let out = psm(&["validate", f.to_str().unwrap()]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("holds no test"), "{stdout}");
    let out = psm(&["validate", "--allow-empty", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let nothing = tempfile::tempdir().unwrap();
    let out = psm(&["validate", nothing.path().to_str().unwrap()]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("no test ran"), "{stdout}");
    let out = psm(&[
        "validate",
        "--allow-empty",
        nothing.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn a_closed_stdout_ends_quietly_with_exit_zero() {
    let dir = tempfile::tempdir().unwrap();
    // far more output than a pipe buffers, so psm writes after the reader is gone
    let f = fga_file(dir.path(), "big.fga.yaml", 4000);
    let mut child = Command::new(env!("CARGO_BIN_EXE_psm"))
        .args(["validate", f.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.is_empty(), "quiet: {stderr}");
}
