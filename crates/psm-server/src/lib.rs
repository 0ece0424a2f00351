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

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

pub use config::Config;
pub use error::{ApiJson, Error, Result, rebac_kind};
pub use serve::{ServeOptions, Shutdown, serve};
pub use session_routes::{DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT};
pub use state::{MetricsRenderer, ServerState, ServerStateBuilder, check_token, stored_engine};

/// The application: API routes behind the token check, and the open routes (`/healthz`,
/// `/openapi.json`). Unknown paths answer a JSON 404, a known path with another method a JSON
/// 405.
pub fn router(state: ServerState) -> Router {
    let state = state.0;
    let config = state.config;
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
            get(session_routes::get)
                .patch(session_routes::update)
                .delete(session_routes::invalidate),
        )
        .route(
            "/v1/sessions/{session_id}/extend",
            post(session_routes::extend),
        )
        .route("/v1/users/{user_id}/sessions", get(session_routes::list))
        .route("/v1/sessions-cleanup", post(session_routes::cleanup))
        .route("/v1/sessions-stats", get(session_routes::stats))
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
        .method_not_allowed_fallback(middleware::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            config.request_timeout,
            middleware::deadline,
        ))
        .layer(axum::middleware::from_fn(middleware::record))
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .with_state(state)
}
