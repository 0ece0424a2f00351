//! The shared backend suite on SQLite in memory (`sqlite::memory:`), one database per store.

use psm_core::testkit::Subject;

async fn store() -> Subject {
    super::common::kit_store("sqlite", "sqlite::memory:").await
}

psm_core::session_store_tests!(store);
