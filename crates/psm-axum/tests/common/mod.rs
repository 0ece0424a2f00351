//! Helpers shared by the psm-axum tests: a map-backed provider, a store that can be made to
//! fail, a server on 127.0.0.1:0, and request helpers.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use http::{Request, StatusCode};
use parking_lot::RwLock;
use psm_core::{
    Capabilities, Error, Health, NewSession, PermissionsProvider, Principal, Result, Session,
    SessionStore, StoreStats, async_trait,
};
use serde_json::Value;
use tower::ServiceExt;

/// Permissions by lookup name; fails every call while `failing` is set.
#[derive(Debug, Default)]
pub struct MapProvider {
    pub users: RwLock<HashMap<String, Vec<String>>>,
    pub failing: AtomicBool,
}

impl MapProvider {
    pub fn with(users: &[(&str, &[&str])]) -> Arc<Self> {
        let p = MapProvider::default();
        for (u, perms) in users {
            p.users
                .write()
                .insert(u.to_string(), perms.iter().map(|s| s.to_string()).collect());
        }
        Arc::new(p)
    }
}

#[async_trait]
impl PermissionsProvider for MapProvider {
    async fn fetch_permissions(&self, p: &Principal) -> Result<Vec<String>> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(Error::Connection {
                backend: "map",
                message: "down".into(),
            });
        }
        Ok(self
            .users
            .read()
            .get(p.lookup_name())
            .cloned()
            .unwrap_or_default())
    }
}

/// A store that delegates to `inner` but fails every call while `failing` is set.
#[derive(Debug)]
pub struct FlakyStore<S> {
    pub inner: S,
    pub failing: AtomicBool,
}

impl<S> FlakyStore<S> {
    pub fn new(inner: S) -> Self {
        FlakyStore {
            inner,
            failing: AtomicBool::new(false),
        }
    }
    fn check(&self) -> Result<()> {
        if self.failing.load(Ordering::SeqCst) {
            Err(Error::Connection {
                backend: "flaky",
                message: "down".into(),
            })
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl<S: SessionStore> SessionStore for FlakyStore<S> {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    async fn store_session(&self, s: NewSession) -> Result<Session> {
        self.check()?;
        self.inner.store_session(s).await
    }
    async fn check_permission(&self, id: &str, p: &str) -> Result<bool> {
        self.check()?;
        self.inner.check_permission(id, p).await
    }
    async fn check_permissions(&self, id: &str, p: &[String]) -> Result<BTreeMap<String, bool>> {
        self.check()?;
        self.inner.check_permissions(id, p).await
    }
    async fn get_session(&self, id: &str) -> Result<Option<Session>> {
        self.check()?;
        self.inner.get_session(id).await
    }
    async fn update_permissions(
        &self,
        id: &str,
        p: &[String],
        ttl: Option<Duration>,
    ) -> Result<bool> {
        self.check()?;
        self.inner.update_permissions(id, p, ttl).await
    }
    async fn extend_session_ttl(&self, id: &str, ttl: Duration) -> Result<bool> {
        self.check()?;
        self.inner.extend_session_ttl(id, ttl).await
    }
    async fn list_sessions(&self, u: &str) -> Result<Vec<String>> {
        self.check()?;
        self.inner.list_sessions(u).await
    }
    async fn invalidate_session(&self, id: &str) -> Result<bool> {
        self.check()?;
        self.inner.invalidate_session(id).await
    }
    async fn cleanup_expired_sessions(&self) -> Result<u64> {
        self.inner.cleanup_expired_sessions().await
    }
    async fn count_sessions(&self) -> Result<u64> {
        self.inner.count_sessions().await
    }
    async fn stats(&self) -> Result<StoreStats> {
        self.inner.stats().await
    }
    async fn health_check(&self) -> Health {
        self.inner.health_check().await
    }
    async fn close(&self) -> Result<()> {
        self.inner.close().await
    }
}

/// Serves `router` on 127.0.0.1:0 and returns its base URL.
pub async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    format!("http://{addr}")
}

/// Sends `req` through `router` in process; returns the status and the JSON body (or Null).
pub async fn call(router: &Router, req: Request<Body>) -> (StatusCode, Value) {
    let response = router.clone().oneshot(req).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, body)
}

/// A GET request carrying `principal` in its extensions (as an application's own
/// authentication would put it).
pub fn get_as(uri: &str, principal: Option<Principal>) -> Request<Body> {
    let mut req = Request::get(uri).body(Body::empty()).unwrap();
    if let Some(p) = principal {
        req.extensions_mut().insert(p);
    }
    req
}
