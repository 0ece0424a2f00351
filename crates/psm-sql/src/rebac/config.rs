//! Configuration of [`SqlTupleStore`](super::SqlTupleStore): table prefix, migrations, pool, and
//! the URL options that set them.

use psm_core::{Result, StoreUrl};

use crate::config::{DEFAULT_TABLE_PREFIX, PoolConfig};
use crate::conn_options::ConnOptions;

/// Settings of a [`SqlTupleStore`](super::SqlTupleStore).
///
/// ```
/// use psm_sql::rebac::TupleStoreConfig;
/// let config = TupleStoreConfig::new("postgres://postgres@127.0.0.1/app").table_prefix("app_");
/// assert_eq!(config.prefix(), "app_");
/// ```
#[derive(Debug, Clone)]
pub struct TupleStoreConfig {
    pub(crate) conn: ConnOptions,
}

impl TupleStoreConfig {
    /// Defaults for the database at `url` (a driver URL without psm options; use
    /// [`TupleStoreConfig::from_url`] for URLs with options): prefix `psm_`, migrations on.
    pub fn new(url: impl Into<String>) -> Self {
        TupleStoreConfig {
            conn: ConnOptions::new(url.into(), DEFAULT_TABLE_PREFIX),
        }
    }

    /// Prefix of the table names (`{prefix}rebac_tuples`, ...). Default `psm_`.
    pub fn table_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.conn.table_prefix = prefix.into();
        self
    }

    /// The table prefix.
    pub fn prefix(&self) -> &str {
        &self.conn.table_prefix
    }

    /// Run the embedded migrations on connect (default true).
    pub fn migrate(mut self, migrate: bool) -> Self {
        self.conn.migrate = migrate;
        self
    }

    /// Replaces the pool settings.
    pub fn pool(mut self, pool: PoolConfig) -> Self {
        self.conn.pool = pool;
        self
    }

    /// Reads `table_prefix`, `migrate` and the pool options (see the crate docs) from `url`;
    /// unknown options are errors.
    pub fn from_url(url: StoreUrl) -> Result<Self> {
        let conn = ConnOptions::from_url(url, DEFAULT_TABLE_PREFIX, |_| Ok(()))?;
        Ok(TupleStoreConfig { conn })
    }
}
