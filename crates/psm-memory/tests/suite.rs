//! The shared backend behaviour suite, run against the memory backend.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use psm_core::SessionStore;
use psm_memory::MemoryStore;

async fn store() -> Arc<dyn SessionStore> {
    Arc::new(MemoryStore::new())
}

psm_core::session_store_tests!(store);
