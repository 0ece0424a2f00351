//! `CachedProvider`: a `PermissionsProvider` whose answers (compiled into `PermissionSet`s) are
//! cached per principal key, with explicit and cross-instance invalidation.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use psm_core::permission::DEFAULT_MAX_PERMISSIONS;
use psm_core::{PermissionSet, PermissionsProvider, Principal, Result};

use crate::bus::InvalidationBus;
use crate::config::CacheConfig;
use crate::engine::{Engine, Moka, builder};
use crate::stats::{CacheStats, Counters};

/// Default bus topic of provider caches.
pub const PERMISSIONS_TOPIC: &str = "permissions";

/// A custom cache-key function; `None` means "do not cache this principal".
pub type KeyFn = Arc<dyn Fn(&Principal) -> Option<String> + Send + Sync>;

/// What a provider's answer depends on, and so what its cache is keyed by. The inner
/// provider's answer must be a function of this key alone.
#[derive(Clone, Default)]
pub enum CacheKey {
    /// [`Principal::lookup_name`] (username, else subject): for user-keyed providers (SQL,
    /// Redis roles, JSON file, HTTP API).
    #[default]
    LookupName,
    /// [`Principal::subject`].
    Subject,
    /// [`Principal::session_id`] (principals without one are not cached): for the
    /// session-store provider.
    SessionId,
    /// Any function of the principal.
    Custom(KeyFn),
}

impl fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CacheKey::LookupName => f.write_str("LookupName"),
            CacheKey::Subject => f.write_str("Subject"),
            CacheKey::SessionId => f.write_str("SessionId"),
            CacheKey::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

impl CacheKey {
    fn of<'p>(&self, principal: &'p Principal) -> Option<Cow<'p, str>> {
        match self {
            CacheKey::LookupName => Some(Cow::Borrowed(principal.lookup_name())),
            CacheKey::Subject => Some(Cow::Borrowed(principal.subject.as_str())),
            CacheKey::SessionId => principal.session_id.as_deref().map(Cow::Borrowed),
            CacheKey::Custom(f) => f(principal).map(Cow::Owned),
        }
    }
}

/// Caches another provider's answers as compiled [`PermissionSet`]s.
///
/// Errors are never cached (and surface as errors: callers fail closed); a permission outside
/// the grammar in the inner provider's answer is an error too. Providers are read-only, so
/// invalidation is explicit: after granting or revoking, call [`invalidate`](Self::invalidate)
/// with the principal's key; with a bus, every instance evicts it.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use psm_cache::{CacheConfig, CachedProvider};
/// use psm_core::{PermissionsProvider, Principal, Result};
///
/// #[derive(Debug)]
/// struct Fixed;
/// #[psm_core::async_trait]
/// impl PermissionsProvider for Fixed {
///     async fn fetch_permissions(&self, _: &Principal) -> Result<Vec<String>> {
///         Ok(vec!["read:posts".into()])
///     }
/// }
///
/// let cached = CachedProvider::new(Fixed, CacheConfig::default())?;
/// let alice = Principal::new("alice");
/// assert!(cached.permission_set(&alice).await?.check("read:posts")?);
/// assert!(cached.permission_set(&alice).await?.check("read:posts")?);
/// assert_eq!((cached.cache_stats().misses, cached.cache_stats().hits), (1, 1));
/// cached.invalidate("alice").await?;
/// # Ok::<(), psm_core::Error>(()) }).unwrap();
/// ```
#[derive(Debug)]
pub struct CachedProvider<P> {
    inner: P,
    engine: Arc<Engine<Arc<PermissionSet>>>,
    key: CacheKey,
    max_permissions: usize,
}

impl<P: PermissionsProvider> CachedProvider<P> {
    /// A cache over `inner` for a single instance (no bus).
    pub fn new(inner: P, config: CacheConfig) -> Result<Self> {
        Self::build(inner, config, None)
    }

    /// A cache over `inner` that publishes invalidations on `bus` and evicts what other
    /// instances publish there.
    pub async fn with_bus(
        inner: P,
        config: CacheConfig,
        bus: Arc<dyn InvalidationBus>,
    ) -> Result<Self> {
        let provider = Self::build(inner, config, Some(bus))?;
        provider.engine.attach().await?;
        Ok(provider)
    }

    fn build(inner: P, config: CacheConfig, bus: Option<Arc<dyn InvalidationBus>>) -> Result<Self> {
        config.validate()?;
        let counters = Arc::new(Counters::default());
        let cache: Moka<Arc<PermissionSet>> = builder(&config, &counters)
            .time_to_live(config.ttl)
            .build_with_hasher(foldhash::fast::RandomState::default());
        let topic = config.topic.unwrap_or_else(|| PERMISSIONS_TOPIC.to_owned());
        let engine = Engine::new(cache, counters, topic, "permissions", bus)?;
        Ok(CachedProvider {
            inner,
            engine: Arc::new(engine),
            key: CacheKey::default(),
            max_permissions: DEFAULT_MAX_PERMISSIONS,
        })
    }

    /// Keys the cache by `key` instead of the lookup name.
    pub fn key_by(mut self, key: CacheKey) -> Self {
        self.key = key;
        self
    }

    /// Bounds the number of permissions accepted from the inner provider (default 10,000);
    /// a larger answer is an error.
    pub fn max_permissions(mut self, max: usize) -> Self {
        self.max_permissions = max;
        self
    }

    /// The provider behind the cache.
    pub fn inner(&self) -> &P {
        &self.inner
    }

    /// The principal's permissions, compiled: from the cache, or fetched and cached.
    pub async fn permission_set(&self, principal: &Principal) -> Result<Arc<PermissionSet>> {
        let Some(key) = self.key.of(principal) else {
            return self.fetch(principal).await;
        };
        if let Some(set) = self.engine.get(&key).await {
            return Ok(set);
        }
        let ticket = self.engine.ticket(&key);
        let set = self.fetch(principal).await?;
        self.engine.fill(&key, ticket, Arc::clone(&set)).await;
        Ok(set)
    }

    #[tracing::instrument(skip_all, level = "debug", fields(cache = "permissions"))]
    async fn fetch(&self, principal: &Principal) -> Result<Arc<PermissionSet>> {
        let permissions = self.inner.fetch_permissions(principal).await?;
        Ok(Arc::new(PermissionSet::new_bounded(
            permissions,
            self.max_permissions,
        )?))
    }

    /// Evicts `key` (a lookup name, subject or session id, per [`CacheKey`]) here and on every
    /// instance. An error means the eviction could not be published to the other instances.
    pub async fn invalidate(&self, key: &str) -> Result<()> {
        self.engine.invalidate(key).await
    }

    /// Evicts everything here and on every instance.
    pub async fn invalidate_all(&self) -> Result<()> {
        self.engine.invalidate_all().await
    }

    /// Hit, miss, eviction and invalidation counters.
    pub fn cache_stats(&self) -> CacheStats {
        self.engine.stats()
    }

    /// False while the bus is interrupted (every call then goes to the inner provider).
    pub fn is_caching(&self) -> bool {
        self.engine.is_live()
    }
}

#[async_trait]
impl<P: PermissionsProvider> PermissionsProvider for CachedProvider<P> {
    async fn fetch_permissions(&self, principal: &Principal) -> Result<Vec<String>> {
        Ok(self.permission_set(principal).await?.to_vec())
    }
}
