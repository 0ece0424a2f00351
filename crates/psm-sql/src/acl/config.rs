//! Configuration of the SQL ACL store: table prefix, migrations, pool, the limits a loaded ACL
//! gets, and the URL options that set them.

use psm_acl::AclLimits;
use psm_core::{Result, StoreUrl};

use crate::config::PoolConfig;
use crate::conn_options::ConnOptions;

/// Default table prefix of the ACL tables (`psm_acl_roles`, `psm_acl_grants`, ...).
pub const DEFAULT_ACL_PREFIX: &str = "psm_acl_";
/// Longest role or resource name the SQL tables hold, in bytes (permissions are bounded by the
/// grammar to the same length).
pub const MAX_ACL_NAME_LEN: usize = 255;

/// Configuration of a [`SqlAclStore`](crate::acl::SqlAclStore).
#[derive(Debug, Clone)]
pub struct AclStoreConfig {
    pub(crate) conn: ConnOptions,
    pub(crate) limits: AclLimits,
}

impl AclStoreConfig {
    /// Defaults for the database at `url` (prefix `psm_acl_`, migrations on, default limits).
    pub fn new(url: impl Into<String>) -> Self {
        AclStoreConfig {
            conn: ConnOptions::new(url.into(), DEFAULT_ACL_PREFIX),
            limits: AclLimits::default(),
        }
    }

    /// Prefix of the table names (default `psm_acl_`).
    pub fn table_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.conn.table_prefix = prefix.into();
        self
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

    /// The limits of every ACL loaded from the tables; a load never reads more rows than they
    /// allow (it fails with `QuotaExceeded` instead).
    pub fn limits(mut self, limits: AclLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Reads `table_prefix`, `migrate` and the pool options from `url`.
    pub fn from_url(url: StoreUrl) -> Result<Self> {
        let conn = ConnOptions::from_url(url, DEFAULT_ACL_PREFIX, |_| Ok(()))?;
        Ok(AclStoreConfig {
            conn,
            limits: AclLimits::default(),
        })
    }
}
