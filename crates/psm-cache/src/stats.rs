//! `CacheStats`: hit, miss, eviction and invalidation counters of one cache.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// A snapshot of a cache's counters (monotonic since the cache was built) and its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
pub struct CacheStats {
    /// Reads answered from the cache (negative entries included).
    pub hits: u64,
    /// Reads that went to the backend or provider.
    pub misses: u64,
    /// Reads answered from a negative ("no such session") entry; part of `hits`.
    pub negative_hits: u64,
    /// Entries dropped for age, idleness or the size bound.
    pub evictions: u64,
    /// Keys evicted because a write passed through this cache.
    pub local_invalidations: u64,
    /// Keys evicted because another instance published a write.
    pub remote_invalidations: u64,
    /// Times the bus was interrupted (the cache was cleared and bypassed until it resumed).
    pub bus_interruptions: u64,
    /// Invalidations that could not be published (the write was reported as failed).
    pub publish_errors: u64,
    /// Entries held now (approximate: moka applies some changes lazily).
    pub entries: u64,
}

impl CacheStats {
    /// Fraction of reads answered from the cache (0 when nothing was read).
    pub fn hit_ratio(&self) -> f64 {
        let total = self.hits + self.misses;
        if total == 0 {
            0.0
        } else {
            self.hits as f64 / total as f64
        }
    }
}

/// The live counters behind [`CacheStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) hits: AtomicU64,
    pub(crate) misses: AtomicU64,
    pub(crate) negative_hits: AtomicU64,
    pub(crate) evictions: AtomicU64,
    pub(crate) local_invalidations: AtomicU64,
    pub(crate) remote_invalidations: AtomicU64,
    pub(crate) bus_interruptions: AtomicU64,
    pub(crate) publish_errors: AtomicU64,
}

impl Counters {
    #[inline]
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self, entries: u64) -> CacheStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        CacheStats {
            hits: get(&self.hits),
            misses: get(&self.misses),
            negative_hits: get(&self.negative_hits),
            evictions: get(&self.evictions),
            local_invalidations: get(&self.local_invalidations),
            remote_invalidations: get(&self.remote_invalidations),
            bus_interruptions: get(&self.bus_interruptions),
            publish_errors: get(&self.publish_errors),
            entries,
        }
    }
}
