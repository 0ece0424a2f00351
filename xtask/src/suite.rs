//! `cargo xtask test`: the whole test suite against real services — `services`, then
//! `cargo nextest run` over the workspace, then the doctests (which nextest does not run).

use crate::cmd::{self, Result};
use crate::{metadata, services};

/// Runs the suite. `args` go to nextest as they are; packages chosen among them
/// (`-p`/`--package`, `--exclude`) also choose whose doctests run.
pub fn run(args: &[String]) -> Result {
    services::ensure()?;
    let env = services::test_env();
    let selection = Selection::parse(args);

    let mut nextest = cmd::cargo()?;
    nextest.args(["nextest", "run", "--all-features", "--no-fail-fast"]);
    // Only without a choice of their own: cargo lets --workspace silently override -p.
    if selection.packages.is_empty() && !selection.workspace {
        nextest.arg("--workspace");
    }
    cmd::run(nextest.args(args).envs(env.iter().cloned()))?;

    let mut doctests = cmd::cargo()?;
    doctests.args(["test", "--doc", "--all-features"]);
    if selection.packages.is_empty() || selection.workspace {
        doctests.arg("--workspace");
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
    cmd::run(doctests.envs(env))
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
