//! `RedisConfig`: where to connect and how (URL options and the programmatic builder).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use psm_core::{DEFAULT_TTL, Error, Field, Limits, Result, Rule, StoreUrl};

/// Default key prefix of the session store.
pub const DEFAULT_KEY_PREFIX: &str = "psm:";
/// Default size of the maintenance pool.
pub const DEFAULT_MAX_CONNECTIONS: usize = 8;
/// Default number of multiplexed hot-path connections.
pub const DEFAULT_CONNECTIONS: usize = 2;
/// Most multiplexed hot-path connections accepted.
pub const MAX_CONNECTIONS_LIMIT: usize = 256;
/// Default limit on opening a connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default limit on one call.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
/// Longest key prefix accepted, in bytes.
pub const MAX_KEY_PREFIX_LEN: usize = 256;

/// Where the server is.
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(test, derive(Debug))]
pub(crate) enum Servers {
    /// One server: a `redis://` or `rediss://` URL for the driver.
    Single(String),
    /// Cluster seed nodes, each a `redis://` or `rediss://` URL.
    Cluster(Vec<String>),
}

/// Configuration of a [`RedisStore`](crate::RedisStore) or
/// [`RedisPermissionsProvider`](crate::RedisPermissionsProvider).
///
/// ```
/// use std::time::Duration;
/// use psm_redis::RedisConfig;
/// let config = RedisConfig::new("redis://127.0.0.1:6379/0")
///     .key_prefix("app:")
///     .timeout(Duration::from_millis(500))
///     .connections(4);
/// assert_eq!(config.get_key_prefix(), Some("app:"));
/// let cluster = RedisConfig::cluster(["redis://127.0.0.1:7001", "redis://127.0.0.1:7002"]);
/// assert!(cluster.is_cluster());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct RedisConfig {
    pub(crate) servers: Servers,
    pub(crate) key_prefix: Option<String>,
    pub(crate) default_ttl: Option<Duration>,
    pub(crate) limits: Limits,
    pub(crate) max_connections: usize,
    pub(crate) connections: usize,
    pub(crate) connect_timeout: Duration,
    pub(crate) timeout: Duration,
    pub(crate) tls_ca_file: Option<PathBuf>,
}

impl fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let servers: Vec<String> = match &self.servers {
            Servers::Single(url) => vec![redact(url)],
            Servers::Cluster(nodes) => nodes.iter().map(|n| redact(n)).collect(),
        };
        f.debug_struct("RedisConfig")
            .field("servers", &servers)
            .field("cluster", &self.is_cluster())
            .field("key_prefix", &self.key_prefix)
            .field("default_ttl", &self.default_ttl)
            .field("limits", &self.limits)
            .field("max_connections", &self.max_connections)
            .field("connections", &self.connections)
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("tls_ca_file", &self.tls_ca_file)
            .finish()
    }
}

impl RedisConfig {
    /// One server at `url` (`redis://[user:password@]host:port[/db]`, or `rediss://` with the
    /// `tls-rustls` feature). The URL goes to the driver as is: psm options are not parsed here
    /// (use [`RedisConfig::from_url`] for those).
    pub fn new(url: impl Into<String>) -> Self {
        Self::with_servers(Servers::Single(url.into()))
    }

    /// A Redis Cluster reached through the given seed nodes (`redis://host:port` each).
    pub fn cluster<I, S>(nodes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::with_servers(Servers::Cluster(
            nodes.into_iter().map(Into::into).collect(),
        ))
    }

    fn with_servers(servers: Servers) -> Self {
        RedisConfig {
            servers,
            key_prefix: None,
            default_ttl: Some(DEFAULT_TTL),
            limits: Limits::default(),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            connections: DEFAULT_CONNECTIONS,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            timeout: DEFAULT_TIMEOUT,
            tls_ca_file: None,
        }
    }

    /// Parses a store URL (`redis://`, `rediss://`, `redis+cluster://h1:p1,h2:p2`,
    /// `rediss+cluster://...`) and takes the options the crate docs list; unknown options are
    /// errors.
    pub fn from_url(mut url: StoreUrl) -> Result<Self> {
        let tls = match url.scheme() {
            "redis" | "redis+cluster" => false,
            "rediss" | "rediss+cluster" => true,
            other => {
                return Err(url.invalid(&format!(
                    "scheme {other:?} is not one of redis, rediss, redis+cluster, rediss+cluster"
                )));
            }
        };
        if tls && !cfg!(feature = "tls-rustls") {
            return Err(url.invalid("rediss needs psm-redis's cargo feature tls-rustls"));
        }
        let servers = if url.scheme().ends_with("+cluster") {
            Servers::Cluster(cluster_nodes(&url, tls)?)
        } else {
            Servers::Single(url.without_options())
        };
        let mut config = Self::with_servers(servers);
        if let Some(prefix) = url.take_string("key_prefix")? {
            config.key_prefix = Some(prefix);
        }
        if let Some(ttl) = url.take_duration("default_ttl")? {
            config.default_ttl = (!ttl.is_zero()).then_some(ttl);
        }
        if let Some(max) = url.take_usize("max_permissions")? {
            config.limits.max_permissions = max;
        }
        if let Some(n) = url.take_usize("max_connections")? {
            config.max_connections = n;
        }
        if let Some(n) = url.take_usize("connections")? {
            config.connections = n;
        }
        if let Some(d) = url.take_duration("connect_timeout")? {
            config.connect_timeout = d;
        }
        if let Some(d) = url.take_duration("timeout")? {
            config.timeout = d;
        }
        if let Some(path) = url.take_string("tls_ca_file")? {
            if !tls {
                return Err(
                    url.invalid("option tls_ca_file needs a rediss:// or rediss+cluster:// URL")
                );
            }
            config.tls_ca_file = Some(PathBuf::from(path));
        }
        url.finish()?;
        config.validate()?;
        Ok(config)
    }

    /// Prefix of every key (store default `psm:`, roles provider default none).
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = Some(prefix.into());
        self
    }

    /// TTL of sessions stored with `Expiry::Default`; `None` means they never expire.
    pub fn default_ttl(mut self, ttl: Option<Duration>) -> Self {
        self.default_ttl = ttl;
        self
    }

    /// Most permissions one session may hold (default 10,000).
    pub fn max_permissions(mut self, max: usize) -> Self {
        self.limits.max_permissions = max;
        self
    }

    /// Size of the deadpool pool used for SCAN-based maintenance (default 8).
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n;
        self
    }

    /// Number of multiplexed connections the hot path uses round-robin (default 2).
    pub fn connections(mut self, n: usize) -> Self {
        self.connections = n;
        self
    }

    /// Limit on opening a connection (default 5 s).
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }

    /// Limit on every call, reconnect included (default 2 s).
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }

    /// Trust only the CA certificate(s) in this PEM file for `rediss://` connections, instead of
    /// the built-in web PKI roots: for servers whose certificate a private CA issued (the usual
    /// case for Redis). The server's certificate must still name the host of the URL (a DNS
    /// name or an IP address subject alternative name). The file is read when the store
    /// connects; a file that cannot be read or holds no certificate is an error then. Needs
    /// the `tls-rustls` feature and a `rediss://` URL.
    pub fn tls_ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.tls_ca_file = Some(path.into());
        self
    }

    /// True for a Redis Cluster.
    pub fn is_cluster(&self) -> bool {
        matches!(self.servers, Servers::Cluster(_))
    }

    /// The configured key prefix, if one was set.
    pub fn get_key_prefix(&self) -> Option<&str> {
        self.key_prefix.as_deref()
    }

    /// Checks every setting; called by the constructors.
    pub(crate) fn validate(&self) -> Result<()> {
        let option = |name: &'static str, allowed: &'static str| {
            Error::invalid(Field::Option(name), Rule::OutOfRange { allowed })
        };
        if self.max_connections == 0 || self.max_connections > 10_000 {
            return Err(option("max_connections", "1 to 10000"));
        }
        if self.connections == 0 || self.connections > MAX_CONNECTIONS_LIMIT {
            return Err(option("connections", "1 to 256"));
        }
        if self.connect_timeout.is_zero() {
            return Err(option("connect_timeout", "more than 0"));
        }
        if self.timeout.is_zero() {
            return Err(option("timeout", "more than 0"));
        }
        if self.limits.max_permissions == 0 {
            return Err(option("max_permissions", "at least 1"));
        }
        if let Some(ttl) = self.default_ttl {
            psm_core::validate::ttl(ttl)?;
        }
        if self
            .key_prefix
            .as_ref()
            .is_some_and(|p| p.len() > MAX_KEY_PREFIX_LEN)
        {
            return Err(Error::invalid(
                Field::Option("key_prefix"),
                Rule::TooLong {
                    max: MAX_KEY_PREFIX_LEN,
                },
            ));
        }
        if self
            .tls_ca_file
            .as_ref()
            .is_some_and(|p| p.as_os_str().is_empty())
        {
            return Err(Error::invalid(Field::Option("tls_ca_file"), Rule::Empty));
        }
        if matches!(&self.servers, Servers::Cluster(nodes) if nodes.is_empty()) {
            return Err(Error::invalid(Field::Option("cluster nodes"), Rule::Empty));
        }
        Ok(())
    }
}

/// `redis+cluster://[user:pw@]h1:p1,h2:p2[/...]` → `redis://[user:pw@]h1:p1`, ...
fn cluster_nodes(url: &StoreUrl, tls: bool) -> Result<Vec<String>> {
    let authority = url
        .target()
        .strip_prefix("//")
        .map(|a| a.split('/').next().unwrap_or(""))
        .unwrap_or("");
    let userinfo = authority.rsplit_once('@').map(|(user, _)| user);
    let scheme = if tls { "rediss" } else { "redis" };
    let nodes: Vec<String> = url
        .hosts()?
        .into_iter()
        .map(|host| match userinfo {
            Some(user) => format!("{scheme}://{user}@{host}"),
            None => format!("{scheme}://{host}"),
        })
        .collect();
    Ok(nodes)
}

fn redact(url: &str) -> String {
    StoreUrl::parse(url).map_or_else(|_| "<unparsable url>".to_owned(), |u| u.redacted())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str) -> Result<RedisConfig> {
        RedisConfig::from_url(StoreUrl::parse(url)?)
    }

    #[test]
    fn options_are_taken_and_typed() {
        let c = parse(
            "redis://127.0.0.1:6379/2?key_prefix=app:&default_ttl=0&max_permissions=5&max_connections=3&connections=4&connect_timeout=1s&timeout=250ms",
        )
        .unwrap();
        assert_eq!(
            c.servers,
            Servers::Single("redis://127.0.0.1:6379/2".into())
        );
        assert_eq!(c.key_prefix.as_deref(), Some("app:"));
        assert_eq!(c.default_ttl, None);
        assert_eq!(c.limits.max_permissions, 5);
        assert_eq!((c.max_connections, c.connections), (3, 4));
        assert_eq!(c.timeout, Duration::from_millis(250));
    }

    #[test]
    fn cluster_urls_become_node_urls_with_credentials() {
        let c = parse("redis+cluster://u:pw@h1:7001,h2:7002").unwrap();
        assert_eq!(
            c.servers,
            Servers::Cluster(vec![
                "redis://u:pw@h1:7001".into(),
                "redis://u:pw@h2:7002".into()
            ])
        );
        assert!(!format!("{c:?}").contains("pw"), "{c:?}");
    }

    #[test]
    fn unknown_and_out_of_range_options_are_errors_naming_the_option() {
        let err = parse("redis://h?typo=1").unwrap_err().to_string();
        assert!(err.contains("typo"), "{err}");
        let err = parse("redis://h?connections=0").unwrap_err().to_string();
        assert!(err.contains("connections"), "{err}");
        let err = parse("redis://h?timeout=0").unwrap_err().to_string();
        assert!(err.contains("timeout"), "{err}");
        assert!(parse("memory://").is_err());
    }

    #[cfg(feature = "tls-rustls")]
    #[test]
    fn rediss_urls_keep_tls_for_every_cluster_node() {
        let c = parse("rediss+cluster://h1:7001,h2:7002").unwrap();
        assert_eq!(
            c.servers,
            Servers::Cluster(vec!["rediss://h1:7001".into(), "rediss://h2:7002".into()])
        );
        assert!(parse("rediss://h:6380").is_ok());
    }

    #[cfg(feature = "tls-rustls")]
    #[test]
    fn tls_ca_file_is_taken_only_for_rediss_urls() {
        let c = parse("rediss://h:6380?tls_ca_file=/etc/psm/ca.pem").unwrap();
        assert_eq!(c.tls_ca_file, Some(PathBuf::from("/etc/psm/ca.pem")));
        assert_eq!(c.servers, Servers::Single("rediss://h:6380".into()));
        let err = parse("redis://h:6379?tls_ca_file=/etc/psm/ca.pem")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("tls_ca_file") && err.contains("rediss"),
            "{err}"
        );
        let err = parse("rediss://h:6380?tls_ca_file=")
            .unwrap_err()
            .to_string();
        assert!(err.contains("tls_ca_file"), "{err}");
    }

    #[cfg(not(feature = "tls-rustls"))]
    #[test]
    fn rediss_without_the_tls_feature_says_which_feature() {
        let err = parse("rediss://h:6380").unwrap_err().to_string();
        assert!(err.contains("tls-rustls"), "{err}");
    }
}
