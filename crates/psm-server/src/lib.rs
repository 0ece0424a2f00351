//! psm-server: psm's HTTP JSON API as a library — relationship checks, bulk checks, lookups,
//! expand, relationship writes, deletes, reads and changes (a long-poll watch), the schema,
//! sessions — plus `/healthz`, `/metrics` and `/openapi.json`. [`router`] returns an
//! [`axum::Router`] to serve as is (`psm serve` does) or to nest in an application of your own.
//! Request bodies are bounded, every request has a deadline, and a bearer token can protect the
//! API.
//!
//! ```
//! use std::sync::Arc;
//! use psm_server::{Config, ServerState, router};
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! let state = ServerState::builder()
//!     .sessions(Arc::new(psm_memory::MemoryStore::new()))
//!     .relationships(psm_rebac::RelationshipStore::in_memory())
//!     .config(Config::default().max_batch(100))
//!     .build()
//!     .await?;
//! let app: axum::Router = axum::Router::new().nest("/authz", router(state));
//! # let _ = app;
//! # Ok::<(), psm_server::Error>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

mod auth;
mod config;
mod error;
mod expand_routes;
mod lookup_routes;
mod middleware;
mod openapi;
pub mod read_options;
mod rebac_routes;
pub mod render;
mod serve;
mod session_routes;
mod state;
mod watch_routes;
mod whole;

use axum::extract::DefaultBodyLimit;
use axum::{Extension, Router};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use config::Config;
pub use error::{ApiJson, Error, Result, rebac_kind};
pub use serve::{ServeOptions, Shutdown, serve};
pub use session_routes::{DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT};
pub use state::{MetricsRenderer, ServerState, ServerStateBuilder, check_token, stored_engine};

/// The application: API routes behind the token check, and the open routes (`/healthz`,
/// `/openapi.json`). Unknown paths answer a JSON 404, a known path with another method a JSON
/// 405. The OpenAPI document `/openapi.json` serves is generated here, from the routes
/// registered (each handler's `#[utoipa::path]`), for this state's token and limits.
pub fn router(state: ServerState) -> Router {
    let (app, doc) = routes(&state);
    let state = state.0;
    let config = state.config;
    let doc = openapi::finish(doc, state.token.is_some(), &config);
    app.fallback(middleware::not_found)
        .method_not_allowed_fallback(middleware::method_not_allowed)
        .layer(Extension(openapi::OpenApiJson(std::sync::Arc::new(doc))))
        .layer(axum::middleware::from_fn_with_state(
            config.request_timeout,
            middleware::deadline,
        ))
        .layer(axum::middleware::from_fn(middleware::record))
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .with_state(state)
}

/// Every route with its handler, and the document generated from them: a route exists only by
/// being registered here with its `#[utoipa::path]`.
fn routes(
    state: &ServerState,
) -> (
    Router<std::sync::Arc<state::AppState>>,
    utoipa::openapi::OpenApi,
) {
    let api = OpenApiRouter::new()
        .routes(routes!(rebac_routes::check))
        .routes(routes!(rebac_routes::check_bulk))
        .routes(routes!(lookup_routes::lookup_resources))
        .routes(routes!(lookup_routes::lookup_subjects))
        .routes(routes!(expand_routes::expand))
        .routes(routes!(rebac_routes::write))
        .routes(routes!(rebac_routes::delete))
        .routes(routes!(rebac_routes::read))
        .routes(routes!(watch_routes::changes))
        .routes(routes!(
            rebac_routes::read_schema,
            rebac_routes::write_schema
        ))
        .routes(routes!(session_routes::store))
        .routes(routes!(session_routes::check))
        .routes(routes!(
            session_routes::get,
            session_routes::update,
            session_routes::invalidate
        ))
        .routes(routes!(session_routes::extend))
        .routes(routes!(session_routes::list))
        .routes(routes!(session_routes::cleanup))
        .routes(routes!(session_routes::stats))
        .routes(routes!(middleware::metrics))
        .route_layer(axum::middleware::from_fn_with_state(
            state.0.clone(),
            auth::require_token,
        ));
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(middleware::healthz))
        .routes(routes!(openapi::document))
        .merge(api)
        .split_for_parts()
}
