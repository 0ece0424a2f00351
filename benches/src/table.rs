//! Rows of `cargo xtask bench --table`: a bench that times a row beside its peer in its own code
//! (the throughput rows of Redis and SQL) appends the pair to the file named by
//! `PSM_BENCH_TABLE`, one tab-separated line a row, which xtask prints as one markdown table
//! with the criterion rows. `PSM_BENCH_QUICK` asks for short runs (to prove the table works,
//! not to quote its figures).

use std::io::Write;

/// Environment variable naming the file the rows are appended to.
pub const TABLE_FILE: &str = "PSM_BENCH_TABLE";
/// Environment variable asking the benches for short runs.
pub const QUICK: &str = "PSM_BENCH_QUICK";

/// True when `PSM_BENCH_QUICK` is set (to anything but `0`).
pub fn quick() -> bool {
    std::env::var(QUICK).is_ok_and(|v| v != "0")
}

/// Appends `row: psm (unit) beside peer` to the table file, when there is one: the peer's
/// figure, or why it is unavailable. Rates are operations per second, both measured in this
/// run with answers asserted.
pub fn record(row: &str, psm: f64, peer: &str, peer_rate: Result<f64, String>) {
    let Some(path) = std::env::var_os(TABLE_FILE) else {
        return;
    };
    let clean = |s: &str| s.replace(['\t', '\n'], " ");
    let (rate, why) = match peer_rate {
        Ok(rate) => (format!("{rate:.1}"), String::new()),
        Err(why) => (String::new(), clean(&why)),
    };
    let line = format!("{}\t{psm:.1}\t{}\t{rate}\t{why}\n", clean(row), clean(peer));
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(line.as_bytes()));
    if let Err(e) = written {
        eprintln!("bench table {}: {e}", path.to_string_lossy());
    }
}
