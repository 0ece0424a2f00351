//! The shared tuple-store suite (feature `testkit`) on the memory store, the reference the SQL
//! stores are compared with.
#![cfg(feature = "testkit")]

use std::sync::Arc;

use psm_rebac::{MemoryStore, TupleStore};

async fn store() -> Arc<dyn TupleStore> {
    Arc::new(MemoryStore::new())
}

psm_rebac::tuple_store_tests!(store);
