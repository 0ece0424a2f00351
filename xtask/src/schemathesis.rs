//! `cargo xtask schemathesis`: schemathesis (`--checks all`) against a live `psm serve` and its
//! generated `/openapi.json`, on `memory://`, on a fresh SQLite file and with a bearer token:
//! every response must match the document (statuses, bodies, headers), every schema-valid
//! request must be accepted and every schema-invalid one refused. Installs schemathesis (pinned)
//! into a venv in the target directory when missing; each server is killed when its run ends,
//! whatever happened. Configuration: `xtask/schemathesis/schemathesis.toml`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use crate::cmd::{self, Result};

/// The schemathesis release the runs are pinned to.
const SCHEMATHESIS: &str = "schemathesis==4.32.5";

/// A schema the relationship routes can use, written before each run so that checks, lookups
/// and writes reach the engine rather than all answering 409 `no_schema`.
const SCHEMA: &str = "definition user {}\\ndefinition group {\\n  relation member: user | \
                      group#member\\n}\\ndefinition document {\\n  relation reader: user | \
                      user:* | group#member\\n  relation writer: user\\n  permission read = \
                      reader + writer\\n}";

/// A token for the secured run (16+ printable characters).
const TOKEN: &str = "schemathesis-token-0123456789";

/// Options of `cargo xtask schemathesis`.
#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// Seconds of each run on memory and on SQLite (the secured run gets half).
    #[arg(long, default_value_t = 60)]
    pub seconds: u64,
    /// Examples per operation and phase.
    #[arg(long, default_value_t = 25)]
    pub examples: u64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            seconds: 60,
            examples: 25,
        }
    }
}

/// One run: a store URL, with or without a token, for how long.
struct Case {
    name: &'static str,
    url: String,
    token: bool,
    seconds: u64,
}

/// Builds `psm`, installs schemathesis when missing, then runs every case; fails when any case
/// finds a failure.
pub fn run(options: &Options) -> Result {
    let target = crate::differential::target_dir()?;
    let schemathesis = install(&target.join("schemathesis-venv"))?;
    cmd::run(cmd::cargo()?.args(["build", "-p", "psm-cli", "--bin", "psm"]))?;
    let scratch = target.join(format!("schemathesis-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    // A copy, so that every case serves the binary just built even if another build in the
    // same target directory replaces `debug/psm` meanwhile.
    let psm = scratch.join("psm");
    std::fs::copy(target.join("debug/psm"), &psm)?;
    let config = cmd::workspace_root()?.join("xtask/schemathesis/schemathesis.toml");
    let sqlite = format!(
        "sqlite://{}?create=true",
        scratch.join("schemathesis.db").display()
    );
    let cases = [
        Case {
            name: "memory",
            url: "memory://".into(),
            token: false,
            seconds: options.seconds,
        },
        Case {
            name: "sqlite",
            url: sqlite,
            token: false,
            seconds: options.seconds,
        },
        Case {
            name: "memory, bearer token",
            url: "memory://".into(),
            token: true,
            seconds: (options.seconds / 2).max(1),
        },
    ];
    let mut failed = Vec::new();
    for case in &cases {
        let started = Instant::now();
        let result = run_case(case, &psm, &schemathesis, &config, options, &scratch);
        let verdict = if result.is_ok() { "ok" } else { "FAILED" };
        println!(
            "==> schemathesis on {}: {verdict} in {:.1} s",
            case.name,
            started.elapsed().as_secs_f64()
        );
        if let Err(e) = result {
            eprintln!("schemathesis on {}: {e}", case.name);
            failed.push(case.name);
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("schemathesis found failures on: {}", failed.join("; ")).into())
    }
}

/// One case: start the server, write the schema, run schemathesis, stop the server.
fn run_case(
    case: &Case,
    psm: &Path,
    schemathesis: &Path,
    config: &Path,
    options: &Options,
    scratch: &Path,
) -> Result {
    let server = Server::start(psm, &case.url, case.token.then_some(TOKEN))?;
    let mut put = Command::new("curl");
    put.args(["-sf", "-X", "PUT", "-H", "content-type: application/json"]);
    if case.token {
        put.args(["-H", &format!("authorization: Bearer {TOKEN}")]);
    }
    put.args(["-d", &format!(r#"{{"schema": "{SCHEMA}"}}"#)])
        .arg(format!("{}/v1/schema", server.base));
    cmd::capture(&mut put)?;
    let mut st = Command::new(schemathesis);
    st.arg("--config-file")
        .arg(config)
        .args(["run", &format!("{}/openapi.json", server.base)])
        // One worker: with two, CPython 3.11's `ast` module (which schemathesis uses while
        // generating) once failed a run with "AST constructor recursion depth mismatch", a
        // thread-safety fault of the interpreter, not a finding about the server.
        .args(["--checks", "all", "--workers", "1", "--no-shrink"])
        .args(["--max-examples", &options.examples.to_string()])
        .args(["--max-time", &case.seconds.to_string()])
        .args(["--request-timeout", "10"])
        .arg("--report-dir")
        .arg(scratch.join("reports"))
        .stdin(Stdio::null());
    if case.token {
        st.args(["--header", &format!("Authorization: Bearer {TOKEN}")]);
    }
    let result = cmd::run(&mut st);
    drop(server);
    result
}

/// schemathesis in `venv`, installed when missing; returns the program.
fn install(venv: &Path) -> Result<PathBuf> {
    let program = venv.join("bin/schemathesis");
    let pinned = SCHEMATHESIS.trim_start_matches("schemathesis==");
    let version = cmd::capture(Command::new(&program).arg("--version")).unwrap_or_default();
    if version.contains(pinned) {
        return Ok(program);
    }
    cmd::run(cmd::line("python3 -m venv").arg(venv))?;
    cmd::run(Command::new(venv.join("bin/pip")).args(["install", "--quiet", SCHEMATHESIS]))?;
    if !program.is_file() {
        return Err(format!("{SCHEMATHESIS} installed no {}", program.display()).into());
    }
    Ok(program)
}

/// A running `psm serve` on a free loopback port, killed when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(psm: &Path, url: &str, token: Option<&str>) -> Result<Self> {
        let mut command = Command::new(psm);
        command
            .args(["--url", url, "serve", "--listen", "127.0.0.1:0"])
            // a long poll of the changes route waits at most 0.9 of this
            .args(["--request-timeout", "2s", "--schema-refresh", "0"])
            .env_remove("PSM_SERVE_TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(t) = token {
            command.env("PSM_SERVE_TOKEN", t);
        }
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", psm.display()))?;
        let mut line = String::new();
        if let Some(stdout) = child.stdout.take() {
            BufReader::new(stdout).read_line(&mut line)?;
        }
        let base = line
            .split_whitespace()
            .last()
            .filter(|u| u.starts_with("http://"))
            .map(str::to_owned);
        match base {
            Some(base) => Ok(Self { child, base }),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                Err(format!("psm serve did not print its address: {line:?}").into())
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
