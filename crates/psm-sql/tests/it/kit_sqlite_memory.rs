//! The shared backend suite on SQLite in memory (`sqlite::memory:`), one database per store.

use std::sync::Arc;

use psm_core::SessionStore;

async fn store() -> Arc<dyn SessionStore> {
    Arc::new(super::common::kit_store("sqlite", "sqlite::memory:").await)
}

psm_core::session_store_tests!(store);
