//! The shared tuple-store suite (feature `testkit`) on the memory store, the reference the SQL
//! stores are compared with.
#![cfg(feature = "testkit")]

use std::sync::Arc;

use psm_rebac::{MemoryStore, TupleStore};

async fn store() -> Arc<dyn TupleStore> {
    Arc::new(MemoryStore::new())
}

/// Two clones of one memory store: state is shared, as two SQL connections share tables.
async fn handles() -> [Arc<dyn TupleStore>; 2] {
    let store = MemoryStore::new();
    [Arc::new(store.clone()), Arc::new(store)]
}

psm_rebac::tuple_store_tests!(store, handles);
