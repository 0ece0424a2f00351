//! The stores `psm serve` serves, opened by URL through the registries: [`server_state`] opens
//! the session store registered for the URL's scheme and, when a tuple store is registered for
//! it too, the relationship store with its stored schema, and returns a
//! [`ServerStateBuilder`] holding both — add the token, the
//! metrics and the limits, build, and serve [`psm_server::router`]. A scheme a third-party crate
//! registered (with [`register_provider`](crate::registry::register_provider) and
//! [`register_tuple_store`](crate::tuple_stores::register_tuple_store)) is served the same way
//! as the built-in ones.
//!
//! ```
//! use permission_storage_manager as psm;
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! let state = psm::server_stores::server_state("memory://").await?.build().await?;
//! let app: axum::Router = psm::server::router(state);
//! # let _ = app;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use psm_core::Result;
use psm_server::{ServerState, ServerStateBuilder};

use crate::tuple_stores::{open_tuple_store, supports_tuples};

/// A [`ServerState`] builder holding the session store of `url` and, when the scheme has a
/// registered tuple store, its relationship store; without one the relationship routes answer
/// 501.
pub async fn server_state(url: &str) -> Result<ServerStateBuilder> {
    let sessions = crate::registry::open(url).await?;
    let mut builder = ServerState::builder().sessions(sessions);
    if supports_tuples(url) {
        builder = builder.relationships(open_tuple_store(url).await?);
    }
    Ok(builder)
}
