//! Printing results as text for people or as JSON for scripts (`--json`). Every line psm
//! prints goes through here: a closed stdout (`psm ... | head -1`) never panics; it is
//! remembered, later output is dropped, and `main` ends with exit 0 as other Unix tools do.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Value, json};

use crate::error::CliError;

/// Where and how results are printed.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    json: bool,
}

impl Output {
    /// Text output, or JSON when `json`.
    pub fn new(json: bool) -> Self {
        Self { json }
    }

    /// Whether JSON was asked for.
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// Prints `value` as one JSON line, or the text `human` builds.
    pub fn emit(&self, value: Value, human: impl FnOnce() -> String) {
        if self.json {
            stdout_line(&value.to_string());
        } else {
            let text = human();
            if !text.is_empty() {
                stdout_line(&text);
            }
        }
    }

    /// Prints an error on stderr: `psm: error: ...`, or the JSON error body
    /// `{"error":{"code":..,"message":..,"field":..}}`.
    pub fn error(&self, e: &CliError) {
        if self.json {
            stderr_line(&json!(e.body()).to_string());
        } else {
            stderr_line(&format!("psm: error: {e}"));
        }
    }
}

/// Set once a write to stdout found the reading end closed.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Whether stdout's reader went away (then `main` exits 0, quietly).
pub fn stdout_closed() -> bool {
    STDOUT_CLOSED.load(Ordering::Relaxed)
}

/// Runs `write` on a buffered, locked stdout and flushes it. A closed pipe is not an error:
/// it is remembered and this and all later output are dropped. Other failures are returned.
pub fn write_stdout(write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
    if stdout_closed() {
        return Ok(());
    }
    let stdout = io::stdout();
    let mut w = io::BufWriter::new(stdout.lock());
    match write(&mut w).and_then(|()| w.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
            STDOUT_CLOSED.store(true, Ordering::Relaxed);
            // the buffer cannot reach the closed pipe; drop it without another write
            let (_, _) = w.into_parts();
            Ok(())
        }
        other => other,
    }
}

/// Prints one line on stdout (dropped once stdout is closed; other write errors are
/// reported on stderr).
pub fn stdout_line(line: &str) {
    if let Err(e) = write_stdout(|w| writeln!(w, "{line}")) {
        stderr_line(&format!("psm: cannot write to stdout: {e}"));
    }
}

/// Prints one line on stderr; a closed or failing stderr is ignored (there is nowhere left
/// to report it).
pub fn stderr_line(line: &str) {
    let _ = writeln!(io::stderr().lock(), "{line}");
}
