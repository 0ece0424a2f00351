//! `SqlStore`: construction (URL or config), migrations on connect, pool access, close.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use psm_core::{Error, Limits, Result, SharedClock, StoreUrl};

use crate::config::SqlConfig;
use crate::conn::{Conns, dispatch};
use crate::dialect::Dialect;
use crate::migrate;
use crate::open::{make_ready, open_options};
use crate::schema::{self, SessionSql};

/// A `SessionStore` on PostgreSQL, SQLite or MySQL/MariaDB. Cheap to clone (shared state).
///
/// See the [crate docs](crate) for the URL options and the storage layout.
#[derive(Clone)]
pub struct SqlStore {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) conns: Conns,
    pub(crate) dialect: Dialect,
    pub(crate) sql: SessionSql,
    pub(crate) prefix: String,
    pub(crate) default_ttl: Option<Duration>,
    pub(crate) limits: Limits,
    pub(crate) cleanup_batch: u32,
    pub(crate) clock: SharedClock,
    pub(crate) memory: bool,
    pub(crate) closed: AtomicBool,
}

impl fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlStore")
            .field("backend", &self.inner.dialect.name())
            .field("table", &self.inner.sql.table)
            .field("conns", &self.inner.conns)
            .field("closed", &self.inner.closed.load(Ordering::Relaxed))
            .finish()
    }
}

/// The sqlx pool behind a store, for running your own queries next to it.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum SqlPool<'a> {
    /// A PostgreSQL pool.
    #[cfg(feature = "postgres")]
    Postgres(&'a sqlx::PgPool),
    /// A SQLite pool.
    #[cfg(feature = "sqlite")]
    Sqlite(&'a sqlx::SqlitePool),
    /// A MySQL/MariaDB pool.
    #[cfg(feature = "mysql")]
    MySql(&'a sqlx::MySqlPool),
}

impl SqlStore {
    /// Connects to a store URL such as `postgres://user@host/db?table_prefix=app_`,
    /// `sqlite:///var/lib/app/sessions.db`, `sqlite::memory:` or `mysql://root@host/db`.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::from_url(StoreUrl::parse(url)?).await
    }

    /// Connects to a parsed store URL, taking the options of the crate docs (unknown options are
    /// errors).
    pub async fn from_url(url: StoreUrl) -> Result<Self> {
        Self::connect_with(SqlConfig::from_url(url)?).await
    }

    /// Connects with a typed configuration; runs the migrations unless disabled.
    pub async fn connect_with(config: SqlConfig) -> Result<Self> {
        config.validate()?;
        let opened = open_options(&config.conn)?;
        let (dialect, prefix) = (opened.dialect, config.conn.table_prefix);
        let migrations = config
            .conn
            .migrate
            .then(|| schema::migrations(dialect, &prefix));
        let store = SqlStore {
            inner: Arc::new(Inner {
                sql: SessionSql::new(dialect, &prefix, config.cleanup_batch),
                conns: opened.conns,
                dialect,
                prefix,
                default_ttl: config.default_ttl,
                limits: config.limits,
                cleanup_batch: config.cleanup_batch,
                clock: config.clock,
                memory: opened.memory,
                closed: AtomicBool::new(false),
            }),
        };
        make_ready(&store.inner.conns, dialect, opened.memory, migrations).await?;
        Ok(store)
    }

    /// Applies the embedded migrations now (idempotent; what `migrate=true` does on connect).
    pub async fn run_migrations(&self) -> Result<()> {
        self.ensure_open()?;
        let set = schema::migrations(self.inner.dialect, &self.inner.prefix);
        migrate::run(&self.inner.conns, self.inner.dialect, &set).await
    }

    /// The database this store talks to.
    pub fn dialect(&self) -> Dialect {
        self.inner.dialect
    }

    /// Name of the session table (`{prefix}sessions`, unquoted).
    pub fn sessions_table(&self) -> &str {
        &self.inner.sql.table
    }

    /// The table prefix.
    pub fn table_prefix(&self) -> &str {
        &self.inner.prefix
    }

    /// The general sqlx pool (writes, cleanup; the read lanes are separate connections).
    pub fn pool(&self) -> SqlPool<'_> {
        dispatch!(&self.inner.conns, h => h.wrap())
    }

    pub(crate) fn ensure_open(&self) -> Result<()> {
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        Ok(())
    }

    /// One round trip through the pool.
    pub(crate) fn ping(&self) -> crate::exec::BoxFut<'_, ()> {
        Box::pin(async move {
            dispatch!(&self.inner.conns, h => {
                sqlx::query("SELECT 1")
                    .execute(&h.pool)
                    .await
                    .map(|_| ())
                    .map_err(|e| h.ctx.map("ping", e))
            })
        })
    }

    /// Marks the store closed and closes its connections; false if it already was.
    pub(crate) async fn shut(&self) -> bool {
        if self.inner.closed.swap(true, Ordering::AcqRel) {
            return false;
        }
        self.inner.conns.close().await;
        true
    }
}

/// The general pool of `conns` as a [`SqlPool`].
#[cfg_attr(not(feature = "rebac"), allow(dead_code))]
pub(crate) fn pool_of(conns: &Conns) -> SqlPool<'_> {
    dispatch!(conns, h => h.wrap())
}

/// Wraps a handle's pool in [`SqlPool`].
trait PoolOf {
    fn wrap(&self) -> SqlPool<'_>;
}

#[cfg(feature = "postgres")]
impl PoolOf for crate::conn::Handle<sqlx::Postgres> {
    fn wrap(&self) -> SqlPool<'_> {
        SqlPool::Postgres(&self.pool)
    }
}

#[cfg(feature = "sqlite")]
impl PoolOf for crate::conn::Handle<sqlx::Sqlite> {
    fn wrap(&self) -> SqlPool<'_> {
        SqlPool::Sqlite(&self.pool)
    }
}

#[cfg(feature = "mysql")]
impl PoolOf for crate::conn::Handle<sqlx::MySql> {
    fn wrap(&self) -> SqlPool<'_> {
        SqlPool::MySql(&self.pool)
    }
}
