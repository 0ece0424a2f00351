//! The shared backend behaviour suite against a real Redis server.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use psm_core::SessionStore;

async fn fresh_store() -> Arc<dyn SessionStore> {
    common::store(&common::isolated(&common::redis_url(), "")).await
}

psm_core::session_store_tests!(fresh_store);
