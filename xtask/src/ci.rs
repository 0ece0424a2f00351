//! `cargo xtask ci`: everything CI checks, in order — fmt, clippy, lean features
//! (`cargo xtask features`), cargo deny, `cargo xtask test`,
//! conformance, the differential run against the real engines (`cargo xtask differential`,
//! under 3 minutes, a fresh seed; any unexplained disagreement, or fewer queries compared than
//! the run asks for, fails CI), schemathesis against `psm serve`'s generated OpenAPI document
//! (`cargo xtask schemathesis`, memory, SQLite and a token, under 4 minutes), a fuzz smoke run (`cargo xtask fuzz`, 10 s a target), the guide
//! (`cargo xtask docs`) — timing each step and stopping at the first failure.

use std::time::Instant;

use crate::cmd::{self, Result};
use crate::{conformance, differential, docs, features, fuzz, schemathesis, suite};

type Step = (&'static str, fn() -> Result);

const STEPS: [Step; 11] = [
    ("fmt", fmt),
    ("clippy", clippy),
    ("features", features::run),
    ("deny", deny),
    ("test", || suite::run(&[], true)),
    ("conformance", || conformance::run(None)),
    ("differential", || {
        differential::run(&differential::Options::default())
    }),
    ("schemathesis", || {
        schemathesis::run(&schemathesis::Options::default())
    }),
    ("fuzz", || fuzz::run(10, None)),
    ("rustdoc", rustdoc),
    ("docs", docs::run),
];

pub fn run() -> Result {
    let started = Instant::now();
    let mut timings = Vec::new();
    let mut failure = None;
    for (name, step) in STEPS {
        println!("\n==> ci: {name}");
        let step_started = Instant::now();
        let result = step();
        let seconds = step_started.elapsed().as_secs_f64();
        let verdict = if result.is_ok() { "ok" } else { "FAILED" };
        println!("==> ci: {name} {verdict} in {seconds:.1} s");
        timings.push((name, seconds, verdict));
        if let Err(err) = result {
            failure = Some(err);
            break;
        }
    }

    println!("\nci summary");
    for (name, _) in STEPS {
        match timings.iter().find(|(ran, _, _)| *ran == name) {
            Some((_, seconds, verdict)) => println!("  {name:<12} {verdict:<7} {seconds:>7.1} s"),
            None => println!("  {name:<12} skipped"),
        }
    }
    let total = started.elapsed().as_secs_f64();
    println!(
        "  {:<12} {:<7} {total:>7.1} s",
        "total",
        if failure.is_some() { "FAILED" } else { "ok" }
    );
    failure.map_or(Ok(()), Err)
}

fn fmt() -> Result {
    cmd::run(cmd::cargo()?.args(["fmt", "--all", "--", "--check"]))
}

fn clippy() -> Result {
    cmd::run(cmd::cargo()?.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--all-features",
        "--",
        "-D",
        "warnings",
    ]))
}

/// Licences, bans and sources only: the advisory database cannot be fetched here.
fn deny() -> Result {
    if !cmd::probe(cmd::cargo()?.args(["deny", "--version"])) {
        cmd::run(cmd::cargo()?.args(["install", "cargo-deny", "--locked"]))?;
    }
    cmd::run(cmd::cargo()?.args(["deny", "check", "licenses", "bans", "sources"]))
}

/// The API docs of every crate, as docs.rs builds them (all features), with warnings denied.
fn rustdoc() -> Result {
    cmd::run(
        cmd::cargo()?
            .args([
                "doc",
                "--workspace",
                "--exclude",
                "psm-benches",
                "--all-features",
                "--no-deps",
            ])
            .env("RUSTDOCFLAGS", "-D warnings"),
    )
}
