//! The shared backend behaviour suite, run against `CachedStore` over a memory store: alone,
//! and connected to a bus.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod alone {
    use std::sync::Arc;

    use psm_cache::{CacheConfig, CachedStore};
    use psm_core::SessionStore;
    use psm_memory::MemoryStore;

    async fn store() -> Arc<dyn SessionStore> {
        Arc::new(CachedStore::new(Arc::new(MemoryStore::new()), CacheConfig::default()).unwrap())
    }

    psm_core::session_store_tests!(store);
}

mod over_a_bus {
    use std::sync::Arc;

    use psm_cache::{CacheConfig, CachedStore, LocalBus};
    use psm_core::SessionStore;
    use psm_memory::MemoryStore;

    async fn store() -> Arc<dyn SessionStore> {
        let bus = Arc::new(LocalBus::default());
        Arc::new(
            CachedStore::with_bus(Arc::new(MemoryStore::new()), CacheConfig::default(), bus)
                .await
                .unwrap(),
        )
    }

    psm_core::session_store_tests!(store);
}
