//! `cargo xtask load`: drives `psm serve` with wrk from a second process — session checks
//! (`POST /v1/sessions/check`) and relationship checks (`POST /v1/check`) at 64 connections, on
//! `memory://` and on SQLite — and prints requests per second and the p99 latency of each.
//! Installs wrk with apt-get when it is missing. Figures mean something only on a quiet machine.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cmd::{self, Result};
use crate::serve::Server;

/// `cargo xtask load` options.
#[derive(Debug, clap::Args)]
pub struct Options {
    /// Seconds of load per scenario.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Concurrent connections.
    #[arg(long, default_value_t = 64)]
    connections: u32,
    /// Use a debug build of psm (quicker to build; figures not comparable).
    #[arg(long)]
    debug: bool,
}

const SCHEMA: &str =
    "definition user {}\\ndefinition doc { relation viewer: user\\n permission view = viewer }";

/// Runs every scenario and prints a table.
pub fn run(options: &Options) -> Result {
    if !cmd::installed("wrk") {
        cmd::run(&mut cmd::line("apt-get install -y wrk"))?;
    }
    let profile = if options.debug { "debug" } else { "release" };
    let mut build = cmd::cargo()?;
    build.args(["build", "-p", "psm-cli", "--bin", "psm"]);
    if !options.debug {
        build.arg("--release");
    }
    cmd::run(&mut build)?;
    let psm = crate::differential::target_dir()?.join(profile).join("psm");
    let scratch = tempdir()?;
    let sqlite = format!("sqlite://{}?create=true", scratch.join("load.db").display());
    println!("store    route                 connections  requests/s  p99");
    for (store, url) in [("memory", "memory://".to_owned()), ("sqlite", sqlite)] {
        let mut server = Server::start(&psm, &url)?;
        let result = scenarios(&server.base, store, options, &scratch);
        server.stop();
        result?;
    }
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}

fn scenarios(base: &str, store: &str, options: &Options, scratch: &Path) -> Result {
    post(
        base,
        "PUT",
        "/v1/schema",
        &format!(r#"{{"schema": "{SCHEMA}"}}"#),
    )?;
    post(
        base,
        "POST",
        "/v1/relationships/write",
        r#"{"updates": [{"operation": "touch", "relationship": "doc:d1#viewer@user:ann"}]}"#,
    )?;
    post(
        base,
        "POST",
        "/v1/sessions",
        r#"{"session_id": "s1", "user_id": "ann", "permissions": ["read:posts", "admin:*"]}"#,
    )?;
    for (route, body) in [
        (
            "/v1/sessions/check",
            r#"{"session_id": "s1", "permissions": ["admin:users"]}"#,
        ),
        (
            "/v1/check",
            r#"{"resource": "doc:d1", "permission": "view", "subject": "user:ann"}"#,
        ),
    ] {
        let script = scratch.join("post.lua");
        std::fs::write(&script, lua_script(body, EXPECTED))?;
        let mut wrk = Command::new("wrk");
        wrk.args(["-t", "2", "-c", &options.connections.to_string()])
            .args(["-d", &format!("{}s", options.seconds), "--latency", "-s"])
            .arg(&script)
            .arg(format!("{base}{route}"));
        let out = cmd::capture(&mut wrk)?;
        if let Some(line) = out.lines().find(|l| l.contains("Non-2xx")) {
            return Err(format!("{store} {route}: {}", line.trim()).into());
        }
        let (good, bad) = answers(&out)
            .ok_or_else(|| format!("{store} {route}: wrk printed no answer count:\n{out}"))?;
        if bad > 0 || good == 0 {
            return Err(format!(
                "{store} {route}: {bad} of {} answers were not 200 with {EXPECTED}",
                good + bad
            )
            .into());
        }
        let rps = field(&out, "Requests/sec:").unwrap_or("?");
        let p99 = field(&out, "99%").unwrap_or("?");
        println!(
            "{store:<8} {route:<21} {:>11}  {rps:>10}  {p99}",
            options.connections
        );
    }
    Ok(())
}

/// What every answer of both scenarios must hold (ann may view d1; s1's `admin:*` covers
/// `admin:users`): a server answering 200 with the wrong answer fails the run.
const EXPECTED: &str = r#""allowed":true"#;

/// A wrk script that posts `body` and counts, in every thread, the answers that are 200 with
/// `expected` in the body and those that are not; `done` prints `psm-answers good=G bad=B`.
fn lua_script(body: &str, expected: &str) -> String {
    format!(
        r#"wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [[{body}]]
local threads = {{}}
function setup(thread) table.insert(threads, thread) end
function init(args) good = 0; bad = 0 end
function response(status, headers, body)
  if status == 200 and string.find(body, [[{expected}]], 1, true) then good = good + 1 else bad = bad + 1 end
end
function done(summary, latency, requests)
  local g, b = 0, 0
  for _, t in ipairs(threads) do g = g + t:get("good"); b = b + t:get("bad") end
  io.write(string.format("psm-answers good=%d bad=%d\n", g, b))
end
"#
    )
}

/// The counts the script's `done` printed.
fn answers(out: &str) -> Option<(u64, u64)> {
    let line = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("psm-answers "))?;
    let mut good = None;
    let mut bad = None;
    for part in line.split_whitespace() {
        match part.split_once('=') {
            Some(("good", n)) => good = n.parse().ok(),
            Some(("bad", n)) => bad = n.parse().ok(),
            _ => {}
        }
    }
    Some((good?, bad?))
}

/// The first word after `label` on the line that starts with it.
fn field<'a>(out: &'a str, label: &str) -> Option<&'a str> {
    out.lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix(label))
        .and_then(|rest| rest.split_whitespace().next())
}

/// One request with curl; fails unless it answers 2xx.
fn post(base: &str, method: &str, path: &str, body: &str) -> Result {
    let mut curl = Command::new("curl");
    curl.args([
        "-sf",
        "-X",
        method,
        "-H",
        "content-type: application/json",
        "-d",
        body,
    ])
    .arg(format!("{base}{path}"));
    cmd::capture(&mut curl).map(|_| ())
}

/// A fresh directory under the system temp directory.
fn tempdir() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("psm-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
