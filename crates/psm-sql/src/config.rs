//! Typed configuration of the SQL store and provider: connection pool options, table prefix, and
//! the URL options that set them.

use std::time::Duration;

use psm_core::{DEFAULT_TTL, Error, Field, Limits, Result, Rule, SharedClock, StoreUrl};

use crate::conn_options::{ConnOptions, take_max_permissions};
use crate::dialect::Dialect;

/// Default table prefix of the session store.
pub const DEFAULT_TABLE_PREFIX: &str = "psm_";
/// Longest table prefix, in bytes.
pub const MAX_PREFIX_LEN: usize = 41;

/// Connection settings shared by [`SqlStore`](crate::SqlStore) and
/// [`SqlPermissionsProvider`](crate::SqlPermissionsProvider).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolConfig {
    /// Most connections of the general pool (writes, lists, cleanup, migrations). Default 10.
    pub max_connections: u32,
    /// Connections the general pool keeps open even when idle. Default 0 (1 for `sqlite::memory:`,
    /// which would lose its data when its last connection closed).
    pub min_connections: u32,
    /// How long a call may wait for a connection before it fails with `Error::Timeout`. Default 5 s.
    pub acquire_timeout: Duration,
    /// Ping every pooled connection before handing it out. Default false: the ping costs a round
    /// trip per operation (it halves single-task throughput) and a broken connection is detected
    /// by the failing query anyway.
    pub test_before_acquire: bool,
    /// Server-side limit on one statement (`statement_timeout` on PostgreSQL,
    /// `max_statement_time`/`max_execution_time` on MariaDB/MySQL, the busy timeout on SQLite).
    /// `None` (the default) keeps the server's setting (5 s busy timeout on SQLite). When set,
    /// every statement is also bounded client-side at this plus one second, so a server that
    /// stops answering (a network partition) yields `Error::Timeout` instead of a hang.
    pub statement_timeout: Option<Duration>,
    /// Dedicated connections serving the read hot path (`check_permission`, `check_permissions`,
    /// `get_session`, provider fetches) without a pool checkout. 0 sends reads through the pool.
    /// Default 8 (2 for SQLite).
    pub check_connections: u32,
    /// Close pooled connections idle this long. Default 10 minutes; never for `sqlite::memory:`.
    pub idle_timeout: Option<Duration>,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            max_connections: 10,
            min_connections: 0,
            acquire_timeout: Duration::from_secs(5),
            test_before_acquire: false,
            statement_timeout: None,
            check_connections: DEFAULT_CHECK_CONNECTIONS,
            idle_timeout: Some(Duration::from_secs(600)),
        }
    }
}

/// Default number of dedicated read connections (a marker replaced per dialect when not set).
const DEFAULT_CHECK_CONNECTIONS: u32 = u32::MAX;

impl PoolConfig {
    /// Takes `max_connections`, `min_connections`, `acquire_timeout`, `test_before_acquire`,
    /// `statement_timeout`, `check_connections` and `idle_timeout` from `url`.
    pub fn take_from(&mut self, url: &mut StoreUrl) -> Result<()> {
        if let Some(v) = url.take_u64("max_connections")? {
            self.max_connections = bounded_u32(url, "max_connections", v, 1)?;
        }
        if let Some(v) = url.take_u64("min_connections")? {
            self.min_connections = bounded_u32(url, "min_connections", v, 0)?;
        }
        if let Some(v) = url.take_duration("acquire_timeout")? {
            if v.is_zero() {
                return Err(url.invalid("option acquire_timeout must be greater than zero"));
            }
            self.acquire_timeout = v;
        }
        if let Some(v) = url.take_bool("test_before_acquire")? {
            self.test_before_acquire = v;
        }
        if let Some(v) = url.take_duration("statement_timeout")? {
            self.statement_timeout = (!v.is_zero()).then_some(v);
        }
        if let Some(v) = url.take_u64("check_connections")? {
            self.check_connections = bounded_u32(url, "check_connections", v, 0)?;
        }
        if let Some(v) = url.take_duration("idle_timeout")? {
            self.idle_timeout = (!v.is_zero()).then_some(v);
        }
        Ok(())
    }

    /// Checks the settings against each other.
    pub(crate) fn validate(&self) -> Result<()> {
        if self.max_connections == 0 {
            return Err(option_error("max_connections", "at least 1"));
        }
        if self.min_connections > self.max_connections {
            return Err(option_error("min_connections", "at most max_connections"));
        }
        if self.acquire_timeout.is_zero() {
            return Err(option_error("acquire_timeout", "greater than zero"));
        }
        Ok(())
    }

    /// The number of dedicated read connections for `dialect` (resolving the default).
    pub(crate) fn check_connections_for(&self, dialect: Dialect) -> usize {
        match self.check_connections {
            DEFAULT_CHECK_CONNECTIONS => match dialect {
                Dialect::Sqlite => 2,
                _ => 8,
            },
            n => n as usize,
        }
    }
}

fn bounded_u32(url: &StoreUrl, key: &str, v: u64, min: u64) -> Result<u32> {
    if v < min || v > 10_000 {
        return Err(url.invalid(&format!("option {key}={v} must be between {min} and 10000")));
    }
    u32::try_from(v).map_err(|_| url.invalid(&format!("option {key}={v} is too large")))
}

fn option_error(name: &'static str, allowed: &'static str) -> Error {
    Error::invalid(Field::Option(name), Rule::OutOfRange { allowed })
}

/// Checks a table prefix: `[A-Za-z_][A-Za-z0-9_]{0,40}`. Prefixes become parts of table and
/// index names, so nothing else may reach the SQL text.
pub fn validate_table_prefix(prefix: &str) -> Result<()> {
    let field = Field::Option("table_prefix");
    if prefix.is_empty() {
        return Err(Error::invalid(field, Rule::Empty));
    }
    if prefix.len() > MAX_PREFIX_LEN {
        return Err(Error::invalid(
            field,
            Rule::TooLong {
                max: MAX_PREFIX_LEN,
            },
        ));
    }
    for (index, ch) in prefix.char_indices() {
        let ok = ch == '_' || ch.is_ascii_alphabetic() || (index > 0 && ch.is_ascii_digit());
        if !ok {
            return Err(Error::invalid(
                field,
                Rule::ForbiddenChar {
                    ch,
                    index,
                    allowed: "[A-Za-z_] then [A-Za-z0-9_]",
                },
            ));
        }
    }
    Ok(())
}

/// Configuration of a [`SqlStore`](crate::SqlStore): `SqlConfig::new(url)` and setters.
///
/// ```
/// use psm_sql::SqlConfig;
/// use std::time::Duration;
/// let config = SqlConfig::new("postgres://postgres@127.0.0.1/app")
///     .table_prefix("app_")
///     .default_ttl(Some(Duration::from_secs(900)))
///     .max_connections(20)
///     .check_connections(4);
/// assert_eq!(config.prefix(), "app_");
/// ```
#[derive(Debug, Clone)]
pub struct SqlConfig {
    pub(crate) conn: ConnOptions,
    pub(crate) default_ttl: Option<Duration>,
    pub(crate) limits: Limits,
    pub(crate) cleanup_batch: u32,
    pub(crate) clock: SharedClock,
}

impl SqlConfig {
    /// Defaults for the database at `url` (`postgres://`, `sqlite://`, `sqlite::memory:`,
    /// `mysql://`; psm options are not parsed here, use [`SqlStore::connect`](crate::SqlStore::connect)
    /// for URLs with options).
    pub fn new(url: impl Into<String>) -> Self {
        SqlConfig {
            conn: ConnOptions::new(url.into(), DEFAULT_TABLE_PREFIX),
            default_ttl: Some(DEFAULT_TTL),
            limits: Limits::default(),
            cleanup_batch: 1_000,
            clock: SharedClock::system(),
        }
    }

    /// Prefix of the table names (`{prefix}sessions`, `{prefix}migrations`). Default `psm_`.
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

    /// TTL of sessions stored with `Expiry::Default`; `None` means no expiry. Default one hour.
    pub fn default_ttl(mut self, ttl: Option<Duration>) -> Self {
        self.default_ttl = ttl;
        self
    }

    /// Where the store reads the time that expiry is computed from and compared with (default:
    /// the system clock; tests inject a [`ManualClock`](psm_core::ManualClock) to move time
    /// without sleeping — every expiry comparison binds this time, none uses the server's).
    pub fn clock(mut self, clock: impl Into<SharedClock>) -> Self {
        self.clock = clock.into();
        self
    }

    /// Most permissions per session (default 10,000).
    pub fn max_permissions(mut self, max: usize) -> Self {
        self.limits.max_permissions = max;
        self
    }

    /// Replaces all pool settings.
    pub fn pool(mut self, pool: PoolConfig) -> Self {
        self.conn.pool = pool;
        self
    }

    /// Size of the general pool (default 10).
    pub fn max_connections(mut self, n: u32) -> Self {
        self.conn.pool.max_connections = n;
        self
    }

    /// How long a call waits for a connection (default 5 s).
    pub fn acquire_timeout(mut self, d: Duration) -> Self {
        self.conn.pool.acquire_timeout = d;
        self
    }

    /// Server-side statement timeout (default: the server's).
    pub fn statement_timeout(mut self, d: Option<Duration>) -> Self {
        self.conn.pool.statement_timeout = d;
        self
    }

    /// Dedicated read connections (default 8, 2 for SQLite; 0 reads through the pool).
    pub fn check_connections(mut self, n: u32) -> Self {
        self.conn.pool.check_connections = n;
        self
    }

    /// Rows deleted per statement by `cleanup_expired_sessions` (default 1,000).
    pub fn cleanup_batch(mut self, n: u32) -> Self {
        self.cleanup_batch = n;
        self
    }

    /// Reads every store option from `url` (see the crate docs), then rejects unknown ones.
    pub fn from_url(url: StoreUrl) -> Result<Self> {
        let mut config = SqlConfig::new(String::new());
        config.conn = ConnOptions::from_url(url, DEFAULT_TABLE_PREFIX, |url| {
            if let Some(d) = url.take_duration("default_ttl")? {
                config.default_ttl = (!d.is_zero()).then_some(d);
            }
            if let Some(n) = take_max_permissions(url)? {
                config.limits.max_permissions = n;
            }
            if let Some(n) = url.take_u64("cleanup_batch")? {
                config.cleanup_batch = bounded_u32(url, "cleanup_batch", n, 1)?;
            }
            Ok(())
        })?;
        Ok(config)
    }

    pub(crate) fn validate(&self) -> Result<()> {
        validate_table_prefix(&self.conn.table_prefix)?;
        self.conn.pool.validate()?;
        if let Some(ttl) = self.default_ttl {
            psm_core::validate::ttl(ttl)?;
        }
        if self.cleanup_batch == 0 {
            return Err(option_error("cleanup_batch", "at least 1"));
        }
        if self.limits.max_permissions == 0 {
            return Err(option_error("max_permissions", "at least 1"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_prefixes_follow_the_identifier_rule() {
        for good in ["psm_", "_", "A", "app_v2_", &"a".repeat(41)] {
            assert!(validate_table_prefix(good).is_ok(), "{good:?}");
        }
        for bad in [
            "",
            "1abc",
            "a-b",
            "a b",
            "x\"; DROP TABLE t; --",
            "é",
            &"a".repeat(42),
        ] {
            let err = validate_table_prefix(bad).unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::InvalidInput {
                        field: Field::Option("table_prefix"),
                        ..
                    }
                ),
                "{bad:?}: {err}"
            );
        }
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn url_options_are_taken_and_unknown_ones_rejected() {
        let url = StoreUrl::parse(
            "postgres://u@h/db?table_prefix=app_&default_ttl=0&max_connections=3&acquire_timeout=250ms&test_before_acquire=true&statement_timeout=2s&check_connections=0&sslmode=disable",
        )
        .unwrap();
        let config = SqlConfig::from_url(url).unwrap();
        assert_eq!(config.conn.table_prefix, "app_");
        assert_eq!(config.default_ttl, None);
        assert_eq!(config.conn.pool.max_connections, 3);
        assert_eq!(config.conn.pool.acquire_timeout, Duration::from_millis(250));
        assert!(config.conn.pool.test_before_acquire);
        assert_eq!(
            config.conn.pool.statement_timeout,
            Some(Duration::from_secs(2))
        );
        assert_eq!(config.conn.pool.check_connections, 0);
        assert_eq!(config.conn.url, "postgres://u@h/db?sslmode=disable");
        let err = SqlConfig::from_url(StoreUrl::parse("postgres://h/db?typo=1").unwrap())
            .unwrap_err()
            .to_string();
        assert!(err.contains("typo"), "{err}");
    }
}
