//! The shared backend suite on a SQLite database file (WAL), one file per store.

use psm_core::testkit::Subject;

async fn store() -> Subject {
    let url = super::common::sqlite_file_url();
    super::common::kit_store("sqlite", &url).await
}

psm_core::session_store_tests!(store);
