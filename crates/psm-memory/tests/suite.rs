//! The shared backend behaviour suite, run against the memory backend.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use psm_core::ManualClock;
use psm_core::testkit::Subject;
use psm_memory::{MemoryConfig, MemoryStore};

/// A fresh store on a manual clock: the expiry cases advance it instead of sleeping.
async fn store() -> Subject {
    let clock = Arc::new(ManualClock::starting_now());
    let config = MemoryConfig {
        clock: clock.clone().into(),
        ..MemoryConfig::default()
    };
    Subject::with_clock(Arc::new(MemoryStore::with_config(config).unwrap()), clock)
}

psm_core::session_store_tests!(store);
