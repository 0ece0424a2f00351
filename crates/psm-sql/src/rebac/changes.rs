//! The change log: what every write applied, by revision, for watchers (cache invalidation).
//! `changes_since` reads it (the `TupleStore` implementation; `watch_next` polls it with
//! psm-rebac's bounded backoff), `prune_changes` trims old entries.
//!
//! The pruned horizon — the newest revision whose changes may be missing from the log — is a
//! second row (`id = 2`) of the revision table, raised in the same transaction as a prune, an
//! unlogged reset ([`SqlTupleStore::delete_all`]) or a bulk load. `changes_since(after)` reads
//! the log first and the head and horizon after it, so a prune landing in between can only
//! make it report [`Error::ChangesPruned`] too early, never skip changes silently.

use psm_core::Result;
use psm_rebac::{Change, ChangeOp, MAX_CHANGES, Revision};

use super::rows::{OptTextColumn, SqlValue, bind_values, relationship};
use super::store::{SqlTupleStore, store_error};
use super::write::OP_DELETE;
use crate::conn::{dispatch, read_fast};
use crate::dialect::Dialect;
use crate::exec::Bind;
use crate::rows::TextColumn;

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

/// The dialect's name for a signed 64-bit cast.
fn int(dialect: Dialect) -> &'static str {
    if dialect == Dialect::MySql {
        "SIGNED"
    } else {
        "BIGINT"
    }
}

/// i64 as the store's revision (negative values never occur; they read as 0).
fn revision(v: i64) -> Revision {
    u64::try_from(v).unwrap_or(0)
}

impl SqlTupleStore {
    /// Creates the horizon row when missing (statement of a write transaction).
    pub(crate) fn horizon_row_sql(&self) -> Result<String> {
        let inner = self.live()?;
        let rev = &inner.tables.revision;
        Ok(match inner.dialect {
            Dialect::Postgres => format!(
                "INSERT INTO {rev} (id, revision) VALUES (2, 0) ON CONFLICT (id) DO NOTHING"
            ),
            Dialect::Sqlite => format!("INSERT OR IGNORE INTO {rev} (id, revision) VALUES (2, 0)"),
            Dialect::MySql => format!("INSERT IGNORE INTO {rev} (id, revision) VALUES (2, 0)"),
        })
    }

    /// Raises the horizon to the head (statement of a write transaction that bumped the head
    /// without logging its changes): watchers behind it must resync.
    pub(crate) fn horizon_to_head_sql(&self) -> Result<String> {
        let inner = self.live()?;
        let rev = &inner.tables.revision;
        Ok(match inner.dialect {
            Dialect::MySql => format!(
                "UPDATE {rev} AS h JOIN {rev} AS c ON c.id = 1 SET h.revision = c.revision \
                 WHERE h.id = 2"
            ),
            _ => format!(
                "UPDATE {rev} SET revision = (SELECT revision FROM {rev} WHERE id = 1) WHERE id = 2"
            ),
        })
    }

    /// Bumps the revision for a change that is not logged (a bulk load) and raises the
    /// horizon to it, in one transaction; returns the new revision.
    pub(crate) async fn bump_unlogged(&self, op: &'static str) -> Result<Revision> {
        let inner = self.live()?;
        let (row, raise) = (self.horizon_row_sql()?, self.horizon_to_head_sql()?);
        let statements: [(&str, &[Bind<'_>]); 3] =
            [(&inner.sql.bump_revision, &[]), (&row, &[]), (&raise, &[])];
        crate::exec::write_all(&inner.conns, op, &statements).await?;
        self.current_revision().await
    }

    /// The head revision and the pruned horizon, in one statement.
    async fn head_and_horizon(&self) -> Result<(Revision, Revision)> {
        let inner = self.live()?;
        let int = int(inner.dialect);
        let sql = format!(
            "SELECT CAST(COALESCE(MAX(CASE WHEN id = 1 THEN revision END), 0) AS {int}), \
             CAST(COALESCE(MAX(CASE WHEN id = 2 THEN revision END), 0) AS {int}) FROM {}",
            inner.tables.revision
        );
        let (head, horizon): (i64, i64) = dispatch!(&inner.conns, h => read_fast!(h, "rebac_revision", conn => {
            sqlx::query_as::<_, (i64, i64)>(sql.as_str()).fetch_one(&mut *conn).await
        }))?;
        Ok((revision(head), revision(horizon)))
    }

    /// Log rows of revisions after `after` (or exactly `only`), oldest first, at most `limit`.
    async fn change_rows(
        &self,
        after: Revision,
        only: Option<Revision>,
        limit: usize,
    ) -> Result<Vec<Change>> {
        let inner = self.live()?;
        let int = int(inner.dialect);
        let cond = if only.is_some() {
            "revision = ?"
        } else {
            "revision > ?"
        };
        let sql = inner.dialect.sql(&format!(
            "SELECT resource_type, resource_id, relation, subject_type, subject_id, \
             subject_relation, caveat_name, caveat_context, expiration, CAST(revision AS {int}), \
             CAST(op AS {int}) FROM {} WHERE {cond} ORDER BY revision, seq LIMIT ?",
            inner.tables.changes
        ));
        let binds = [
            SqlValue::Int(i64::try_from(only.unwrap_or(after)).unwrap_or(i64::MAX)),
            SqlValue::Int(i64::try_from(limit).unwrap_or(i64::MAX)),
        ];
        dispatch!(&inner.conns, h => read_fast!(h, "rebac_changes", conn => {
            match bind_values!(sqlx::query(&sql), binds.iter()).fetch_all(&mut *conn).await {
                Ok(rows) => rows.iter().map(row).collect::<Result<Vec<_>, _>>(),
                Err(e) => Err(e),
            }
        }))
    }

    /// `TupleStore::changes_since`: the changes after `after`, oldest first, at most `limit`
    /// (capped at [`MAX_CHANGES`]) unless the first write alone has more (a write is never
    /// split); errors when `after` is newer than the head or older than the horizon.
    pub(crate) async fn read_changes(
        &self,
        after: Revision,
        limit: usize,
    ) -> psm_rebac::Result<Vec<Change>> {
        let limit = limit.clamp(1, MAX_CHANGES);
        let mut out = self
            .change_rows(after, None, limit)
            .await
            .map_err(store_error)?;
        if out.len() == limit
            && let (Some(first), Some(last)) = (out.first(), out.last())
        {
            let (first, last) = (first.revision, last.revision);
            if first == last {
                // one write filled the batch: return all of it (never a partial write)
                out = self
                    .change_rows(after, Some(first), usize::MAX >> 1)
                    .await
                    .map_err(store_error)?;
            } else {
                // keep whole writes: drop the trailing one, which may be cut short
                out.retain(|c| c.revision != last);
            }
        }
        // after the log read: a prune in between errs on the safe side
        let (head, horizon) = self.head_and_horizon().await.map_err(store_error)?;
        Change::check_after(after, head, horizon)?;
        Ok(out)
    }

    /// `TupleStore::prune_changes`: deletes the log entries of revisions up to `through`
    /// (clamped to the head) and raises the horizon to it, in one transaction; returns how
    /// many entries went.
    pub(crate) async fn prune_log(&self, through: Revision) -> psm_rebac::Result<u64> {
        let inner = self.live().map_err(store_error)?;
        let (head, _) = self.head_and_horizon().await.map_err(store_error)?;
        let through = i64::try_from(through.min(head)).unwrap_or(i64::MAX);
        let row = self.horizon_row_sql().map_err(store_error)?;
        let delete = inner.dialect.sql(&format!(
            "DELETE FROM {} WHERE revision <= ?",
            inner.tables.changes
        ));
        let raise = inner.dialect.sql(&format!(
            "UPDATE {} SET revision = ? WHERE id = 2 AND revision < ?",
            inner.tables.revision
        ));
        let (through_a, through_b) = (
            [Bind::Int(through)],
            [Bind::Int(through), Bind::Int(through)],
        );
        let statements: [(&str, &[Bind<'_>]); 3] =
            [(&row, &[]), (&delete, &through_a), (&raise, &through_b)];
        let touched = crate::exec::write_all(&inner.conns, "rebac_prune_changes", &statements)
            .await
            .map_err(store_error)?;
        Ok(touched.get(1).copied().unwrap_or(0))
    }
}
