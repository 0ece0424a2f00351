//! Relationship changes for watchers: `Change` / `ChangeOp`, and the bounded change log the
//! memory store keeps (oldest entries pruned past a cap, with the pruned horizon remembered).

use std::collections::VecDeque;

use super::Revision;
use crate::error::{Error, Result};
use crate::relationship::Relationship;

/// Most changes one `changes_since` call returns (a larger `limit` is capped to this).
pub const MAX_CHANGES: usize = 10_000;

/// How many changes a [`MemoryStore`](super::memory::MemoryStore) keeps by default.
pub const DEFAULT_CHANGE_LOG_CAPACITY: usize = 10_000;

/// What a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChangeOp {
    /// The relationship was created or touched (it exists after the write).
    Touch,
    /// The relationship was deleted (it existed before the write).
    Delete,
}

/// One applied update of a write.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Change {
    /// The revision of the write that applied it.
    pub revision: Revision,
    /// Create/touch or delete.
    pub op: ChangeOp,
    /// The relationship: with its caveat and expiration for a touch, the bare key for a delete.
    pub relationship: Relationship,
}

/// Clamps a caller's limit to `1..=MAX_CHANGES`.
pub(crate) fn clamp_limit(limit: usize) -> usize {
    limit.clamp(1, MAX_CHANGES)
}

impl Change {
    /// The errors every store's `changes_since` reports the same way, for implementers of
    /// [`TupleStore`](super::TupleStore): `after` newer than the store's `head` is
    /// [`Error::RevisionNotIssued`]; older than the pruned `horizon` (the oldest revision whose
    /// changes are still kept, minus one) is [`Error::ChangesPruned`] and the watcher must resync.
    ///
    /// ```
    /// use psm_rebac::{Change, Error};
    /// assert!(Change::check_after(5, 9, 2).is_ok());
    /// assert!(matches!(Change::check_after(10, 9, 2), Err(Error::RevisionNotIssued { .. })));
    /// assert!(matches!(Change::check_after(1, 9, 2), Err(Error::ChangesPruned { .. })));
    /// ```
    pub fn check_after(after: Revision, head: Revision, horizon: Revision) -> Result<()> {
        if after > head {
            return Err(Error::RevisionNotIssued {
                requested: after,
                head,
            });
        }
        if after < horizon {
            return Err(Error::ChangesPruned { after, horizon });
        }
        Ok(())
    }
}

/// A bounded, revision-ordered change log.
#[derive(Debug)]
pub(crate) struct ChangeLog {
    entries: VecDeque<Change>,
    capacity: usize,
    /// The newest revision whose changes may be missing (pruned or never logged); 0 = none.
    horizon: Revision,
}

impl Default for ChangeLog {
    fn default() -> Self {
        Self::with_capacity(DEFAULT_CHANGE_LOG_CAPACITY)
    }
}

impl ChangeLog {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self {
            entries: VecDeque::new(),
            capacity,
            horizon: 0,
        }
    }

    /// Appends a change, pruning the oldest entries beyond the capacity.
    pub(crate) fn push(&mut self, change: Change) {
        self.entries.push_back(change);
        while self.entries.len() > self.capacity {
            match self.entries.pop_front() {
                Some(old) => self.horizon = self.horizon.max(old.revision),
                None => break,
            }
        }
        // a capacity of 0 logs nothing: every change is pruned at once
        if self.capacity == 0 {
            self.entries.clear();
        }
    }

    /// Marks revisions up to `through` as not (fully) logged: watchers behind it must resync.
    pub(crate) fn mark_unlogged(&mut self, through: Revision) {
        self.horizon = self.horizon.max(through);
        self.entries.retain(|c| c.revision > through);
    }

    /// Drops the entries of revisions up to `through`; returns how many went.
    pub(crate) fn prune(&mut self, through: Revision) -> u64 {
        let before = self.entries.len();
        self.mark_unlogged(through);
        u64::try_from(before - self.entries.len()).unwrap_or(u64::MAX)
    }

    /// The changes after `after` (checked against `head` and the horizon), oldest first, at
    /// most `limit` unless the first write alone has more (a write is never split).
    pub(crate) fn since(
        &self,
        after: Revision,
        limit: usize,
        head: Revision,
    ) -> Result<Vec<Change>> {
        Change::check_after(after, head, self.horizon)?;
        let limit = clamp_limit(limit);
        let start = self.entries.partition_point(|c| c.revision <= after);
        let mut out: Vec<Change> = Vec::new();
        for c in self.entries.range(start..) {
            let same_write = out.last().is_some_and(|l| l.revision == c.revision);
            if out.len() >= limit && !same_write {
                break;
            }
            out.push(c.clone());
        }
        Ok(whole_writes(out, limit))
    }
}

/// Drops a trailing write cut short by `limit` when an earlier write is in the batch. The
/// memory log never cuts one; SQL batches may, so both share this rule.
pub(crate) fn whole_writes(mut out: Vec<Change>, limit: usize) -> Vec<Change> {
    if out.len() > limit
        && let Some(last) = out.last().map(|c| c.revision)
        && out.first().is_some_and(|c| c.revision != last)
    {
        out.retain(|c| c.revision != last);
    }
    out
}
