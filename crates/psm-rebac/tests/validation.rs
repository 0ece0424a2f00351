//! The validation runner as a library: OpenFGA store files under `tests/fga/` (each checked
//! against `fga model test` when it was written), typed `FILE:LINE` errors, empty files and
//! runs, and a third-party store factory.
#![cfg(feature = "validation")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use psm_rebac::validation::{FreshStore, Outcome, Report, Runner, StoreFactory, ValidationError};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fga")
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Counts the stores it hands out (a stand-in for a third-party store).
#[derive(Default)]
struct Counting(AtomicUsize);

#[async_trait]
impl StoreFactory for Counting {
    async fn fresh(&self) -> psm_rebac::Result<FreshStore> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(FreshStore::new(Arc::new(psm_rebac::MemoryStore::new())))
    }
}

#[test]
fn every_store_file_fixture_passes_on_memory_and_on_a_plain_tuple_store() {
    let dir = fixtures();
    let mut report = Report::new();
    rt().block_on(Runner::new().run_paths(std::slice::from_ref(&dir), &mut report));
    let fails: Vec<String> = report
        .cases()
        .iter()
        .filter(|c| !matches!(c.outcome, Outcome::Pass))
        .map(ToString::to_string)
        .collect();
    assert!(fails.is_empty(), "{fails:#?}");
    assert!(report.errors().is_empty(), "{:?}", report.errors());
    assert!(report.passed() >= 12, "{}", report.summary());
    let files = std::fs::read_dir(&dir).unwrap().count();
    assert!(files >= 12, "a dozen fixtures, got {files}");

    let counting = Arc::new(Counting::default());
    let mut second = Report::new();
    let runner = Runner::new().with_stores(counting.clone());
    rt().block_on(runner.run_paths(&[dir], &mut second));
    assert_eq!(second.summary(), report.summary());
    assert!(counting.0.load(Ordering::Relaxed) >= 12);
}

#[test]
fn an_unknown_field_is_an_error_naming_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("x.fga.yaml");
    std::fs::write(
        &f,
        "model: |\n  model\n    schema 1.1\n  type user\ntests:\n  - name: t\n    check:\n      - user: user:a\n        object: user:b\n        asertions: {}\n",
    )
    .unwrap();
    let mut report = Report::new();
    rt().block_on(Runner::new().run_file(&f, &mut report));
    match report.errors() {
        [ValidationError::Format { at, message, .. }] => {
            assert_eq!(at.line, 10, "{message}");
            assert!(message.contains("asertions"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(report.total(), 0);
}

#[test]
fn a_bad_model_is_an_error_at_its_line_in_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("m.fga.yaml");
    std::fs::write(
        &f,
        "name: m\nmodel: |\n  model\n    schema 1.1\n  type user\n  type doc\n    relations\n      define viewer: [usr]\ntests:\n  - name: t\n",
    )
    .unwrap();
    let mut report = Report::new();
    rt().block_on(Runner::new().run_file(&f, &mut report));
    let [e] = report.errors() else {
        panic!("{:?}", report.errors())
    };
    let text = e.to_string();
    assert!(text.starts_with(&format!("{}:8", f.display())), "{text}");
}

#[test]
fn an_empty_file_fails_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("e.fga.yaml");
    std::fs::write(&f, "model: |\n  model\n    schema 1.1\n  type user\n").unwrap();
    let mut report = Report::new();
    rt().block_on(Runner::new().run_paths(std::slice::from_ref(&f), &mut report));
    assert_eq!(report.failed(), 1, "{:?}", report.cases());
    assert!(!report.is_success());
    let mut allowed = Report::new();
    rt().block_on(
        Runner::new()
            .allow_empty(true)
            .run_paths(&[f], &mut allowed),
    );
    assert!(allowed.is_success(), "{:?}", allowed.cases());
    assert_eq!(allowed.failed(), 0);
}
