//! `cargo xtask bench --instructions`: instructions per operation of the hot paths, counted by
//! valgrind's callgrind (they do not move with the machine's load). The `instructions` binary
//! of psm-benches (no criterion, no peers: its build is small) runs each case at two operation counts; the difference in instructions over
//! the difference in operations is the cost of one operation, set-up cancelled out.

use std::path::PathBuf;
use std::process::Command;

use crate::cmd::{self, Result};

/// Operations of the short and the long run of each case.
const RUNS: (u64, u64) = (2_000, 22_000);

/// Builds the binary in release mode and prints one row per case (all, or those named).
pub fn run(only: Option<&str>) -> Result {
    if !cmd::installed("valgrind") {
        return Err("valgrind is not installed (apt-get install valgrind)".into());
    }
    let mut build = cmd::cargo()?;
    build.args([
        "build",
        "--release",
        "-p",
        "psm-benches",
        "--bin",
        "instructions",
    ]);
    cmd::run(&mut build)?;
    let exe = target_dir()?.join("release/instructions");
    let cases = cmd::capture(Command::new(&exe).arg("--list"))?;
    println!("| case | instructions per op |");
    println!("|---|---:|");
    for case in cases.lines().filter(|c| only.is_none_or(|o| c.contains(o))) {
        let short = collected(&exe, case, RUNS.0)?;
        let long = collected(&exe, case, RUNS.1)?;
        let per_op = long.saturating_sub(short) as f64 / (RUNS.1 - RUNS.0) as f64;
        println!("| {case} | {per_op:.0} |");
    }
    Ok(())
}

/// Where cargo puts build output: `CARGO_TARGET_DIR`, else `target/` of the workspace.
fn target_dir() -> Result<PathBuf> {
    match std::env::var_os("CARGO_TARGET_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => Ok(PathBuf::from(dir)),
        None => Ok(cmd::workspace_root()?.join("target")),
    }
}

/// Instructions callgrind counted for one run of `case` with `n` operations.
fn collected(exe: &PathBuf, case: &str, n: u64) -> Result<u64> {
    let output = Command::new("valgrind")
        .args([
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            "--cache-sim=no",
            // count only the timed loop (set-up and tear-down vary with random hash seeds)
            "--toggle-collect=instructions::timed*",
        ])
        .arg(exe)
        .arg(case)
        .arg(n.to_string())
        .output()?;
    if !output.status.success() {
        return Err(format!(
            "{case} {n} failed under callgrind:\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    stderr
        .lines()
        .find_map(|l| {
            l.split_once("Collected :")
                .map(|(_, n)| n.trim().to_owned())
        })
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("no `Collected` line from callgrind for {case}:\n{stderr}").into())
}
