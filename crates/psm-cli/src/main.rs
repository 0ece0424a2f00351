//! The `psm` command: sessions, relationships, ACLs and validation files on any psm backend
//! (an embedded SQLite file `./psm.db` by default), and `psm serve`, an HTTP JSON API.
#![forbid(unsafe_code)]

mod acl;
mod catalog;
mod error;
mod output;
mod quickstart;
mod rebac;
mod serve;
mod session;
mod store_url;
mod validate;
mod validate_store;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use error::{CliError, Outcome};
use output::Output;

/// The store used when neither `--url` nor `PSM_URL` is given: an SQLite file in the current
/// directory, created on first use.
pub const DEFAULT_URL: &str = "sqlite://psm.db";

/// psm: store who may do what, and answer "may they?".
///
/// Exit codes: 0 allowed or done, 1 denied or not found, 2 usage or input error, 3 backend error.
#[derive(Debug, Parser)]
#[command(name = "psm", version, about)]
struct Cli {
    /// Store URL: sqlite://file.db, postgres://..., mysql://..., redis://..., file:dir, memory://.
    #[arg(
        long,
        env = "PSM_URL",
        default_value = DEFAULT_URL,
        global = true,
        hide_env_values = true
    )]
    url: String,
    /// Print machine-readable JSON instead of text (errors too, on stderr).
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Per-session permission sets with a TTL.
    #[command(subcommand)]
    Session(session::SessionCommand),
    /// Relationships (Zanzibar): schema, writes, checks, lookups, import and export.
    #[command(subcommand)]
    Rebac(rebac::RebacCommand),
    /// Role / resource / permission ACL kept in a JSON file.
    Acl(acl::AclArgs),
    /// A declared permission tree (django-permagate's model) and its user and group assignments.
    Catalog(catalog::CatalogArgs),
    /// Serve the HTTP JSON API (checks, lookups, relationships, schema, sessions, metrics).
    Serve(serve::ServeArgs),
    /// Write an example schema, relationships and a session to the store, then print checks and
    /// lookups. Safe to run again: it rewrites the same data.
    Quickstart,
    /// Run SpiceDB validation files, OpenFGA store test files (`*.fga.yaml`, as `fga model
    /// test`), OpenFGA staged tests and OpenFGA language cases.
    ///
    /// Directories are walked recursively for `*.yaml` / `*.yml`. Prints one line per case
    /// (`PASS`, `FAIL <reason>`, `SKIP <reason>`) and `N passed, M failed, K skipped`.
    /// Exit 0 when all passed, 1 when a case failed or no test ran (a file without tests
    /// fails too, unless --allow-empty), 2 when a path or a file cannot be used
    /// (`FILE:LINE: why` on stderr).
    Validate {
        /// Files or directories.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Run on this SQL tuple store (postgres://, sqlite://, sqlite::memory:, mysql://)
        /// instead of fresh memory stores; without a table_prefix it uses tables of its own.
        #[arg(long, value_name = "URL")]
        store: Option<String>,
        /// Accept files, and runs, that hold no test (reported as skipped).
        #[arg(long)]
        allow_empty: bool,
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
    let out = Output::new(cli.json);
    if let Command::Validate {
        paths,
        store,
        allow_empty,
    } = &cli.command
    {
        let code = validate::run(paths, store.as_deref(), *allow_empty);
        return quiet_if_closed(code);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            out.error(&CliError::backend(format!("cannot start a runtime: {e}")));
            return ExitCode::from(3);
        }
    };
    let result = runtime.block_on(run(cli.command, &cli.url, &out));
    // Do not wait for tasks still running (a request dropped at `psm serve`'s shutdown
    // deadline): the command is over.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    let code = match result {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Ok(Outcome::Denied) => ExitCode::from(1),
        Err(e) => {
            out.error(&e);
            ExitCode::from(e.exit_code())
        }
    };
    quiet_if_closed(code)
}

/// Exit 0 once stdout's reader went away (a closed pager), whatever the command found.
fn quiet_if_closed(code: ExitCode) -> ExitCode {
    if output::stdout_closed() {
        ExitCode::SUCCESS
    } else {
        code
    }
}

async fn run(command: Command, url: &str, out: &Output) -> Result<Outcome, CliError> {
    let writes = match &command {
        Command::Session(cmd) => cmd.writes(),
        Command::Rebac(cmd) => cmd.writes(),
        Command::Quickstart => true,
        Command::Catalog(args) => args.writes(),
        Command::Serve(_) | Command::Acl(_) | Command::Validate { .. } => false,
    };
    let url = if writes {
        url.to_owned()
    } else {
        store_url::without_create(url)
    };
    let url = url.as_str();
    match command {
        Command::Session(cmd) => session::run(cmd, url, out).await,
        Command::Rebac(cmd) => rebac::run(cmd, url, out).await,
        Command::Acl(args) => acl::run(args, out).await,
        Command::Catalog(args) => catalog::run(args, url, out).await,
        Command::Serve(args) => serve::run(args, url, out).await,
        Command::Quickstart => quickstart::run(url, out).await,
        Command::Validate { .. } => Ok(Outcome::Done),
    }
}
