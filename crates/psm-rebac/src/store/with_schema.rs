//! [`RelationshipStore`]: a tuple store with the schema stored beside its relationships — what a
//! URL opens through the umbrella crate's registry, and what `psm serve` serves. A store keeps
//! its schema through [`SchemaStore`]; [`RelationshipStore::in_memory`] keeps both in this
//! process.
//!
//! ```
//! use psm_rebac::RelationshipStore;
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! let store = RelationshipStore::in_memory();
//! store.write_schema("definition user {}").await?;
//! assert_eq!(store.read_schema().await?.as_deref(), Some("definition user {}"));
//! # Ok::<(), psm_rebac::Error>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use parking_lot::RwLock;

use super::TupleStore;
use super::memory::MemoryStore;
use crate::{Engine, Result, Schema};

/// Keeps a relationship store's schema text beside its relationships.
#[async_trait]
pub trait SchemaStore: Send + Sync + Debug {
    /// Replaces the stored schema text.
    async fn write_schema(&self, text: &str) -> Result<()>;
    /// The stored schema text, if one was written.
    async fn read_schema(&self) -> Result<Option<String>>;
    /// Releases connections (nothing to do in memory).
    async fn close(&self) {}
}

/// A tuple store and the schema stored with it.
#[derive(Debug, Clone)]
pub struct RelationshipStore {
    tuples: Arc<dyn TupleStore>,
    schema: Arc<dyn SchemaStore>,
    /// The settings (and request budget) of the engines made by [`Self::engine_for`].
    config: crate::EngineConfig,
    /// Cancels every request of those engines.
    cancel: Option<crate::CancelToken>,
}

/// A schema kept in memory.
#[derive(Debug, Default)]
struct MemorySchema(RwLock<Option<String>>);

#[async_trait]
impl SchemaStore for MemorySchema {
    async fn write_schema(&self, text: &str) -> Result<()> {
        *self.0.write() = Some(text.to_owned());
        Ok(())
    }
    async fn read_schema(&self) -> Result<Option<String>> {
        Ok(self.0.read().clone())
    }
}

impl RelationshipStore {
    /// A store of these relationships and this schema storage.
    pub fn new(tuples: Arc<dyn TupleStore>, schema: Arc<dyn SchemaStore>) -> Self {
        Self {
            tuples,
            schema,
            config: crate::EngineConfig::default(),
            cancel: None,
        }
    }

    /// Makes [`engine_for`](Self::engine_for) use `config` (depth limit, request budget).
    pub fn with_engine_config(mut self, config: crate::EngineConfig) -> Self {
        self.config = config;
        self
    }

    /// Makes `token` cancel every request of the engines [`engine_for`](Self::engine_for)
    /// makes (see [`Engine::with_cancel`]).
    pub fn with_cancel(mut self, token: crate::CancelToken) -> Self {
        self.cancel = Some(token);
        self
    }

    /// Relationships and schema in this process.
    pub fn in_memory() -> Self {
        Self::new(
            Arc::new(MemoryStore::new()),
            Arc::new(MemorySchema::default()),
        )
    }

    /// The same store with its relationships kept by `tuples` instead (a wrapper of
    /// [`tuples`](Self::tuples), such as a `MirrorStore`); the schema storage is kept.
    pub fn with_tuples(mut self, tuples: Arc<dyn TupleStore>) -> Self {
        self.tuples = tuples;
        self
    }

    /// The relationships.
    pub fn tuples(&self) -> &Arc<dyn TupleStore> {
        &self.tuples
    }

    /// Parses `text` as a SpiceDB schema and, when it is valid, stores it.
    pub async fn write_schema(&self, text: &str) -> Result<Schema> {
        let schema = Schema::parse_spicedb(text)?;
        self.schema.write_schema(text).await?;
        Ok(schema)
    }

    /// The stored schema text, if any.
    pub async fn read_schema(&self) -> Result<Option<String>> {
        self.schema.read_schema().await
    }

    /// An engine over `schema` and these relationships.
    pub fn engine_for(&self, schema: Schema) -> Engine {
        let engine = Engine::with_config(schema, self.tuples.clone(), self.config);
        match &self.cancel {
            Some(token) => engine.with_cancel(token.clone()),
            None => engine,
        }
    }

    /// Releases the store's connections.
    pub async fn close(&self) {
        self.schema.close().await;
    }
}
