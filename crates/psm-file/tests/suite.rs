//! The shared backend behaviour suite (psm-core's testkit) against `FileStore`, each case in a
//! fresh temporary directory.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use psm_core::SessionStore;
use psm_file::{FileConfig, FileStore};

async fn fresh_store() -> Arc<dyn SessionStore> {
    // each call gets its own directory under cargo's scratch space for tests
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap()
        .keep();
    Arc::new(FileStore::open(FileConfig::new(dir)).await.unwrap())
}

psm_core::session_store_tests!(fresh_store);
