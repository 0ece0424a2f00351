//! `cargo xtask test`: the whole test suite against real services — `services`, then
//! `cargo nextest run` over the workspace (installing cargo-nextest if it is missing), then the
//! doctests (which nextest does not run). The benchmarks (psm-benches, with their peer
//! libraries) are left out unless asked for; a run in which no test ran fails.

use crate::cmd::{self, Result};
use crate::{metadata, services, shared};

/// The package left out of a whole-workspace run: criterion benches and their peers (casbin,
/// cedar-policy), which `cargo xtask bench` builds.
const BENCHES: &str = "psm-benches";

/// Runs the suite. `args` go to nextest as they are; packages chosen among them
/// (`-p`/`--package`, `--exclude`) also choose whose doctests run. `require_shared`: tests that
/// need the data beside the repository fail instead of skipping when it is missing (CI).
pub fn run(args: &[String], require_shared: bool) -> Result {
    println!("==> test: services (Redis, PostgreSQL, MariaDB on loopback)");
    services::ensure()?;
    let mut env = services::test_env();
    if require_shared {
        env.push((shared::REQUIRE_VAR, "1".to_owned()));
    }
    shared::announce(require_shared)?;
    ensure_nextest()?;
    let selection = Selection::parse(args);
    let whole = selection.packages.is_empty() || selection.workspace;

    let mut nextest = cmd::cargo()?;
    nextest.args(["nextest", "run", "--all-features", "--no-fail-fast"]);
    // nextest fails a run that finds no test at all; say so rather than rely on its default.
    nextest.arg("--no-tests=fail");
    // Only without a choice of their own: cargo lets --workspace silently override -p.
    if selection.packages.is_empty() && !selection.workspace {
        nextest.arg("--workspace");
    }
    if whole {
        nextest.args(["--exclude", BENCHES]);
    }
    println!("==> test: build and run the tests (the first build takes several minutes)");
    cmd::run(nextest.args(args).envs(env.iter().cloned()))?;

    let mut doctests = cmd::cargo()?;
    doctests.args(["test", "--doc", "--all-features"]);
    if whole {
        doctests.args(["--workspace", "--exclude", BENCHES]);
        for excluded in &selection.excluded {
            doctests.args(["--exclude", excluded]);
        }
    } else {
        // `cargo test --doc -p NAME` fails outright for a package without a library.
        let documented: Vec<String> = metadata::packages()?
            .into_iter()
            .filter(|package| package.has_doctests && selection.packages.contains(&package.name))
            .map(|package| package.name)
            .collect();
        if documented.is_empty() {
            println!("no doctests in {}", selection.packages.join(", "));
            return Ok(());
        }
        for package in &documented {
            doctests.args(["-p", package]);
        }
    }
    println!("==> test: doctests");
    let ran = cmd::run_counting_tests(doctests.envs(env))?;
    if ran == 0 {
        return Err("no doctest ran: the selection or the build is wrong".into());
    }
    Ok(())
}

/// Installs cargo-nextest with `cargo install` when `cargo nextest` does not run.
fn ensure_nextest() -> Result {
    if cmd::probe(cmd::cargo()?.args(["nextest", "--version"])) {
        return Ok(());
    }
    println!(
        "==> test: cargo-nextest is missing; installing it (`cargo install cargo-nextest --locked`, \
         a few minutes)"
    );
    cmd::run(cmd::cargo()?.args(["install", "cargo-nextest", "--locked"])).map_err(|e| {
        format!(
            "{e}\ncargo-nextest is needed: install it with `cargo install cargo-nextest --locked`"
        )
        .into()
    })
}

/// The package selection among cargo-style arguments (read up to a `--`).
#[derive(Debug, Default)]
struct Selection {
    /// `-p NAME`, `-pNAME`, `--package NAME`, `--package=NAME`.
    packages: Vec<String>,
    /// `--exclude NAME`, `--exclude=NAME`.
    excluded: Vec<String>,
    /// `--workspace` or `--all`.
    workspace: bool,
}

impl Selection {
    fn parse(args: &[String]) -> Self {
        let mut selection = Self::default();
        let mut args = args.iter().map(String::as_str);
        while let Some(arg) = args.next() {
            match arg {
                "--" => break,
                "--workspace" | "--all" => selection.workspace = true,
                "-p" | "--package" => selection.packages.extend(args.next().map(str::to_owned)),
                "--exclude" => selection.excluded.extend(args.next().map(str::to_owned)),
                _ => {
                    if let Some(name) = arg.strip_prefix("--exclude=") {
                        selection.excluded.push(name.to_owned());
                    } else if let Some(name) = arg
                        .strip_prefix("--package=")
                        .or_else(|| arg.strip_prefix("-p"))
                    {
                        selection.packages.push(name.to_owned());
                    }
                }
            }
        }
        selection
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Selection {
        Selection::parse(&args.iter().map(|arg| arg.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn reads_every_spelling_of_a_package_choice() {
        let selection = parse(&[
            "-p",
            "a",
            "-pb",
            "--package",
            "c",
            "--package=d",
            "-E",
            "test(x)",
        ]);
        assert_eq!(selection.packages, ["a", "b", "c", "d"]);
        assert!(selection.excluded.is_empty());
        assert!(!selection.workspace);
    }

    #[test]
    fn reads_exclusions_and_stops_at_a_double_dash() {
        let selection = parse(&[
            "--workspace",
            "--exclude",
            "a",
            "--exclude=b",
            "--",
            "-p",
            "c",
        ]);
        assert_eq!(selection.excluded, ["a", "b"]);
        assert!(selection.packages.is_empty());
        assert!(selection.workspace);
    }
}
