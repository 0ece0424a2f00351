//! `cargo xtask bench`: psm's criterion benches (package psm-benches), or with `--peers` the raw
//! figures of redis-benchmark and pgbench on this machine, to compare them with.

use crate::cmd::{self, Result, line};
use crate::services;

/// Runs `cargo bench -p psm-benches [--bench NAME] [-- ARGS]` against the local services.
pub fn run(name: Option<&str>, args: &[String]) -> Result {
    services::ensure()?;
    let env = services::test_env();
    let mut bench = cmd::cargo()?;
    bench.args(["bench", "-p", "psm-benches"]);
    if let Some(name) = name {
        bench.args(["--bench", name]);
    }
    if !args.is_empty() {
        bench.arg("--").args(args);
    }
    cmd::run(bench.envs(env))
}

/// Runs psm-sql's `rebac_scale` example in release against the local services.
pub fn rebac_scale(args: &[String]) -> Result {
    services::ensure()?;
    let env = services::test_env();
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
    ])
    .args(args);
    cmd::run(run.envs(env))
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
