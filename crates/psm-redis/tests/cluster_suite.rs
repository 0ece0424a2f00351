//! The shared backend behaviour suite against a real 3-master Redis Cluster.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use psm_core::SessionStore;

async fn fresh_store() -> Arc<dyn SessionStore> {
    let store = common::store(&common::isolated(&common::cluster_url(), "")).await;
    assert!(store.capabilities().clustered, "expected a cluster store");
    store
}

psm_core::session_store_tests!(fresh_store);
