//! `Engine<V>`: the machinery shared by the session and provider caches — the moka cache, the
//! race guard (striped epochs), the counters and the link to an invalidation bus.
//!
//! Race guard: a loader reads the key's epoch before fetching, inserts, then re-reads the epoch
//! and evicts what it inserted if the epoch moved; an invalidation bumps the epoch and then
//! evicts. Whatever the interleaving, a value fetched before a write never outlives the
//! write's invalidation.

use std::hash::BuildHasher;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use moka::future::{Cache, CacheBuilder};
use moka::notification::RemovalCause;
use parking_lot::Mutex;
use psm_core::{Error, Result};
use tokio::task::AbortHandle;

use crate::bus::{BusEvent, Invalidation, InvalidationBus};
use crate::config::CacheConfig;
use crate::stats::{CacheStats, Counters};

const STRIPES: usize = 64;

/// The moka cache type, keyed by `String` with foldhash (faster than SipHash on the hit path).
pub(crate) type Moka<V> = Cache<String, V, foldhash::fast::RandomState>;

/// Per-key-stripe write counters.
#[derive(Debug)]
struct Epochs {
    stripes: Box<[AtomicU64]>,
    hasher: foldhash::fast::FixedState,
}

impl Epochs {
    fn new() -> Self {
        Epochs {
            stripes: (0..STRIPES).map(|_| AtomicU64::new(0)).collect(),
            hasher: foldhash::fast::FixedState::default(),
        }
    }

    fn slot(&self, key: &str) -> &AtomicU64 {
        let i = (self.hasher.hash_one(key) as usize) % STRIPES;
        &self.stripes[i]
    }

    fn of(&self, key: &str) -> u64 {
        self.slot(key).load(Ordering::SeqCst)
    }

    fn bump(&self, key: &str) {
        self.slot(key).fetch_add(1, Ordering::SeqCst);
    }

    fn bump_all(&self) {
        for s in self.stripes.iter() {
            s.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// A moka builder with the size bound, idle time and eviction counting of `config`; callers
/// add their expiry policy and build.
pub(crate) fn builder<V>(
    config: &CacheConfig,
    counters: &Arc<Counters>,
) -> CacheBuilder<String, V, Cache<String, V>>
where
    V: Clone + Send + Sync + 'static,
{
    let evictions = Arc::clone(counters);
    let mut b = Cache::builder()
        .max_capacity(config.max_entries)
        .eviction_listener(move |_key, _value, cause: RemovalCause| {
            if cause.was_evicted() {
                Counters::bump(&evictions.evictions);
            }
        });
    if let Some(idle) = config.idle {
        b = b.time_to_idle(idle);
    }
    b
}

/// The shared cache machinery; see the module docs.
#[derive(Debug)]
pub(crate) struct Engine<V: Clone + Send + Sync + 'static> {
    cache: Moka<V>,
    epochs: Epochs,
    pub(crate) counters: Arc<Counters>,
    origin: String,
    topic: String,
    kind: &'static str,
    bus: Option<Arc<dyn InvalidationBus>>,
    /// False while the bus is interrupted (or gone): reads bypass the cache.
    live: AtomicBool,
    listener: Mutex<Option<AbortHandle>>,
}

impl<V: Clone + Send + Sync + 'static> Engine<V> {
    /// An engine over `cache`; with a bus, call [`Engine::attach`] before use.
    pub(crate) fn new(
        cache: Moka<V>,
        counters: Arc<Counters>,
        topic: String,
        kind: &'static str,
        bus: Option<Arc<dyn InvalidationBus>>,
    ) -> Result<Self> {
        Ok(Engine {
            cache,
            epochs: Epochs::new(),
            counters,
            origin: psm_core::generate_session_id()?,
            topic,
            kind,
            bus,
            live: AtomicBool::new(true),
            listener: Mutex::new(None),
        })
    }

    /// Subscribes to the bus (if any) and starts evicting what other instances publish.
    pub(crate) async fn attach(self: &Arc<Self>) -> Result<()> {
        let Some(bus) = &self.bus else {
            return Ok(());
        };
        let mut sub = bus.subscribe().await?;
        let weak = Arc::downgrade(self);
        let task = tokio::spawn(async move {
            while let Some(event) = sub.recv().await {
                let Some(engine) = weak.upgrade() else {
                    return;
                };
                engine.apply(event).await;
            }
            // The bus stopped for good: invalidations can no longer arrive, so stop caching.
            if let Some(engine) = weak.upgrade() {
                engine.live.store(false, Ordering::SeqCst);
                engine.clear_local();
            }
        });
        *self.listener.lock() = Some(task.abort_handle());
        Ok(())
    }

    /// The cached value, counting a hit or a miss. `None` while the bus is interrupted.
    #[inline]
    pub(crate) async fn get(&self, key: &str) -> Option<V> {
        if self.live.load(Ordering::Acquire)
            && let Some(v) = self.cache.get(key).await
        {
            Counters::bump(&self.counters.hits);
            return Some(v);
        }
        Counters::bump(&self.counters.misses);
        metrics::counter!("psm_cache_misses_total", "cache" => self.kind).increment(1);
        None
    }

    /// The epoch to pass to [`Engine::fill`]; read it before fetching from the backend.
    pub(crate) fn ticket(&self, key: &str) -> u64 {
        self.epochs.of(key)
    }

    /// Caches `value` fetched under `ticket`, unless a write to the key happened meanwhile.
    pub(crate) async fn fill(&self, key: &str, ticket: u64, value: V) {
        if !self.live.load(Ordering::Acquire) || self.epochs.of(key) != ticket {
            return;
        }
        self.cache.insert(key.to_owned(), value).await;
        if self.epochs.of(key) != ticket || !self.live.load(Ordering::Acquire) {
            self.cache.invalidate(key).await;
        }
    }

    /// Evicts `key` here and publishes the eviction to the other instances. A publish failure
    /// is an error: the caller's write is done, but other instances may still serve the old
    /// value until their TTL.
    pub(crate) async fn invalidate(&self, key: &str) -> Result<()> {
        self.evict_local(key).await;
        Counters::bump(&self.counters.local_invalidations);
        self.publish(Invalidation::key(&self.origin, &self.topic, key))
            .await
    }

    /// Evicts everything here and on the other instances.
    pub(crate) async fn invalidate_all(&self) -> Result<()> {
        self.clear_local();
        self.publish(Invalidation::topic(&self.origin, &self.topic))
            .await
    }

    async fn publish(&self, invalidation: Invalidation) -> Result<()> {
        let Some(bus) = &self.bus else {
            return Ok(());
        };
        bus.publish(&invalidation).await.map_err(|e| {
            Counters::bump(&self.counters.publish_errors);
            metrics::counter!("psm_cache_publish_errors_total", "cache" => self.kind).increment(1);
            tracing::warn!(cache = self.kind, error = %e, "invalidation not published");
            Error::Backend {
                backend: "cache",
                message: format!(
                    "the write was applied, but its invalidation could not be published on the {} bus; \
                     other instances may serve the old value until their cache TTL",
                    bus.name()
                ),
                source: Some(Box::new(e)),
            }
        })
    }

    async fn evict_local(&self, key: &str) {
        self.epochs.bump(key);
        self.cache.invalidate(key).await;
    }

    pub(crate) fn clear_local(&self) {
        self.epochs.bump_all();
        self.cache.invalidate_all();
    }

    async fn apply(&self, event: BusEvent) {
        match event {
            BusEvent::Invalidate(inv) => {
                if inv.origin == self.origin || !inv.concerns(&self.topic) {
                    return;
                }
                Counters::bump(&self.counters.remote_invalidations);
                match &inv.key {
                    Some(key) => self.evict_local(key).await,
                    None => self.clear_local(),
                }
            }
            BusEvent::Interrupted => {
                self.live.store(false, Ordering::SeqCst);
                Counters::bump(&self.counters.bus_interruptions);
                self.clear_local();
            }
            BusEvent::Resumed => {
                self.clear_local();
                self.live.store(true, Ordering::SeqCst);
            }
        }
    }

    /// Stops listening to the bus and forgets everything (used by `close`).
    pub(crate) fn shut_down(&self) {
        if let Some(task) = self.listener.lock().take() {
            task.abort();
        }
        self.live.store(false, Ordering::SeqCst);
        self.clear_local();
    }

    /// True while entries may be served (no bus interruption in progress).
    pub(crate) fn is_live(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }

    pub(crate) fn stats(&self) -> CacheStats {
        self.counters.snapshot(self.cache.entry_count())
    }

    /// This instance's id on the bus.
    pub(crate) fn origin(&self) -> &str {
        &self.origin
    }

    /// Applies moka's pending maintenance (tests and stats use it for exact counts).
    pub(crate) async fn sync(&self) {
        self.cache.run_pending_tasks().await;
    }
}

impl<V: Clone + Send + Sync + 'static> Drop for Engine<V> {
    fn drop(&mut self) {
        if let Some(task) = self.listener.get_mut().take() {
            task.abort();
        }
    }
}
