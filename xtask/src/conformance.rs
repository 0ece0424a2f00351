//! `cargo xtask conformance`: runs the shared conformance cases through `psm validate` (psm-cli)
//! on every tuple store: memory, SQLite in memory, PostgreSQL and MySQL/MariaDB (the services'
//! `PSM_TEST_POSTGRES_URL` / `PSM_TEST_MYSQL_URL`; each run uses tables of its own and drops
//! them). Every store must pass on its own; the time of each run is printed.

use std::path::PathBuf;
use std::time::Instant;

use crate::cmd::{self, Result};
use crate::{metadata, services, shared};

/// Validates the cases in `dir`, else in `$PSM_CONFORMANCE_DIR`, else in `../shared/conformance`
/// beside the workspace. The exit status is psm's own.
pub fn run(dir: Option<PathBuf>) -> Result {
    let dir = match dir {
        Some(dir) => dir,
        None => shared::conformance_dir()?,
    };
    let dir = dir
        .canonicalize()
        .ok()
        .filter(|dir| dir.is_dir())
        .ok_or_else(|| {
            format!(
                "conformance directory {} not found (pass a directory, or set PSM_CONFORMANCE_DIR)",
                dir.display()
            )
        })?;
    if !metadata::has_package("psm-cli")? {
        return Err(
            "package psm-cli is not in the workspace, so there is no `psm validate` \
                    to run the conformance cases with"
                .into(),
        );
    }
    services::ensure()?;
    let env = services::test_env();
    let url = |name: &str, default: &str| {
        std::env::var(name)
            .ok()
            .or_else(|| env.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone()))
            .unwrap_or_else(|| default.to_owned())
    };
    let stores = [
        ("memory", None),
        ("sqlite", Some("sqlite::memory:".to_owned())),
        (
            "postgres",
            Some(url(
                "PSM_TEST_POSTGRES_URL",
                "postgres://postgres@127.0.0.1:5432/test",
            )),
        ),
        (
            "mysql",
            Some(url(
                "PSM_TEST_MYSQL_URL",
                "mysql://root@127.0.0.1:3306/test",
            )),
        ),
    ];
    let mut failed = Vec::new();
    for (name, store) in stores {
        println!("\n==> conformance on {name}");
        let started = Instant::now();
        let mut run = cmd::cargo()?;
        // The dev profile: CI's test step has just built it, and the cases are bound by the
        // databases (about a minute on all four stores), not by the engine's code.
        run.args(["run", "-p", "psm-cli", "--bin", "psm", "--", "validate"]);
        if let Some(url) = &store {
            run.args(["--store", url]);
        }
        let result = cmd::run(run.arg(&dir));
        println!(
            "==> conformance on {name}: {} in {:.1} s",
            if result.is_ok() { "ok" } else { "FAILED" },
            started.elapsed().as_secs_f64()
        );
        if result.is_err() {
            failed.push(name);
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("conformance failed on {}", failed.join(", ")).into())
    }
}
