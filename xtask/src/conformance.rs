//! `cargo xtask conformance`: runs the shared conformance cases through `psm validate` (psm-cli).

use std::path::PathBuf;

use crate::cmd::{self, Result};
use crate::metadata;

/// Validates the cases in `dir`, else in `$PSM_CONFORMANCE_DIR`, else in `../shared/conformance`
/// beside the workspace. The exit status is psm's own.
pub fn run(dir: Option<PathBuf>) -> Result {
    let dir = match dir {
        Some(dir) => dir,
        None => match std::env::var_os("PSM_CONFORMANCE_DIR").filter(|dir| !dir.is_empty()) {
            Some(dir) => PathBuf::from(dir),
            None => cmd::workspace_root()?.join("../shared/conformance"),
        },
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
    cmd::run(
        cmd::cargo()?
            .args([
                "run",
                "--release",
                "-p",
                "psm-cli",
                "--bin",
                "psm",
                "--",
                "validate",
            ])
            .arg(dir),
    )
}
