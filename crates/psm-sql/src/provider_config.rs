//! Configuration of the SQL permissions provider: table prefix, migrations, pool, hierarchy,
//! fetch bound, and the URL options that set them.

use psm_core::{Hierarchy, Result, StoreUrl};

use crate::config::PoolConfig;
use crate::conn_options::{ConnOptions, take_max_permissions};

/// Default table prefix of the provider (`authz_permissions`, `authz_roles`, ...).
pub const DEFAULT_PROVIDER_PREFIX: &str = "authz_";
/// Longest username, in bytes (the `VARCHAR(500)` of the original schema).
pub const MAX_USERNAME_LEN: usize = 500;
/// Longest role name, in bytes.
pub const MAX_ROLE_LEN: usize = 255;
/// Default bound on the permissions one fetch may return.
pub const DEFAULT_MAX_FETCH: usize = 10_000;

/// Configuration of a [`SqlPermissionsProvider`](crate::SqlPermissionsProvider).
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    pub(crate) conn: ConnOptions,
    pub(crate) hierarchy: Option<Hierarchy>,
    pub(crate) max_permissions: usize,
}

impl ProviderConfig {
    /// Defaults for the database at `url` (prefix `authz_`, migrations on).
    pub fn new(url: impl Into<String>) -> Self {
        ProviderConfig {
            conn: ConnOptions::new(url.into(), DEFAULT_PROVIDER_PREFIX),
            hierarchy: None,
            max_permissions: DEFAULT_MAX_FETCH,
        }
    }

    /// Prefix of the table names (default `authz_`).
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

    /// Expands fetched permissions through `hierarchy` (bundles such as `editor`).
    pub fn hierarchy(mut self, hierarchy: Hierarchy) -> Self {
        self.hierarchy = Some(hierarchy);
        self
    }

    /// Most permissions one fetch may return before it fails with `QuotaExceeded`.
    pub fn max_permissions(mut self, max: usize) -> Self {
        self.max_permissions = max;
        self
    }

    /// Reads `table_prefix`, `migrate`, `max_permissions` and the pool options from `url`.
    pub fn from_url(url: StoreUrl) -> Result<Self> {
        let mut config = ProviderConfig::new(String::new());
        config.conn = ConnOptions::from_url(url, DEFAULT_PROVIDER_PREFIX, |url| {
            if let Some(n) = take_max_permissions(url)? {
                config.max_permissions = n;
            }
            Ok(())
        })?;
        Ok(config)
    }
}
