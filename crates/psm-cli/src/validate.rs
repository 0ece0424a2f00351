//! `psm validate`: runs validation files through psm-rebac's [`Runner`] and prints one line
//! per case and the summary; exit 0 when every case passed, 1 when one failed (or nothing
//! ran, unless `--allow-empty`), 2 when a path or file could not be used.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use psm_rebac::validation::{Report, Runner};

use crate::output;
use crate::validate_store::SqlStores;

/// Runs every file under `paths` on fresh memory stores, or with `store` (a SQL URL) on that
/// database (see [`crate::validate_store`]).
pub fn run(paths: &[PathBuf], store: Option<&str>, allow_empty: bool) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            output::stderr_line(&format!("psm validate: cannot start a runtime: {e}"));
            return ExitCode::from(2);
        }
    };
    let mut runner = Runner::new().allow_empty(allow_empty);
    let mut sql = None;
    if let Some(url) = store {
        match rt.block_on(SqlStores::open(url)) {
            Ok(s) => {
                let s = Arc::new(s);
                runner = runner.with_stores(s.clone());
                sql = Some(s);
            }
            Err(why) => {
                output::stderr_line(&format!("psm validate: {why}"));
                return ExitCode::from(2);
            }
        }
    }
    let mut report = Report::with_sink(|case| output::stdout_line(&case.to_string()));
    rt.block_on(runner.run_paths(paths, &mut report));
    if let Some(s) = sql {
        rt.block_on(s.close());
    }
    for e in report.errors() {
        output::stderr_line(&format!("psm validate: {e}"));
    }
    output::stdout_line(&report.summary());
    if !report.errors().is_empty() {
        ExitCode::from(2)
    } else if report.failed() > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
