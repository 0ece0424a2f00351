//! The data kept beside the repository (`../shared`: the conformance cases, fuzz seeds): where
//! it is, and whether the run requires it. Tests find it with `psm_core::testkit::shared_data`,
//! which follows the same rules.

use std::path::PathBuf;

use crate::cmd::{self, Result};

/// The variable that makes tests fail, instead of skip, when the shared data is missing.
pub const REQUIRE_VAR: &str = "PSM_REQUIRE_SHARED";

/// Whether the environment requires the shared data: `PSM_REQUIRE_SHARED=1` or `CI=true`.
pub fn required_by_env() -> bool {
    [REQUIRE_VAR, "CI"].iter().any(|name| {
        std::env::var(name).is_ok_and(|value| matches!(value.as_str(), "1" | "true" | "yes"))
    })
}

/// `$PSM_SHARED_DIR`, else `../shared` beside the workspace root (it may not exist).
pub fn root() -> Result<PathBuf> {
    match std::env::var_os("PSM_SHARED_DIR").filter(|dir| !dir.is_empty()) {
        Some(dir) => Ok(PathBuf::from(dir)),
        None => Ok(cmd::workspace_root()?.join("../shared")),
    }
}

/// The conformance cases: `$PSM_CONFORMANCE_DIR`, else `conformance` under [`root`].
pub fn conformance_dir() -> Result<PathBuf> {
    match std::env::var_os("PSM_CONFORMANCE_DIR").filter(|dir| !dir.is_empty()) {
        Some(dir) => Ok(PathBuf::from(dir)),
        None => Ok(root()?.join("conformance")),
    }
}

/// Prints one line saying whether the shared data is there and what that means for the run.
pub fn announce(required: bool) -> Result {
    let root = root()?;
    let shown = root.canonicalize().unwrap_or_else(|_| root.clone());
    if root.is_dir() {
        println!(
            "shared data: {} (the tests that need it run)",
            shown.display()
        );
    } else if required {
        println!(
            "shared data: {} is missing and {REQUIRE_VAR}=1: the tests that need it will fail",
            shown.display()
        );
    } else {
        println!(
            "shared data: {} not found: the conformance tests skip (set PSM_SHARED_DIR to run \
             them, {REQUIRE_VAR}=1 to require them)",
            shown.display()
        );
    }
    Ok(())
}
