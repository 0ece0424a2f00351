//! `SqlTupleStore`: construction from a URL or config, migrations, the schema text, bulk
//! loading, and the `TupleStore` implementation psm-rebac's engine runs on.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use psm_core::{Error, Result, StoreUrl};
use psm_rebac::{
    Change, Precondition, Relationship, RelationshipFilter, RelationshipUpdate, Revision,
    TupleStore,
};

use super::config::TupleStoreConfig;
use super::tables::{self, StoreSql, Tables};
use crate::conn::{Conns, dispatch, read_fast};
use crate::conn_options::ConnOptions;
use crate::dialect::Dialect;
use crate::exec::BoxFut;
use crate::open::{make_ready, open_options};
use crate::store::SqlPool;

/// A psm-rebac [`TupleStore`] in PostgreSQL, SQLite or MySQL/MariaDB. Cheap to clone.
///
/// See the [module docs](super) for the tables and the URL options.
#[derive(Clone)]
pub struct SqlTupleStore {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) conns: Conns,
    pub(crate) dialect: Dialect,
    pub(crate) prefix: String,
    pub(crate) tables: Tables,
    pub(crate) sql: StoreSql,
    /// The compiled statements of the last few schemas (`lookup/template.rs`).
    pub(crate) schemas: super::lookup::SchemaCache,
    /// The engines of the last few schemas (`engines.rs`).
    pub(crate) engines: super::engines::EngineCache,
    closed: AtomicBool,
}

impl fmt::Debug for SqlTupleStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlTupleStore")
            .field("backend", &self.inner.dialect.name())
            .field("table", &self.inner.tables.tuples_plain)
            .field("conns", &self.inner.conns)
            .finish()
    }
}

/// Now, in milliseconds since the epoch, as SQL binds it.
pub(crate) fn now_millis() -> i64 {
    i64::try_from(psm_core::Timestamp::now().as_millis()).unwrap_or(i64::MAX)
}

pub(crate) use super::store_error::store_error;

impl SqlTupleStore {
    /// Connects to `postgres://...`, `sqlite://file.db`, `sqlite::memory:` or `mysql://...`
    /// (options: `table_prefix`, `migrate` and the pool options of the crate docs).
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(TupleStoreConfig::from_url(StoreUrl::parse(url)?)?).await
    }

    /// Connects with a typed configuration; runs the migrations unless disabled.
    pub async fn connect_with(config: TupleStoreConfig) -> Result<Self> {
        // the plans' statements are large and bind only ids: planned once per connection
        let conn = ConnOptions {
            generic_plans: true,
            ..config.conn
        };
        let opened = open_options(&conn)?;
        let (dialect, prefix) = (opened.dialect, conn.table_prefix);
        let tables = Tables::new(dialect, &prefix);
        let migrations = conn.migrate.then(|| tables::migrations(dialect, &prefix));
        let store = SqlTupleStore {
            inner: Arc::new(Inner {
                sql: StoreSql::new(dialect, &tables),
                tables,
                conns: opened.conns,
                dialect,
                prefix,
                schemas: super::lookup::SchemaCache::default(),
                engines: super::engines::EngineCache::default(),
                closed: AtomicBool::new(false),
            }),
        };
        make_ready(&store.inner.conns, dialect, opened.memory, migrations).await?;
        Ok(store)
    }

    /// Applies the embedded migrations now (idempotent).
    pub async fn run_migrations(&self) -> Result<()> {
        let inner = self.live()?;
        let set = tables::migrations(inner.dialect, &inner.prefix);
        crate::migrate::run(&inner.conns, inner.dialect, &set).await
    }

    /// The database this store talks to.
    pub fn dialect(&self) -> Dialect {
        self.inner.dialect
    }

    /// The table prefix.
    pub fn table_prefix(&self) -> &str {
        &self.inner.prefix
    }

    /// The relationship table's name (`{prefix}rebac_tuples`, unquoted).
    pub fn tuples_table(&self) -> &str {
        &self.inner.tables.tuples_plain
    }

    /// The general sqlx pool, for your own queries next to the store.
    pub fn pool(&self) -> SqlPool<'_> {
        crate::store::pool_of(&self.inner.conns)
    }

    pub(crate) fn live(&self) -> Result<&Inner> {
        if self.inner.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        Ok(&self.inner)
    }

    /// Closes every connection; later calls fail with `Error::Closed`.
    pub async fn close(&self) {
        if !self.inner.closed.swap(true, Ordering::AcqRel) {
            self.inner.conns.close().await;
        }
    }

    /// Stores the schema source text (replacing any earlier one). The text is not parsed here;
    /// callers validate it with psm-rebac first.
    pub async fn write_schema(&self, source: &str) -> Result<()> {
        let inner = self.live()?;
        crate::exec::write(
            &inner.conns,
            "rebac_write_schema",
            &inner.sql.write_schema,
            &[
                crate::exec::Bind::Text(source),
                crate::exec::Bind::Int(now_millis()),
            ],
        )
        .await
        .map(|_| ())
    }

    /// The stored schema source text, if one was written.
    pub async fn read_schema(&self) -> Result<Option<String>> {
        let inner = self.live()?;
        let mut texts = crate::exec::read_texts(
            &inner.conns,
            "rebac_read_schema",
            &inner.sql.read_schema,
            &[],
        )
        .await?;
        Ok(texts.pop())
    }

    /// Deletes every relationship (expired ones too) in one statement and bumps the revision;
    /// returns how many rows went. An administrative reset (tests, imports): the deletions are
    /// not written to the change log, so the pruned horizon moves to the new revision and
    /// watchers behind it get `ChangesPruned` (they must resync).
    pub async fn delete_all(&self) -> Result<u64> {
        let inner = self.live()?;
        let delete = format!("DELETE FROM {}", inner.tables.tuples);
        let (row, raise) = (self.horizon_row_sql()?, self.horizon_to_head_sql()?);
        let statements: [(&str, &[crate::exec::Bind<'_>]); 4] = [
            (&delete, &[]),
            (&inner.sql.bump_revision, &[]),
            (&row, &[]),
            (&raise, &[]),
        ];
        let touched = crate::exec::write_all(&inner.conns, "rebac_delete_all", &statements).await?;
        Ok(touched.first().copied().unwrap_or(0))
    }

    /// Drops every table of this store (relationships, change log, revision, schema,
    /// migrations) and closes it. Irreversible.
    pub async fn drop_tables(&self) -> Result<()> {
        let inner = self.live()?;
        let t = &inner.tables;
        let migrations = inner
            .dialect
            .quote(&format!("{}rebac_migrations", inner.prefix));
        for table in [&t.tuples, &t.changes, &t.revision, &t.schema, &migrations] {
            let sql = format!("DROP TABLE IF EXISTS {table}");
            crate::exec::write(&inner.conns, "rebac_drop_tables", &sql, &[]).await?;
        }
        self.close().await;
        Ok(())
    }

    /// The store's current revision (that of the last write); also
    /// [`TupleStore::revision`], with psm-rebac's error type.
    pub async fn revision(&self) -> Result<Revision> {
        self.current_revision().await
    }

    pub(crate) fn current_revision(&self) -> BoxFut<'_, Revision> {
        Box::pin(async move {
            let inner = self.live()?;
            let sql = &inner.sql.select_revision;
            let rev: i64 = dispatch!(&inner.conns, h => read_fast!(h, "rebac_revision", conn => {
                sqlx::query_scalar::<_, i64>(sql.as_str()).fetch_one(&mut *conn).await
            }))?;
            Ok(u64::try_from(rev).unwrap_or(0))
        })
    }
}

#[async_trait::async_trait]
impl TupleStore for SqlTupleStore {
    async fn write(
        &self,
        updates: &[RelationshipUpdate],
        preconditions: &[Precondition],
    ) -> psm_rebac::Result<Revision> {
        self.write_updates(updates, preconditions).await
    }

    async fn read(
        &self,
        filter: &RelationshipFilter,
        limit: Option<usize>,
    ) -> psm_rebac::Result<Vec<Relationship>> {
        self.select(filter, limit).await.map_err(store_error)
    }

    async fn contains(&self, relationship: &Relationship) -> psm_rebac::Result<bool> {
        self.contains_key(relationship).await.map_err(store_error)
    }

    /// The head, read from the primary (one statement).
    async fn revision(&self) -> psm_rebac::Result<Revision> {
        self.current_revision().await.map_err(store_error)
    }

    async fn changes_since(&self, after: Revision, limit: usize) -> psm_rebac::Result<Vec<Change>> {
        self.read_changes(after, limit).await
    }

    // `watch_next`: psm-rebac's default, polling `changes_since` with a backoff bounded by the wait.

    async fn prune_changes(&self, through: Revision) -> psm_rebac::Result<u64> {
        self.prune_log(through).await
    }

    /// Checks and lookups in SQL (`lookup/plan.rs`), when SQL's answer is the engine's.
    fn planner(&self) -> Option<&dyn psm_rebac::store::Planner> {
        Some(self)
    }

    /// Multi-row upserts outside the change log (`bulk.rs`).
    fn bulk_import(&self) -> Option<&dyn psm_rebac::store::BulkImport> {
        Some(self)
    }
}
