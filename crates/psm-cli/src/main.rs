//! The `psm` command: `psm validate FILE_OR_DIR...` runs SpiceDB and OpenFGA conformance files.
#![forbid(unsafe_code)]

mod validate;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// psm: permission storage manager tools.
#[derive(Debug, Parser)]
#[command(name = "psm", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run SpiceDB validation files, OpenFGA test files and OpenFGA language cases.
    ///
    /// Directories are walked recursively for `*.yaml` / `*.yml`. Prints one line per case
    /// (`PASS`, `FAIL <reason>`, `SKIP <reason>`) and `N passed, M failed, K skipped`.
    Validate {
        /// Files or directories.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match cli.command {
        Command::Validate { paths } => validate::run(&paths),
    }
}
