//! Reproducer files for disagreements: for OpenFGA a store test file (`fga model test --tests
//! FILE` passes on it: its assertions hold the real engine's answers), for SpiceDB a validation
//! file (`zed validate` / `psm validate`) with the real engine's check answers as assertions;
//! beside each, a `.txt` with the query and both engines' answers.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::answer::Answer;
use crate::engines::Disagreement;
use crate::round::{Query, Round, Subject, Tuple};
use crate::{Error, Flavor, openfga};

/// Writes the reproducer of `d` as `dir/NAME.*`; returns the main file's path.
pub fn write(dir: &Path, name: &str, d: &Disagreement, seed: u64) -> Result<PathBuf, Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let (path, body) = match d.flavor {
        Flavor::OpenFga => {
            let expected = vec![vec![d.engine.clone()]];
            (
                dir.join(format!("{name}.fga.yaml")),
                openfga::store_file(&d.round, Some(&expected)),
            )
        }
        Flavor::SpiceDb => (
            dir.join(format!("{name}.spicedb.yaml")),
            validation_file(&d.round, &d.engine),
        ),
    };
    std::fs::write(&path, body).map_err(|e| Error::io(&path, e))?;
    let query = d.round.tests.first().and_then(|t| t.queries.first());
    let mut note = String::new();
    let _ = writeln!(note, "class: {}", d.class());
    let _ = writeln!(
        note,
        "run seed: {seed} (cargo xtask differential --seed {seed})"
    );
    let _ = writeln!(note, "query: {}", query.map(describe).unwrap_or_default());
    let _ = writeln!(note, "{} says: {}", d.flavor.name(), d.engine);
    let _ = writeln!(note, "psm ({}) says: {}", d.store, d.psm);
    let _ = writeln!(
        note,
        "relationships: {} stored, {} contextual",
        d.round.tuples.len(),
        d.round.tests.first().map_or(0, |t| t.contextual.len())
    );
    let txt = dir.join(format!("{name}.txt"));
    std::fs::write(&txt, note).map_err(|e| Error::io(&txt, e))?;
    Ok(path)
}

fn subject(s: &Subject) -> String {
    match &s.relation {
        Some(r) => format!("{}:{}#{r}", s.ty, s.id),
        None => format!("{}:{}", s.ty, s.id),
    }
}

fn relationship(t: &Tuple) -> String {
    let mut out = format!(
        "{}:{}#{}@{}",
        t.resource.ty,
        t.resource.id,
        t.relation,
        subject(&t.subject)
    );
    if let Some(c) = &t.caveat {
        if c.context.is_empty() {
            let _ = write!(out, "[{}]", c.name);
        } else {
            let _ = write!(out, "[{}:{}]", c.name, Value::Object(c.context.clone()));
        }
    }
    out
}

/// The query in words, with its context.
pub fn describe(q: &Query) -> String {
    let ctx = if q.context().is_empty() {
        String::new()
    } else {
        format!(" with context {}", Value::Object(q.context().clone()))
    };
    match q {
        Query::Check {
            resource,
            relation,
            subject: s,
            ..
        } => format!(
            "check {}:{}#{relation}@{}{ctx}",
            resource.ty,
            resource.id,
            subject(s)
        ),
        Query::Objects {
            ty,
            relation,
            subject: s,
            ..
        } => format!(
            "objects of type {ty} with {relation} for {}{ctx}",
            subject(s)
        ),
        Query::Subjects {
            resource,
            relation,
            subject_type,
            subject_relation,
            ..
        } => format!(
            "subjects of type {subject_type}{} with {relation} on {}:{}{ctx}",
            subject_relation
                .as_ref()
                .map(|r| format!("#{r}"))
                .unwrap_or_default(),
            resource.ty,
            resource.id
        ),
    }
}

/// A SpiceDB validation file: schema, relationships, and the check with SpiceDB's answer.
fn validation_file(round: &Round, engine: &Answer) -> String {
    let indent = |text: &str| text.lines().map(|l| format!("  {l}\n")).collect::<String>();
    let rels: Vec<String> = round.tuples.iter().map(relationship).collect();
    let mut out = format!(
        "schema: |-\n{}relationships: |-\n{}",
        indent(&round.model.to_spicedb()),
        indent(&rels.join("\n"))
    );
    if let Some(Query::Check {
        resource,
        relation,
        subject: s,
        context,
    }) = round.tests.first().and_then(|t| t.queries.first())
    {
        let key = match engine.words().and_then(|w| w.first()).map(String::as_str) {
            Some("has") => "assertTrue",
            Some("cond") => "assertCaveated",
            _ => "assertFalse",
        };
        let ctx = if context.is_empty() {
            String::new()
        } else {
            format!(" with {}", Value::Object(context.clone()))
        };
        let line = format!(
            "{}:{}#{relation}@{}{ctx}",
            resource.ty,
            resource.id,
            subject(s)
        );
        let _ = write!(
            out,
            "assertions:\n  {key}:\n    - {}\n",
            Value::String(line)
        );
    }
    out
}
