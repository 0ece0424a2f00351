//! The shared backend behaviour suite (psm-core's testkit) against `FileStore`, each case in a
//! fresh temporary directory.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use psm_core::ManualClock;
use psm_core::testkit::Subject;
use psm_file::{FileConfig, FileStore};

/// A fresh store on a manual clock: the expiry cases advance it instead of sleeping.
async fn fresh_store() -> Subject {
    // each call gets its own directory under cargo's scratch space for tests
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap()
        .keep();
    let clock = Arc::new(ManualClock::starting_now());
    let store = FileStore::open(FileConfig::new(dir).clock(clock.clone()))
        .await
        .unwrap();
    Subject::with_clock(Arc::new(store), clock)
}

psm_core::session_store_tests!(fresh_store);
