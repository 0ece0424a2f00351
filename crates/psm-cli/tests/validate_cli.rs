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

/// The conformance cases kept beside the repository; `None` (one SKIPPED line) when absent,
/// a failure when CI requires them.
fn conformance_dir() -> Option<PathBuf> {
    psm_core::testkit::shared_data(env!("CARGO_MANIFEST_DIR"), "conformance")
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
    let Some(dir) = conformance_dir() else {
        return;
    };
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
