//! The engines of the last few schemas a [`SqlTupleStore`]'s `*_with_context` functions were
//! given (`lookup/mod.rs`): built once per schema (its analysis, reverse index and compiled
//! caveats), not per request. They read the store through a weak handle, since the store keeps
//! them (a strong one would be a cycle: store → cache → engine → store), and without the SQL
//! planner: they run exactly when SQL declined.

use std::sync::{Arc, Weak};

use parking_lot::Mutex;
use psm_core::Error;
use psm_rebac::{
    Change, Engine, Precondition, Relationship, RelationshipFilter, RelationshipUpdate, Revision,
    Schema, TupleStore,
};

use super::store::{Inner, SqlTupleStore, store_error};

/// How many schemas' engines a store keeps.
const KEPT: usize = 4;

/// The engines of recent schemas, most recent last.
#[derive(Default)]
pub(crate) struct EngineCache {
    recent: Mutex<Vec<Engine>>,
}

impl SqlTupleStore {
    /// The engine (default settings) of `schema` over this store: the one built for an equal
    /// schema before, or a new one kept for the next request.
    pub(crate) fn engine_for(&self, schema: &Schema) -> Engine {
        let mut recent = self.inner.engines.recent.lock();
        if let Some(i) = recent.iter().position(|e| e.schema() == schema) {
            let e = recent.remove(i);
            recent.push(e.clone());
            return e;
        }
        let store: Arc<dyn TupleStore> = Arc::new(Detached(Arc::downgrade(&self.inner)));
        let e = Engine::new(schema.clone(), store);
        if recent.len() >= KEPT {
            recent.remove(0);
        }
        recent.push(e.clone());
        e
    }
}

/// The store through a weak handle: reads fail as closed once the store is gone.
struct Detached(Weak<Inner>);

impl std::fmt::Debug for Detached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqlTupleStore (detached)")
    }
}

impl Detached {
    fn store(&self) -> psm_rebac::Result<SqlTupleStore> {
        let inner = self.0.upgrade().ok_or_else(|| store_error(Error::Closed))?;
        let store = SqlTupleStore { inner };
        store.live().map_err(store_error)?;
        Ok(store)
    }
}

#[async_trait::async_trait]
impl TupleStore for Detached {
    async fn write(
        &self,
        updates: &[RelationshipUpdate],
        preconditions: &[Precondition],
    ) -> psm_rebac::Result<Revision> {
        TupleStore::write(&self.store()?, updates, preconditions).await
    }

    async fn read(
        &self,
        filter: &RelationshipFilter,
        limit: Option<usize>,
    ) -> psm_rebac::Result<Vec<Relationship>> {
        TupleStore::read(&self.store()?, filter, limit).await
    }

    async fn contains(&self, relationship: &Relationship) -> psm_rebac::Result<bool> {
        TupleStore::contains(&self.store()?, relationship).await
    }

    async fn revision(&self) -> psm_rebac::Result<Revision> {
        TupleStore::revision(&self.store()?).await
    }

    async fn changes_since(&self, after: Revision, limit: usize) -> psm_rebac::Result<Vec<Change>> {
        TupleStore::changes_since(&self.store()?, after, limit).await
    }

    async fn prune_changes(&self, through: Revision) -> psm_rebac::Result<u64> {
        TupleStore::prune_changes(&self.store()?, through).await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const SCHEMA: &str = "definition user {}\ndefinition doc { relation viewer: user }";

    #[tokio::test]
    async fn one_engine_per_schema_and_none_kept_alive_by_it() {
        let store = SqlTupleStore::connect("sqlite::memory:").await.unwrap();
        let a = Schema::parse_spicedb(SCHEMA).unwrap();
        let b = Schema::parse_spicedb(&format!("{SCHEMA}\ndefinition team {{}}")).unwrap();
        let first = store.engine_for(&a);
        let again = store.engine_for(&Schema::parse_spicedb(SCHEMA).unwrap());
        assert!(
            std::ptr::eq(first.analysis(), again.analysis()),
            "equal schema: reused"
        );
        let other = store.engine_for(&b);
        assert!(!std::ptr::eq(first.analysis(), other.analysis()));
        // The engine reads the store it belongs to, without keeping it alive.
        first
            .touch(["doc:d#viewer@user:u".parse::<Relationship>().unwrap()])
            .await
            .unwrap();
        let d = "doc:d".parse().unwrap();
        let u = "user:u".parse().unwrap();
        assert_eq!(first.check(&d, "viewer", &u).await, Ok(true));
        drop((again, other));
        drop(store);
        let gone = first.check(&d, "viewer", &u).await.unwrap_err();
        assert_eq!(
            gone.store_kind(),
            Some(psm_rebac::StoreErrorKind::Closed),
            "a dropped store reads as closed: {gone:?}"
        );
    }
}
