//! `Consistency`: how fresh the data behind an engine read must be (SpiceDB's levels).

use super::{Revision, TupleStore};
use crate::error::{Error, Result};

/// How fresh the relationships behind a read must be. Set it per request with
/// [`Scope::with_consistency`](crate::Scope::with_consistency) or
/// [`Engine::with_consistency`](crate::Engine::with_consistency).
///
/// The stores of psm read at their head: the [`MemoryStore`](crate::MemoryStore) under its
/// lock, psm-sql's `SqlTupleStore` on the primary database (no replicas), so every level sees
/// every write whose revision was returned, from any handle or process. The levels still
/// differ in what they promise and check:
///
/// - [`MinimizeLatency`](Consistency::MinimizeLatency) (the default) checks nothing; a cache
///   in front of a store may answer it.
/// - [`AtLeastAsFresh(r)`](Consistency::AtLeastAsFresh) asks the store for its head first and
///   fails with [`Error::RevisionNotIssued`] when `r` is newer (a revision this store never
///   issued): never a silently stale answer. A cache must not answer it from data older than `r`.
/// - [`FullyConsistent`](Consistency::FullyConsistent) reads at the head; a cache must be
///   bypassed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Consistency {
    /// Whatever the store answers fastest (the default).
    #[default]
    MinimizeLatency,
    /// At least as fresh as this revision (one a write returned).
    AtLeastAsFresh(Revision),
    /// At the store's head.
    FullyConsistent,
}

impl Consistency {
    /// [`Consistency::AtLeastAsFresh`] of `revision`.
    pub fn at_least_as_fresh(revision: Revision) -> Self {
        Self::AtLeastAsFresh(revision)
    }

    /// [`Consistency::FullyConsistent`].
    pub fn fully_consistent() -> Self {
        Self::FullyConsistent
    }

    /// Whether a cache holding data as of `cached` may answer a read at this level.
    pub fn allows_cached(&self, cached: Revision) -> bool {
        match *self {
            Self::MinimizeLatency => true,
            Self::AtLeastAsFresh(r) => r <= cached,
            Self::FullyConsistent => false,
        }
    }

    /// Checks that `store` can serve a read at this level: for `AtLeastAsFresh(r)`, that `r`
    /// is not newer than the store's head ([`Error::RevisionNotIssued`] otherwise). The other
    /// levels need no round trip on stores that read at their head.
    pub async fn require(&self, store: &dyn TupleStore) -> Result<()> {
        if let Self::AtLeastAsFresh(requested) = *self {
            let head = store.revision().await?;
            if requested > head {
                return Err(Error::RevisionNotIssued { requested, head });
            }
        }
        Ok(())
    }
}
