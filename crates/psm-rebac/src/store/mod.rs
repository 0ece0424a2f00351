//! The `TupleStore` trait: where relationships live (memory here, SQL in psm-sql).

pub mod memory;

use async_trait::async_trait;

use crate::error::Result;
use crate::filter::{Precondition, RelationshipFilter, RelationshipUpdate};
use crate::relationship::Relationship;

/// A monotonically increasing store version, returned by writes.
pub type Revision = u64;

/// Storage for relationships. Object-safe; the engine only needs these two operations.
///
/// Implementations must apply a write atomically: either every precondition holds and every
/// update is applied, or nothing changes and an error is returned.
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

    /// The in-memory store behind this handle, if it is one. The engine then answers `check`,
    /// `check_bulk` and `lookup_resources` (without contextual relationships) synchronously over
    /// its interned indexes instead of through `read`. Other stores keep the default `None`.
    fn as_memory(&self) -> Option<&memory::MemoryStore> {
        None
    }
}
