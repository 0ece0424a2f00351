//! `PermissionStorageManager`: the contract API over any `SessionStore`, and its builder.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use psm_core::{
    CheckNow, Error, Expiry, Health, NewSession, Result, Session, SessionInfo, SessionStore,
    StoreStats,
};

use crate::registry;

/// The environment variable [`PermissionStorageManager::from_env`] reads.
pub const URL_ENV: &str = "PSM_URL";

/// Stores per-session permissions on any backend and answers checks. Validation, the tracing
/// span and the metrics of every call are the store's (psm-core's
/// [`SessionBackend`](psm_core::SessionBackend) layer), so the manager adds nothing to a call.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use permission_storage_manager as psm;
/// use std::time::Duration;
///
/// let manager = psm::PermissionStorageManager::connect("memory://").await?;
/// manager
///     .store_permissions("session_123", "user_456", ["read", "write", "admin:*"], Some(Duration::from_secs(3600)))
///     .await?;
/// assert!(manager.check_permission("session_123", "read").await?);
/// assert!(manager.check_permission("session_123", "admin:users:delete").await?);
/// let answers = manager.check_permissions("session_123", ["read", "delete"]).await?;
/// assert_eq!(answers["delete"], false);
/// assert_eq!(manager.list_sessions("user_456").await?, vec!["session_123"]);
/// assert!(manager.invalidate_session("session_123").await?);
/// manager.close().await?;
/// # Ok::<(), psm::Error>(()) }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct PermissionStorageManager {
    store: Arc<dyn SessionStore>,
    default_expiry: Expiry,
}

/// Builds a [`PermissionStorageManager`] from a store or URL and a default TTL.
#[derive(Debug, Default)]
pub struct ManagerBuilder {
    store: Option<Arc<dyn SessionStore>>,
    url: Option<String>,
    default_expiry: Expiry,
}

impl ManagerBuilder {
    /// Uses this store.
    pub fn store(mut self, store: Arc<dyn SessionStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Opens the store for this URL when built (ignored if [`store`](Self::store) is set).
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }

    /// TTL for `ttl: None` writes (instead of the store's default of one hour).
    pub fn default_ttl(mut self, ttl: Duration) -> Self {
        self.default_expiry = Expiry::After(ttl);
        self
    }

    /// `ttl: None` writes never expire.
    pub fn no_default_ttl(mut self) -> Self {
        self.default_expiry = Expiry::Never;
        self
    }

    /// Builds the manager, opening the URL if no store was given (`memory://` if neither).
    pub async fn build(self) -> Result<PermissionStorageManager> {
        if let Expiry::After(ttl) = self.default_expiry {
            psm_core::validate::ttl(ttl)?;
        }
        let store = match (self.store, self.url) {
            (Some(store), _) => store,
            (None, Some(url)) => registry::open(&url).await?,
            (None, None) => registry::open("memory://").await?,
        };
        Ok(PermissionStorageManager {
            store,
            default_expiry: self.default_expiry,
        })
    }
}

impl PermissionStorageManager {
    /// Opens the backend registered for `url`'s scheme (`memory://`, `file:///dir`,
    /// `redis://host`, `postgres://...`, or a third-party scheme).
    pub async fn connect(url: &str) -> Result<Self> {
        Self::builder().url(url).build().await
    }

    /// [`connect`](Self::connect) to the URL in `PSM_URL`; an error if it is unset.
    pub async fn from_env() -> Result<Self> {
        let url = std::env::var(URL_ENV).map_err(|_| Error::InvalidUrl {
            url: String::new(),
            reason: format!("environment variable {URL_ENV} is not set (or not UTF-8)"),
        })?;
        Self::connect(&url).await
    }

    /// A manager over an already-open store.
    pub fn new(store: Arc<dyn SessionStore>) -> Self {
        PermissionStorageManager {
            store,
            default_expiry: Expiry::Default,
        }
    }

    /// Starts a builder.
    pub fn builder() -> ManagerBuilder {
        ManagerBuilder::default()
    }

    /// Adds a backend for URLs with `scheme` (see [`crate::registry`]).
    pub fn register_provider<F, Fut>(scheme: &str, factory: F) -> Result<()>
    where
        F: Fn(psm_core::StoreUrl) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<Arc<dyn SessionStore>>> + Send + 'static,
    {
        registry::register_provider(scheme, factory)
    }

    /// The store behind this manager.
    pub fn store(&self) -> &Arc<dyn SessionStore> {
        &self.store
    }

    fn expiry(&self, ttl: Option<Duration>) -> Expiry {
        ttl.map_or(self.default_expiry, Expiry::After)
    }

    /// Stores `permissions` for a session of `user_id`, replacing any session with that id.
    /// `ttl: None` uses the default TTL.
    pub async fn store_permissions<I, S>(
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
        let mut new = NewSession::new(session_id, user_id).permissions(permissions);
        new.expiry = self.expiry(ttl);
        self.store_session(new).await
    }

    /// Stores a fully described session (permissions, TTL, metadata).
    pub async fn store_session(&self, mut session: NewSession) -> Result<Session> {
        if session.expiry == Expiry::Default {
            session.expiry = self.default_expiry;
        }
        self.store.store_session(session).await
    }

    /// Is `permission` granted to the live session? A pattern asks for full coverage.
    ///
    /// An in-process store answers when the future is first polled, with no boxed future and
    /// no state machine ([`SessionStore::check_permission_now`]); any other store's async check
    /// is awaited. Nothing runs before the first poll.
    #[inline]
    pub fn check_permission<'a>(
        &'a self,
        session_id: &'a str,
        permission: &'a str,
    ) -> impl Future<Output = Result<bool>> + Send + 'a {
        CheckPermission {
            store: &*self.store,
            session_id,
            permission,
            pending: None,
        }
    }

    /// Checks several permissions; every one asked for is a key of the answer.
    pub async fn check_permissions<I, S>(
        &self,
        session_id: &str,
        permissions: I,
    ) -> Result<BTreeMap<String, bool>>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let permissions: Vec<String> = permissions.into_iter().map(Into::into).collect();
        self.store.check_permissions(session_id, &permissions).await
    }

    /// The live session, or `None`.
    pub async fn get_permissions(&self, session_id: &str) -> Result<Option<Session>> {
        self.store.get_session(session_id).await
    }

    /// Replaces a live session's permissions; `ttl: None` keeps the remaining TTL.
    pub async fn update_permissions<I, S>(
        &self,
        session_id: &str,
        permissions: I,
        ttl: Option<Duration>,
    ) -> Result<bool>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let permissions: Vec<String> = permissions.into_iter().map(Into::into).collect();
        self.store
            .update_permissions(session_id, &permissions, ttl)
            .await
    }

    /// Facts about the live session, including `ttl_remaining`.
    pub async fn get_session_info(&self, session_id: &str) -> Result<Option<SessionInfo>> {
        self.store.get_session_info(session_id).await
    }

    /// Makes a live session expire `ttl` from now.
    pub async fn extend_session_ttl(&self, session_id: &str, ttl: Duration) -> Result<bool> {
        self.store.extend_session_ttl(session_id, ttl).await
    }

    /// Live session ids of `user_id`, sorted.
    pub async fn list_sessions(&self, user_id: &str) -> Result<Vec<String>> {
        self.store.list_sessions(user_id).await
    }

    /// Removes a session; false when there was no live one.
    pub async fn invalidate_session(&self, session_id: &str) -> Result<bool> {
        self.store.invalidate_session(session_id).await
    }

    /// Removes expired sessions now; returns how many.
    pub async fn cleanup_expired_sessions(&self) -> Result<u64> {
        self.store.cleanup_expired_sessions().await
    }

    /// Number of live sessions.
    pub async fn count_sessions(&self) -> Result<u64> {
        self.store.count_sessions().await
    }

    /// Backend counters and sizes.
    pub async fn stats(&self) -> Result<StoreStats> {
        self.store.stats().await
    }

    /// Probes the backend.
    pub async fn health_check(&self) -> Health {
        self.store.health_check().await
    }

    /// Stops background work and releases connections.
    pub async fn close(&self) -> Result<()> {
        self.store.close().await
    }
}

/// The future of [`PermissionStorageManager::check_permission`]: small enough to be inlined
/// into the caller's `poll`, so the synchronous answer costs no call of its own.
struct CheckPermission<'a> {
    store: &'a dyn SessionStore,
    session_id: &'a str,
    permission: &'a str,
    /// The store's async check, once the synchronous one said [`CheckNow::Later`].
    pending: Option<Pin<Box<dyn Future<Output = Result<bool>> + Send + 'a>>>,
}

impl Future for CheckPermission<'_> {
    type Output = Result<bool>;

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<bool>> {
        let this = &mut *self;
        let pending = match &mut this.pending {
            Some(pending) => pending,
            None => match this
                .store
                .check_permission_now(this.session_id, this.permission)
            {
                CheckNow::Answer(granted) => return Poll::Ready(Ok(granted)),
                CheckNow::Failed(error) => return Poll::Ready(Err(*error)),
                CheckNow::Later => this.pending.insert(
                    this.store
                        .check_permission(this.session_id, this.permission),
                ),
            },
        };
        pending.as_mut().poll(cx)
    }
}
