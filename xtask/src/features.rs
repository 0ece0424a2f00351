//! `cargo xtask features`: keeps the umbrella crate's features lean. For each feature set an
//! application could pick (with `default-features = false`), `cargo tree -e normal` must leave
//! out what that set did not ask for (TLS, JWT, moka, CEL) and bring what it did. Then the
//! tests of psm-rebac that only exist without `caveats` run (a caveat is a typed error there).

use std::collections::BTreeSet;

use crate::cmd::{self, Result};

/// The umbrella crate whose feature sets are checked.
const UMBRELLA: &str = "permission-storage-manager";

/// One feature set: what its normal dependency tree must not contain, and what it must.
struct Case {
    features: &'static str,
    absent: &'static [&'static str],
    present: &'static [&'static str],
}

const CASES: [Case; 7] = [
    Case {
        features: "sqlite",
        absent: &["rustls", "ring", "jsonwebtoken", "moka", "cel"],
        present: &["sqlx"],
    },
    Case {
        features: "sqlite,tls-rustls",
        absent: &[],
        present: &["rustls"],
    },
    Case {
        features: "axum,memory",
        absent: &["jsonwebtoken", "moka", "rsa", "p256", "rustls", "ring"],
        present: &["axum"],
    },
    Case {
        features: "axum,memory,jwt",
        absent: &["moka"],
        present: &["jsonwebtoken"],
    },
    Case {
        features: "axum,memory,cache",
        absent: &["jsonwebtoken"],
        present: &["moka"],
    },
    Case {
        features: "rebac",
        absent: &["cel", "regex", "rustls", "ring"],
        present: &["psm-rebac"],
    },
    Case {
        features: "rebac,caveats",
        absent: &[],
        present: &["cel"],
    },
];

/// Checks every case and reports all that fail, not only the first.
pub fn run() -> Result {
    let mut failures = Vec::new();
    for case in &CASES {
        let crates = tree(case.features)?;
        let unwanted: Vec<&str> = case
            .absent
            .iter()
            .copied()
            .filter(|name| crates.contains(*name))
            .collect();
        let missing: Vec<&str> = case
            .present
            .iter()
            .copied()
            .filter(|name| !crates.contains(*name))
            .collect();
        if unwanted.is_empty() && missing.is_empty() {
            println!(
                "ok    {:<20} {:>3} crates; with {:?}, without {:?}",
                case.features,
                crates.len(),
                case.present,
                case.absent
            );
            continue;
        }
        let line = format!(
            "{}: pulls in {:?}, lacks {:?}",
            case.features, unwanted, missing
        );
        println!("FAIL  {line}");
        failures.push(line);
    }
    if !failures.is_empty() {
        return Err(format!("feature sets not lean: {}", failures.join("; ")).into());
    }
    let mut without_caveats = cmd::cargo()?;
    without_caveats.args([
        "test",
        "-p",
        "psm-rebac",
        "--no-default-features",
        "--lib",
        "without_caveats",
    ]);
    if cmd::run_counting_tests(&mut without_caveats)? == 0 {
        return Err("psm-rebac has no `without_caveats` tests to run".into());
    }
    Ok(())
}

/// The names of the crates in the umbrella's normal dependency tree with only `features`.
fn tree(features: &str) -> Result<BTreeSet<String>> {
    let mut tree = cmd::cargo()?;
    tree.args([
        "tree",
        "-p",
        UMBRELLA,
        "--no-default-features",
        "--features",
        features,
        "-e",
        "normal",
        "--prefix",
        "none",
        "--format",
        "{p}",
    ]);
    let out = cmd::capture(&mut tree)?;
    Ok(out
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect())
}
