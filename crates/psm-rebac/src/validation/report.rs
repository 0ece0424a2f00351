//! Case outcomes and the running tally of a validation run.

use std::fmt;
use std::path::{Path, PathBuf};

use super::ValidationError;

/// The result of one case.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// The case passed.
    Pass,
    /// The case failed, with why.
    Fail(String),
    /// The case was not run, with why.
    Skip(String),
}

/// One case of a file and its outcome. Its `Display` is the report line:
/// `PASS FILE :: NAME`, `FAIL FILE :: NAME: WHY` or `SKIP FILE :: NAME: WHY`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// The file the case comes from.
    pub file: PathBuf,
    /// The case's name (on one line, at most 240 characters).
    pub name: String,
    /// What happened.
    pub outcome: Outcome,
}

impl fmt::Display for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.display();
        match &self.outcome {
            Outcome::Pass => write!(f, "PASS {file} :: {}", self.name),
            Outcome::Fail(why) => write!(f, "FAIL {file} :: {}: {}", self.name, one_line(why)),
            Outcome::Skip(why) => write!(f, "SKIP {file} :: {}: {}", self.name, one_line(why)),
        }
    }
}

/// A callback that sees every case as it is recorded (to print it, for example).
type Sink = Box<dyn FnMut(&Case) + Send>;

/// Counts the cases of a run, keeps them, and hands each to an optional sink as it comes.
#[derive(Default)]
pub struct Report {
    passed: usize,
    failed: usize,
    skipped: usize,
    cases: Vec<Case>,
    errors: Vec<ValidationError>,
    sink: Option<Sink>,
}

impl fmt::Debug for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Report")
            .field("passed", &self.passed)
            .field("failed", &self.failed)
            .field("skipped", &self.skipped)
            .field("errors", &self.errors)
            .finish_non_exhaustive()
    }
}

impl Report {
    /// An empty report that only collects.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty report that also hands every case to `sink` when it is recorded.
    pub fn with_sink(sink: impl FnMut(&Case) + Send + 'static) -> Self {
        Self {
            sink: Some(Box::new(sink)),
            ..Self::default()
        }
    }

    /// Records one case.
    pub fn case(&mut self, file: &Path, name: &str, outcome: Outcome) {
        match outcome {
            Outcome::Pass => self.passed += 1,
            Outcome::Fail(_) => self.failed += 1,
            Outcome::Skip(_) => self.skipped += 1,
        }
        let case = Case {
            file: file.to_path_buf(),
            name: one_line(name),
            outcome,
        };
        if let Some(sink) = &mut self.sink {
            sink(&case);
        }
        self.cases.push(case);
    }

    /// Records a file the runner could not interpret.
    pub fn error(&mut self, e: ValidationError) {
        self.errors.push(e);
    }

    /// Cases that passed.
    pub fn passed(&self) -> usize {
        self.passed
    }

    /// Cases that failed.
    pub fn failed(&self) -> usize {
        self.failed
    }

    /// Cases not run.
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// Every case, in the order recorded.
    pub fn cases(&self) -> &[Case] {
        &self.cases
    }

    /// Files that could not be interpreted.
    pub fn errors(&self) -> &[ValidationError] {
        &self.errors
    }

    /// Cases recorded so far (passed, failed and skipped).
    pub fn total(&self) -> usize {
        self.passed + self.failed + self.skipped
    }

    /// True when every file was interpreted and no case failed.
    pub fn is_success(&self) -> bool {
        self.errors.is_empty() && self.failed == 0
    }

    /// The closing line: `N passed, M failed, K skipped`.
    pub fn summary(&self) -> String {
        format!(
            "{} passed, {} failed, {} skipped",
            self.passed, self.failed, self.skipped
        )
    }
}

/// Squeezes a case name or reason onto one line and keeps it short.
fn one_line(s: &str) -> String {
    let flat: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if flat.chars().count() > 240 {
        let mut t: String = flat.chars().take(240).collect();
        t.push('…');
        t
    } else {
        flat
    }
}
