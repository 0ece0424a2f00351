//! Where a validation run keeps relationships: a fresh, empty [`TupleStore`] per test.
//! [`MemoryStores`] (the default) gives a new [`MemoryStore`] each time; a SQL-backed
//! [`StoreFactory`] can empty one database instead.

use std::sync::Arc;

use async_trait::async_trait;

use crate::{MemoryStore, Relationship, RelationshipUpdate, Result, TupleStore};

/// Relationships written per write call when loading a file into a store that is not memory.
const LOAD_CHUNK: usize = 500;

/// Hands out an empty tuple store for each test of a run.
#[async_trait]
pub trait StoreFactory: Send + Sync {
    /// An empty store for the next test (a new one, or the same one emptied).
    async fn fresh(&self) -> Result<FreshStore>;
}

/// A fresh [`MemoryStore`] for every test.
#[derive(Debug, Clone, Copy, Default)]
pub struct MemoryStores;

#[async_trait]
impl StoreFactory for MemoryStores {
    async fn fresh(&self) -> Result<FreshStore> {
        Ok(FreshStore::memory())
    }
}

/// An empty store for one test; memory stores load without a write per relationship.
#[derive(Debug, Clone)]
pub struct FreshStore {
    store: Arc<dyn TupleStore>,
    memory: Option<Arc<MemoryStore>>,
}

impl FreshStore {
    /// Wraps an (already empty) store.
    pub fn new(store: Arc<dyn TupleStore>) -> Self {
        Self {
            store,
            memory: None,
        }
    }

    /// A new memory store.
    pub fn memory() -> Self {
        let memory = Arc::new(MemoryStore::new());
        Self {
            store: memory.clone(),
            memory: Some(memory),
        }
    }

    /// The store.
    pub fn store(&self) -> Arc<dyn TupleStore> {
        self.store.clone()
    }

    /// Stores already validated relationships (in bulk for memory, chunked touches otherwise).
    pub async fn load(&self, rels: &[Relationship]) -> Result<()> {
        if let Some(m) = &self.memory {
            m.extend(rels.iter().cloned());
            return Ok(());
        }
        for chunk in rels.chunks(LOAD_CHUNK) {
            let updates: Vec<_> = chunk
                .iter()
                .cloned()
                .map(RelationshipUpdate::touch)
                .collect();
            self.store.write(&updates, &[]).await?;
        }
        Ok(())
    }
}
