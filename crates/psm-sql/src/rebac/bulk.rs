//! Bulk loading: relationships inserted with multi-row `INSERT`s in one transaction per batch,
//! for imports and benchmark data (not logged for watchers; every batch's transaction bumps
//! the revision, and the pruned horizon moves to the last one).
//! `bulk_load` keeps relationships already stored; the [`BulkImport`] capability (what
//! `psm rebac import` uses) touches them, as a write would.

use std::collections::HashSet;
use std::sync::Arc;

use psm_core::Result;
use psm_rebac::store::BulkImport;
use psm_rebac::{Relationship, Revision};

use super::rows::{SqlValue, bind_values};
use super::store::{SqlTupleStore, store_error};
use super::tables::KEY_COLUMNS;
use super::write::check_storable;
use crate::conn::dispatch;
use crate::dialect::Dialect;

/// Rows per multi-row `INSERT` (ten binds each, inside every database's bind limit).
const ROWS_PER_STATEMENT: usize = 500;
/// Rows per PostgreSQL `INSERT ... SELECT FROM UNNEST` (ten array binds whatever the count).
#[cfg(feature = "postgres")]
const ROWS_PER_ARRAY: usize = 10_000;

impl SqlTupleStore {
    /// Inserts relationships that are not yet stored (existing ones are kept unchanged), in
    /// multi-row statements; every `batch` rows are committed together, each batch with a bump
    /// of the revision. Returns the last revision. Changes made this way are not in the change log (an import, not a write):
    /// the pruned horizon moves to the returned revision, so watchers behind it must resync.
    pub async fn bulk_load<I>(&self, relationships: I, batch: usize) -> Result<Revision>
    where
        I: IntoIterator<Item = Relationship>,
    {
        self.load(relationships, batch, OnConflict::Keep).await?;
        let revision = self.bump_unlogged("rebac_bulk_load").await?;
        self.analyze().await?;
        Ok(revision)
    }

    /// Inserts `relationships`, `batch` rows a transaction; existing ones are kept or replaced.
    async fn load<I>(&self, relationships: I, batch: usize, conflict: OnConflict) -> Result<()>
    where
        I: IntoIterator<Item = Relationship>,
    {
        let inner = self.live()?;
        let batch = batch.max(ROWS_PER_STATEMENT);
        let mut iter = relationships.into_iter().peekable();
        while iter.peek().is_some() {
            let mut rows = Columns::with_capacity(batch);
            for r in iter.by_ref().take(batch) {
                let expires_at = check_storable(&r).map_err(|e| psm_core::Error::Backend {
                    backend: inner.dialect.name(),
                    message: format!("bulk_load: {e}"),
                    source: None,
                })?;
                rows.push(&r, expires_at);
            }
            self.insert_rows(&rows, conflict).await?;
        }
        Ok(())
    }

    /// Refreshes the planner statistics of the relationship table (`ANALYZE`; `bulk_load` does
    /// it at the end). Lookups and checks do not need exact statistics, but plans over tables
    /// whose statistics predate a large load (or have none) can pick full scans.
    ///
    /// On SQLite the samples `ANALYZE` keeps of the table's keys (`sqlite_stat4`, in the same
    /// transaction) are deleted and the per-index averages (`sqlite_stat1`) kept: with samples,
    /// SQLite plans a prepared statement again whenever a bound value changes, and a plan's
    /// statement is large (at 88k relationships, about 4 ms of planning on every check).
    pub async fn analyze(&self) -> Result<()> {
        let inner = self.live()?;
        let t = &inner.tables.tuples;
        let analyze = match inner.dialect {
            Dialect::MySql => format!("ANALYZE TABLE {t}"),
            _ => format!("ANALYZE {t}"),
        };
        // the prefix is `[A-Za-z_][A-Za-z0-9_]*` (validated)
        let samples = format!(
            "DELETE FROM sqlite_stat4 WHERE tbl = '{}'",
            inner.tables.tuples_plain
        );
        let sqlite = inner.dialect == Dialect::Sqlite;
        let op = "rebac_analyze";
        dispatch!(&inner.conns, h => {
            let mut tx = h.pool.begin().await.map_err(|e| h.ctx.map(op, e))?;
            sqlx::query(&analyze)
                .persistent(false)
                .execute(&mut *tx)
                .await
                .map_err(|e| h.ctx.map(op, e))?;
            if sqlite {
                // a SQLite built without samples has no such table: nothing to delete
                let _ = sqlx::query(&samples).persistent(false).execute(&mut *tx).await;
            }
            tx.commit().await.map_err(|e| h.ctx.map(op, e))
        })
    }

    /// Inserts `rows` in one transaction that bumps the revision: on PostgreSQL one
    /// `INSERT ... SELECT FROM UNNEST` of ten array binds per `ROWS_PER_ARRAY` rows, elsewhere
    /// multi-row `VALUES`, `ROWS_PER_STATEMENT` a statement. With [`OnConflict::Replace`] no
    /// key may appear twice in `rows`.
    async fn insert_rows(&self, rows: &Columns, conflict: OnConflict) -> Result<()> {
        let inner = self.live()?;
        let t = &inner.tables.tuples;
        let cols = format!("{}, expires_at", super::tables::TUPLE_COLUMNS);
        let tail = match (inner.dialect, conflict) {
            (Dialect::MySql, OnConflict::Keep) => {
                "ON DUPLICATE KEY UPDATE resource_type = resource_type".to_owned()
            }
            (Dialect::MySql, OnConflict::Replace) => "ON DUPLICATE KEY UPDATE \
                 caveat_name = VALUES(caveat_name), caveat_context = VALUES(caveat_context), \
                 expiration = VALUES(expiration), expires_at = VALUES(expires_at)"
                .to_owned(),
            (_, OnConflict::Keep) => format!("ON CONFLICT ({KEY_COLUMNS}) DO NOTHING"),
            (_, OnConflict::Replace) => format!(
                "ON CONFLICT ({KEY_COLUMNS}) DO UPDATE SET caveat_name = excluded.caveat_name, \
                 caveat_context = excluded.caveat_context, expiration = excluded.expiration, \
                 expires_at = excluded.expires_at"
            ),
        };
        let op = "rebac_bulk_load";
        #[cfg(feature = "postgres")]
        #[allow(irrefutable_let_patterns)]
        if let crate::conn::Conns::Postgres(h) = &inner.conns {
            // the values travel as ten arrays: one statement text, no bind limit, no parsing
            // of thousands of placeholders
            let sql = format!(
                "INSERT INTO {t} ({cols}) SELECT * FROM UNNEST($1::text[], $2::text[], \
                 $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], \
                 $9::text[], $10::int8[]) {tail}"
            );
            let mut tx = h.pool.begin().await.map_err(|e| h.ctx.map(op, e))?;
            // every committed change bumps the revision (the plans' depth proof relies on it)
            sqlx::query(&inner.sql.bump_revision)
                .execute(&mut *tx)
                .await
                .map_err(|e| h.ctx.map(op, e))?;
            let mut from = 0;
            while from < rows.len() {
                let to = (from + ROWS_PER_ARRAY).min(rows.len());
                let text = |c: usize| -> Vec<&str> {
                    rows.text[c][from..to].iter().map(|s| &**s).collect()
                };
                let opt = |c: usize| -> Vec<Option<&str>> {
                    rows.opt[c][from..to].iter().map(|s| s.as_deref()).collect()
                };
                sqlx::query(&sql)
                    .bind(text(0))
                    .bind(text(1))
                    .bind(text(2))
                    .bind(text(3))
                    .bind(text(4))
                    .bind(text(5))
                    .bind(opt(0))
                    .bind(opt(1))
                    .bind(opt(2))
                    .bind(&rows.expires_at[from..to])
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| h.ctx.map(op, e))?;
                from = to;
            }
            return tx.commit().await.map_err(|e| h.ctx.map(op, e));
        }
        let statement = |n: usize| {
            let row = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
            let list = vec![row; n].join(", ");
            inner
                .dialect
                .sql(&format!("INSERT INTO {t} ({cols}) VALUES {list} {tail}"))
        };
        let full = statement(ROWS_PER_STATEMENT);
        let mut chunks: Vec<(String, Vec<SqlValue>)> = Vec::new();
        let mut from = 0;
        while from < rows.len() {
            let to = (from + ROWS_PER_STATEMENT).min(rows.len());
            let n = to - from;
            let sql = if n == ROWS_PER_STATEMENT {
                full.clone()
            } else {
                statement(n)
            };
            chunks.push((sql, (from..to).flat_map(|i| rows.values(i)).collect()));
            from = to;
        }
        dispatch!(&inner.conns, h => {
            let mut tx = h.pool.begin().await.map_err(|e| h.ctx.map(op, e))?;
            // every committed change bumps the revision (the plans' depth proof relies on it)
            sqlx::query(&inner.sql.bump_revision)
                .execute(&mut *tx)
                .await
                .map_err(|e| h.ctx.map(op, e))?;
            for (sql, binds) in &chunks {
                bind_values!(sqlx::query(sql), binds.iter())
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| h.ctx.map(op, e))?;
            }
            tx.commit().await.map_err(|e| h.ctx.map(op, e))
        })
    }
}

/// Rows to insert, column by column (the key's six texts, caveat name and context,
/// expiration as written, and `expires_at`).
#[derive(Debug, Default)]
struct Columns {
    text: [Vec<Arc<str>>; 6],
    opt: [Vec<Option<Arc<str>>>; 3],
    expires_at: Vec<Option<i64>>,
}

impl Columns {
    fn with_capacity(n: usize) -> Self {
        Columns {
            text: std::array::from_fn(|_| Vec::with_capacity(n)),
            opt: std::array::from_fn(|_| Vec::with_capacity(n)),
            expires_at: Vec::with_capacity(n),
        }
    }

    fn len(&self) -> usize {
        self.expires_at.len()
    }

    fn push(&mut self, r: &Relationship, expires_at: Option<i64>) {
        let key = [
            &r.resource.object_type,
            &r.resource.object_id,
            &r.relation,
            &r.subject.object.object_type,
            &r.subject.object.object_id,
        ];
        for (col, value) in self.text.iter_mut().zip(key) {
            col.push(value.clone());
        }
        self.text[5].push(r.subject.relation.clone().unwrap_or_else(|| Arc::from("")));
        let caveat = r.caveat.as_ref();
        self.opt[0].push(caveat.map(|c| c.name.as_str().into()));
        self.opt[1].push(caveat.and_then(|c| c.context.as_ref().map(|x| x.as_str().into())));
        self.opt[2].push(r.expiration.as_ref().map(|e| e.as_str().into()));
        self.expires_at.push(expires_at);
    }

    /// Row `i`'s ten values, in column order.
    fn values(&self, i: usize) -> [SqlValue; 10] {
        let t = |c: usize| SqlValue::Text(self.text[c][i].clone());
        let o = |c: usize| SqlValue::OptText(self.opt[c][i].clone());
        [
            t(0),
            t(1),
            t(2),
            t(3),
            t(4),
            t(5),
            o(0),
            o(1),
            o(2),
            SqlValue::OptInt(self.expires_at[i]),
        ]
    }
}

/// What a bulk insert does with a relationship already stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OnConflict {
    /// Keep the stored one (`bulk_load`).
    Keep,
    /// Replace its caveat and expiration (a touch: the import capability).
    Replace,
}

#[async_trait::async_trait]
impl BulkImport for SqlTupleStore {
    /// Multi-row upserts in one transaction that bumps the revision; then the horizon moves to
    /// it (three statements).
    async fn import(&self, relationships: &[Relationship]) -> psm_rebac::Result<Revision> {
        // The last occurrence of a relationship wins; PostgreSQL refuses to update one row
        // twice in a statement, so earlier ones are dropped here.
        let mut seen = HashSet::with_capacity(relationships.len());
        let mut rows: Vec<Relationship> = relationships
            .iter()
            .rev()
            .filter(|r| seen.insert((&r.resource, &r.relation, &r.subject)))
            .cloned()
            .collect();
        rows.reverse();
        let n = rows.len();
        self.load(rows, n, OnConflict::Replace)
            .await
            .map_err(store_error)?;
        self.bump_unlogged("rebac_import")
            .await
            .map_err(store_error)
    }

    /// Refreshes the planner statistics (`ANALYZE`) once the import is over.
    async fn finish(&self) -> psm_rebac::Result<()> {
        self.analyze().await.map_err(store_error)
    }
}
