//! `cargo xtask bench --instructions`: instructions per operation of the hot paths, counted by
//! valgrind's callgrind (they do not move with the machine's load). The `instructions` binary
//! of psm-benches (no criterion, no peers: its build is small) runs each case at two operation counts; the difference in instructions over
//! the difference in operations is the cost of one operation, set-up cancelled out. When the
//! filter selects one case, the functions that cost the most per operation (inclusive) follow:
//! the profile that says where the rest of the instructions go.

use std::path::{Path, PathBuf};
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
    let selected: Vec<&str> = cases
        .lines()
        .filter(|c| only.is_none_or(|o| c.contains(o)))
        .collect();
    println!("| case | instructions per op |");
    println!("|---|---:|");
    for case in &selected {
        let short = collected(&exe, case, RUNS.0, None)?;
        let long = collected(&exe, case, RUNS.1, None)?;
        let per_op = long.saturating_sub(short) as f64 / (RUNS.1 - RUNS.0) as f64;
        println!("| {case} | {per_op:.0} |");
    }
    if let [case] = selected.as_slice() {
        profile(&exe, case)?;
    }
    Ok(())
}

/// Functions in the profile of one case.
const PROFILE_ROWS: usize = 25;

/// Prints the functions of `case` with the most instructions per operation, inclusive of what
/// they call (`callgrind_annotate --inclusive=yes` of the long run, over its operation count).
fn profile(exe: &Path, case: &str) -> Result {
    let dir = std::env::temp_dir().join(format!("psm-instructions-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let out = dir.join(format!("{case}.callgrind"));
    collected(exe, case, RUNS.1, Some(&out))?;
    let annotated = cmd::capture(
        Command::new("callgrind_annotate")
            .args(["--inclusive=yes", "--threshold=100"])
            .arg(&out),
    );
    std::fs::remove_dir_all(&dir)?;
    println!();
    println!("Profile of {case}, instructions per operation, inclusive:");
    println!();
    println!("| per op | function |");
    println!("|---:|---|");
    let annotated = annotated?;
    let rows = annotated
        .lines()
        .filter_map(|line| {
            let (count, rest) = line.trim_start().split_once(' ')?;
            let count: u64 = count.replace(',', "").parse().ok()?;
            // "(12.3%)  file:function [object]" -> "function"
            let rest = rest.trim_start();
            let rest = rest.split_once(')').map_or(rest, |(_, r)| r).trim();
            let function = rest.split_once(':').map_or(rest, |(_, f)| f);
            let function = function.split(" [").next().unwrap_or(function);
            Some((count, function.to_owned()))
        })
        .filter(|(_, f)| !f.starts_with('(') && f != "PROGRAM TOTALS")
        .take(PROFILE_ROWS);
    for (count, function) in rows {
        let per_op = count as f64 / RUNS.1 as f64;
        println!("| {per_op:.1} | `{function}` |");
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

/// Instructions callgrind counted for one run of `case` with `n` operations; the profile is
/// written to `out` when given.
fn collected(exe: &Path, case: &str, n: u64, out: Option<&Path>) -> Result<u64> {
    let mut out_file = std::ffi::OsString::from("--callgrind-out-file=");
    out_file.push(out.map_or(Path::new("/dev/null").as_os_str(), Path::as_os_str));
    let output = Command::new("valgrind")
        .arg(out_file)
        .args([
            "--tool=callgrind",
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
