//! The object-safe async `SessionStore` trait every backend implements, and its report types.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::session::{NewSession, Session, SessionInfo};
use crate::time::Timestamp;

/// The answer of [`SessionStore::check_permission_now`]. Two words wide, so it comes back in
/// registers: a `Result<bool>` is as wide as [`Error`] (64 bytes) and would be moved through
/// memory on every check; the error, on the rare failing check, is boxed instead.
#[derive(Debug)]
#[must_use]
pub enum CheckNow {
    /// The answer: granted or not.
    Answer(bool),
    /// The check failed (bad input, a closed store, a corrupt record): the error
    /// [`check_permission`](SessionStore::check_permission) returns.
    Failed(Box<Error>),
    /// Not answerable without waiting: await [`check_permission`](SessionStore::check_permission).
    Later,
}

impl CheckNow {
    /// `Some` answer or error, `None` for [`CheckNow::Later`].
    #[inline]
    pub fn into_result(self) -> Option<Result<bool>> {
        match self {
            CheckNow::Answer(granted) => Some(Ok(granted)),
            CheckNow::Failed(error) => Some(Err(*error)),
            CheckNow::Later => None,
        }
    }
}

impl From<Option<Result<bool>>> for CheckNow {
    #[inline]
    fn from(answer: Option<Result<bool>>) -> Self {
        match answer {
            Some(Ok(granted)) => CheckNow::Answer(granted),
            Some(Err(error)) => CheckNow::Failed(Box::new(error)),
            None => CheckNow::Later,
        }
    }
}

/// Stores sessions and answers permission checks. Object safe: `Arc<dyn SessionStore>`.
///
/// Every method validates its input first and returns a typed error for bad input, with nothing
/// written. A backend implements the narrower [`SessionBackend`](crate::SessionBackend) instead:
/// psm-core's one layer then does the validation, the closed check, the span and the metrics. Expired sessions are never returned, checked true, listed or counted, whether or not
/// [`cleanup_expired_sessions`](SessionStore::cleanup_expired_sessions) ran.
#[async_trait]
pub trait SessionStore: Send + Sync + fmt::Debug {
    /// Short backend name (`memory`, `file`, `redis`, `postgres`, ...).
    fn backend(&self) -> &'static str;

    /// What this backend can do.
    fn capabilities(&self) -> Capabilities;

    /// Stores (or replaces) a session and returns what was stored.
    async fn store_session(&self, session: NewSession) -> Result<Session>;

    /// Is `permission` granted to the live session `session_id`? False when there is none.
    async fn check_permission(&self, session_id: &str, permission: &str) -> Result<bool>;

    /// The answer of [`check_permission`](SessionStore::check_permission), given at once by a
    /// store that can answer without I/O or waiting (an in-process image of its sessions), with
    /// the same validation, rules and errors; [`CheckNow::Later`] when the caller must await
    /// `check_permission` instead. A hot path (the manager's check) tries it first and so skips
    /// the boxed future of the async call. The default is `Later`.
    #[inline]
    fn check_permission_now(&self, session_id: &str, permission: &str) -> CheckNow {
        let _ = (session_id, permission);
        CheckNow::Later
    }

    /// Checks several permissions at once; every key of the result is one of `permissions`.
    async fn check_permissions(
        &self,
        session_id: &str,
        permissions: &[String],
    ) -> Result<BTreeMap<String, bool>>;

    /// The live session, or `None`.
    async fn get_session(&self, session_id: &str) -> Result<Option<Session>>;

    /// Facts about the live session, or `None`.
    async fn get_session_info(&self, session_id: &str) -> Result<Option<SessionInfo>> {
        let now = Timestamp::now();
        Ok(self.get_session(session_id).await?.map(|s| s.info_at(now)))
    }

    /// Replaces the permissions of a live session. `ttl: None` keeps the remaining TTL;
    /// `Some(d)` makes it live `d` from now. False when there is no live session.
    async fn update_permissions(
        &self,
        session_id: &str,
        permissions: &[String],
        ttl: Option<Duration>,
    ) -> Result<bool>;

    /// Makes a live session expire `ttl` from now. False when there is no live session.
    async fn extend_session_ttl(&self, session_id: &str, ttl: Duration) -> Result<bool>;

    /// Ids of the live sessions of `user_id`, sorted.
    async fn list_sessions(&self, user_id: &str) -> Result<Vec<String>>;

    /// Removes a session. False when there was no live session.
    async fn invalidate_session(&self, session_id: &str) -> Result<bool>;

    /// Removes expired sessions now; returns how many were removed.
    async fn cleanup_expired_sessions(&self) -> Result<u64>;

    /// Number of live sessions.
    async fn count_sessions(&self) -> Result<u64>;

    /// Counters and sizes.
    async fn stats(&self) -> Result<StoreStats>;

    /// Probes the backend; never fails, reports instead.
    async fn health_check(&self) -> Health;

    /// Stops background work and releases connections. Later calls return `Error::Closed`.
    async fn close(&self) -> Result<()>;
}

/// What a backend offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
pub struct Capabilities {
    /// Survives a restart of the process.
    pub persistent: bool,
    /// Several processes may share it.
    pub shared: bool,
    /// Expiry is enforced by the server itself.
    pub native_ttl: bool,
    /// Runs across several servers.
    pub clustered: bool,
}

impl Capabilities {
    /// Builds a capability set.
    pub const fn new(persistent: bool, shared: bool, native_ttl: bool, clustered: bool) -> Self {
        Capabilities {
            persistent,
            shared,
            native_ttl,
            clustered,
        }
    }
}

/// Counters and sizes reported by [`SessionStore::stats`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
pub struct StoreStats {
    /// Backend name.
    pub backend: &'static str,
    /// Live sessions.
    pub live_sessions: u64,
    /// Expired sessions still held until cleanup (where the backend can tell).
    pub expired_pending: u64,
    /// Distinct users with live sessions (where the backend can tell cheaply).
    pub users: Option<u64>,
    /// Records that could not be decoded and were skipped.
    pub corrupt_records: u64,
    /// Approximate bytes held (where the backend can tell).
    pub approx_bytes: Option<u64>,
    /// Backend-specific counters.
    pub extra: BTreeMap<String, u64>,
}

impl StoreStats {
    /// Empty stats for `backend`.
    pub fn new(backend: &'static str) -> Self {
        StoreStats {
            backend,
            ..Default::default()
        }
    }
}

/// Result of [`SessionStore::health_check`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Health {
    /// Backend name.
    pub backend: &'static str,
    /// True when the backend answered.
    pub healthy: bool,
    /// How long the probe took.
    pub latency: Duration,
    /// Why it is unhealthy, if it is.
    pub message: Option<String>,
}

impl Health {
    /// A healthy report.
    pub fn healthy(backend: &'static str, latency: Duration) -> Self {
        Health {
            backend,
            healthy: true,
            latency,
            message: None,
        }
    }

    /// An unhealthy report with the reason.
    pub fn unhealthy(backend: &'static str, latency: Duration, message: impl Into<String>) -> Self {
        Health {
            backend,
            healthy: false,
            latency,
            message: Some(message.into()),
        }
    }

    /// True when the backend answered.
    pub fn is_healthy(&self) -> bool {
        self.healthy
    }
}
