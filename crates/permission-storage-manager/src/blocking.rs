//! The blocking API: the same methods as the async manager, for code without a runtime.
//!
//! It owns a small tokio runtime (one worker) on which the store's connections and background
//! tasks live. It works from plain threads and from inside `tokio::task::spawn_blocking`; do not
//! call it from async code directly (use the async manager there).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use psm_core::{Error, Health, NewSession, Result, Session, SessionInfo, StoreStats};

use crate::manager::{ManagerBuilder, PermissionStorageManager as AsyncManager};

/// Blocking twin of [`crate::PermissionStorageManager`].
///
/// ```
/// use permission_storage_manager as psm;
/// let m = psm::blocking::PermissionStorageManager::connect("memory://")?;
/// m.store_permissions("s1", "u1", ["read"], None)?;
/// assert!(m.check_permission("s1", "read")?);
/// m.close()?;
/// # Ok::<(), psm::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct PermissionStorageManager {
    inner: AsyncManager,
    runtime: Arc<tokio::runtime::Runtime>,
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("psm-blocking")
        .enable_all()
        .build()
        .map_err(|e| Error::backend("runtime", "could not start the blocking API's runtime", e))
}

impl PermissionStorageManager {
    /// Opens the backend registered for `url`'s scheme.
    pub fn connect(url: &str) -> Result<Self> {
        Self::build(AsyncManager::builder().url(url))
    }

    /// Connects to the URL in `PSM_URL`.
    pub fn from_env() -> Result<Self> {
        let runtime = runtime()?;
        let inner = runtime.block_on(AsyncManager::from_env())?;
        Ok(PermissionStorageManager {
            inner,
            runtime: Arc::new(runtime),
        })
    }

    /// Builds from an async [`ManagerBuilder`] (store, URL, default TTL).
    pub fn build(builder: ManagerBuilder) -> Result<Self> {
        let runtime = runtime()?;
        let inner = runtime.block_on(builder.build())?;
        Ok(PermissionStorageManager {
            inner,
            runtime: Arc::new(runtime),
        })
    }

    /// The async manager this wraps (for use from async code).
    pub fn as_async(&self) -> &AsyncManager {
        &self.inner
    }

    fn run<T>(&self, f: impl std::future::Future<Output = T>) -> T {
        self.runtime.block_on(f)
    }

    /// See [`AsyncManager::store_permissions`].
    pub fn store_permissions<I, S>(
        &self,
        session_id: &str,
        user_id: &str,
        permissions: I,
        ttl: Option<Duration>,
    ) -> Result<Session>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.run(
            self.inner
                .store_permissions(session_id, user_id, permissions, ttl),
        )
    }

    /// See [`AsyncManager::store_session`].
    pub fn store_session(&self, session: NewSession) -> Result<Session> {
        self.run(self.inner.store_session(session))
    }

    /// See [`AsyncManager::check_permission`].
    pub fn check_permission(&self, session_id: &str, permission: &str) -> Result<bool> {
        self.run(self.inner.check_permission(session_id, permission))
    }

    /// See [`AsyncManager::check_permissions`].
    pub fn check_permissions<I, S>(
        &self,
        session_id: &str,
        permissions: I,
    ) -> Result<BTreeMap<String, bool>>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.run(self.inner.check_permissions(session_id, permissions))
    }

    /// See [`AsyncManager::get_permissions`].
    pub fn get_permissions(&self, session_id: &str) -> Result<Option<Session>> {
        self.run(self.inner.get_permissions(session_id))
    }

    /// See [`AsyncManager::update_permissions`].
    pub fn update_permissions<I, S>(
        &self,
        session_id: &str,
        permissions: I,
        ttl: Option<Duration>,
    ) -> Result<bool>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.run(self.inner.update_permissions(session_id, permissions, ttl))
    }

    /// See [`AsyncManager::get_session_info`].
    pub fn get_session_info(&self, session_id: &str) -> Result<Option<SessionInfo>> {
        self.run(self.inner.get_session_info(session_id))
    }

    /// See [`AsyncManager::extend_session_ttl`].
    pub fn extend_session_ttl(&self, session_id: &str, ttl: Duration) -> Result<bool> {
        self.run(self.inner.extend_session_ttl(session_id, ttl))
    }

    /// See [`AsyncManager::list_sessions`].
    pub fn list_sessions(&self, user_id: &str) -> Result<Vec<String>> {
        self.run(self.inner.list_sessions(user_id))
    }

    /// See [`AsyncManager::invalidate_session`].
    pub fn invalidate_session(&self, session_id: &str) -> Result<bool> {
        self.run(self.inner.invalidate_session(session_id))
    }

    /// See [`AsyncManager::cleanup_expired_sessions`].
    pub fn cleanup_expired_sessions(&self) -> Result<u64> {
        self.run(self.inner.cleanup_expired_sessions())
    }

    /// See [`AsyncManager::count_sessions`].
    pub fn count_sessions(&self) -> Result<u64> {
        self.run(self.inner.count_sessions())
    }

    /// See [`AsyncManager::stats`].
    pub fn stats(&self) -> Result<StoreStats> {
        self.run(self.inner.stats())
    }

    /// See [`AsyncManager::health_check`].
    pub fn health_check(&self) -> Health {
        self.run(self.inner.health_check())
    }

    /// See [`AsyncManager::close`].
    pub fn close(&self) -> Result<()> {
        self.run(self.inner.close())
    }
}
