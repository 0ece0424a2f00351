//! `cargo xtask fuzz`: builds the libFuzzer targets in fuzz/ with coverage instrumentation on
//! stable Rust (the sancov flags cargo-fuzz passes, without its nightly-only sanitizer) into
//! target/fuzz, seeds them from fuzz/seeds and the shared conformance cases, and runs each for a
//! few seconds. A crash fails the task and names the reproducer file.

mod seeds;

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::cmd::{self, Result};
use crate::shared;

/// The fuzz targets (binaries of fuzz/Cargo.toml), one per parser.
pub const TARGETS: [&str; 6] = [
    "spicedb_schema",
    "openfga_dsl",
    "openfga_json",
    "json_schema",
    "relationship",
    "permission",
];

/// Longest input tried, in bytes.
const MAX_LEN: usize = 4096;
/// Memory limit of one fuzzing process.
const RSS_LIMIT_MB: usize = 2048;
/// One input taking longer than this is reported as a hang.
const INPUT_TIMEOUT_S: u64 = 10;
/// The build profile of fuzz/Cargo.toml used.
const PROFILE: &str = "fuzz";
/// Most stored inputs replayed to find a crash that left no reproducer, and how many a run.
const MAX_REPLAYED: usize = 50_000;
const REPLAY_BATCH: usize = 200;
/// Lines of a failed run's log shown.
const LOG_TAIL_LINES: usize = 60;

/// What cargo-fuzz passes to rustc, less `-Zsanitizer` (nightly only; psm forbids unsafe code).
const RUSTFLAGS: [&str; 9] = [
    "-Cpasses=sancov-module",
    "-Cllvm-args=-sanitizer-coverage-level=4",
    "-Cllvm-args=-sanitizer-coverage-inline-8bit-counters",
    "-Cllvm-args=-sanitizer-coverage-pc-table",
    "-Cllvm-args=-sanitizer-coverage-trace-compares",
    "--cfg",
    "fuzzing",
    "-Cdebug-assertions",
    "-Coverflow-checks",
];

/// Builds the targets (or just `only`) and fuzzes each for `seconds`.
pub fn run(seconds: u64, only: Option<&str>) -> Result {
    let targets: Vec<&str> = match only {
        Some(name) => vec![TARGETS.into_iter().find(|t| *t == name).ok_or_else(|| {
            format!("no fuzz target `{name}`; there are: {}", TARGETS.join(", "))
        })?],
        None => TARGETS.to_vec(),
    };
    if seconds == 0 {
        return Err("--seconds must be at least 1".into());
    }
    let root = cmd::workspace_root()?;
    let work = root.join("target/fuzz");
    let triple = host_triple()?;

    let started = Instant::now();
    build(&root, &work, &triple, &targets)?;
    println!("fuzz: built in {:.1} s", started.elapsed().as_secs_f64());

    let conformance = shared::conformance_dir()?;
    let generated = work.join("seeds");
    let counts = seeds::extract(&conformance, &generated, &TARGETS)?;
    println!(
        "fuzz: seeds from {}: {}",
        conformance.display(),
        counts
            .iter()
            .map(|(t, n)| format!("{t} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );

    let bin_dir = work.join(&triple).join(PROFILE);
    let mut crashes = Vec::new();
    for target in &targets {
        if let Some(crash) = fuzz_one(&root, &work, &bin_dir, target, seconds)? {
            crashes.push(crash);
        }
    }
    if crashes.is_empty() {
        println!(
            "fuzz: {} targets ran {seconds} s each without a crash",
            targets.len()
        );
        Ok(())
    } else {
        Err(format!("fuzz: crashes found:\n  {}", crashes.join("\n  ")).into())
    }
}

/// `cargo build` of the fuzz crate with the instrumentation flags. `--target` keeps the flags
/// off build scripts and proc macros, as cargo-fuzz does. Not `--locked`: fuzz/Cargo.lock follows
/// psm-rebac's and psm-core's dependencies, and a dependency added there must not fail the run
/// (cargo then adds it to fuzz/Cargo.lock, which is worth committing).
fn build(root: &Path, work: &Path, triple: &str, targets: &[&str]) -> Result {
    let mut flags = RUSTFLAGS.join(" ");
    if let Some(extra) = std::env::var("RUSTFLAGS")
        .ok()
        .filter(|f| !f.trim().is_empty())
    {
        flags = format!("{extra} {flags}");
    }
    let mut build = cmd::cargo()?;
    build
        .env("RUSTFLAGS", flags)
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .arg("build")
        .arg("--manifest-path")
        .arg(root.join("fuzz/Cargo.toml"))
        .args(["--profile", PROFILE, "--target", triple])
        .arg("--target-dir")
        .arg(work);
    for target in targets {
        build.args(["--bin", target]);
    }
    cmd::run(&mut build)
}

/// Runs one target for `seconds` over its corpus (target/fuzz/corpus/NAME, kept between runs)
/// and seeds; its output goes to target/fuzz/logs/NAME.log. Returns a line describing the
/// crash, if there was one.
fn fuzz_one(
    root: &Path,
    work: &Path,
    bin_dir: &Path,
    target: &str,
    seconds: u64,
) -> Result<Option<String>> {
    let corpus = work.join("corpus").join(target);
    let artifacts = work.join("artifacts").join(target);
    let logs = work.join("logs");
    for dir in [&corpus, &artifacts, &logs] {
        fs::create_dir_all(dir)?;
    }
    let log_path = logs.join(format!("{target}.log"));
    let log = File::create(&log_path)?;
    let before = listing(&artifacts)?;

    let binary = bin_dir.join(target);
    let seeds = work.join("seeds").join(target);
    let fixed = root.join("fuzz/seeds").join(target);
    let mut fuzz = Command::new(&binary);
    fuzz.current_dir(root)
        .arg(&corpus)
        .arg(&seeds)
        .arg(&fixed)
        .arg(format!("-max_total_time={seconds}"))
        .arg(format!("-max_len={MAX_LEN}"))
        .arg(format!("-rss_limit_mb={RSS_LIMIT_MB}"))
        .arg(format!("-timeout={INPUT_TIMEOUT_S}"))
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .arg("-print_final_stats=1")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    println!(
        "$ {} {} ... -max_total_time={seconds} > {}",
        target,
        corpus.display(),
        log_path.display()
    );
    let mut child = fuzz
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
    // libFuzzer stops itself after `seconds` (plus loading the corpus, which can take a while for
    // a large one); this bound only guards against a stuck process.
    let deadline = Instant::now() + Duration::from_secs(seconds * 2 + INPUT_TIMEOUT_S + 600);
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(Some(format!(
                "{target}: did not stop after {seconds} s (log: {})",
                log_path.display()
            )));
        }
        thread::sleep(Duration::from_millis(100));
    };
    let text = fs::read_to_string(&log_path).unwrap_or_default();
    if status.success() {
        println!("fuzz: {target} ok: {}", summary(&text));
        return Ok(None);
    }
    let new: Vec<PathBuf> = listing(&artifacts)?
        .into_iter()
        .filter(|p| !before.contains(p))
        .collect();
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines.len().saturating_sub(LOG_TAIL_LINES);
    eprintln!("---- {target} ({status}), end of {}:", log_path.display());
    for line in &lines[tail..] {
        eprintln!("{line}");
    }
    eprintln!("----");
    // Killed by a signal libFuzzer could not handle (a stack overflow, without a sanitizer):
    // no reproducer was written, so look for one among the inputs it had loaded.
    let found = match new.first() {
        Some(input) => Some(input.clone()),
        None => replay_for_crash(&binary, &[&corpus, &seeds, &fixed])?,
    };
    let reproducer = match found {
        Some(input) => format!("reproduce with: {} {}", binary.display(), input.display()),
        None => format!(
            "no reproducer written and no stored input crashes (a fresh mutation did); see {}",
            log_path.display()
        ),
    };
    Ok(Some(format!("{target} failed ({status}); {reproducer}")))
}

/// Runs `binary` over the files of `dirs` (at most [`MAX_REPLAYED`]), a batch at a time and
/// then one by one within a failing batch; returns the first input that makes it fail.
fn replay_for_crash(binary: &Path, dirs: &[&Path]) -> Result<Option<PathBuf>> {
    let mut inputs = Vec::new();
    for dir in dirs {
        if dir.is_dir() {
            inputs.extend(listing(dir)?);
        }
    }
    inputs.sort();
    inputs.truncate(MAX_REPLAYED);
    println!(
        "fuzz: replaying {} stored inputs to find the crash",
        inputs.len()
    );
    let fails = |batch: &[PathBuf]| {
        !cmd::probe(
            Command::new(binary)
                .arg(format!("-timeout={INPUT_TIMEOUT_S}"))
                .args(batch),
        )
    };
    for batch in inputs.chunks(REPLAY_BATCH) {
        if fails(batch) {
            return Ok(batch
                .iter()
                .find(|input| fails(std::slice::from_ref(*input)))
                .cloned());
        }
    }
    Ok(None)
}

/// The files in `dir`.
fn listing(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir)? {
        files.push(entry?.path());
    }
    Ok(files)
}

/// libFuzzer's closing figures: runs, and the corpus size it reached.
fn summary(log: &str) -> String {
    let runs = log
        .lines()
        .rev()
        .find(|l| l.starts_with("Done "))
        .unwrap_or("(no `Done` line)")
        .to_owned();
    let corpus = log
        .lines()
        .rev()
        .find_map(|l| l.split_once(" corp: ").map(|(_, c)| c))
        .and_then(|c| c.split_whitespace().next())
        .map(|c| format!(", corpus {c} inputs"))
        .unwrap_or_default();
    format!("{runs}{corpus}")
}

/// The host's target triple, from `rustc -vV`.
fn host_triple() -> Result<String> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let info = cmd::capture(Command::new(rustc).arg("-vV"))?;
    info.lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(|h| h.trim().to_owned())
        .ok_or_else(|| "`rustc -vV` printed no `host:` line".into())
}
