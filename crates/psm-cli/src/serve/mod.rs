//! `psm serve`: an HTTP JSON API over the store the URL names — relationship checks, bulk checks,
//! lookups, expand, relationship writes, deletes, reads and changes (a long-poll watch), the schema,
//! sessions — plus `/healthz`, `/metrics` (Prometheus text) and `/openapi.json`. Request bodies
//! are bounded, every request has a deadline, SIGTERM or ctrl-c shut down gracefully, and a
//! bearer token can protect the API.

mod api;
mod auth;
mod expand_routes;
mod lookup_routes;
mod middleware;
mod openapi;
mod read_options;
mod rebac_routes;
mod session_routes;
mod state;
mod watch_routes;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use clap::Args;
use metrics_exporter_prometheus::PrometheusBuilder;
use permission_storage_manager::PermissionStorageManager;

use crate::error::{CliError, Outcome};
use crate::output::Output;
use crate::rebac::Rebac;
use psm_core::duration::parse_ttl;
use state::{AppState, Limits};

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
    let manager = PermissionStorageManager::connect(url).await?;
    let rebac = if Rebac::supports(url) {
        Some(Rebac::open(url).await?)
    } else {
        None
    };
    let metrics = PrometheusBuilder::new()
        .install_recorder()
        .map_err(|e| CliError::Backend(format!("cannot install the metrics recorder: {e}")))?;
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
    let state = Arc::new(
        AppState::new(
            manager.clone(),
            rebac,
            token,
            metrics,
            Limits {
                max_batch: args.max_batch.max(1),
                max_wait: max_wait(args.request_timeout),
            },
        )
        .await?,
    );
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
    let app = router(state.clone(), args.max_body_bytes, args.request_timeout);
    let shutdown = shutdown_signal()?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| CliError::input(format!("cannot listen on {}: {e}", args.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| CliError::Backend(format!("cannot read the listening address: {e}")))?;
    out.emit(
        serde_json::json!({"listening": format!("http://{addr}")}),
        || format!("psm serve: listening on http://{addr}"),
    );
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    upkeep.abort();
    if let Some(r) = refresher {
        r.abort();
    }
    let closed = manager.close().await;
    state.close_rebac().await;
    served.map_err(|e| CliError::Backend(format!("server error: {e}")))?;
    closed?;
    if !out.is_json() {
        eprintln!("psm serve: shut down");
    }
    Ok(Outcome::Done)
}

/// The application: API routes behind the token check, and the open routes.
fn router(state: Arc<AppState>, max_body: usize, timeout: Duration) -> Router {
    let api = Router::new()
        .route("/v1/check", post(rebac_routes::check))
        .route("/v1/check/bulk", post(rebac_routes::check_bulk))
        .route(
            "/v1/lookup/resources",
            post(lookup_routes::lookup_resources),
        )
        .route("/v1/lookup/subjects", post(lookup_routes::lookup_subjects))
        .route("/v1/expand", post(expand_routes::expand))
        .route("/v1/relationships/write", post(rebac_routes::write))
        .route("/v1/relationships/delete", post(rebac_routes::delete))
        .route("/v1/relationships/read", post(rebac_routes::read))
        .route("/v1/relationships/changes", get(watch_routes::changes))
        .route(
            "/v1/schema",
            get(rebac_routes::read_schema).put(rebac_routes::write_schema),
        )
        .route("/v1/sessions", post(session_routes::store))
        .route("/v1/sessions/check", post(session_routes::check))
        .route(
            "/v1/sessions/{session_id}",
            get(session_routes::get).delete(session_routes::invalidate),
        )
        .route("/metrics", get(middleware::metrics))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ));
    Router::new()
        .route("/healthz", get(middleware::healthz))
        .route("/openapi.json", get(openapi::document))
        .merge(api)
        .fallback(middleware::not_found)
        .layer(axum::middleware::from_fn_with_state(
            timeout,
            middleware::deadline,
        ))
        .layer(axum::middleware::from_fn(middleware::record))
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(state)
}

/// The longest long-poll wait: at most [`watch_routes::MAX_WAIT_MS`], and nine tenths of the
/// request deadline so a poll that found nothing still answers before it.
fn max_wait(request_timeout: Duration) -> Duration {
    Duration::from_millis(watch_routes::MAX_WAIT_MS).min(request_timeout.mul_f64(0.9))
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
        Some(t) if t.len() < 16 => Err(CliError::input(
            "the bearer token must be at least 16 characters",
        )),
        Some(t) if !t.bytes().all(|b| b.is_ascii_graphic()) => Err(CliError::input(
            "the bearer token must be printable ASCII without spaces",
        )),
        other => Ok(other),
    }
}

/// Installs the SIGTERM and SIGINT (ctrl-c) handlers now, before the address is printed, so a
/// signal sent right after cannot kill the process; the future resolves on either.
fn shutdown_signal() -> Result<Pin<Box<dyn Future<Output = ()> + Send>>, CliError> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let install = |kind| {
            signal(kind)
                .map_err(|e| CliError::Backend(format!("cannot install a signal handler: {e}")))
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
