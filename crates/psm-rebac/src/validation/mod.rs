//! Validation files, run as tests: SpiceDB validation YAML (schema, relationships, assertions,
//! expected relations, check/lookup agreement), OpenFGA store test files (`*.fga.yaml`, the
//! format `fga model test` runs), OpenFGA's staged test YAML (`tests:` with `stages`) and
//! OpenFGA language cases. Behind the `validation` feature.
//!
//! A [`Runner`] recognises each file's kind, runs its cases on a fresh [`TupleStore`] per test
//! (memory by default, any store through a [`StoreFactory`]) and records every case in a
//! [`Report`]. A file it cannot interpret is a [`ValidationError`] naming `FILE:LINE`; a file
//! that holds no test fails unless [`Runner::allow_empty`] says otherwise.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use psm_rebac::validation::{Report, Runner};
//!
//! let dir = std::env::temp_dir().join(format!("psm-validation-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let file = dir.join("docs.fga.yaml");
//! std::fs::write(&file, r#"
//! model: |
//!   model
//!     schema 1.1
//!   type user
//!   type doc
//!     relations
//!       define viewer: [user]
//! tuples:
//!   - user: user:anne
//!     relation: viewer
//!     object: doc:1
//! tests:
//!   - name: anne views doc 1
//!     check:
//!       - user: user:anne
//!         object: doc:1
//!         assertions:
//!           viewer: true
//! "#).unwrap();
//! let mut report = Report::new();
//! Runner::new().run_paths(&[file], &mut report).await;
//! assert_eq!(report.summary(), "1 passed, 0 failed, 0 skipped");
//! assert!(report.is_success());
//! # std::fs::remove_dir_all(&dir).unwrap();
//! # });
//! ```
//!
//! [`TupleStore`]: crate::TupleStore

mod agreement;
mod error;
mod fga_store;
mod language;
mod openfga;
mod report;
mod spicedb;
mod stores;
mod tuple_file;

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use serde_norway::Value;

pub use error::{Line, ValidationError};
pub use report::{Case, Outcome, Report};
pub use stores::{FreshStore, MemoryStores, StoreFactory};

/// Runs validation files; see the [module documentation](self).
#[derive(Clone)]
pub struct Runner {
    stores: Arc<dyn StoreFactory>,
    allow_empty: bool,
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner")
            .field("allow_empty", &self.allow_empty)
            .finish_non_exhaustive()
    }
}

impl Default for Runner {
    fn default() -> Self {
        Self::new()
    }
}

impl Runner {
    /// A runner on fresh memory stores that fails files (and runs) holding no test.
    pub fn new() -> Self {
        Self {
            stores: Arc::new(MemoryStores),
            allow_empty: false,
        }
    }

    /// Runs every test on a store from `stores` instead of a new memory store.
    #[must_use]
    pub fn with_stores(mut self, stores: Arc<dyn StoreFactory>) -> Self {
        self.stores = stores;
        self
    }

    /// Whether a file, or a whole run, without any test is accepted (a skipped case) rather
    /// than failed.
    #[must_use]
    pub fn allow_empty(mut self, allow: bool) -> Self {
        self.allow_empty = allow;
        self
    }

    /// Runs every file under `paths` (files, or directories walked for `*.yaml` / `*.yml`)
    /// in path order. Paths that do not exist and files that cannot be interpreted are
    /// recorded as [`Report::errors`]; a run in which no case passed or failed records one
    /// failed case unless empty runs are allowed.
    pub async fn run_paths(&self, paths: &[PathBuf], report: &mut Report) {
        let mut files = Vec::new();
        for p in paths {
            if let Err(e) = collect(p, &mut files) {
                report.error(e);
            }
        }
        files.sort();
        files.dedup();
        for f in &files {
            self.run_file(f, report).await;
        }
        if report.passed() + report.failed() == 0 && report.errors().is_empty() {
            let place = paths.first().cloned().unwrap_or_default();
            let why = format!("no test ran in {} file(s)", files.len());
            if self.allow_empty {
                report.case(&place, "run", Outcome::Skip(why));
            } else {
                report.case(
                    &place,
                    "run",
                    Outcome::Fail(format!("{why} (--allow-empty accepts that)")),
                );
            }
        }
    }

    /// Runs one file, recording its cases, or an error when it cannot be interpreted.
    pub async fn run_file(&self, path: &Path, report: &mut Report) {
        let before = report.total();
        if let Err(e) = self.dispatch(path, report).await {
            report.error(e);
            return;
        }
        if report.total() == before {
            let why = "the file holds no test";
            let outcome = if self.allow_empty {
                Outcome::Skip(why.to_owned())
            } else {
                Outcome::Fail(format!("{why} (--allow-empty accepts that)"))
            };
            report.case(path, "tests", outcome);
        }
    }

    async fn dispatch(&self, path: &Path, report: &mut Report) -> Result<(), ValidationError> {
        let text = std::fs::read_to_string(path).map_err(|source| ValidationError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let value: Value = match serde_norway::from_str(&text) {
            Ok(v) => v,
            Err(e) => {
                // A file that is not YAML at all can still be a SpiceDB negative test.
                return if spicedb::run_unparsable(path, report) {
                    Ok(())
                } else {
                    Err(ValidationError::yaml(path, &e))
                };
            }
        };
        let stores = self.stores.as_ref();
        match &value {
            Value::Mapping(m) if is_staged(m) => openfga::run(path, &value, stores, report).await,
            Value::Mapping(m) if fga_store::recognises(m) => {
                fga_store::run(path, &text, stores, report).await?;
            }
            Value::Sequence(items) if items.iter().all(|i| i.get("name").is_some()) => {
                language::run(path, items, report);
            }
            Value::Mapping(m) if spicedb::recognises(m) => {
                spicedb::run(path, &value, stores, report).await;
            }
            _ => {
                return Err(ValidationError::format(
                    path,
                    1,
                    "not a SpiceDB validation file, an OpenFGA store test file (.fga.yaml), \
                     OpenFGA staged tests or OpenFGA language cases",
                ));
            }
        }
        Ok(())
    }
}

/// OpenFGA's staged tests: `tests:` whose entries have `stages`.
fn is_staged(m: &serde_norway::Mapping) -> bool {
    m.get("tests")
        .and_then(Value::as_sequence)
        .is_some_and(|t| t.iter().any(|t| t.get("stages").is_some()))
}

/// Adds `path` (a file) or every `*.yaml` / `*.yml` below it (a directory).
pub fn collect(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), ValidationError> {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => ValidationError::NotFound {
            path: path.to_path_buf(),
        },
        _ => ValidationError::Read {
            path: path.to_path_buf(),
            source: e,
        },
    })?;
    if !meta.is_dir() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    let entries = std::fs::read_dir(path).map_err(|source| ValidationError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, out)?;
        } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
            out.push(p);
        }
    }
    Ok(())
}

/// A file named by a validation file, relative to it; it must stay inside that directory.
fn local_file(path: &Path, name: &str) -> Result<PathBuf, String> {
    let rel = Path::new(name);
    if name.is_empty()
        || rel.is_absolute()
        || rel
            .components()
            .any(|c| matches!(c, Component::ParentDir | Component::Prefix(_)))
    {
        return Err(format!(
            "`{name}` must be a file inside the directory of the file that names it"
        ));
    }
    Ok(path.parent().unwrap_or(Path::new(".")).join(rel))
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
