//! Configuration of the SQL ACL store: table prefix, migrations, pool, the limits a loaded ACL
//! gets, and the URL options that set them.

use psm_acl::AclLimits;
use psm_core::{Result, StoreUrl};

use crate::config::PoolConfig;
use crate::dialect::driver_url;

/// Default table prefix of the ACL tables (`psm_acl_roles`, `psm_acl_grants`, ...).
pub const DEFAULT_ACL_PREFIX: &str = "psm_acl_";
/// Longest role or resource name the SQL tables hold, in bytes (permissions are bounded by the
/// grammar to the same length).
pub const MAX_ACL_NAME_LEN: usize = 255;

/// Configuration of a [`SqlAclStore`](crate::acl::SqlAclStore).
#[derive(Debug, Clone)]
pub struct AclStoreConfig {
    pub(crate) url: String,
    pub(crate) table_prefix: String,
    pub(crate) migrate: bool,
    pub(crate) pool: PoolConfig,
    pub(crate) limits: AclLimits,
}

impl AclStoreConfig {
    /// Defaults for the database at `url` (prefix `psm_acl_`, migrations on, default limits).
    pub fn new(url: impl Into<String>) -> Self {
        AclStoreConfig {
            url: url.into(),
            table_prefix: DEFAULT_ACL_PREFIX.to_owned(),
            migrate: true,
            pool: PoolConfig::default(),
            limits: AclLimits::default(),
        }
    }

    /// Prefix of the table names (default `psm_acl_`).
    pub fn table_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.table_prefix = prefix.into();
        self
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

    /// The limits of every ACL loaded from the tables; a load never reads more rows than they
    /// allow (it fails with `QuotaExceeded` instead).
    pub fn limits(mut self, limits: AclLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Reads `table_prefix`, `migrate` and the pool options from `url`.
    pub fn from_url(mut url: StoreUrl) -> Result<Self> {
        let mut config = AclStoreConfig::new(String::new());
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
