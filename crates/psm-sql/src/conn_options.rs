//! The options every SQL store and the provider share (driver URL, table prefix, migrations,
//! pool) and the one parser that reads them from a `StoreUrl`.

use psm_core::{Result, StoreUrl};

use crate::config::PoolConfig;
use crate::dialect::driver_url;

/// Driver URL, table prefix, migrations flag and pool settings of one store or provider.
#[derive(Debug, Clone)]
pub(crate) struct ConnOptions {
    /// The driver URL (psm options removed once parsed from a `StoreUrl`).
    pub(crate) url: String,
    pub(crate) table_prefix: String,
    pub(crate) migrate: bool,
    /// Create a missing SQLite database file (default true).
    pub(crate) create: bool,
    pub(crate) pool: PoolConfig,
    /// PostgreSQL: plan prepared statements once per connection (`plan_cache_mode =
    /// force_generic_plan`) instead of re-planning with each request's values. Set by stores
    /// whose statements are large and whose binds are ids (the relationship store's plans:
    /// planning one costs 5–18 ms, running its generic plan under 1 ms).
    pub(crate) generic_plans: bool,
}

impl ConnOptions {
    /// Defaults: `prefix`, migrations on, default pool.
    pub(crate) fn new(url: String, prefix: &str) -> Self {
        ConnOptions {
            url,
            table_prefix: prefix.to_owned(),
            migrate: true,
            create: true,
            pool: PoolConfig::default(),
            generic_plans: false,
        }
    }

    /// Takes `table_prefix`, `migrate` and `create`, then the caller's own options (`own`), then the pool
    /// options; keeps the rest as the driver URL and rejects unknown psm options.
    pub(crate) fn from_url(
        mut url: StoreUrl,
        prefix: &str,
        own: impl FnOnce(&mut StoreUrl) -> Result<()>,
    ) -> Result<Self> {
        let mut options = ConnOptions::new(String::new(), prefix);
        if let Some(p) = url.take_string("table_prefix")? {
            options.table_prefix = p;
        }
        if let Some(m) = url.take_bool("migrate")? {
            options.migrate = m;
        }
        if let Some(c) = url.take_bool("create")? {
            options.create = c;
        }
        own(&mut url)?;
        options.pool.take_from(&mut url)?;
        options.url = driver_url(&mut url)?;
        url.finish()?;
        Ok(options)
    }
}

/// Takes `max_permissions` (at least 1) from `url`.
pub(crate) fn take_max_permissions(url: &mut StoreUrl) -> Result<Option<usize>> {
    match url.take_usize("max_permissions")? {
        Some(0) => Err(url.invalid("option max_permissions must be at least 1")),
        n => Ok(n),
    }
}
