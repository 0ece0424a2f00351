//! `cargo xtask bench --table [--quick]`: one invocation runs the rows of issue 21 — matcher,
//! session check on memory and file, ACL check, Redis check, SQL check at 1 and 16 tasks —
//! each beside its peer from the same run (the hand-rolled map, the Python library psm
//! replaces, redis-benchmark, pgbench, mariadb-slap), and prints one markdown table
//! (row, psm, peer, ratio). Criterion rows are read from criterion's estimates; the Redis and
//! SQL benches append theirs (`PSM_BENCH_TABLE`); the Python figures come from
//! `benches/peers/python_peers.py`. A missing peer prints why, and psm's rows still print.
//! `--quick` shortens every run, to prove the table works: its figures are not for quoting.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::cmd::{self, Result};
use crate::{bench, services};

/// The benches the table reads.
const BENCHES: [&str; 6] = ["matcher", "memory", "file", "acl", "redis", "sql"];

/// Criterion's arguments in quick mode (short warm-up and measurement, few samples).
const QUICK_CRITERION: [&str; 6] = [
    "--warm-up-time",
    "0.5",
    "--measurement-time",
    "1",
    "--sample-size",
    "10",
];

/// Where a figure of the table comes from.
enum Source {
    /// A criterion benchmark: group and function, as given to criterion.
    Criterion(&'static str, &'static str),
    /// The first Python figure whose name contains this.
    Python(&'static str),
}

/// A row measured by criterion, with its peers (one table line each).
struct CriterionRow {
    row: &'static str,
    psm: Source,
    peers: &'static [(&'static str, Source)],
}

const CRITERION_ROWS: [CriterionRow; 4] = [
    CriterionRow {
        row: "matcher, 100 grants, exact hit",
        psm: Source::Criterion("matcher/100_grants", "psm_check/exact_hit"),
        peers: &[(
            "std HashSet<String>::contains",
            Source::Criterion("matcher/100_grants", "std_hashset_contains/exact_hit"),
        )],
    },
    CriterionRow {
        row: "session check, memory, 100k sessions, 1 task",
        psm: Source::Criterion("memory/check_100k_sessions", "psm_manager_check/1_task"),
        peers: &[
            (
                "hand-rolled RwLock<HashMap<String, HashSet<String>>>",
                Source::Criterion(
                    "memory/check_100k_sessions",
                    "hand_rolled_rwlock_hashmap/1_thread",
                ),
            ),
            (
                "Python permission-storage-manager (memory)",
                Source::Python("permission-storage-manager/memory/check_permission"),
            ),
        ],
    },
    CriterionRow {
        row: "session check, file, 10k sessions, 1 task",
        psm: Source::Criterion("file/check_10k_sessions", "file/1_task"),
        peers: &[(
            "Python permission-storage-manager (file)",
            Source::Python("permission-storage-manager/file/check_permission"),
        )],
    },
    CriterionRow {
        row: "ACL check, 1M grants",
        psm: Source::Criterion("acl_check_1M", "psm-acl Acl::check"),
        peers: &[(
            "Python miracle-acl check",
            Source::Python("miracle-acl/check/"),
        )],
    },
];

/// Runs the peers and the benches (bounded), then prints the table.
pub fn run(quick: bool) -> Result {
    let target = crate::differential::target_dir()?;
    let env = match services::ensure() {
        Ok(()) => services::test_env(),
        Err(e) => {
            println!("services unavailable ({e}): the Redis and SQL rows will be missing");
            services::test_env()
        }
    };
    let python_file = python_peers(&target, &env, quick);
    let python = match &python_file {
        Ok(path) => Ok(read_python(path)),
        Err(e) => Err(format!("peer unavailable: {e}")),
    };
    let rows_file = target.join("bench-table.tsv");
    if rows_file.exists() {
        std::fs::remove_file(&rows_file)?;
    }
    let criterion_dir = target.join("criterion");
    let benches = || -> Result<Command> {
        let mut bench = cmd::cargo()?;
        bench.args(["bench", "-p", "psm-benches"]);
        for name in BENCHES {
            bench.args(["--bench", name]);
        }
        Ok(bench)
    };
    // the build first (as long as it takes), so that the bound below times the runs only
    cmd::run(benches()?.arg("--no-run"))?;
    let mut bench = benches()?;
    if quick {
        bench.arg("--").args(QUICK_CRITERION);
        bench.env("PSM_BENCH_QUICK", "1");
    }
    bench.env("PSM_BENCH_TABLE", &rows_file);
    if let Ok(figures) = &python_file {
        bench.env("PSM_BENCH_PYTHON_PEERS", figures);
    }
    let limit = Duration::from_secs(if quick { 45 * 60 } else { 3 * 60 * 60 });
    let ran = cmd::run_bounded(bench.envs(env), limit);
    if let Err(e) = &ran {
        println!("the benches did not all finish ({e}): the rows they gave follow");
    }
    let python = python.as_deref().map_err(String::as_str);
    print_table(&criterion_dir, python, &rows_file, quick);
    ran
}

/// A figure in operations per second, or why there is none.
type Figure = std::result::Result<f64, String>;

fn print_table(
    criterion: &Path,
    python: std::result::Result<&[(String, f64)], &str>,
    rows_file: &Path,
    quick: bool,
) {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    println!();
    println!(
        "psm beside its peers, same run{} (load average {}); operations per second, answers asserted; ratio = psm / peer",
        if quick {
            ", QUICK MODE (short runs: do not quote)"
        } else {
            ""
        },
        load.join(" ")
    );
    println!();
    println!("| row | psm | peer | peer figure | ratio |");
    println!("|---|---:|---|---:|---:|");
    let figure = |source: &Source| -> Figure {
        match source {
            Source::Criterion(group, function) => criterion_rate(criterion, group, function),
            Source::Python(fragment) => match python {
                Ok(figures) => figures
                    .iter()
                    .find(|(name, _)| name.contains(fragment))
                    .map(|(_, rate)| *rate)
                    .ok_or_else(|| format!("peer unavailable: no Python figure {fragment}")),
                Err(why) => Err(why.to_owned()),
            },
        }
    };
    for row in &CRITERION_ROWS {
        let psm = figure(&row.psm);
        for (peer, source) in row.peers {
            // a Python figure is shown with its own name (operation and data size)
            let named = match (source, python) {
                (Source::Python(fragment), Ok(figures)) => figures
                    .iter()
                    .find(|(name, _)| name.contains(fragment))
                    .map(|(name, _)| format!("{peer} `{name}`")),
                _ => None,
            };
            print_row(
                row.row,
                &psm,
                named.as_deref().unwrap_or(peer),
                &figure(source),
            );
        }
    }
    let recorded = std::fs::read_to_string(rows_file).unwrap_or_default();
    let mut any = false;
    for line in recorded.lines() {
        let cols: Vec<&str> = line.split('\t').collect();
        let [row, psm, peer, rate, why] = cols.as_slice() else {
            continue;
        };
        any = true;
        let psm = psm.parse::<f64>().map_err(|e| format!("bad figure: {e}"));
        let peer_figure = rate
            .parse::<f64>()
            .map_err(|_| format!("peer unavailable: {why}"));
        print_row(row, &psm, peer, &peer_figure);
    }
    if !any {
        println!(
            "| Redis and SQL rows | — | — | missing: the redis and sql benches recorded nothing (services down? see their output above) | — |"
        );
    }
}

fn print_row(row: &str, psm: &Figure, peer: &str, peer_figure: &Figure) {
    let show = |f: &Figure| match f {
        Ok(rate) => format!("{rate:.0}/s"),
        Err(why) => why.clone(),
    };
    let ratio = match (psm, peer_figure) {
        (Ok(a), Ok(b)) if *b > 0.0 => format!("{:.2}×", a / b),
        _ => "—".to_owned(),
    };
    println!(
        "| {row} | {} | {peer} | {} | {ratio} |",
        show(psm),
        show(peer_figure)
    );
}

/// Operations per second of a criterion benchmark: 1e9 over the median time per iteration (ns)
/// in `criterion/<group>/<function>/new/estimates.json`.
fn criterion_rate(criterion: &Path, group: &str, function: &str) -> Figure {
    let path = criterion
        .join(filename_safe(group))
        .join(filename_safe(function))
        .join("new/estimates.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("no criterion figure ({}: {e})", path.display()))?;
    let ns = median_ns(&text).ok_or_else(|| format!("no median in {}", path.display()))?;
    if ns > 0.0 {
        Ok(1e9 / ns)
    } else {
        Err(format!("median of {ns} ns in {}", path.display()))
    }
}

/// The median's point estimate in criterion's `estimates.json` (the first `point_estimate`
/// after `"median"`).
fn median_ns(json: &str) -> Option<f64> {
    let after = json.split_once("\"median\"")?.1;
    let value = after.split_once("\"point_estimate\":")?.1;
    let end = value.find([',', '}'])?;
    value.get(..end)?.trim().parse().ok()
}

/// Criterion's directory name for an id (its `make_filename_safe`, Unix).
fn filename_safe(id: &str) -> String {
    let mut s: String = id
        .chars()
        .map(|c| {
            if matches!(
                c,
                '?' | '"' | '/' | '\\' | '*' | '<' | '>' | ':' | '|' | '^'
            ) {
                '_'
            } else {
                c
            }
        })
        .collect();
    while s.len() > 64 {
        s.pop();
    }
    s
}

/// Runs `benches/peers/python_peers.py` (bounded; `--quick` in quick mode) in the cache venv
/// of `cargo xtask bench`; returns the file of its figures.
fn python_peers(target: &Path, env: &[(&str, String)], quick: bool) -> Result<PathBuf> {
    let python = bench::install_python_peers(&target.join("bench-peers-venv"))?;
    let figures = target.join("bench-peers-python-table.tsv");
    let script = cmd::workspace_root()?.join("benches/peers/python_peers.py");
    let mut run = Command::new(python);
    run.arg(script).arg(&figures);
    if quick {
        run.arg("--quick");
    }
    let limit = Duration::from_secs(if quick { 10 * 60 } else { 60 * 60 });
    cmd::run_bounded(run.envs(env.iter().map(|(k, v)| (*k, v))), limit)?;
    Ok(figures)
}

/// `name<TAB>rate<TAB>unit` lines of the Python peers.
fn read_python(path: &Path) -> Vec<(String, f64)> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| {
            let mut cols = line.split('\t');
            Some((cols.next()?.to_owned(), cols.next()?.parse().ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_median_of_criterion_estimates() {
        let json = r#"{"mean":{"confidence_interval":{"confidence_level":0.95,"lower_bound":1.0,"upper_bound":3.0},"point_estimate":2.5,"standard_error":0.1},"median":{"confidence_interval":{"confidence_level":0.95,"lower_bound":1.0,"upper_bound":3.0},"point_estimate":40.0,"standard_error":0.1}}"#;
        assert_eq!(median_ns(json), Some(40.0));
        assert_eq!(median_ns("{}"), None);
    }

    #[test]
    fn names_directories_as_criterion_does() {
        assert_eq!(filename_safe("psm_check/exact_hit"), "psm_check_exact_hit");
        assert_eq!(filename_safe("psm-acl Acl::check"), "psm-acl Acl__check");
    }
}
