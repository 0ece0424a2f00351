//! The real OpenFGA: a round as an OpenFGA store test file (`.fga.yaml`, written as JSON, which
//! YAML reads), run by the official `fga model test --verbose` on its embedded OpenFGA, whose
//! JSON report holds every request's actual answer (`got`) or error.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::{Map, Value, json};

use crate::Error;
use crate::answer::Answer;
use crate::round::{Query, Round, Subject, Test, Tuple};

/// The report sections of `fga model test --verbose`, by query kind.
const SECTIONS: [(&str, usize); 3] = [
    ("check_results", 0),
    ("list_objects_results", 1),
    ("list_users_results", 2),
];

fn kind_index(q: &Query) -> usize {
    match q {
        Query::Check { .. } => 0,
        Query::Objects { .. } => 1,
        Query::Subjects { .. } => 2,
    }
}

fn user(s: &Subject) -> String {
    match &s.relation {
        Some(r) => format!("{}:{}#{r}", s.ty, s.id),
        None => format!("{}:{}", s.ty, s.id),
    }
}

fn tuple(t: &Tuple) -> Value {
    let mut v = json!({
        "user": user(&t.subject),
        "relation": t.relation,
        "object": format!("{}:{}", t.resource.ty, t.resource.id),
    });
    if let (Some(c), Some(m)) = (&t.caveat, v.as_object_mut()) {
        let mut cond = json!({ "name": c.name });
        if !c.context.is_empty() {
            cond["context"] = Value::Object(c.context.clone());
        }
        m.insert("condition".into(), cond);
    }
    v
}

/// The expectation written for a query: the given answer's value, else an empty one.
fn expectation(q: &Query, answer: Option<&Answer>) -> Value {
    let words = answer.and_then(Answer::words).unwrap_or_default();
    match q {
        Query::Check { .. } => json!(words.first().is_some_and(|w| w == "true")),
        Query::Objects { .. } => json!(words),
        Query::Subjects { .. } => json!({ "users": words }),
    }
}

fn with_context(mut entry: Value, context: &Map<String, Value>) -> Value {
    if !context.is_empty() {
        entry["context"] = Value::Object(context.clone());
    }
    entry
}

fn test_entry(i: usize, test: &Test, expected: Option<&[Answer]>) -> Value {
    let mut sections: [Vec<Value>; 3] = Default::default();
    for (qi, q) in test.queries.iter().enumerate() {
        let want = expectation(q, expected.and_then(|e| e.get(qi)));
        let entry = match q {
            Query::Check {
                resource,
                relation,
                subject,
                context,
            } => with_context(
                json!({
                    "user": user(subject),
                    "object": format!("{}:{}", resource.ty, resource.id),
                    "assertions": { relation.as_str(): want },
                }),
                context,
            ),
            Query::Objects {
                ty,
                relation,
                subject,
                context,
            } => with_context(
                json!({
                    "user": user(subject),
                    "type": ty,
                    "assertions": { relation.as_str(): want },
                }),
                context,
            ),
            Query::Subjects {
                resource,
                relation,
                subject_type,
                subject_relation,
                context,
            } => {
                let mut filter = json!({ "type": subject_type });
                if let Some(r) = subject_relation {
                    filter["relation"] = json!(r);
                }
                with_context(
                    json!({
                        "object": format!("{}:{}", resource.ty, resource.id),
                        "user_filter": [filter],
                        "assertions": { relation.as_str(): want },
                    }),
                    context,
                )
            }
        };
        if let Some(section) = sections.get_mut(kind_index(q)) {
            section.push(entry);
        }
    }
    let [check, list_objects, list_users] = sections;
    json!({
        "name": format!("test{i}"),
        "tuples": test.contextual.iter().map(tuple).collect::<Vec<_>>(),
        "check": check,
        "list_objects": list_objects,
        "list_users": list_users,
    })
}

/// The round as a store test file; with `expected`, each assertion holds that answer.
pub fn store_file(round: &Round, expected: Option<&[Vec<Answer>]>) -> String {
    let tests: Vec<Value> = round
        .tests
        .iter()
        .enumerate()
        .map(|(i, t)| test_entry(i, t, expected.and_then(|e| e.get(i)).map(Vec::as_slice)))
        .collect();
    let doc = json!({
        "name": "psm differential",
        "model": round.model.to_openfga(),
        "tuples": round.tuples.iter().map(tuple).collect::<Vec<_>>(),
        "tests": tests,
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

/// Starts `fga model test` on the round's file (written to `path`).
pub fn start(fga: &Path, round: &Round, path: &Path) -> Result<Child, Error> {
    std::fs::write(path, store_file(round, None)).map_err(|e| Error::io(path, e))?;
    Command::new(fga)
        .args([
            "model",
            "test",
            "--verbose",
            "--suppress-summary",
            "--tests",
        ])
        .arg(path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::io(fga, e))
}

/// The real engine's answers from a finished `fga model test`: test by test, query by query.
/// A file the engine rejects as a whole (a model or tuple OpenFGA refuses) makes every answer
/// that error.
pub fn finish(child: Child, round: &Round) -> Result<Vec<Vec<Answer>>, Error> {
    let out = child.wait_with_output().map_err(|e| Error::io("fga", e))?;
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    let Ok(report) = serde_json::from_slice::<Value>(&out.stdout) else {
        let why = if stderr.is_empty() {
            "no report".to_owned()
        } else {
            stderr
        };
        return Ok(round
            .tests
            .iter()
            .map(|t| vec![Answer::Error(why.clone()); t.queries.len()])
            .collect());
    };
    let tests = report.as_array().cloned().unwrap_or_default();
    if tests.len() != round.tests.len() {
        return Err(Error::Engine(format!(
            "fga reported {} tests for a file of {}: {stderr}",
            tests.len(),
            round.tests.len()
        )));
    }
    round
        .tests
        .iter()
        .zip(&tests)
        .map(|(test, result)| answers(test, result))
        .collect()
}

fn answers(test: &Test, result: &Value) -> Result<Vec<Answer>, Error> {
    let mut cursors = [0usize; 3];
    let mut out = Vec::new();
    for q in &test.queries {
        let k = kind_index(q);
        let (section, _) = SECTIONS.get(k).copied().unwrap_or(SECTIONS[0]);
        let i = cursors.get(k).copied().unwrap_or(0);
        if let Some(c) = cursors.get_mut(k) {
            *c += 1;
        }
        let entry = result
            .get(section)
            .and_then(|s| s.get(i))
            .ok_or_else(|| Error::Engine(format!("fga's report lacks {section}[{i}]")))?;
        out.push(read_answer(q, entry));
    }
    Ok(out)
}

fn read_answer(q: &Query, entry: &Value) -> Answer {
    if let Some(err) = entry.get("error").filter(|e| !e.is_null()) {
        return Answer::Error(format!("OpenFGA error {err}"));
    }
    let got = entry.get("got").unwrap_or(&Value::Null);
    let strings = |v: Option<&Value>| {
        v.and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    match q {
        Query::Check { .. } => match got.as_bool() {
            Some(b) => Answer::word(if b { "true" } else { "false" }),
            None => Answer::Error(format!("fga answered {got}")),
        },
        Query::Objects { .. } => Answer::value(strings(Some(got))),
        Query::Subjects { .. } => Answer::value(strings(got.get("users"))),
    }
}
