//! `SqlAssignments`: the SQL [`AssignmentStore`] — one bound statement per operation.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use psm_catalog::{AssignmentStore, MAX_EFFECTIVE_GRANTS};
use psm_core::{Error, Result, StoreUrl};
use sqlx::Row;

use crate::catalog::schema::{self, CatalogSql};
use crate::conn::{Conns, bounded, dispatch};
use crate::conn_options::ConnOptions;
use crate::dialect::Dialect;
use crate::open::{make_ready, open_options};

/// Default table prefix of the assignment tables (`psm_catalog_user_grants`, ...).
pub const DEFAULT_CATALOG_PREFIX: &str = "psm_catalog_";

/// Runs one statement future within the client-side limit, mapping its error; `?`-returns.
macro_rules! run {
    ($h:expr, $op:expr, $fut:expr) => {
        match bounded($h.ctx.client_limit(), $fut).await {
            None => return Err($h.ctx.statement_timeout($op)),
            Some(done) => done.map_err(|e| $h.ctx.map($op, e))?,
        }
    };
}

/// Grants and memberships of a permission catalog in three SQL tables (see the
/// [module docs](crate::catalog)). Cheap to clone.
#[derive(Clone)]
pub struct SqlAssignments {
    inner: Arc<Inner>,
}

struct Inner {
    conns: Conns,
    dialect: Dialect,
    sql: CatalogSql,
    closed: AtomicBool,
}

impl fmt::Debug for SqlAssignments {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlAssignments")
            .field("backend", &self.inner.dialect.name())
            .field("conns", &self.inner.conns)
            .finish()
    }
}

impl SqlAssignments {
    /// Connects to a URL such as `postgres://host/db?table_prefix=app_catalog_`; options
    /// `table_prefix`, `migrate` and the pool options of [`SqlStore`](crate::SqlStore).
    pub async fn connect(url: &str) -> Result<Self> {
        let conn =
            ConnOptions::from_url(StoreUrl::parse(url)?, DEFAULT_CATALOG_PREFIX, |_| Ok(()))?;
        let opened = open_options(&conn)?;
        let (dialect, prefix) = (opened.dialect, &conn.table_prefix);
        let store = SqlAssignments {
            inner: Arc::new(Inner {
                sql: CatalogSql::new(dialect, prefix),
                conns: opened.conns,
                dialect,
                closed: AtomicBool::new(false),
            }),
        };
        let migrations = conn.migrate.then(|| schema::migrations(dialect, prefix));
        make_ready(&store.inner.conns, dialect, opened.memory, migrations).await?;
        Ok(store)
    }

    /// The database this store talks to.
    pub fn dialect(&self) -> Dialect {
        self.inner.dialect
    }

    /// Closes every connection; later calls fail with `Error::Closed`.
    pub async fn close(&self) {
        self.inner.closed.store(true, Ordering::Release);
        self.inner.conns.close().await;
    }

    fn conns(&self) -> Result<&Conns> {
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        Ok(&self.inner.conns)
    }

    /// Runs a two-bind write; whether it touched a row.
    async fn write(&self, op: &'static str, sql: &str, a: &str, b: &str) -> Result<bool> {
        dispatch!(self.conns()?, h => {
            let q = sqlx::query(sql).bind(a.as_bytes()).bind(b.as_bytes());
            Ok(run!(h, op, q.execute(&h.pool)).rows_affected() > 0)
        })
    }

    /// Runs a list query binding `key` `binds` times; sorted, at most [`MAX_EFFECTIVE_GRANTS`].
    async fn list(
        &self,
        op: &'static str,
        sql: &str,
        key: &str,
        binds: usize,
    ) -> Result<Vec<String>> {
        let rows: Vec<Vec<u8>> = dispatch!(self.conns()?, h => {
            let mut q = sqlx::query(sql);
            for _ in 0..binds {
                q = q.bind(key.as_bytes());
            }
            let rows = run!(h, op, q.fetch_all(&h.pool));
            let mut out = Vec::with_capacity(rows.len());
            for row in &rows {
                out.push(Row::try_get::<Vec<u8>, _>(row, 0).map_err(|e| h.ctx.map(op, e))?);
            }
            out
        });
        if rows.len() > MAX_EFFECTIVE_GRANTS {
            return Err(Error::QuotaExceeded {
                what: "effective grants",
                limit: MAX_EFFECTIVE_GRANTS as u64,
            });
        }
        let mut out = rows
            .into_iter()
            .map(|bytes| {
                String::from_utf8(bytes).map_err(|e| Error::Corrupt {
                    location: format!("catalog assignments ({op})"),
                    reason: format!("value is not UTF-8: {e}"),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }
}

#[async_trait]
impl AssignmentStore for SqlAssignments {
    async fn grant_user(&self, user: &str, permission: &str) -> Result<bool> {
        self.write(
            "catalog_grant_user",
            &self.inner.sql.grant_user,
            user,
            permission,
        )
        .await
    }
    async fn revoke_user(&self, user: &str, permission: &str) -> Result<bool> {
        self.write(
            "catalog_revoke_user",
            &self.inner.sql.revoke_user,
            user,
            permission,
        )
        .await
    }
    async fn grant_group(&self, group: &str, permission: &str) -> Result<bool> {
        self.write(
            "catalog_grant_group",
            &self.inner.sql.grant_group,
            group,
            permission,
        )
        .await
    }
    async fn revoke_group(&self, group: &str, permission: &str) -> Result<bool> {
        self.write(
            "catalog_revoke_group",
            &self.inner.sql.revoke_group,
            group,
            permission,
        )
        .await
    }
    async fn add_member(&self, group: &str, user: &str) -> Result<bool> {
        self.write(
            "catalog_add_member",
            &self.inner.sql.add_member,
            group,
            user,
        )
        .await
    }
    async fn remove_member(&self, group: &str, user: &str) -> Result<bool> {
        self.write(
            "catalog_remove_member",
            &self.inner.sql.remove_member,
            group,
            user,
        )
        .await
    }
    async fn user_grants(&self, user: &str) -> Result<Vec<String>> {
        self.list("catalog_user_grants", &self.inner.sql.user_grants, user, 1)
            .await
    }
    async fn group_grants(&self, group: &str) -> Result<Vec<String>> {
        self.list(
            "catalog_group_grants",
            &self.inner.sql.group_grants,
            group,
            1,
        )
        .await
    }
    async fn groups_of(&self, user: &str) -> Result<Vec<String>> {
        self.list("catalog_groups_of", &self.inner.sql.groups_of, user, 1)
            .await
    }
    async fn effective_grants(&self, user: &str) -> Result<Vec<String>> {
        self.list("catalog_effective", &self.inner.sql.effective, user, 2)
            .await
    }
}
