//! `psm rebac import` and `export`: newline-delimited relationships, with a progress bar on
//! long imports (drawn only on a terminal) and errors that name the line and column. Imports go
//! through the store's bulk import when it offers one (multi-row statements), else `write`.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use psm_rebac::{Engine, Relationship, RelationshipFilter, RelationshipUpdate};
use serde_json::json;

use super::input::{at_line, relationship_line};
use crate::error::{CliError, Outcome};
use crate::output::Output;

/// Relationships written per store write.
const BATCH: usize = 1000;
/// Relationships per bulk import (one transaction each).
const BULK_BATCH: usize = 10_000;
/// Longest line accepted (a relationship is at most a few KiB).
const MAX_LINE_BYTES: usize = 16 * 1024;
/// How many input errors a check of a file reports before stopping.
const MAX_REPORTED: usize = 20;

/// Imports `path` (`-` for stdin). A file is read twice: first checked whole (every error is
/// reported, nothing is written), then written in batches. Stdin is checked and written batch by
/// batch, stopping at the first bad line.
pub async fn import(
    engine: &Engine,
    path: &Path,
    dry_run: bool,
    out: &Output,
) -> Result<Outcome, CliError> {
    let source = path.display().to_string();
    let stdin = path == Path::new("-");
    if !stdin || dry_run {
        let checked = scan(engine, path, &source, None).await?;
        if dry_run {
            out.emit(json!({"valid": true, "relationships": checked}), || {
                format!("{source}: {checked} relationships, all valid")
            });
            return Ok(Outcome::Done);
        }
    }
    let total = if stdin {
        0
    } else {
        std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
    };
    let bar = progress(total, out);
    let written = scan(engine, path, &source, Some(&bar)).await;
    bar.finish_and_clear();
    let written = written?;
    out.emit(json!({"imported": written}), || {
        format!("imported {written} relationships from {source}")
    });
    Ok(Outcome::Done)
}

/// Reads every line of `path`; with `bar` it writes batches, without it only checks them.
async fn scan(
    engine: &Engine,
    path: &Path,
    source: &str,
    bar: Option<&ProgressBar>,
) -> Result<u64, CliError> {
    let reader: Box<dyn Read> = if path == Path::new("-") {
        Box::new(std::io::stdin())
    } else {
        Box::new(
            File::open(path).map_err(|e| CliError::input(format!("cannot read {source}: {e}")))?,
        )
    };
    let mut reader = BufReader::new(reader);
    let mut errors: Vec<String> = Vec::new();
    let mut batch: Vec<Relationship> = Vec::with_capacity(BATCH);
    let bulk = engine.store().bulk_import().is_some();
    let size = if bulk { BULK_BATCH } else { BATCH };
    let mut count = 0u64;
    let mut line_no = 0usize;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let n = (&mut reader)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut buf)
            .map_err(|e| CliError::input(format!("cannot read {source}: {e}")))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        if let Some(bar) = bar {
            bar.inc(n as u64);
        }
        if n > MAX_LINE_BYTES && buf.last() != Some(&b'\n') {
            return Err(CliError::input(at_line(
                source,
                line_no,
                1,
                format_args!("line longer than {MAX_LINE_BYTES} bytes"),
            )));
        }
        let Ok(line) = std::str::from_utf8(&buf) else {
            errors.push(at_line(source, line_no, 1, "not UTF-8"));
            if stop(&errors, bar) {
                break;
            }
            continue;
        };
        let line = line.trim_end_matches(['\n', '\r']);
        let rel = match relationship_line(line) {
            None => continue,
            Some(Ok(r)) => r,
            Some(Err((col, e))) => {
                errors.push(at_line(source, line_no, col, e));
                if stop(&errors, bar) {
                    break;
                }
                continue;
            }
        };
        if let Err(e) = engine.validate_relationship(&rel) {
            let col = super::input::error_column(line, &e);
            errors.push(at_line(source, line_no, col, e));
            if stop(&errors, bar) {
                break;
            }
            continue;
        }
        count += 1;
        if bar.is_some() {
            batch.push(rel);
            if batch.len() >= size {
                write(engine, &batch).await?;
                batch.clear();
            }
        }
    }
    if !errors.is_empty() {
        let more = if errors.len() >= MAX_REPORTED {
            "\n(stopped after 20 errors)"
        } else {
            ""
        };
        return Err(CliError::input(format!(
            "{}{more}\nnothing more was written",
            errors.join("\n")
        )));
    }
    if !batch.is_empty() {
        write(engine, &batch).await?;
    }
    if bar.is_some()
        && let Some(bulk) = engine.store().bulk_import()
    {
        bulk.finish().await?;
    }
    Ok(count)
}

/// Writes one batch: the store's bulk import when it has one, else a `write` of touches.
async fn write(engine: &Engine, batch: &[Relationship]) -> Result<(), CliError> {
    match engine.store().bulk_import() {
        Some(bulk) => {
            bulk.import(batch).await?;
        }
        None => {
            let updates: Vec<RelationshipUpdate> = batch
                .iter()
                .cloned()
                .map(RelationshipUpdate::touch)
                .collect();
            engine.write(&updates, &[]).await?;
        }
    }
    Ok(())
}

/// While writing, the first error stops the run; while checking, up to [`MAX_REPORTED`].
fn stop(errors: &[String], bar: Option<&ProgressBar>) -> bool {
    bar.is_some() || errors.len() >= MAX_REPORTED
}

/// A byte-count progress bar on stderr, drawn only when stderr is a terminal and not with --json.
fn progress(total: u64, out: &Output) -> ProgressBar {
    let bar = if total > 0 {
        ProgressBar::new(total)
    } else {
        ProgressBar::new_spinner()
    };
    if out.is_json() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    } else {
        bar.set_draw_target(ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} importing [{bar:40}] {bytes}/{total_bytes} ({eta})",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
    }
    bar
}

/// Prints every relationship, one per line (sorted by resource type as the schema lists them).
pub async fn export(engine: &Engine, out: &Output) -> Result<Outcome, CliError> {
    let mut lines = Vec::new();
    for def in engine.schema().definitions() {
        let filter = RelationshipFilter {
            resource_type: Some(def.name().into()),
            ..RelationshipFilter::default()
        };
        let mut rels = engine.read(&filter, None).await?;
        rels.sort();
        lines.extend(rels.iter().map(ToString::to_string));
    }
    crate::output::write_stdout(|w| {
        if out.is_json() {
            writeln!(w, "{}", json!({"relationships": lines}))
        } else {
            lines.iter().try_for_each(|l| writeln!(w, "{l}"))
        }
    })
    .map_err(|e| CliError::backend(format!("cannot write to stdout: {e}")))?;
    Ok(Outcome::Done)
}
