//! Seed inputs for the fuzz targets, read at run time from the shared conformance cases (never
//! copied into the repository): the block scalars of their YAML files (`schema:`, `model:`,
//! `dsl:`, `json:`, `relationships:`), written one input a file under target/fuzz/seeds/.

use std::fs;
use std::path::{Path, PathBuf};

use crate::cmd::Result;

/// Most seed files written for one target.
const MAX_SEEDS_PER_TARGET: usize = 2_000;
/// Most YAML files read, and deepest folder walked.
const MAX_FILES: usize = 1_000;
const MAX_DEPTH: usize = 4;
/// YAML files larger than this are skipped.
const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Which target a YAML key's block feeds, and whether each line is a seed of its own.
fn target_of(key: &str) -> Option<(&'static str, bool)> {
    match key {
        "schema" => Some(("spicedb_schema", false)),
        "model" | "dsl" => Some(("openfga_dsl", false)),
        "json" => Some(("openfga_json", false)),
        "relationships" => Some(("relationship", true)),
        _ => None,
    }
}

/// Replaces `out` with one directory per target holding the seeds found under `conformance`;
/// returns how many seeds each target got. A missing conformance directory gives no seeds.
pub fn extract(conformance: &Path, out: &Path, targets: &[&str]) -> Result<Vec<(String, usize)>> {
    if out.exists() {
        fs::remove_dir_all(out)?;
    }
    let mut counts: Vec<(String, usize)> = targets.iter().map(|t| ((*t).to_owned(), 0)).collect();
    for target in targets {
        fs::create_dir_all(out.join(target))?;
    }
    let mut files = Vec::new();
    yaml_files(conformance, 0, &mut files)?;
    files.sort();
    for file in files {
        let Ok(text) = fs::read_to_string(&file) else {
            continue;
        };
        let stem = file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        for (index, (key, body)) in block_scalars(&text).into_iter().enumerate() {
            let Some((target, per_line)) = target_of(&key) else {
                continue;
            };
            let Some((_, count)) = counts.iter_mut().find(|(t, _)| t == target) else {
                continue;
            };
            let inputs: Vec<&str> = if per_line {
                body.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with("//"))
                    .collect()
            } else {
                vec![body.as_str()]
            };
            for (line, input) in inputs.into_iter().enumerate() {
                if *count >= MAX_SEEDS_PER_TARGET {
                    break;
                }
                let name = format!("{stem}-{index}-{line}");
                fs::write(out.join(target).join(name), input)?;
                *count += 1;
            }
        }
    }
    Ok(counts)
}

fn yaml_files(dir: &Path, depth: usize, files: &mut Vec<PathBuf>) -> Result {
    if depth > MAX_DEPTH {
        return Ok(());
    }
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries {
        let path = entry?.path();
        if files.len() >= MAX_FILES {
            break;
        }
        if path.is_dir() {
            yaml_files(&path, depth + 1, files)?;
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml")
            && fs::metadata(&path).is_ok_and(|m| m.len() <= MAX_FILE_BYTES)
        {
            files.push(path);
        }
    }
    Ok(())
}

/// The block scalars (`key: |`, `key: >-`, `- key: |2+` ...) of a YAML text, as (key, dedented
/// body). Line folding of `>` is not applied: the lines are kept as written, which is what a
/// seed wants.
fn block_scalars(text: &str) -> Vec<(String, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        i += 1;
        let Some((key, key_indent)) = block_key(line) else {
            continue;
        };
        let mut body = Vec::new();
        while i < lines.len() {
            let next = lines[i];
            if !next.trim().is_empty() && indent(next) <= key_indent {
                break;
            }
            body.push(next);
            i += 1;
        }
        while body.last().is_some_and(|l| l.trim().is_empty()) {
            body.pop();
        }
        let cut = body
            .iter()
            .filter(|l| !l.trim().is_empty())
            .map(|l| indent(l))
            .min()
            .unwrap_or(0);
        let dedented: Vec<&str> = body.iter().map(|l| l.get(cut..).unwrap_or("")).collect();
        if !dedented.is_empty() {
            found.push((key, dedented.join("\n") + "\n"));
        }
    }
    found
}

/// `key` and the key's column when `line` opens a block scalar (`key: |`, `- key: >2-`).
fn block_key(line: &str) -> Option<(String, usize)> {
    let mut column = indent(line);
    let mut rest = &line[column..];
    if let Some(after) = rest.strip_prefix("- ") {
        let skipped = after.len() - after.trim_start().len();
        column += 2 + skipped;
        rest = after.trim_start();
    }
    let (key, value) = rest.split_once(':')?;
    let value = value.trim();
    let indicator = value
        .strip_prefix('|')
        .or_else(|| value.strip_prefix('>'))?;
    if !indicator
        .chars()
        .all(|c| c.is_ascii_digit() || c == '-' || c == '+')
        || key.is_empty()
        || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return None;
    }
    Some((key.to_owned(), column))
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}
