//! Embedded, versioned migrations: applied in order on a dedicated connection, recorded in a
//! `{prefix}migrations` table, and serialised between processes (PostgreSQL advisory lock,
//! MySQL `GET_LOCK`, SQLite `BEGIN IMMEDIATE`), so concurrent starts and re-runs are safe.

use std::time::Duration;

use psm_core::{Error, Result};

use crate::conn::{Conns, close_quietly, dispatch};
use crate::dialect::Dialect;

/// One schema version: DDL statements applied together.
#[derive(Debug, Clone)]
pub(crate) struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub statements: Vec<String>,
}

/// The migrations of one component (sessions, provider) under one table prefix.
#[derive(Debug, Clone)]
pub(crate) struct MigrationSet {
    /// Unquoted name of the version table (`{prefix}migrations`); also names the lock.
    pub table: String,
    pub migrations: Vec<Migration>,
}

impl MigrationSet {
    /// The newest version this build knows.
    pub(crate) fn latest(&self) -> i64 {
        self.migrations.iter().map(|m| m.version).max().unwrap_or(0)
    }

    /// Advisory lock key for PostgreSQL: FNV-1a of the version table name.
    fn lock_key(&self) -> i64 {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for b in "psm-sql migrations ".bytes().chain(self.table.bytes()) {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        i64::from_ne_bytes(hash.to_ne_bytes())
    }

    fn create_table_sql(&self, dialect: Dialect) -> String {
        let t = dialect.quote(&self.table);
        match dialect {
            Dialect::MySql => format!(
                "CREATE TABLE IF NOT EXISTS {t} (version BIGINT NOT NULL PRIMARY KEY, \
                 name VARCHAR(255) NOT NULL, applied_at BIGINT NOT NULL) ENGINE=InnoDB"
            ),
            _ => format!(
                "CREATE TABLE IF NOT EXISTS {t} (version BIGINT NOT NULL PRIMARY KEY, \
                 name TEXT NOT NULL, applied_at BIGINT NOT NULL)"
            ),
        }
    }
}

/// Applies every migration of `set` not yet recorded, under the dialect's cross-process lock.
pub(crate) fn run<'a>(
    conns: &'a Conns,
    dialect: Dialect,
    set: &'a MigrationSet,
) -> crate::exec::BoxFut<'a, ()> {
    let span = tracing::debug_span!("migrate", table = %set.table);
    Box::pin(tracing::Instrument::instrument(
        run_inner(conns, dialect, set),
        span,
    ))
}

async fn run_inner(conns: &Conns, dialect: Dialect, set: &MigrationSet) -> Result<()> {
    // SQLite can answer SQLITE_BUSY at once instead of waiting out its busy timeout (seen when
    // several processes or pools open one new file together and race to switch it to WAL). A
    // failed attempt has dropped its connection, so nothing is held: try again, bounded by the
    // same wait the other dialects' locks get.
    let lock_wait = conns.ctx().acquire_timeout.max(Duration::from_secs(30));
    let started = std::time::Instant::now();
    loop {
        match run_attempt(conns, dialect, set).await {
            Err(Error::Timeout { .. })
                if dialect == Dialect::Sqlite && started.elapsed() < lock_wait =>
            {
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            other => return other,
        }
    }
}

async fn run_attempt(conns: &Conns, dialect: Dialect, set: &MigrationSet) -> Result<()> {
    const OP: &str = "migrate";
    let lock_wait = conns.ctx().acquire_timeout.max(Duration::from_secs(30));
    let key = set.lock_key();
    let table = set.table.clone();
    let create = set.create_table_sql(dialect);
    let select = format!("SELECT version FROM {}", dialect.quote(&set.table));
    let insert = dialect.sql(&format!(
        "INSERT INTO {} (version, name, applied_at) VALUES (?, ?, ?)",
        dialect.quote(&set.table)
    ));
    let latest = set.latest();
    // Owned copies: nothing borrowed from `set` is held across an await.
    let migrations: Vec<(i64, &'static str, Vec<String>)> = set
        .migrations
        .iter()
        .map(|m| (m.version, m.name, m.statements.clone()))
        .collect();
    dispatch!(conns, h => {
        let ctx = h.ctx;
        // a failed run drops the connection: the server rolls back and releases the lock
        let mut owned = h.dedicated(OP).await?;
        let conn = &mut owned;
        match dialect {
            Dialect::Postgres => {
                sqlx::query("SELECT pg_advisory_lock($1)").bind(key).execute(&mut *conn).await
                    .map_err(|e| ctx.map(OP, e))?;
            }
            Dialect::MySql => {
                let got: Option<i64> = sqlx::query_scalar("SELECT CAST(GET_LOCK(?, ?) AS SIGNED)")
                    .bind(table.clone())
                    .bind(i64::try_from(lock_wait.as_secs()).unwrap_or(30))
                    .fetch_one(&mut *conn).await
                    .map_err(|e| ctx.map(OP, e))?;
                if got != Some(1) {
                    return Err(Error::Timeout { backend: ctx.backend, operation: "migration lock", after: lock_wait });
                }
            }
            Dialect::Sqlite => {
                sqlx::query("BEGIN IMMEDIATE").persistent(false).execute(&mut *conn).await.map_err(|e| ctx.map(OP, e))?;
            }
        }
        sqlx::query(&create).persistent(false).execute(&mut *conn).await.map_err(|e| ctx.map(OP, e))?;
        let applied: Vec<i64> = sqlx::query_scalar(&select)
            .fetch_all(&mut *conn).await.map_err(|e| ctx.map(OP, e))?;
        if let Some(newest) = applied.iter().copied().max().filter(|&v| v > latest) {
            tracing::warn!(table = %table, newest, known = latest, "the schema is newer than this build");
        }
        for (version, name, statements) in migrations {
            if applied.contains(&version) {
                continue;
            }
            tracing::info!(table = %table, version, name, "applying migration");
            if dialect == Dialect::Postgres {
                sqlx::query("BEGIN").persistent(false).execute(&mut *conn).await.map_err(|e| ctx.map(OP, e))?;
            }
            for statement in statements {
                sqlx::query(&statement).persistent(false).execute(&mut *conn).await.map_err(|e| ctx.map(OP, e))?;
            }
            let now = i64::try_from(psm_core::Timestamp::now().as_millis()).unwrap_or(i64::MAX);
            sqlx::query(&insert)
                .bind(version)
                .bind(name)
                .bind(now)
                .execute(&mut *conn).await.map_err(|e| ctx.map(OP, e))?;
            if dialect == Dialect::Postgres {
                sqlx::query("COMMIT").persistent(false).execute(&mut *conn).await.map_err(|e| ctx.map(OP, e))?;
            }
        }
        match dialect {
            Dialect::Postgres => {
                sqlx::query("SELECT pg_advisory_unlock($1)").bind(key).execute(&mut *conn).await
                    .map_err(|e| ctx.map(OP, e))?;
            }
            Dialect::MySql => {
                sqlx::query("SELECT RELEASE_LOCK(?)").bind(table.clone()).execute(&mut *conn).await
                    .map_err(|e| ctx.map(OP, e))?;
            }
            Dialect::Sqlite => {
                sqlx::query("COMMIT").persistent(false).execute(&mut *conn).await.map_err(|e| ctx.map(OP, e))?;
            }
        }
        close_quietly(owned).await;
        Ok(())
    })
}
