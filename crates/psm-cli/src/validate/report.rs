//! Case outcomes and the running tally printed by `psm validate`.

use std::io::Write;
use std::path::Path;

/// The result of one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The case passed.
    Pass,
    /// The case failed, with why.
    Fail(String),
    /// The case was not run, with why.
    Skip(String),
}

/// Prints one line per case and counts them.
#[derive(Debug, Default)]
pub struct Report {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
}

impl Report {
    /// Records and prints one case.
    pub fn case(&mut self, file: &Path, name: &str, outcome: Outcome) {
        let name = one_line(name);
        let mut out = std::io::stdout().lock();
        let _ = match outcome {
            Outcome::Pass => {
                self.passed += 1;
                writeln!(out, "PASS {} :: {name}", file.display())
            }
            Outcome::Fail(why) => {
                self.failed += 1;
                writeln!(out, "FAIL {} :: {name}: {}", file.display(), one_line(&why))
            }
            Outcome::Skip(why) => {
                self.skipped += 1;
                writeln!(out, "SKIP {} :: {name}: {}", file.display(), one_line(&why))
            }
        };
    }

    /// Prints the closing summary line.
    pub fn summary(&self) {
        println!(
            "{} passed, {} failed, {} skipped",
            self.passed, self.failed, self.skipped
        );
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
