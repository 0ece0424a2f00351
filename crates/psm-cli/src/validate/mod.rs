//! `psm validate`: walks paths, recognises each YAML file's kind and runs its cases.

mod agreement;
mod language;
mod openfga;
mod report;
mod spicedb;
mod store;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use report::{Outcome, Report};
use serde_norway::Value;

/// Runs every file under `paths` on fresh memory stores, or with `store` (a SQL URL) on that
/// database (see [`store`]); exit code 0 when nothing failed, 1 otherwise, 2 on bad paths or
/// an unusable store.
pub fn run(paths: &[PathBuf], store: Option<&str>) -> ExitCode {
    let mut files = Vec::new();
    for p in paths {
        if !p.exists() {
            eprintln!("psm validate: no such file or directory: {}", p.display());
            return ExitCode::from(2);
        }
        collect(p, &mut files);
    }
    files.sort();
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("psm validate: cannot start a runtime: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(url) = store
        && let Err(why) = rt.block_on(store::open(url))
    {
        eprintln!("psm validate: {why}");
        return ExitCode::from(2);
    }
    let mut report = Report::default();
    for f in &files {
        rt.block_on(run_file(f, &mut report));
    }
    rt.block_on(store::close());
    report.summary();
    if report.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Adds `path` (a file) or every `*.yaml` / `*.yml` below it (a directory).
fn collect(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let Ok(entries) = std::fs::read_dir(path) else {
            out.push(path.to_path_buf());
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                collect(&p, out);
            } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
                out.push(p);
            }
        }
    } else {
        out.push(path.to_path_buf());
    }
}

async fn run_file(path: &Path, report: &mut Report) {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return report.case(path, "read", Outcome::Fail(format!("cannot read: {e}"))),
    };
    let value: Value = match serde_norway::from_str(&text) {
        Ok(v) => v,
        Err(e) => {
            // A file that is not YAML at all can still be a SpiceDB negative test.
            return spicedb::run_unparsable(path, &e.to_string(), report);
        }
    };
    match &value {
        Value::Mapping(m) if m.contains_key("tests") => openfga::run(path, &value, report).await,
        Value::Sequence(items) if items.iter().all(|i| i.get("name").is_some()) => {
            language::run(path, items, report)
        }
        Value::Mapping(_) => spicedb::run(path, &value, report).await,
        _ => report.case(
            path,
            "file",
            Outcome::Fail("not a SpiceDB, OpenFGA test or OpenFGA language file".to_owned()),
        ),
    }
}

/// A string field of a YAML mapping.
fn str_field<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v.get(key).and_then(Value::as_str)
}

/// A list field of a YAML mapping (`null` and missing are empty).
fn list_field<'v>(v: &'v Value, key: &str) -> &'v [Value] {
    v.get(key)
        .and_then(Value::as_sequence)
        .map_or(&[], |s| s.as_slice())
}
