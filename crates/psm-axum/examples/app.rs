//! The example application: sessions with permissions, protected routes, logout, and the
//! grant/revoke management API, over any psm backend.
//!
//! ```text
//! PSM_URL=memory:// PORT=3000 cargo run -p psm-axum --example app
//! curl -s -XPOST localhost:3000/login -H 'content-type: application/json' -d '{"username":"alice"}'
//! curl -s localhost:3000/posts -H "x-session-id: <session_id>"
//! ```
//!
//! `PSM_URL` picks the backend (default `memory://`); network backends are wrapped in a
//! `CachedStore`, connected to the other instances by a Redis bus when `PSM_CACHE_BUS` names a
//! Redis URL. Binds 127.0.0.1 on `PORT` (default 3000).

use std::sync::Arc;

use permission_storage_manager as psm;
use psm_axum::example_app::{AppState, UserDirectory, router};
use psm_cache::{CacheConfig, CachedStore, RedisBus};
use psm_core::SessionStore;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let url = std::env::var("PSM_URL").unwrap_or_else(|_| "memory://".to_owned());
    let port: u16 = match std::env::var("PORT") {
        Ok(p) => p.parse()?,
        Err(_) => 3000,
    };
    let manager = psm::PermissionStorageManager::connect(&url).await?;
    let backend: Arc<dyn SessionStore> = Arc::clone(manager.store());
    // The cache only pays off in front of a network backend.
    let store: Arc<dyn SessionStore> = if backend.backend() == "memory" {
        backend
    } else if let Ok(bus_url) = std::env::var("PSM_CACHE_BUS") {
        let bus = Arc::new(RedisBus::connect(&bus_url).await?);
        Arc::new(CachedStore::with_bus(backend, CacheConfig::default(), bus).await?)
    } else {
        Arc::new(CachedStore::new(backend, CacheConfig::default())?)
    };
    let app = router(AppState::new(store, Arc::new(UserDirectory::demo())))?;
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
