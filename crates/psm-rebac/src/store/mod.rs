//! The `TupleStore` trait: where relationships live (memory here, SQL in psm-sql), its
//! revisions, change log and watch.

pub mod capability;
pub mod change;
pub mod consistency;
pub mod memory;
#[cfg(feature = "mirror")]
pub mod mirror;
pub mod watch;
pub mod with_schema;

use std::time::Duration;

use async_trait::async_trait;

pub use capability::{
    BulkImport, IndexSnapshot, InternedIndex, NO_RELATION, Plan, Planned, Planner, Sym,
};
pub use change::{Change, ChangeOp, MAX_CHANGES};
pub use consistency::Consistency;

use crate::error::Result;
use crate::filter::{Precondition, RelationshipFilter, RelationshipUpdate};
use crate::relationship::Relationship;

/// A monotonically increasing store version, returned by writes.
pub type Revision = u64;

/// Storage for relationships. Object-safe; the engine needs `write` and `read`.
///
/// Implementations must apply a write atomically: either every precondition holds and every
/// update is applied, or nothing changes and an error is returned. Writes return increasing
/// revisions; `read` answers at the store's head (every write whose revision was returned is
/// visible), which is what [`Consistency`] relies on.
///
/// Watching: `changes_since` lists what writes applied, `watch_next` waits for it. The
/// defaults of `revision`, `changes_since` and `prune_changes` return
/// [`Error::Unsupported`](crate::Error::Unsupported): a store without a change log cannot
/// answer them honestly.
#[async_trait]
pub trait TupleStore: Send + Sync + std::fmt::Debug {
    /// Checks `preconditions`, then applies `updates` (create / touch / delete) atomically.
    ///
    /// Errors: [`crate::Error::PreconditionFailed`], [`crate::Error::AlreadyExists`] for a
    /// create of an existing relationship, [`crate::Error::RepeatedRelationship`] when the same
    /// relationship appears twice in `updates`.
    async fn write(
        &self,
        updates: &[RelationshipUpdate],
        preconditions: &[Precondition],
    ) -> Result<Revision>;

    /// Reads relationships matching `filter`, at most `limit` of them (order unspecified).
    /// A filter with a subject is a reverse lookup and should be served by an index.
    async fn read(
        &self,
        filter: &RelationshipFilter,
        limit: Option<usize>,
    ) -> Result<Vec<Relationship>>;

    /// Whether this exact relationship (caveat ignored) is stored. The default reads with an
    /// exact filter; stores with a cheaper point lookup should override it.
    async fn contains(&self, relationship: &Relationship) -> Result<bool> {
        let filter = RelationshipFilter {
            resource_type: Some(relationship.resource.object_type.clone()),
            resource_id: Some(relationship.resource.object_id.clone()),
            relation: Some(relationship.relation.clone()),
            subject: Some(crate::filter::SubjectFilter::exact(&relationship.subject)),
        };
        Ok(!self.read(&filter, Some(1)).await?.is_empty())
    }

    /// A synchronous interned read index over this store's relationships, if it keeps one
    /// (the memory store does; a cache or snapshot of another store may). The engine then
    /// answers `check`, `check_bulk` and `lookup_resources` (without contextual relationships)
    /// synchronously over it instead of through `read`. A wrapper store should pass on its
    /// inner store's index only if it does not change what `read` returns.
    fn interned_index(&self) -> Option<&dyn InternedIndex> {
        None
    }

    /// A planner that answers whole checks and lookups in the store's own query language (SQL
    /// stores do). The engine asks it once per schema for a [`Plan`] and offers every request
    /// to that plan first (after the interned index, which wins when both are offered).
    fn planner(&self) -> Option<&dyn Planner> {
        None
    }

    /// A bulk import (many relationships in few statements, outside the change log), if the
    /// store offers one; `psm rebac import` uses it instead of `write`.
    fn bulk_import(&self) -> Option<&dyn BulkImport> {
        None
    }

    /// The store's head revision: that of the last write (0 before any).
    async fn revision(&self) -> Result<Revision> {
        Err(unsupported("revision"))
    }

    /// The changes of writes after revision `after`, oldest first (by revision, then in the
    /// order the write applied them): at most `limit` (capped at [`MAX_CHANGES`]), except that
    /// one write is never split. Creates and touches are [`ChangeOp::Touch`]; a delete is
    /// listed only when the relationship was there.
    ///
    /// Errors: [`Error::RevisionNotIssued`](crate::Error::RevisionNotIssued) when `after` is
    /// newer than the head, [`Error::ChangesPruned`](crate::Error::ChangesPruned) when changes
    /// after `after` are no longer all logged (the watcher must resync).
    async fn changes_since(&self, after: Revision, limit: usize) -> Result<Vec<Change>> {
        let _ = (after, limit);
        Err(unsupported("changes_since"))
    }

    /// Waits at most `wait` for changes after `after` and returns them (empty when the wait
    /// ran out). A watch is a loop over this, passing the revision of the last change seen;
    /// [`watch::watch`] wraps it as a `Stream`. The default polls `changes_since` with a
    /// backoff bounded by the wait ([`watch::poll_changes`]); it needs Tokio's time driver.
    async fn watch_next(&self, after: Revision, wait: Duration) -> Result<Vec<Change>> {
        watch::poll_changes(self, after, wait).await
    }

    /// Drops the change-log entries of revisions up to `through` (at most the head); returns
    /// how many went. Watchers behind `through` then get
    /// [`Error::ChangesPruned`](crate::Error::ChangesPruned).
    async fn prune_changes(&self, through: Revision) -> Result<u64> {
        let _ = through;
        Err(unsupported("prune_changes"))
    }
}

fn unsupported(what: &'static str) -> crate::Error {
    crate::Error::Unsupported {
        feature: "change log",
        detail: format!("this tuple store does not implement `{what}`"),
    }
}
