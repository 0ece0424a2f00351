//! `CachedStore`: a `SessionStore` that answers reads from a moka cache in front of another
//! store, evicts on every write through it, and evicts what other instances publish.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use psm_core::backend::SessionBackend;
use psm_core::permission::ParsedPermission;
use psm_core::valid::{SessionId, Ttl, UserId, ValidSession};
use psm_core::validate::Limits;
use psm_core::{
    Capabilities, Health, NewSession, PermissionSet, Result, Session, SessionInfo, SessionStore,
    StoreStats, Timestamp,
};

use crate::bus::InvalidationBus;
use crate::config::CacheConfig;
use crate::engine::{Engine, Moka, builder};
use crate::entry::{Entry, LiveSession, SessionExpiry};
use crate::stats::{CacheStats, Counters};

/// The cache's own write limits: none (the inner store applies its own).
const UNBOUNDED: Limits = Limits {
    max_permissions: usize::MAX,
};

/// Default bus topic of session caches.
pub const SESSIONS_TOPIC: &str = "sessions";

/// A read-through cache in front of any [`SessionStore`] (`S` may be `dyn SessionStore`).
///
/// Reads (`check_permission`, `check_permissions`, `get_session`, `get_session_info`) are
/// answered from the cache when they can be; everything else goes to the inner store. Rules:
///
/// - An entry lives at most `ttl`, and never past its session's `expires_at` (per-entry expiry,
///   plus a check on every read): an expired session is never served.
/// - A missing session is remembered for `negative_ttl`; a write through this cache evicts it.
/// - Every write through this cache (`store_session`, `update_permissions`,
///   `extend_session_ttl`, `invalidate_session`) evicts the key here, then publishes it on the
///   bus so that every other instance evicts it too. If the publish fails, the call returns an
///   error although the write was applied (other instances may serve the old value until their
///   TTL): never a silent success.
/// - While the bus is interrupted, the cache is cleared and bypassed (every read goes to the
///   inner store) until the bus resumes.
/// - `close` closes the inner store too.
///
/// Put it in front of network backends (Redis, SQL) only: a moka lookup costs 0.2–1.3 µs, more
/// than the memory backend's whole check, so caching `memory://` only makes it slower.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use std::sync::Arc;
/// use psm_cache::{CacheConfig, CachedStore};
/// use psm_core::{NewSession, SessionStore};
/// // (a memory store stands in for a network backend here)
/// let inner = Arc::new(psm_memory::MemoryStore::new());
/// let store = CachedStore::new(inner, CacheConfig::default())?;
/// store.store_session(NewSession::new("s1", "alice").permissions(["posts:*"])).await?;
/// assert!(store.check_permission("s1", "posts:read").await?); // miss: fetched and cached
/// assert!(store.check_permission("s1", "posts:edit").await?); // hit
/// assert_eq!(store.cache_stats().hits, 1);
/// store.update_permissions("s1", &["users:read".to_owned()], None).await?; // evicts
/// assert!(!store.check_permission("s1", "posts:read").await?);
/// # Ok::<(), psm_core::Error>(()) }).unwrap();
/// ```
#[derive(Debug)]
pub struct CachedStore<S: ?Sized + SessionStore = dyn SessionStore> {
    inner: Arc<S>,
    engine: Arc<Engine<Entry>>,
    negative: bool,
    closed: AtomicBool,
}

impl<S: ?Sized + SessionStore> CachedStore<S> {
    /// A cache over `inner` for a single instance (no bus).
    pub fn new(inner: Arc<S>, config: CacheConfig) -> Result<Self> {
        Self::build(inner, config, None)
    }

    /// A cache over `inner` that publishes its writes on `bus` and evicts what other instances
    /// publish there. Fails when the bus cannot be subscribed to.
    pub async fn with_bus(
        inner: Arc<S>,
        config: CacheConfig,
        bus: Arc<dyn InvalidationBus>,
    ) -> Result<Self> {
        let store = Self::build(inner, config, Some(bus))?;
        store.engine.attach().await?;
        Ok(store)
    }

    fn build(
        inner: Arc<S>,
        config: CacheConfig,
        bus: Option<Arc<dyn InvalidationBus>>,
    ) -> Result<Self> {
        config.validate()?;
        let counters = Arc::new(Counters::default());
        let cache: Moka<Entry> = builder(&config, &counters)
            .expire_after(SessionExpiry {
                ttl: config.ttl,
                negative_ttl: config.negative_ttl,
            })
            .build_with_hasher(foldhash::fast::RandomState::default());
        let topic = config.topic.unwrap_or_else(|| SESSIONS_TOPIC.to_owned());
        let engine = Engine::new(cache, counters, topic, "sessions", bus)?;
        Ok(CachedStore {
            inner,
            engine: Arc::new(engine),
            negative: !config.negative_ttl.is_zero(),
            closed: AtomicBool::new(false),
        })
    }

    /// The store behind the cache.
    pub fn inner(&self) -> &Arc<S> {
        &self.inner
    }

    /// Hit, miss, eviction and invalidation counters.
    pub fn cache_stats(&self) -> CacheStats {
        self.engine.stats()
    }

    /// Like [`cache_stats`](Self::cache_stats) after applying moka's pending maintenance, so
    /// that `entries` and `evictions` are exact.
    pub async fn cache_stats_synced(&self) -> CacheStats {
        self.engine.sync().await;
        self.engine.stats()
    }

    /// This instance's id on the bus (its own messages are recognised by it).
    pub fn instance_id(&self) -> &str {
        self.engine.origin()
    }

    /// False while the bus is interrupted (reads then bypass the cache).
    pub fn is_caching(&self) -> bool {
        self.engine.is_live()
    }

    /// Evicts `session_id` here and on every instance: for writes made around the cache.
    pub async fn evict(&self, session_id: &str) -> Result<()> {
        let id = SessionId::parse(session_id)?;
        self.engine.invalidate(id.as_str()).await
    }

    /// Evicts everything here and on every instance.
    pub async fn clear(&self) -> Result<()> {
        self.engine.invalidate_all().await
    }

    /// The live session `id` (validated by the caller), from the cache or the inner store.
    async fn entry(&self, id: &str, now: Timestamp) -> Result<Entry> {
        if let Some(entry) = self.engine.get(id).await {
            return Ok(match entry {
                None => {
                    Counters::bump(&self.engine.counters.negative_hits);
                    None
                }
                Some(live) if live.session.is_expired_at(now) => None,
                live => live,
            });
        }
        self.load(id).await
    }

    #[tracing::instrument(skip_all, level = "debug", fields(cache = "sessions"))]
    async fn load(&self, id: &str) -> Result<Entry> {
        let ticket = self.engine.ticket(id);
        let entry = match self.inner.get_session(id).await? {
            Some(session) => {
                let grants = PermissionSet::new(&session.permissions)?;
                Some(Arc::new(LiveSession { session, grants }))
            }
            None => None,
        };
        if entry.is_some() || self.negative {
            self.engine.fill(id, ticket, entry.clone()).await;
        }
        Ok(entry)
    }

    /// Evicts and publishes after a write (unless the input was rejected: nothing changed).
    async fn after_write<T>(&self, id: &str, result: Result<T>) -> Result<T> {
        if let Err(e) = &result
            && e.is_invalid_input()
        {
            return result;
        }
        let published = self.engine.invalidate(id).await;
        let value = result?;
        published.map(|()| value)
    }
}

/// The cache is a [`SessionBackend`]: psm-core's one layer validates every input (once: a hit
/// never reaches the inner store), checks that the cache is open and opens the span. Calls the
/// cache forwards (writes, misses, listings) are validated again by the inner store, which keeps
/// its own limits, so the cache's own limits let everything through to it; and the inner store
/// counts the writes (see [`SessionBackend::forwards_writes`]).
impl<S: ?Sized + SessionStore> SessionBackend for CachedStore<S> {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    fn limits(&self) -> &Limits {
        &UNBOUNDED
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    fn forwards_writes(&self) -> bool {
        true
    }

    async fn store_session(&self, session: ValidSession) -> Result<Session> {
        let parts = session.into_parts();
        let id = parts.session_id.clone();
        let mut new = NewSession::new(parts.session_id, parts.user_id)
            .permissions(parts.grants.to_vec())
            .metadata(parts.metadata);
        new.expiry = parts.expiry;
        let result = self.inner.store_session(new).await;
        self.after_write(&id, result).await
    }

    async fn check_permission(
        &self,
        session_id: SessionId<'_>,
        permission: ParsedPermission<'_>,
    ) -> Result<bool> {
        let entry = self.entry(session_id.as_str(), Timestamp::now()).await?;
        Ok(entry.is_some_and(|live| live.grants.check_parsed(permission)))
    }

    async fn check_permissions(
        &self,
        session_id: SessionId<'_>,
        permissions: &[ParsedPermission<'_>],
    ) -> Result<Vec<bool>> {
        let entry = self.entry(session_id.as_str(), Timestamp::now()).await?;
        Ok(permissions
            .iter()
            .map(|p| entry.as_ref().is_some_and(|l| l.grants.check_parsed(*p)))
            .collect())
    }

    async fn get_session(&self, session_id: SessionId<'_>) -> Result<Option<Session>> {
        let entry = self.entry(session_id.as_str(), Timestamp::now()).await?;
        Ok(entry.map(|live| live.session.clone()))
    }

    async fn get_session_info(&self, session_id: SessionId<'_>) -> Result<Option<SessionInfo>> {
        let now = Timestamp::now();
        let entry = self.entry(session_id.as_str(), now).await?;
        Ok(entry.map(|live| live.session.info_at(now)))
    }

    async fn update_permissions(
        &self,
        session_id: SessionId<'_>,
        grants: PermissionSet,
        ttl: Option<Ttl>,
    ) -> Result<bool> {
        let result = self
            .inner
            .update_permissions(session_id.as_str(), &grants.to_vec(), ttl.map(Ttl::get))
            .await;
        self.after_write(session_id.as_str(), result).await
    }

    async fn extend_session_ttl(&self, session_id: SessionId<'_>, ttl: Ttl) -> Result<bool> {
        let result = self
            .inner
            .extend_session_ttl(session_id.as_str(), ttl.get())
            .await;
        self.after_write(session_id.as_str(), result).await
    }

    async fn list_sessions(&self, user_id: UserId<'_>) -> Result<Vec<String>> {
        self.inner.list_sessions(user_id.as_str()).await
    }

    async fn invalidate_session(&self, session_id: SessionId<'_>) -> Result<bool> {
        let result = self.inner.invalidate_session(session_id.as_str()).await;
        self.after_write(session_id.as_str(), result).await
    }

    async fn cleanup_expired_sessions(&self) -> Result<u64> {
        // Expired entries are never served, so the cache needs no eviction here.
        self.inner.cleanup_expired_sessions().await
    }

    async fn count_sessions(&self) -> Result<u64> {
        self.inner.count_sessions().await
    }

    async fn stats(&self) -> Result<StoreStats> {
        let mut stats = self.inner.stats().await?;
        let c = self.engine.stats();
        for (name, value) in [
            ("cache_hits", c.hits),
            ("cache_misses", c.misses),
            ("cache_negative_hits", c.negative_hits),
            ("cache_evictions", c.evictions),
            ("cache_local_invalidations", c.local_invalidations),
            ("cache_remote_invalidations", c.remote_invalidations),
            ("cache_bus_interruptions", c.bus_interruptions),
            ("cache_publish_errors", c.publish_errors),
            ("cache_entries", c.entries),
        ] {
            stats.extra.insert(name.to_owned(), value);
        }
        Ok(stats)
    }

    async fn health_check(&self) -> Health {
        self.inner.health_check().await
    }

    async fn close(&self) -> Result<()> {
        self.closed.store(true, Ordering::Release);
        self.engine.shut_down();
        self.inner.close().await
    }
}
