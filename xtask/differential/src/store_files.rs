//! psm's hand-written OpenFGA store test files (`crates/psm-rebac/tests/fga/*.fga.yaml`) run
//! through the real `fga model test --tests FILE` and through psm's validation runner (what
//! `psm validate` runs), on the memory and SQLite stores: the two must pass and fail the same
//! assertions, one by one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use async_trait::async_trait;
use psm_rebac::validation::{FreshStore, Outcome, Report, Runner, StoreFactory};
use psm_rebac::{StoreError, StoreErrorKind};
use serde_json::Value;

use crate::Error;
use crate::psm::Store;

/// One assertion's name, in the words of psm's report (`TEST: Check(user=..,relation=..,..)`).
type Label = String;

/// What one file gave: passed and failed assertions, by name (a name may repeat, with another
/// context, so each maps to its outcomes in file order).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outcomes {
    /// Each assertion's outcomes: `true` for pass.
    pub by_label: BTreeMap<Label, Vec<bool>>,
    /// Why the file could not run at all, if so.
    pub error: Option<String>,
}

impl Outcomes {
    fn count(&self, pass: bool) -> usize {
        self.by_label
            .values()
            .flatten()
            .filter(|p| **p == pass)
            .count()
    }

    /// `P passed, F failed`, or the error.
    pub fn summary(&self) -> String {
        match &self.error {
            Some(e) => format!("error: {e}"),
            None => format!("{} passed, {} failed", self.count(true), self.count(false)),
        }
    }

    /// Assertions this and `other` do not pass or fail alike, as report lines.
    pub fn differences(&self, other: &Outcomes) -> Vec<String> {
        let mut out = Vec::new();
        if self.error.is_some() != other.error.is_some() {
            out.push(format!(
                "fga: {} / psm: {}",
                self.summary(),
                other.summary()
            ));
        }
        let verdict = |v: Option<&Vec<bool>>| {
            v.map_or_else(
                || "absent".to_owned(),
                |v| {
                    let words: Vec<&str> =
                        v.iter().map(|p| if *p { "pass" } else { "fail" }).collect();
                    words.join(",")
                },
            )
        };
        let labels: std::collections::BTreeSet<&Label> =
            self.by_label.keys().chain(other.by_label.keys()).collect();
        for label in labels {
            let (a, b) = (self.by_label.get(label), other.by_label.get(label));
            if a != b {
                out.push(format!("{label}: fga {} / psm {}", verdict(a), verdict(b)));
            }
        }
        out
    }
}

/// The `*.fga.yaml` files of `dir`, sorted.
pub fn files(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".fga.yaml"))
        .collect();
    out.sort();
    Ok(out)
}

/// The real OpenFGA's verdicts on `file`: `fga model test --verbose --tests FILE`.
pub fn openfga(fga: &Path, file: &Path) -> Result<Outcomes, Error> {
    let out = Command::new(fga)
        .args([
            "model",
            "test",
            "--verbose",
            "--suppress-summary",
            "--tests",
        ])
        .arg(file)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::io(fga, e))?;
    let Ok(report) = serde_json::from_slice::<Value>(&out.stdout) else {
        let why = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        return Ok(Outcomes {
            error: Some(if why.is_empty() {
                "no report".into()
            } else {
                why
            }),
            ..Outcomes::default()
        });
    };
    let mut outcomes = Outcomes::default();
    for (i, test) in report.as_array().into_iter().flatten().enumerate() {
        let name = test
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .map_or_else(|| format!("test {}", i + 1), str::to_owned);
        for (section, label) in [
            ("check_results", check_label as fn(&Value) -> Option<String>),
            ("list_objects_results", list_objects_label),
            ("list_users_results", list_users_label),
        ] {
            for result in test
                .get(section)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let request = result.get("request").unwrap_or(&Value::Null);
                let label = label(request).ok_or_else(|| {
                    Error::Engine(format!(
                        "fga's report on {}: a {section} entry without its request: {result}",
                        file.display()
                    ))
                })?;
                let passed = result.get("test_result").and_then(Value::as_bool) == Some(true);
                outcomes
                    .by_label
                    .entry(format!("{name}: {label}"))
                    .or_default()
                    .push(passed);
            }
        }
    }
    Ok(outcomes)
}

fn field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn check_label(r: &Value) -> Option<String> {
    Some(format!(
        "Check(user={},relation={},object={})",
        field(r, "user")?,
        field(r, "relation")?,
        field(r, "object")?
    ))
}

fn list_objects_label(r: &Value) -> Option<String> {
    Some(format!(
        "ListObjects(user={},relation={},type={})",
        field(r, "user")?,
        field(r, "relation")?,
        field(r, "type")?
    ))
}

fn list_users_label(r: &Value) -> Option<String> {
    let filters: Vec<String> = r
        .get("user_filters")?
        .as_array()?
        .iter()
        .map(|f| {
            let ty = field(f, "type").unwrap_or_default();
            match field(f, "relation").filter(|r| !r.is_empty()) {
                Some(rel) => format!("{ty}#{rel}"),
                None => ty.to_owned(),
            }
        })
        .collect();
    let object = r.get("object")?;
    Some(format!(
        "ListUsers(object={}:{},relation={},user_filter={})",
        field(object, "type")?,
        field(object, "id")?,
        field(r, "relation")?,
        filters.join(",")
    ))
}

/// psm's store for one validation test: the memory store, or the SQLite database emptied.
struct Stores(Store);

#[async_trait]
impl StoreFactory for Stores {
    async fn fresh(&self) -> psm_rebac::Result<FreshStore> {
        match &self.0 {
            Store::Memory => Ok(FreshStore::memory()),
            Store::Sqlite(s) => {
                s.delete_all().await.map_err(|e| {
                    psm_rebac::Error::from(StoreError::from_source(StoreErrorKind::Other, e))
                })?;
                Ok(FreshStore::new(Arc::new(s.clone())))
            }
        }
    }
}

/// psm's verdicts on `file` on `store`: its validation runner, as `psm validate` runs it.
pub async fn psm(file: &Path, store: &Store) -> Outcomes {
    let runner = Runner::new().with_stores(Arc::new(Stores(store.clone())));
    let mut report = Report::new();
    runner.run_file(file, &mut report).await;
    let mut outcomes = Outcomes::default();
    if let Some(e) = report.errors().first() {
        outcomes.error = Some(e.to_string());
    }
    for case in report.cases() {
        outcomes
            .by_label
            .entry(case.name.clone())
            .or_default()
            .push(case.outcome == Outcome::Pass);
    }
    outcomes
}

/// What comparing the files found.
#[derive(Debug, Default)]
pub struct Tally {
    /// Files compared.
    pub files: usize,
    /// Assertions compared, summed over psm's stores.
    pub assertions: usize,
    /// Differences, as report lines (`FILE (STORE): ...`).
    pub differences: Vec<String>,
}

/// Runs every store file of `dir` on the real OpenFGA and on psm's `stores`, comparing each
/// assertion's verdict.
pub async fn compare(fga: &Path, dir: &Path, stores: &[Store]) -> Result<Tally, Error> {
    let mut tally = Tally::default();
    for file in files(dir)? {
        let theirs = openfga(fga, &file)?;
        let name = file.file_name().map_or_else(
            || file.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        tally.files += 1;
        for store in stores {
            let ours = psm(&file, store).await;
            let diff = theirs.differences(&ours);
            println!(
                "  {name} ({}): fga {}, psm {}{}",
                store.name(),
                theirs.summary(),
                ours.summary(),
                if diff.is_empty() {
                    String::new()
                } else {
                    format!(", {} DIFFERENT", diff.len())
                }
            );
            tally.assertions += theirs.by_label.values().map(Vec::len).sum::<usize>();
            tally.differences.extend(
                diff.into_iter()
                    .map(|d| format!("{name} ({}): {d}", store.name())),
            );
        }
    }
    Ok(tally)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{Outcomes, check_label, list_users_label};

    fn outcomes(pairs: &[(&str, &[bool])]) -> Outcomes {
        Outcomes {
            by_label: pairs
                .iter()
                .map(|(l, v)| ((*l).to_owned(), v.to_vec()))
                .collect(),
            error: None,
        }
    }

    #[test]
    fn a_different_verdict_or_a_missing_assertion_is_a_difference() {
        let fga = outcomes(&[("t: a", &[true, false]), ("t: b", &[true])]);
        assert!(
            fga.differences(&outcomes(&[("t: a", &[true, false]), ("t: b", &[true])]))
                .is_empty()
        );
        assert_eq!(
            fga.differences(&outcomes(&[("t: a", &[true, true]), ("t: b", &[true])])),
            vec!["t: a: fga pass,fail / psm pass,pass".to_owned()]
        );
        assert_eq!(
            fga.differences(&outcomes(&[("t: a", &[true, false])])),
            vec!["t: b: fga pass / psm absent".to_owned()]
        );
        let failed = Outcomes {
            error: Some("model: bad".into()),
            ..Outcomes::default()
        };
        assert!(!fga.differences(&failed).is_empty());
        assert_eq!(fga.summary(), "2 passed, 1 failed");
    }

    #[test]
    fn fga_requests_are_named_as_psm_names_its_cases() {
        let check = json!({"user": "user:anne", "relation": "viewer", "object": "doc:1"});
        assert_eq!(
            check_label(&check).as_deref(),
            Some("Check(user=user:anne,relation=viewer,object=doc:1)")
        );
        let list = json!({
            "object": {"type": "doc", "id": "1"},
            "relation": "viewer",
            "user_filters": [{"type": "user"}, {"type": "team", "relation": "member"}],
        });
        assert_eq!(
            list_users_label(&list).as_deref(),
            Some("ListUsers(object=doc:1,relation=viewer,user_filter=user,team#member)")
        );
        assert_eq!(check_label(&json!({"user": "user:anne"})), None);
    }
}
