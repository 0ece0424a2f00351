//! `MemoryStore`: the `SessionStore` implementation over the sharded table.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use parking_lot::Mutex;
use psm_core::permission::ParsedPermission;
use psm_core::valid::{SessionId, Ttl, UserId, ValidSession};
use psm_core::{
    Capabilities, Error, Health, Limits, PermissionSet, Result, Session, SessionBackend,
    SessionInfo, StoreStats, StoreUrl, Timestamp,
};

use crate::config::MemoryConfig;
use crate::sweep::Sweeper;
use crate::table::{NewEntry, Table};

const BACKEND: &str = "memory";

/// Sessions held in this process: sharded locks, bounded by `max_sessions`, swept in the
/// background. The fastest backend; nothing survives a restart.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use psm_core::{NewSession, SessionStore};
/// use psm_memory::MemoryStore;
/// let store = MemoryStore::new();
/// store.store_session(NewSession::new("s1", "alice").permissions(["posts:*"])).await?;
/// assert!(store.check_permission("s1", "posts:read").await?);
/// assert!(!store.check_permission("s1", "users:read").await?);
/// # Ok::<(), psm_core::Error>(()) }).unwrap();
/// ```
#[derive(Debug)]
pub struct MemoryStore {
    shared: Arc<Shared>,
    sweeper: Mutex<Option<Sweeper>>,
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) table: Table,
    pub(crate) config: MemoryConfig,
    closed: AtomicBool,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// A store with the default settings (no quota, one-hour default TTL, sweep every minute).
    pub fn new() -> Self {
        Self::build(MemoryConfig::default())
    }

    /// A store with `config` (validated).
    pub fn with_config(config: MemoryConfig) -> Result<Self> {
        config.validate()?;
        Ok(Self::build(config))
    }

    /// A store from a `memory://?...` URL.
    pub async fn from_url(url: StoreUrl) -> Result<Self> {
        Self::with_config(MemoryConfig::from_url(url)?)
    }

    fn build(config: MemoryConfig) -> Self {
        let shared = Arc::new(Shared {
            table: Table::new(config.shards),
            config,
            closed: AtomicBool::new(false),
        });
        let sweeper = shared
            .config
            .cleanup_interval
            .and_then(|every| Sweeper::start(Arc::downgrade(&shared), every));
        MemoryStore {
            shared,
            sweeper: Mutex::new(sweeper),
        }
    }

    /// The settings in force.
    pub fn config(&self) -> &MemoryConfig {
        &self.shared.config
    }
}

impl Shared {
    pub(crate) fn sweep(&self) -> u64 {
        self.table.sweep(self.config.clock.now_system_time())
    }
}

impl MemoryStore {
    /// The time, read once: as the table compares it, and in milliseconds for the records.
    fn clock(&self) -> (SystemTime, u64) {
        let now = self.shared.config.clock.now_system_time();
        (now, Timestamp::from_system_time(now).as_millis())
    }

    /// The time as the table compares it (no conversion).
    #[inline]
    fn instant(&self) -> SystemTime {
        self.shared.config.clock.now_system_time()
    }
}

/// When a session given `ttl` at `now_ms` expires.
fn deadline(now_ms: u64, ttl: Ttl) -> Option<SystemTime> {
    Some(ttl.after(Timestamp::from_millis(now_ms)).to_system_time())
}

impl SessionBackend for MemoryStore {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::new(false, false, false, false)
    }

    fn limits(&self) -> &Limits {
        &self.shared.config.limits
    }

    #[inline]
    fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::Relaxed)
    }

    #[inline]
    fn now(&self) -> Timestamp {
        self.shared.config.clock.now()
    }

    async fn store_session(&self, session: ValidSession) -> Result<Session> {
        let session = session.into_parts();
        let (instant, now_ms) = self.clock();
        let now = Timestamp::from_millis(now_ms);
        let expires = session
            .expiry
            .resolve(now, self.shared.config.default_ttl)
            .map(Timestamp::to_system_time);
        let metadata =
            Some(session.metadata).filter(|m| m.as_object().is_some_and(|o| !o.is_empty()));
        let new = NewEntry {
            user: session.user_id,
            grants: session.grants,
            expires,
            metadata: metadata.map(Box::new),
        };
        let table = &self.shared.table;
        let max = self.shared.config.max_sessions;
        let admit = |held: u64| max.is_none_or(|max| held < max);
        let id = session.session_id.as_str();
        let refused = match table.insert(id, new, instant, admit) {
            Ok(()) => None,
            Err(new) => {
                // At the cap: expired sessions never count, so sweep them and look once more.
                table.sweep(instant);
                table.insert(id, new, instant, admit).err()
            }
        };
        if refused.is_some() {
            return Err(Error::QuotaExceeded {
                what: "sessions",
                limit: max.unwrap_or(u64::MAX),
            });
        }
        table
            .read(id, instant, |e| e.to_session(id))
            .ok_or_else(|| Error::Backend {
                backend: BACKEND,
                message: "a session stored with a past expiry".into(),
                source: None,
            })
    }

    #[inline]
    fn checks_without_io(&self) -> bool {
        true
    }

    /// Sound because every id in the table was validated when stored: the candidate is only
    /// hashed and compared with them.
    #[inline(always)]
    fn check_held_now(&self, candidate: &str, permission: ParsedPermission<'_>) -> Option<bool> {
        let now = self.instant();
        self.shared.table.check_held(candidate, permission, now)
    }

    /// Exact grants compared before the permission is parsed (see `check_held_now`).
    #[inline(always)]
    fn check_held_unparsed_now(&self, candidate: &str, permission: &str) -> Option<Result<bool>> {
        let now = self.instant();
        self.shared
            .table
            .check_held_unparsed(candidate, permission, now)
            .map(|answer| answer.map_err(Error::from))
    }

    #[inline(always)]
    fn check_permission_now(
        &self,
        session_id: SessionId<'_>,
        permission: ParsedPermission<'_>,
    ) -> Option<Result<bool>> {
        let now = self.instant();
        Some(Ok(self.shared.table.check(&session_id, permission, now)))
    }

    #[inline]
    async fn check_permission(
        &self,
        session_id: SessionId<'_>,
        permission: ParsedPermission<'_>,
    ) -> Result<bool> {
        Ok(self
            .shared
            .table
            .check(&session_id, permission, self.instant()))
    }

    async fn check_permissions(
        &self,
        session_id: SessionId<'_>,
        permissions: &[ParsedPermission<'_>],
    ) -> Result<Vec<bool>> {
        let now = self.instant();
        Ok(self
            .shared
            .table
            .read(&session_id, now, |e| {
                permissions
                    .iter()
                    .map(|p| e.grants.check_parsed(*p))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_else(|| vec![false; permissions.len()]))
    }

    async fn get_session(&self, session_id: SessionId<'_>) -> Result<Option<Session>> {
        Ok(self
            .shared
            .table
            .read(&session_id, self.instant(), |e| e.to_session(&session_id)))
    }

    async fn get_session_info(&self, session_id: SessionId<'_>) -> Result<Option<SessionInfo>> {
        let (instant, now_ms) = self.clock();
        Ok(self
            .shared
            .table
            .read(&session_id, instant, |e| e.to_session(&session_id))
            .map(|s| s.info_at(Timestamp::from_millis(now_ms))))
    }

    async fn update_permissions(
        &self,
        session_id: SessionId<'_>,
        grants: PermissionSet,
        ttl: Option<Ttl>,
    ) -> Result<bool> {
        let (instant, now_ms) = self.clock();
        Ok(self.shared.table.modify(&session_id, instant, |e| {
            e.grants = grants;
            e.updated = now_ms;
            if let Some(ttl) = ttl {
                e.expires = deadline(now_ms, ttl);
            }
        }))
    }

    async fn extend_session_ttl(&self, session_id: SessionId<'_>, ttl: Ttl) -> Result<bool> {
        let (instant, now_ms) = self.clock();
        Ok(self.shared.table.modify(&session_id, instant, |e| {
            e.expires = deadline(now_ms, ttl);
        }))
    }

    async fn list_sessions(&self, user_id: UserId<'_>) -> Result<Vec<String>> {
        Ok(self.shared.table.list(&user_id, self.instant()))
    }

    async fn invalidate_session(&self, session_id: SessionId<'_>) -> Result<bool> {
        Ok(self.shared.table.remove(&session_id, self.instant()))
    }

    async fn cleanup_expired_sessions(&self) -> Result<u64> {
        Ok(self.shared.sweep())
    }

    async fn count_sessions(&self) -> Result<u64> {
        Ok(self.shared.table.census(self.instant()).0)
    }

    async fn stats(&self) -> Result<StoreStats> {
        let (live, expired, users) = self.shared.table.census(self.instant());
        let mut stats = StoreStats::new(BACKEND);
        stats.live_sessions = live;
        stats.expired_pending = expired;
        stats.users = Some(users);
        stats.approx_bytes = Some(self.shared.table.approx_bytes());
        if let Some(max) = self.shared.config.max_sessions {
            stats.extra.insert("max_sessions".into(), max);
        }
        Ok(stats)
    }

    async fn health_check(&self) -> Health {
        Health::healthy(BACKEND, Duration::ZERO)
    }

    async fn close(&self) -> Result<()> {
        self.shared.closed.store(true, Ordering::Relaxed);
        if let Some(sweeper) = self.sweeper.lock().take() {
            sweeper.stop();
        }
        Ok(())
    }
}

impl Drop for MemoryStore {
    fn drop(&mut self) {
        if let Some(sweeper) = self.sweeper.get_mut().take() {
            sweeper.stop();
        }
    }
}
