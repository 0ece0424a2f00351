//! The change log: what every write applied, by revision, for watchers (cache invalidation).
//! `changes_since` reads it; `watch_next` polls it until something newer than a revision
//! arrives (or a wait runs out); `prune_changes` trims old entries.

use std::time::Duration;

use psm_core::Result;
use psm_rebac::{Relationship, Revision};

use super::rows::{OptTextColumn, SqlValue, bind_values, relationship};
use super::store::SqlTupleStore;
use super::write::OP_DELETE;
use crate::conn::{dispatch, read_fast};
use crate::rows::TextColumn;

/// What a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChangeOp {
    /// The relationship was created or touched (it exists after the write).
    Touch,
    /// The relationship was deleted.
    Delete,
}

/// One applied update.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Change {
    /// The revision of the write that applied it.
    pub revision: Revision,
    /// Create/touch or delete.
    pub op: ChangeOp,
    /// The relationship (with its caveat and expiration for a touch).
    pub relationship: Relationship,
}

/// Most changes one call returns.
pub const MAX_CHANGES: usize = 10_000;

fn row<R: TextColumn + OptTextColumn + sqlx::Row>(r: &R) -> Result<Change, sqlx::Error>
where
    usize: sqlx::ColumnIndex<R>,
    i64: for<'x> sqlx::Decode<'x, R::Database> + sqlx::Type<R::Database>,
{
    let revision: i64 = r.try_get(9)?;
    let op: i64 = r.try_get(10)?;
    Ok(Change {
        revision: u64::try_from(revision).unwrap_or(0),
        op: if op == OP_DELETE {
            ChangeOp::Delete
        } else {
            ChangeOp::Touch
        },
        relationship: relationship(r)?,
    })
}

impl SqlTupleStore {
    /// The changes of revisions after `after`, oldest first, at most `limit` (capped at
    /// [`MAX_CHANGES`]); a write's changes are never split across calls unless one write
    /// alone exceeds the limit.
    pub async fn changes_since(&self, after: Revision, limit: usize) -> Result<Vec<Change>> {
        let inner = self.live()?;
        let limit = limit.clamp(1, MAX_CHANGES);
        let int = if inner.dialect == crate::dialect::Dialect::MySql {
            "SIGNED"
        } else {
            "BIGINT"
        };
        let sql = inner.dialect.sql(&format!(
            "SELECT resource_type, resource_id, relation, subject_type, subject_id, \
             subject_relation, caveat_name, caveat_context, expiration, CAST(revision AS {int}), \
             CAST(op AS {int}) FROM {} WHERE revision > ? ORDER BY revision, seq LIMIT ?",
            inner.tables.changes
        ));
        let binds = [
            SqlValue::Int(i64::try_from(after).unwrap_or(i64::MAX)),
            SqlValue::Int(i64::try_from(limit).unwrap_or(i64::MAX)),
        ];
        let mut out: Vec<Change> = dispatch!(&inner.conns, h => read_fast!(h, "rebac_changes", conn => {
            match bind_values!(sqlx::query(&sql), binds.iter()).fetch_all(&mut *conn).await {
                Ok(rows) => rows.iter().map(row).collect::<Result<Vec<_>, _>>(),
                Err(e) => Err(e),
            }
        }))?;
        // keep whole writes: drop a trailing partial revision when there is an earlier one
        if out.len() == limit
            && let Some(last) = out.last().map(|c| c.revision)
            && out.first().is_some_and(|c| c.revision != last)
        {
            out.retain(|c| c.revision != last);
        }
        Ok(out)
    }

    /// Waits for changes after `after`, polling every `poll`, for at most `max_wait`; returns
    /// them (empty when the wait ran out). A watch is a loop over this, passing the revision
    /// of the last change seen.
    pub async fn watch_next(
        &self,
        after: Revision,
        poll: Duration,
        max_wait: Duration,
    ) -> Result<Vec<Change>> {
        let deadline = tokio::time::Instant::now() + max_wait;
        let poll = poll.max(Duration::from_millis(1));
        loop {
            let changes = self.changes_since(after, MAX_CHANGES).await?;
            if !changes.is_empty() || tokio::time::Instant::now() >= deadline {
                return Ok(changes);
            }
            tokio::time::sleep_until((tokio::time::Instant::now() + poll).min(deadline)).await;
        }
    }

    /// Deletes the change-log entries of revisions up to `through`; returns how many went.
    pub async fn prune_changes(&self, through: Revision) -> Result<u64> {
        let inner = self.live()?;
        let sql = inner.dialect.sql(&format!(
            "DELETE FROM {} WHERE revision <= ?",
            inner.tables.changes
        ));
        let through = i64::try_from(through).unwrap_or(i64::MAX);
        crate::exec::write(
            &inner.conns,
            "rebac_prune_changes",
            &sql,
            &[crate::exec::Bind::Int(through)],
        )
        .await
    }
}
