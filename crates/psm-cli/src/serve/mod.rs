//! `psm serve`: psm-server's HTTP JSON API over the stores the URL names. This module keeps the
//! arguments, the listener, the signals (SIGTERM or ctrl-c shut down gracefully) and the
//! Prometheus recorder behind `/metrics`; the routes are psm-server's.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;

use clap::Args;
use metrics_exporter_prometheus::PrometheusBuilder;
use permission_storage_manager::server_stores::server_state;
use psm_server::{Config, ServeOptions, ServerState, check_token, router, serve};

use crate::error::{CliError, Outcome};
use crate::output::Output;
use psm_core::duration::parse_ttl;

/// `psm serve` options.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port; the chosen address is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// A file holding the bearer token every API call must present (`Authorization: Bearer
    /// TOKEN`). Also read from PSM_SERVE_TOKEN. Without either, the API is open.
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// Largest request body accepted, in bytes.
    #[arg(long, default_value_t = 1 << 20)]
    max_body_bytes: usize,
    /// Deadline of one request (for example 10s); a slower request gets 503.
    #[arg(long, default_value = "10s", value_parser = parse_ttl)]
    request_timeout: Duration,
    /// Most items in one bulk check, write, delete or read.
    #[arg(long, default_value_t = 1000)]
    max_batch: usize,
    /// How often to look for a schema another process wrote to the store (for example 2s);
    /// `0` only uses the schema found at start and the server's own `PUT /v1/schema`.
    #[arg(long, default_value = "2s", value_parser = parse_interval)]
    schema_refresh: Duration,
    /// How long a client may take to send a request's headers, and how long a keep-alive
    /// connection may stay idle; then it is closed.
    #[arg(long, default_value = "10s", value_parser = parse_ttl)]
    header_read_timeout: Duration,
    /// Most connections served at once; more wait in the listen backlog.
    #[arg(long, default_value_t = 1024)]
    max_connections: usize,
    /// On SIGTERM or ctrl-c, how long in-flight requests may take to finish before they are
    /// dropped (relationship evaluations still running are cancelled just before).
    #[arg(long, default_value = "10s", value_parser = parse_interval)]
    shutdown_grace: Duration,
    /// Most evaluation steps (store reads and evaluated nodes) of one relationship request;
    /// more answers 422 `budget_exceeded`.
    #[arg(long, default_value_t = 10_000_000)]
    max_steps: u64,
    /// Most nodes and subjects one expand may build; more answers 422 `budget_exceeded`
    /// before the tree is built.
    #[arg(long, default_value_t = 100_000)]
    max_results: u64,
    /// Most estimated cost of one caveat evaluation (expression size times the longest list
    /// per level of nested comprehension); more answers 422 `budget_exceeded` before it runs.
    #[arg(long, default_value_t = 1_000_000)]
    max_caveat_cost: u64,
}

/// `0` (off) or a duration as `parse_ttl` reads it.
fn parse_interval(s: &str) -> Result<Duration, String> {
    if s.trim() == "0" {
        Ok(Duration::ZERO)
    } else {
        parse_ttl(s).map_err(|e| e.to_string())
    }
}

/// The token environment variable.
const TOKEN_ENV: &str = "PSM_SERVE_TOKEN";

/// Runs the server until SIGTERM or ctrl-c.
pub async fn run(args: ServeArgs, url: &str, out: &Output) -> Result<Outcome, CliError> {
    let token = load_token(args.token_file.as_deref())?;
    // the stores of the URL's scheme, through the registries (third-party schemes too)
    let builder = server_state(url).await?;
    let metrics = PrometheusBuilder::new()
        .install_recorder()
        .map_err(|e| CliError::backend(format!("cannot install the metrics recorder: {e}")))?;
    let upkeep = {
        let handle = metrics.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            loop {
                tick.tick().await;
                handle.run_upkeep();
            }
        })
    };
    let mut builder = builder.metrics(move || metrics.render()).config(
        Config::default()
            .max_body_bytes(args.max_body_bytes)
            .request_timeout(args.request_timeout)
            .max_batch(args.max_batch)
            .max_steps(args.max_steps)
            .max_results(args.max_results)
            .max_caveat_cost(args.max_caveat_cost),
    );
    if let Some(token) = token {
        builder = builder.token(token);
    }
    let state = builder.build().await?;
    let refresher = (!args.schema_refresh.is_zero()).then(|| {
        let state = state.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(args.schema_refresh);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await; // the first tick is immediate: the schema was just loaded
            loop {
                tick.tick().await;
                if let Err(e) = state.refresh_schema().await {
                    eprintln!("psm serve: the stored schema could not be reloaded: {e}");
                }
            }
        })
    });
    let app = router(state.clone());
    let shutdown = watch_signals(state.clone(), args.shutdown_grace)?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| CliError::input(format!("cannot listen on {}: {e}", args.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| CliError::backend(format!("cannot read the listening address: {e}")))?;
    out.emit(
        serde_json::json!({"listening": format!("http://{addr}")}),
        || format!("psm serve: listening on http://{addr}"),
    );
    let options = ServeOptions::default()
        .header_read_timeout(args.header_read_timeout)
        .max_connections(args.max_connections)
        .shutdown_grace(args.shutdown_grace);
    let served = serve(listener, app, options, shutdown).await;
    upkeep.abort();
    if let Some(r) = refresher {
        r.abort();
    }
    let closed = state.close().await;
    let ended = served.map_err(|e| CliError::backend(format!("server error: {e}")))?;
    closed?;
    if !out.is_json() {
        if ended.dropped_connections > 0 {
            eprintln!(
                "psm serve: {} connections with requests in flight were dropped at the \
                 shutdown deadline",
                ended.dropped_connections
            );
        }
        eprintln!("psm serve: shut down");
    }
    Ok(Outcome::Done)
}

/// The token from `--token-file` or `PSM_SERVE_TOKEN`, if either is set.
fn load_token(file: Option<&std::path::Path>) -> Result<Option<String>, CliError> {
    let raw = match file {
        Some(path) => Some(std::fs::read_to_string(path).map_err(|e| {
            CliError::input(format!("cannot read token file {}: {e}", path.display()))
        })?),
        None => std::env::var(TOKEN_ENV).ok(),
    };
    match raw.map(|t| t.trim().to_owned()) {
        Some(t) if t.is_empty() => Err(CliError::input("the bearer token is empty")),
        Some(t) => check_token(&t).map(|()| Some(t)),
        None => Ok(None),
    }
}

/// Watches for SIGTERM and ctrl-c on a thread with a runtime of its own, so that a signal is
/// seen even while every worker of the server's runtime is busy in an evaluation that never
/// awaits (nothing would drive the server runtime's signal and timer drivers then). The
/// returned future resolves on the signal; shortly before the grace period ends the thread
/// cancels the relationship requests still running, so that the server can exit in time.
fn watch_signals(
    state: ServerState,
    grace: Duration,
) -> Result<Pin<Box<dyn Future<Output = ()> + Send>>, CliError> {
    let (signalled_tx, signalled_rx) = tokio::sync::oneshot::channel::<()>();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), CliError>>();
    let thread = std::thread::Builder::new()
        .name("psm-serve-signals".to_owned())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_io()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(CliError::backend(format!(
                        "cannot start the signal runtime: {e}"
                    ))));
                    return;
                }
            };
            let signal = match runtime.block_on(async { shutdown_signal() }) {
                Ok(signal) => signal,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            let _ = ready_tx.send(Ok(()));
            runtime.block_on(signal);
            let _ = signalled_tx.send(());
            let early = (grace / 10).min(Duration::from_millis(500));
            std::thread::sleep(grace.saturating_sub(early));
            state.cancel_requests();
        })
        .map_err(|e| CliError::backend(format!("cannot start the signal thread: {e}")))?;
    match ready_rx.recv() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(e),
        Err(_) => {
            let _ = thread.join();
            return Err(CliError::backend("the signal thread ended early"));
        }
    }
    Ok(Box::pin(async move {
        let _ = signalled_rx.await;
    }))
}

/// Installs the SIGTERM and SIGINT (ctrl-c) handlers now, before the address is printed, so a
/// signal sent right after cannot kill the process; the future resolves on either.
fn shutdown_signal() -> Result<Pin<Box<dyn Future<Output = ()> + Send>>, CliError> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let install = |kind| {
            signal(kind)
                .map_err(|e| CliError::backend(format!("cannot install a signal handler: {e}")))
        };
        let mut term = install(SignalKind::terminate())?;
        let mut int = install(SignalKind::interrupt())?;
        Ok(Box::pin(async move {
            tokio::select! {
                _ = term.recv() => {},
                _ = int.recv() => {},
            }
        }))
    }
    #[cfg(not(unix))]
    {
        Ok(Box::pin(async {
            let _ = tokio::signal::ctrl_c().await;
        }))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::Duration;

    use clap::Parser;

    use super::ServeArgs;

    #[derive(Debug, Parser)]
    struct Wrap {
        #[command(flatten)]
        serve: ServeArgs,
    }

    /// `psm serve` without flags: a 10 s shutdown deadline, header-read timeout and request
    /// deadline, 1,024 connections.
    #[test]
    fn the_default_flags_bound_shutdown_headers_and_connections() {
        let a = Wrap::try_parse_from(["psm"]).unwrap().serve;
        assert_eq!(a.shutdown_grace, Duration::from_secs(10));
        assert_eq!(a.header_read_timeout, Duration::from_secs(10));
        assert_eq!(a.request_timeout, Duration::from_secs(10));
        assert_eq!(a.max_connections, 1024);
        let a = Wrap::try_parse_from(["psm", "--shutdown-grace", "2s"])
            .unwrap()
            .serve;
        assert_eq!(a.shutdown_grace, Duration::from_secs(2));
    }
}
