//! Helpers shared by the CLI tests: run the real `psm` binary in a directory.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Runs `psm ARGS` in `dir` with no `PSM_URL` in the environment, stdin closed.
pub fn psm(dir: &Path, args: &[&str]) -> Output {
    psm_with_stdin(dir, args, None)
}

/// Runs `psm ARGS` in `dir`, feeding `stdin` when given.
pub fn psm_with_stdin(dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    use std::io::Write;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_psm"));
    cmd.args(args)
        .current_dir(dir)
        .env_remove("PSM_URL")
        .env_remove("PSM_ACL_FILE")
        .env_remove("PSM_ACL_STORE")
        .env_remove("PSM_SERVE_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
    let mut child = cmd.spawn().expect("run psm");
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(text.as_bytes()).unwrap();
    }
    child.wait_with_output().expect("wait for psm")
}

/// Stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

/// Stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

/// Stdout parsed as one JSON value.
pub fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", stdout(o)))
}

/// Asserts the exit code, showing the output when it differs.
pub fn assert_code(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        stdout(o),
        stderr(o)
    );
}
