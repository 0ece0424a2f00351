//! The shared backend suite on a SQLite database file (WAL), one file per store.

use std::sync::Arc;

use psm_core::SessionStore;

async fn store() -> Arc<dyn SessionStore> {
    let url = super::common::sqlite_file_url();
    Arc::new(super::common::kit_store("sqlite", &url).await)
}

psm_core::session_store_tests!(store);
