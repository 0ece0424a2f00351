//! `cargo xtask bench`: psm's criterion benches (package psm-benches) with the Python libraries
//! psm replaces timed first on the same operations and data sizes (their figures are handed to
//! the benches, which print them beside psm's), or with `--peers` the raw figures of
//! redis-benchmark and pgbench on this machine, to compare them with.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cmd::{self, Result, line};
use crate::services;

/// The Python packages timed beside psm (sessions with their Redis extra; the ACL).
const PYTHON_PEERS: [&str; 2] = [
    "permission-storage-manager[redis]==1.0.2",
    "miracle-acl==0.0.4.post1",
];
/// Benches that print Python figures beside their own (the others have no Python counterpart).
const WITH_PYTHON: [&str; 4] = ["memory", "file", "redis", "acl"];
/// Environment variable naming the file of the Python figures, read by the benches.
const PYTHON_FIGURES: &str = "PSM_BENCH_PYTHON_PEERS";

/// Runs the Python peers (unless `NAME` has none), then `cargo bench -p psm-benches [--bench
/// NAME] [-- ARGS]` against the local services, with the Python figures in
/// `PSM_BENCH_PYTHON_PEERS`.
pub fn run(name: Option<&str>, args: &[String]) -> Result {
    services::ensure()?;
    let env = services::test_env();
    let figures = match name {
        Some(n) if !WITH_PYTHON.contains(&n) => None,
        _ => Some(python_peers(&env)?),
    };
    let mut bench = cmd::cargo()?;
    if let Some(figures) = &figures {
        bench.env(PYTHON_FIGURES, figures);
    }
    bench.args(["bench", "-p", "psm-benches"]);
    if let Some(name) = name {
        bench.args(["--bench", name]);
    }
    if !args.is_empty() {
        bench.arg("--").args(args);
    }
    cmd::run(bench.envs(env))
}

/// Installs the Python peers into a cache venv under the target directory (when missing) and
/// runs `benches/peers/python_peers.py`; returns the file of its figures (`name<TAB>rate<TAB>unit` lines).
fn python_peers(env: &[(&str, String)]) -> Result<PathBuf> {
    let target = crate::differential::target_dir()?;
    let python = install_python_peers(&target.join("bench-peers-venv"))?;
    let figures = target.join("bench-peers-python.tsv");
    let script = cmd::workspace_root()?.join("benches/peers/python_peers.py");
    println!("Python peers (the libraries psm replaces), same operations and data sizes:");
    cmd::run(
        Command::new(python)
            .arg(script)
            .arg(&figures)
            .envs(env.iter().map(|(k, v)| (*k, v))),
    )?;
    Ok(figures)
}

/// `python` of a venv holding [`PYTHON_PEERS`], created when missing.
pub(crate) fn install_python_peers(venv: &Path) -> Result<PathBuf> {
    let python = venv.join("bin/python");
    let probe = "import permission_storage_manager, miracle, redis";
    if cmd::probe(Command::new(&python).args(["-c", probe])) {
        return Ok(python);
    }
    cmd::run(line("python3 -m venv").arg(venv))?;
    cmd::run(
        Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet"])
            .args(PYTHON_PEERS),
    )?;
    Ok(python)
}

/// Runs psm-sql's `rebac_scale` example in release against the local services.
pub fn rebac_scale(args: &[String]) -> Result {
    services::ensure()?;
    let env = services::test_env();
    let mut run = rebac_scale_command()?;
    run.args(args);
    cmd::run(run.envs(env))
}

/// `cargo run` of psm-sql's `rebac_scale` example in release, up to its `--`: the caller adds
/// the example's own arguments.
pub fn rebac_scale_command() -> Result<std::process::Command> {
    let mut run = cmd::cargo()?;
    run.args([
        "run",
        "--release",
        "-p",
        "psm-sql",
        "--example",
        "rebac_scale",
        "--features",
        "rebac,sqlite,postgres",
        "--",
    ]);
    Ok(run)
}

/// Prints what Redis and PostgreSQL themselves manage on this machine, at 1 client and many.
pub fn peers() -> Result {
    services::ensure()?;
    for clients in ["1", "64"] {
        cmd::run(
            line("redis-benchmark -h 127.0.0.1 -p 6379 -q -n 200000 -t get,set -c").arg(clients),
        )?;
    }
    ensure_pgbench_db()?;
    for (clients, threads) in [("1", "1"), ("16", "2")] {
        cmd::run(
            line("pgbench -h 127.0.0.1 -p 5432 -U postgres -S -M prepared -T 10")
                .args(["-c", clients, "-j", threads, "pgbench"]),
        )?;
    }
    Ok(())
}

/// Creates and initialises (scale 1) the `pgbench` database unless it already holds pgbench's tables.
fn ensure_pgbench_db() -> Result {
    let initialised = cmd::capture(
        line("psql -X -w -q -t -A -h 127.0.0.1 -U postgres -d pgbench -c")
            .arg("SELECT to_regclass('pgbench_accounts') IS NOT NULL"),
    );
    match initialised {
        Ok(answer) if answer.trim() == "t" => return Ok(()),
        Ok(_) => {}
        Err(_) => cmd::run(&mut line("createdb -w -h 127.0.0.1 -U postgres pgbench"))?,
    }
    cmd::run(&mut line(
        "pgbench -h 127.0.0.1 -p 5432 -U postgres -i -s 1 pgbench",
    ))
}
