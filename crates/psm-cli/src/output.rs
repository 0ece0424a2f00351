//! Printing results as text for people or as JSON for scripts (`--json`).

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
            println!("{value}");
        } else {
            let text = human();
            if !text.is_empty() {
                println!("{text}");
            }
        }
    }

    /// Prints an error on stderr: `psm: error: ...`, or the JSON error body
    /// `{"error":{"code":..,"message":..,"field":..}}`.
    pub fn error(&self, e: &CliError) {
        if self.json {
            eprintln!("{}", json!(e.body()));
        } else {
            eprintln!("psm: error: {e}");
        }
    }
}
