//! `MemoryStore`: the `SessionStore` implementation over the sharded table.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use parking_lot::Mutex;
use psm_core::permission::ParsedPermission;
use psm_core::{
    Capabilities, Error, Health, NewSession, Result, Session, SessionInfo, SessionStore,
    StoreStats, StoreUrl, Timestamp, validate,
};

use crate::config::MemoryConfig;
use crate::sweep::Sweeper;
use crate::table::{NEVER, NewEntry, Table};

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

    #[inline]
    fn open(&self) -> Result<()> {
        if self.shared.closed.load(Ordering::Relaxed) {
            Err(Error::Closed)
        } else {
            Ok(())
        }
    }
}

impl Shared {
    pub(crate) fn sweep(&self) -> u64 {
        self.table.sweep(Timestamp::now().as_millis())
    }
}

fn ttl_ms(now: u64, ttl: Duration) -> u64 {
    Timestamp::from_millis(now)
        .saturating_add(ttl)
        .as_millis()
        .min(NEVER - 1)
}

#[async_trait]
impl SessionStore for MemoryStore {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::new(false, false, false, false)
    }

    async fn store_session(&self, session: NewSession) -> Result<Session> {
        self.open()?;
        let grants = session.validate(&self.shared.config.limits)?;
        let now = Timestamp::now();
        let expires = session
            .expiry
            .resolve(now, self.shared.config.default_ttl)
            .map_or(NEVER, |t| t.as_millis().min(NEVER - 1));
        let metadata = session
            .metadata
            .filter(|m| m.as_object().is_some_and(|o| !o.is_empty()));
        let new = NewEntry {
            user: session.user_id,
            grants,
            expires,
            metadata: metadata.map(Box::new),
        };
        let now_ms = now.as_millis();
        let table = &self.shared.table;
        let max = self.shared.config.max_sessions;
        let admit = |held: u64| max.is_none_or(|max| held < max);
        let id = session.session_id.as_str();
        let refused = match table.insert(id, new, now_ms, admit) {
            Ok(()) => None,
            Err(new) => {
                // At the cap: expired sessions never count, so sweep them and look once more.
                table.sweep(now_ms);
                table.insert(id, new, now_ms, admit).err()
            }
        };
        if refused.is_some() {
            return Err(Error::QuotaExceeded {
                what: "sessions",
                limit: max.unwrap_or(u64::MAX),
            });
        }
        table
            .read(id, now_ms, |e| e.to_session(id))
            .ok_or_else(|| Error::Backend {
                backend: BACKEND,
                message: "a session stored with a past expiry".into(),
                source: None,
            })
    }

    async fn check_permission(&self, session_id: &str, permission: &str) -> Result<bool> {
        self.open()?;
        validate::session_id(session_id)?;
        let permission = ParsedPermission::parse(permission)?;
        Ok(self
            .shared
            .table
            .check(session_id, permission, Timestamp::now().as_millis()))
    }

    async fn check_permissions(
        &self,
        session_id: &str,
        permissions: &[String],
    ) -> Result<BTreeMap<String, bool>> {
        self.open()?;
        validate::session_id(session_id)?;
        let parsed = permissions
            .iter()
            .map(|p| ParsedPermission::parse(p))
            .collect::<Result<Vec<_>, _>>()?;
        let now = Timestamp::now().as_millis();
        let answers = self
            .shared
            .table
            .read(session_id, now, |e| {
                parsed
                    .iter()
                    .map(|p| e.grants.check_parsed(*p))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_else(|| vec![false; parsed.len()]);
        Ok(permissions.iter().cloned().zip(answers).collect())
    }

    async fn get_session(&self, session_id: &str) -> Result<Option<Session>> {
        self.open()?;
        validate::session_id(session_id)?;
        let now = Timestamp::now().as_millis();
        Ok(self
            .shared
            .table
            .read(session_id, now, |e| e.to_session(session_id)))
    }

    async fn get_session_info(&self, session_id: &str) -> Result<Option<SessionInfo>> {
        Ok(self
            .get_session(session_id)
            .await?
            .map(|s| s.info_at(Timestamp::now())))
    }

    async fn update_permissions(
        &self,
        session_id: &str,
        permissions: &[String],
        ttl: Option<Duration>,
    ) -> Result<bool> {
        self.open()?;
        validate::session_id(session_id)?;
        if let Some(ttl) = ttl {
            validate::ttl(ttl)?;
        }
        let grants = validate::permissions(permissions, &self.shared.config.limits)?;
        let now = Timestamp::now().as_millis();
        Ok(self.shared.table.modify(session_id, now, |e| {
            e.grants = grants;
            e.updated = now;
            if let Some(ttl) = ttl {
                e.expires = ttl_ms(now, ttl);
            }
        }))
    }

    async fn extend_session_ttl(&self, session_id: &str, ttl: Duration) -> Result<bool> {
        self.open()?;
        validate::session_id(session_id)?;
        validate::ttl(ttl)?;
        let now = Timestamp::now().as_millis();
        Ok(self.shared.table.modify(session_id, now, |e| {
            e.expires = ttl_ms(now, ttl);
        }))
    }

    async fn list_sessions(&self, user_id: &str) -> Result<Vec<String>> {
        self.open()?;
        validate::user_id(user_id)?;
        Ok(self
            .shared
            .table
            .list(user_id, Timestamp::now().as_millis()))
    }

    async fn invalidate_session(&self, session_id: &str) -> Result<bool> {
        self.open()?;
        validate::session_id(session_id)?;
        Ok(self
            .shared
            .table
            .remove(session_id, Timestamp::now().as_millis()))
    }

    async fn cleanup_expired_sessions(&self) -> Result<u64> {
        self.open()?;
        Ok(self.shared.sweep())
    }

    async fn count_sessions(&self) -> Result<u64> {
        self.open()?;
        Ok(self.shared.table.census(Timestamp::now().as_millis()).0)
    }

    async fn stats(&self) -> Result<StoreStats> {
        self.open()?;
        let (live, expired, users) = self.shared.table.census(Timestamp::now().as_millis());
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
        let started = Instant::now();
        match self.open() {
            Ok(()) => Health::healthy(BACKEND, started.elapsed()),
            Err(e) => Health::unhealthy(BACKEND, started.elapsed(), e.to_string()),
        }
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
