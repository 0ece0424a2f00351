//! The example application: sessions with permissions, protected routes, logout, and the
//! grant/revoke management API, on psm's embedded default (the SQLite file `./psm.db`) or on
//! any backend given in `PSM_URL`.
//!
//! ```text
//! cargo run -p psm-axum --example app            # ./psm.db; PSM_URL=memory:// or redis://...
//! curl -s -XPOST localhost:3000/login -H 'content-type: application/json' -d '{"username":"alice"}'
//! curl -s localhost:3000/posts -H "x-session-id: <session_id>"
//! curl -s -c jar -XPOST localhost:3000/login -H 'content-type: application/json' -d '{"username":"bob"}'
//! curl -s -b jar localhost:3000/posts          # the psm_session cookie instead of the header
//! ```
//!
//! Binds 127.0.0.1 on `PORT` (default 3000). The session cookie is set without `Secure` because
//! this demo serves plain HTTP on loopback; behind HTTPS keep the default (`Secure`). Network
//! backends are wrapped in a `CachedStore`, connected to the other instances by a Redis bus
//! when `PSM_CACHE_BUS` names a Redis URL.

mod demo;

use std::sync::Arc;

use demo::{AppState, UserDirectory, router};
use permission_storage_manager as psm;
use psm_axum::auth::SessionCookie;
use psm_cache::{CacheConfig, CachedStore, RedisBus};
use psm_core::SessionStore;

/// psm's embedded default store, as for the `psm` command.
const DEFAULT_URL: &str = "sqlite://psm.db";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let url = std::env::var("PSM_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned());
    let port: u16 = match std::env::var("PORT") {
        Ok(p) => p.parse()?,
        Err(_) => 3000,
    };
    let manager = psm::PermissionStorageManager::connect(&url).await?;
    let backend: Arc<dyn SessionStore> = Arc::clone(manager.store());
    // The cache only pays off in front of a network backend; local ones answer from memory or
    // from a local file.
    let store: Arc<dyn SessionStore> = if matches!(backend.backend(), "memory" | "file" | "sqlite")
    {
        backend
    } else if let Ok(bus_url) = std::env::var("PSM_CACHE_BUS") {
        let bus = Arc::new(RedisBus::connect(&bus_url).await?);
        Arc::new(CachedStore::with_bus(backend, CacheConfig::default(), bus).await?)
    } else {
        Arc::new(CachedStore::new(backend, CacheConfig::default())?)
    };
    let state = AppState::new(store, Arc::new(UserDirectory::demo()))
        .with_cookie(SessionCookie::default().secure(false));
    let app = router(state)?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!(
        "listening on http://{} (backend {url})",
        listener.local_addr()?
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
