//! Configuration of [`SqlTupleStore`](super::SqlTupleStore): table prefix, migrations, pool, and
//! the URL options that set them.

use psm_core::{Result, StoreUrl};

use crate::config::{DEFAULT_TABLE_PREFIX, PoolConfig};
use crate::dialect::driver_url;

/// Settings of a [`SqlTupleStore`](super::SqlTupleStore).
///
/// ```
/// use psm_sql::rebac::TupleStoreConfig;
/// let config = TupleStoreConfig::new("postgres://postgres@127.0.0.1/app").table_prefix("app_");
/// assert_eq!(config.prefix(), "app_");
/// ```
#[derive(Debug, Clone)]
pub struct TupleStoreConfig {
    pub(crate) url: String,
    pub(crate) table_prefix: String,
    pub(crate) migrate: bool,
    pub(crate) pool: PoolConfig,
}

impl TupleStoreConfig {
    /// Defaults for the database at `url` (a driver URL without psm options; use
    /// [`TupleStoreConfig::from_url`] for URLs with options): prefix `psm_`, migrations on.
    pub fn new(url: impl Into<String>) -> Self {
        TupleStoreConfig {
            url: url.into(),
            table_prefix: DEFAULT_TABLE_PREFIX.to_owned(),
            migrate: true,
            pool: PoolConfig::default(),
        }
    }

    /// Prefix of the table names (`{prefix}rebac_tuples`, ...). Default `psm_`.
    pub fn table_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.table_prefix = prefix.into();
        self
    }

    /// The table prefix.
    pub fn prefix(&self) -> &str {
        &self.table_prefix
    }

    /// Run the embedded migrations on connect (default true).
    pub fn migrate(mut self, migrate: bool) -> Self {
        self.migrate = migrate;
        self
    }

    /// Replaces the pool settings.
    pub fn pool(mut self, pool: PoolConfig) -> Self {
        self.pool = pool;
        self
    }

    /// Reads `table_prefix`, `migrate` and the pool options (see the crate docs) from `url`;
    /// unknown options are errors.
    pub fn from_url(mut url: StoreUrl) -> Result<Self> {
        let mut config = TupleStoreConfig::new(String::new());
        if let Some(p) = url.take_string("table_prefix")? {
            config.table_prefix = p;
        }
        if let Some(m) = url.take_bool("migrate")? {
            config.migrate = m;
        }
        config.pool.take_from(&mut url)?;
        config.url = driver_url(&mut url)?;
        url.finish()?;
        Ok(config)
    }
}
