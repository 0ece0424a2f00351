//! `SqlAclStore`: an ACL in five SQL tables. `load` reads every table in one read-only
//! transaction; `save` replaces every row in one transaction; the row-level writes used by
//! [`SqlAcl`](crate::acl::SqlAcl) touch only the rows one change needs.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use psm_acl::{Acl, AclData, AclLimits, AclSnapshot};
use psm_core::{Error, Field, Result, Rule, StoreUrl};
use sqlx::Row;

use crate::acl::config::{AclStoreConfig, MAX_ACL_NAME_LEN};
use crate::acl::schema::{self, AclSql, CHUNK};
use crate::conn::{Conns, bounded, dispatch};
use crate::dialect::Dialect;
use crate::exec::BoxFut;
use crate::open::{make_ready, open_options};

/// Runs one statement future within the client-side limit, mapping its error; `?`-returns.
macro_rules! run {
    ($h:expr, $op:expr, $fut:expr) => {
        match bounded($h.ctx.client_limit(), $fut).await {
            None => return Err($h.ctx.statement_timeout($op)),
            Some(done) => done.map_err(|e| $h.ctx.map($op, e))?,
        }
    };
}

/// Inserts `$rows` in chunks of [`CHUNK`] rows, binding each row with `$bind`.
macro_rules! insert_all {
    ($h:expr, $tx:expr, $op:expr, $sql:expr, $table:expr, $cols:expr, $width:expr, $rows:expr,
     |$q:ident, $row:ident| $bind:expr) => {{
        let full = $sql.insert_rows($table, $cols, $width, CHUNK);
        for chunk in $rows.chunks(CHUNK) {
            let tail;
            let (text, persistent) = if chunk.len() == CHUNK {
                (&full, true)
            } else {
                tail = $sql.insert_rows($table, $cols, $width, chunk.len());
                (&tail, false)
            };
            let mut $q = sqlx::query(text.as_str()).persistent(persistent);
            for $row in chunk {
                $q = $bind;
            }
            run!($h, $op, $q.execute(&mut *$tx));
        }
    }};
}

/// Reads every row of a table, at most `$limit` of them (one more is read to detect excess).
macro_rules! select_all {
    ($h:expr, $tx:expr, $op:expr, $sql:expr, $table:expr, $cols:expr, $limit:expr, $what:expr,
     |$row:ident| $decode:expr) => {{
        let text = $sql.select($table, $cols, $limit.saturating_add(1));
        let rows = run!(
            $h,
            $op,
            sqlx::query(&text).persistent(false).fetch_all(&mut *$tx)
        );
        if rows.len() > $limit {
            return Err(Error::QuotaExceeded {
                what: $what,
                limit: u64::try_from($limit).unwrap_or(u64::MAX),
            });
        }
        let mut out = Vec::with_capacity(rows.len());
        for $row in &rows {
            out.push($decode);
        }
        out
    }};
}

/// An ACL (roles, resources, permissions, grants, role parents) in SQL tables.
///
/// * `{prefix}roles (name)`, `{prefix}resources (name)`,
///   `{prefix}permissions (resource, permission)`, `{prefix}grants (role, resource, permission)`,
///   `{prefix}parents (role, parent)`: the five lists of [`AclData`], with primary keys and
///   cascading foreign keys; names are bytes, so every string round-trips exactly.
/// * `{prefix}meta`: one row whose version every write increments; its row lock serialises
///   writers, so two saves never interleave.
///
/// [`load`](Self::load) validates what it reads exactly like a JSON import (grammar, cycles,
/// limits): rows another tool wrote that break the rules fail the load with
/// `Error::Corrupt`, never half-load.
#[derive(Clone)]
pub struct SqlAclStore {
    inner: Arc<Inner>,
}

struct Inner {
    conns: Conns,
    dialect: Dialect,
    sql: AclSql,
    limits: AclLimits,
    closed: AtomicBool,
}

impl fmt::Debug for SqlAclStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlAclStore")
            .field("backend", &self.inner.dialect.name())
            .field("conns", &self.inner.conns)
            .finish()
    }
}

/// Rejects a role or resource name the tables cannot hold.
pub(crate) fn check_name(field: &'static str, name: &str) -> Result<()> {
    if name.len() > MAX_ACL_NAME_LEN {
        return Err(Error::invalid(
            Field::Option(field),
            Rule::TooLong {
                max: MAX_ACL_NAME_LEN,
            },
        ));
    }
    Ok(())
}

/// Decodes a stored name; bytes that are not UTF-8 mean the row is corrupt.
fn text(bytes: Vec<u8>, table: &str) -> Result<String> {
    String::from_utf8(bytes).map_err(|e| Error::Corrupt {
        location: format!("acl table {table}"),
        reason: format!("name is not UTF-8: {e}"),
    })
}

/// Turns an ACL error about stored rows into `Corrupt` (quotas stay quotas).
fn stored(e: psm_acl::Error) -> Error {
    match e {
        psm_acl::Error::QuotaExceeded { .. } => e.into(),
        other => Error::Corrupt {
            location: "acl tables".to_owned(),
            reason: other.to_string(),
        },
    }
}

impl SqlAclStore {
    /// Connects to a URL such as `postgres://host/db?table_prefix=psm_acl_`.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(AclStoreConfig::from_url(StoreUrl::parse(url)?)?).await
    }

    /// Connects with a typed configuration; runs the migrations unless disabled.
    pub async fn connect_with(config: AclStoreConfig) -> Result<Self> {
        let opened = open_options(&config.conn)?;
        let (dialect, prefix) = (opened.dialect, &config.conn.table_prefix);
        let store = SqlAclStore {
            inner: Arc::new(Inner {
                sql: AclSql::new(dialect, prefix),
                conns: opened.conns,
                dialect,
                limits: config.limits,
                closed: AtomicBool::new(false),
            }),
        };
        let migrations = config
            .conn
            .migrate
            .then(|| schema::migrations(dialect, prefix));
        make_ready(&store.inner.conns, dialect, opened.memory, migrations).await?;
        Ok(store)
    }

    /// The database this store talks to.
    pub fn dialect(&self) -> Dialect {
        self.inner.dialect
    }

    /// The limits every loaded ACL gets.
    pub fn limits(&self) -> AclLimits {
        self.inner.limits
    }

    fn conns(&self) -> Result<&Conns> {
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        Ok(&self.inner.conns)
    }

    /// Closes every connection; later calls fail with `Error::Closed`.
    pub async fn close(&self) {
        self.inner.closed.store(true, Ordering::Release);
        self.inner.conns.close().await;
    }

    /// Reads the tables into an ACL (validated like any import; see the type's docs).
    #[tracing::instrument(level = "debug", skip_all, fields(backend = self.inner.dialect.name()))]
    pub async fn load(&self) -> Result<Acl> {
        let data = self.load_data().await?;
        Acl::from_data(data, self.inner.limits).map_err(stored)
    }

    /// Reads the tables as rows, in one read-only transaction (one consistent snapshot:
    /// `REPEATABLE READ` on PostgreSQL, a consistent snapshot on InnoDB, a read transaction on
    /// SQLite). No table is read past the store's limits.
    pub fn load_data(&self) -> BoxFut<'_, AclData> {
        Box::pin(async move {
            const OP: &str = "acl_load";
            let (sql, limits, dialect) = (&self.inner.sql, self.inner.limits, self.inner.dialect);
            let t = &sql.tables;
            let begin = match dialect {
                Dialect::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                Dialect::MySql => "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY",
                Dialect::Sqlite => "BEGIN",
            };
            dispatch!(self.conns()?, h => {
                let mut tx = run!(h, OP, h.pool.begin_with(begin));
                let bytes = |row: &_, i: usize| -> Result<Vec<u8>> {
                    Row::try_get::<Vec<u8>, _>(row, i).map_err(|e| h.ctx.map(OP, e))
                };
                let roles = select_all!(h, tx, OP, sql, &t.roles, "name", limits.max_roles, "roles",
                    |row| text(bytes(row, 0)?, &t.roles)?);
                let resources = select_all!(h, tx, OP, sql, &t.resources, "name",
                    limits.max_resources, "resources", |row| text(bytes(row, 0)?, &t.resources)?);
                let permissions = select_all!(h, tx, OP, sql, &t.permissions,
                    "resource, permission", limits.max_permissions, "permissions",
                    |row| (text(bytes(row, 0)?, &t.permissions)?, text(bytes(row, 1)?, &t.permissions)?));
                let grants = select_all!(h, tx, OP, sql, &t.grants, "role, resource, permission",
                    limits.max_grants, "grants",
                    |row| (text(bytes(row, 0)?, &t.grants)?, text(bytes(row, 1)?, &t.grants)?,
                           text(bytes(row, 2)?, &t.grants)?));
                let parents = select_all!(h, tx, OP, sql, &t.parents, "role, parent",
                    limits.max_parents, "parents",
                    |row| (text(bytes(row, 0)?, &t.parents)?, text(bytes(row, 1)?, &t.parents)?));
                run!(h, OP, tx.commit());
                Ok(AclData {
                    roles,
                    resources,
                    permissions,
                    grants,
                    parents,
                })
            })
        })
    }

    /// Replaces every row with the state of `acl`, in one transaction: the tables then hold
    /// exactly `acl` (never a merge), or, on any error, exactly what they held before.
    #[tracing::instrument(level = "debug", skip_all, fields(backend = self.inner.dialect.name()))]
    pub async fn save(&self, acl: &AclSnapshot) -> Result<()> {
        let data = acl.export();
        for role in &data.roles {
            check_name("role", role)?;
        }
        for resource in &data.resources {
            check_name("resource", resource)?;
        }
        self.save_rows(data).await?;
        metrics::counter!("psm_sql_acl_saves_total").increment(1);
        Ok(())
    }

    fn save_rows(&self, data: AclData) -> BoxFut<'_, ()> {
        Box::pin(async move {
            const OP: &str = "acl_save";
            let sql = &self.inner.sql;
            let t = &sql.tables;
            dispatch!(self.conns()?, h => {
                let mut tx = run!(h, OP, h.pool.begin());
                let bumped = run!(h, OP, sqlx::query(&sql.bump).execute(&mut *tx));
                if bumped.rows_affected() == 0 {
                    run!(h, OP, sqlx::query(&sql.insert_meta).execute(&mut *tx));
                }
                for delete in &sql.clear {
                    run!(h, OP, sqlx::query(delete).execute(&mut *tx));
                }
                insert_all!(h, tx, OP, sql, &t.roles, "name", 1, data.roles,
                    |q, r| q.bind(r.as_bytes()));
                insert_all!(h, tx, OP, sql, &t.resources, "name", 1, data.resources,
                    |q, r| q.bind(r.as_bytes()));
                insert_all!(h, tx, OP, sql, &t.permissions, "resource, permission", 2,
                    data.permissions, |q, r| q.bind(r.0.as_bytes()).bind(r.1.as_bytes()));
                insert_all!(h, tx, OP, sql, &t.parents, "role, parent", 2, data.parents,
                    |q, r| q.bind(r.0.as_bytes()).bind(r.1.as_bytes()));
                insert_all!(h, tx, OP, sql, &t.grants, "role, resource, permission", 3,
                    data.grants,
                    |q, r| q.bind(r.0.as_bytes()).bind(r.1.as_bytes()).bind(r.2.as_bytes()));
                run!(h, OP, tx.commit());
                Ok(())
            })
        })
    }

    /// The version counter: incremented by every write through this crate, so a reader can tell
    /// whether its loaded copy is stale.
    pub fn version(&self) -> BoxFut<'_, i64> {
        Box::pin(async move {
            const OP: &str = "acl_version";
            let sql = &self.inner.sql.version;
            dispatch!(self.conns()?, h => {
                let v: Option<i64> = run!(h, OP, sqlx::query_scalar(sql).fetch_optional(&h.pool));
                Ok(v.unwrap_or(0))
            })
        })
    }

    /// Runs `statements` after a version bump, in one transaction; the rows each touched.
    pub(crate) fn write(
        &self,
        op: &'static str,
        statements: Vec<Statement>,
    ) -> BoxFut<'_, Vec<u64>> {
        Box::pin(async move {
            let sql = &self.inner.sql;
            dispatch!(self.conns()?, h => {
                let mut tx = run!(h, op, h.pool.begin());
                let bumped = run!(h, op, sqlx::query(&sql.bump).execute(&mut *tx));
                if bumped.rows_affected() == 0 {
                    run!(h, op, sqlx::query(&sql.insert_meta).execute(&mut *tx));
                }
                let mut touched = Vec::with_capacity(statements.len());
                for (text, binds) in &statements {
                    let mut q = sqlx::query(text.as_str());
                    for b in binds {
                        q = q.bind(b.as_bytes());
                    }
                    touched.push(run!(h, op, q.execute(&mut *tx)).rows_affected());
                }
                run!(h, op, tx.commit());
                Ok(touched)
            })
        })
    }

    pub(crate) fn sql(&self) -> &AclSql {
        &self.inner.sql
    }
}

/// One statement of a row-level write: SQL text and its (byte) binds.
pub(crate) type Statement = (String, Vec<String>);
