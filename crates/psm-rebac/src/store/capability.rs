//! What a store may offer the engine beyond `read`, store-neutral: a synchronous interned read
//! index ([`InternedIndex`], what the memory store offers; a cache or snapshot of another store
//! can offer it too) and a planner ([`Planner`], for stores that answer a whole check or lookup
//! in their own query language, as psm-sql does). The engine picks the best one a store offers
//! for every request, so callers never ask for them. A store may also offer a bulk import
//! ([`BulkImport`]: many relationships in few statements, for `psm rebac import`).

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;

use crate::caveat::CaveatContext;
use crate::engine::{EngineConfig, Permissionship};
use crate::error::Result;
use crate::relationship::{ObjectRef, Relationship, SubjectRef};
use crate::schema::Schema;
use crate::store::Revision;

/// An interned string: a small integer a store's [`IndexSnapshot`] issued for it.
pub type Sym = u32;

/// The symbol meaning "no subject relation" (a plain subject such as `user:alice`). Stores
/// issue symbols below it; the engine uses the values just under it for strings a store never
/// saw.
pub const NO_RELATION: Sym = u32::MAX;

/// A consistent, synchronous view of a store's relationships over interned strings: what the
/// engine's in-process evaluator (check, check_bulk, lookup_resources) walks.
///
/// Symbols: the same string always has the same symbol within one [`symbol_space`], and a
/// symbol never changes meaning within it (a store may only add symbols). Only relationships
/// without caveat and expiration may be indexed, unless [`has_conditions`] says otherwise.
///
/// [`symbol_space`]: IndexSnapshot::symbol_space
/// [`has_conditions`]: IndexSnapshot::has_conditions
pub trait IndexSnapshot {
    /// Identifies the symbol table: symbols issued under one value keep their meaning for as
    /// long as a snapshot with that value can be taken (the engine caches schema names by it).
    fn symbol_space(&self) -> usize;
    /// The symbol of `s`, if this store ever issued one.
    fn find(&self, s: &str) -> Option<Sym>;
    /// The string of a symbol (`None` for a symbol never issued).
    fn name(&self, s: Sym) -> Option<&str>;
    /// Whether the relationship (resource type, id, relation, subject type, id, relation or
    /// [`NO_RELATION`]) is stored.
    fn has(&self, tuple: &[Sym; 6]) -> bool;
    /// Subject ids of (resource type, id, relation, subject type, subject relation).
    fn subject_ids(&self, key: &[Sym; 5]) -> &[Sym];
    /// The (subject type, subject relation) pairs stored on (resource type, id, relation).
    fn subject_kinds(&self, key: &[Sym; 3]) -> &[[Sym; 2]];
    /// (resource type, id, relation) of every relationship whose subject is (type, id,
    /// relation).
    fn resources_of(&self, subject: &[Sym; 3]) -> &[[Sym; 3]];
    /// The subject relations ([`NO_RELATION`] for plain subjects) stored for subject object
    /// (type, id).
    fn subject_relations(&self, object: &[Sym; 2]) -> &[Sym];
    /// Whether some stored relationship has a caveat or an expiration (the engine then
    /// evaluates through `read`, which carries them).
    fn has_conditions(&self) -> bool;
}

/// A store's synchronous interned read index: [`read`](InternedIndex::read) lends a
/// consistent snapshot for the duration of one call (the memory store holds its read lock).
///
/// An index that may lag its store (a mirror of a remote store) says so with
/// [`revision`](InternedIndex::revision): the engine then uses it only for requests whose
/// [`Consistency`](crate::Consistency) it meets and otherwise asks the store.
pub trait InternedIndex: Send + Sync {
    /// Calls `f` at most once with a consistent snapshot (not at all when the index cannot
    /// lend one right now: the engine then answers through the store's other capabilities).
    fn read(&self, f: &mut dyn FnMut(&dyn IndexSnapshot));

    /// `None` (the default) when every snapshot is at the store's head, as the memory store's
    /// are. Otherwise the store revision that every snapshot lent after this call reflects at
    /// least (a snapshot may be fresher, never older).
    fn revision(&self) -> Option<Revision> {
        None
    }
}

/// What a [`Plan`] answered: the engine's answer, or a decline (the engine then evaluates the
/// request itself, through the store's other capabilities or `read`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Planned<T> {
    /// The answer, identical to what the engine would answer.
    Answer(T),
    /// The plan cannot answer this request exactly (the reason, for tracing).
    Declined(&'static str),
}

/// A store's plans for one schema and engine configuration: whole checks and lookups answered
/// in the store's own query language. Built once per schema by [`Planner::plan`] and held by
/// the engine.
///
/// A plan answers only when its answer is exactly the engine's (depth limit and errors
/// included); otherwise it declines. Requests with contextual relationships never reach it.
#[async_trait]
pub trait Plan: Send + Sync + Debug {
    /// Whether `subject` has `permission` on `resource` (the schema names were checked).
    async fn check(
        &self,
        resource: &ObjectRef,
        permission: &str,
        subject: &SubjectRef,
        context: &CaveatContext,
    ) -> Result<Planned<Permissionship>>;

    /// The sorted ids of the `resource_type` objects on which `subject` has `permission`.
    async fn lookup_resources(
        &self,
        resource_type: &str,
        permission: &str,
        subject: &SubjectRef,
        context: &CaveatContext,
    ) -> Result<Planned<Vec<String>>> {
        let _ = (resource_type, permission, subject, context);
        Ok(Planned::Declined(
            "lookup_resources is not planned by this store",
        ))
    }
}

/// A store that plans whole requests: called once when an engine is built over it.
pub trait Planner: Send + Sync {
    /// The plans for `schema` under `config`, or `None` when this store plans nothing for it.
    fn plan(&self, schema: &Arc<Schema>, config: &EngineConfig) -> Option<Arc<dyn Plan>>;
}

/// A store that imports many relationships at once faster than [`TupleStore::write`]
/// (multi-row statements, `COPY`, ...).
///
/// Each relationship is touched: stored if absent, else its caveat and expiration replaced (as
/// a `write` of [`RelationshipUpdate::touch`] would); when one relationship appears several
/// times the last one wins. Atomic per call. Unlike `write`, an import is not in the change log:
/// it bumps the revision once and returns it, and watchers behind that revision must resync
/// ([`Error::ChangesPruned`](crate::Error::ChangesPruned)). Callers validate the relationships
/// against the schema first.
///
/// [`TupleStore::write`]: crate::store::TupleStore::write
/// [`RelationshipUpdate::touch`]: crate::filter::RelationshipUpdate::touch
#[async_trait]
pub trait BulkImport: Send + Sync {
    /// Touches every relationship of `relationships` in one transaction.
    async fn import(&self, relationships: &[Relationship]) -> Result<Revision>;

    /// Called once after the last `import` of a run (a store refreshes its statistics here).
    async fn finish(&self) -> Result<()> {
        Ok(())
    }
}
