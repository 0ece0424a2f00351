//! The three SQL dialects: which URL schemes they serve, driver URLs, identifier quoting and
//! placeholder syntax.

use psm_core::{Error, Result, StoreUrl};

/// Which database a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Dialect {
    /// PostgreSQL (`postgres://`, `postgresql://`).
    Postgres,
    /// SQLite (`sqlite://file.db`, `sqlite:///abs/file.db`, `sqlite::memory:`).
    Sqlite,
    /// MySQL or MariaDB (`mysql://`, `mariadb://`).
    MySql,
}

impl Dialect {
    /// The dialect serving a URL scheme, if this build has its cargo feature.
    pub fn from_scheme(scheme: &str) -> Result<Self> {
        let dialect = match scheme {
            "postgres" | "postgresql" => Dialect::Postgres,
            "sqlite" => Dialect::Sqlite,
            "mysql" | "mariadb" => Dialect::MySql,
            other => {
                return Err(Error::UnknownScheme {
                    scheme: other.to_owned(),
                });
            }
        };
        if !dialect.compiled() {
            return Err(Error::UnknownScheme {
                scheme: scheme.to_owned(),
            });
        }
        Ok(dialect)
    }

    /// True when this build includes the dialect's driver (its cargo feature is on).
    pub fn compiled(self) -> bool {
        match self {
            Dialect::Postgres => cfg!(feature = "postgres"),
            Dialect::Sqlite => cfg!(feature = "sqlite"),
            Dialect::MySql => cfg!(feature = "mysql"),
        }
    }

    /// Backend name reported by `SessionStore::backend`.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Postgres => "postgres",
            Dialect::Sqlite => "sqlite",
            Dialect::MySql => "mysql",
        }
    }

    /// Quotes an identifier already checked to be `[A-Za-z0-9_]+`.
    pub(crate) fn quote(self, ident: &str) -> String {
        match self {
            Dialect::MySql => format!("`{ident}`"),
            _ => format!("\"{ident}\""),
        }
    }

    /// Turns `?` placeholders into the dialect's (`$1, $2, ...` on PostgreSQL). The SQL text of
    /// this crate never contains `?` elsewhere.
    pub(crate) fn sql(self, text: &str) -> String {
        if self != Dialect::Postgres {
            return text.to_owned();
        }
        let mut out = String::with_capacity(text.len() + 16);
        let mut n = 0u32;
        for ch in text.chars() {
            if ch == '?' {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
            } else {
                out.push(ch);
            }
        }
        out
    }
}

/// Options the drivers understand themselves, passed through to them unchanged.
fn passthrough_options(dialect: Dialect) -> &'static [&'static str] {
    match dialect {
        Dialect::Postgres => &[
            "sslmode",
            "ssl-mode",
            "sslrootcert",
            "ssl-root-cert",
            "ssl-ca",
            "sslcert",
            "ssl-cert",
            "sslkey",
            "ssl-key",
            "statement-cache-capacity",
            "host",
            "hostaddr",
            "port",
            "dbname",
            "user",
            "password",
            "application_name",
            "options",
        ],
        Dialect::MySql => &[
            "sslmode",
            "ssl-mode",
            "sslca",
            "ssl-ca",
            "sslcert",
            "ssl-cert",
            "sslkey",
            "ssl-key",
            "statement-cache-capacity",
            "socket",
            "timezone",
            "time-zone",
        ],
        Dialect::Sqlite => &["mode", "cache", "immutable", "vfs"],
    }
}

/// Builds the URL handed to sqlx: the scheme it knows, the target, and the driver options taken
/// from `url` (psm's own options must have been taken before).
pub(crate) fn driver_url(url: &mut StoreUrl) -> Result<String> {
    let dialect = Dialect::from_scheme(url.scheme())?;
    let scheme = match dialect {
        Dialect::Postgres => "postgres",
        Dialect::Sqlite => "sqlite",
        Dialect::MySql => "mysql",
    };
    let mut out = format!("{scheme}:{}", url.target());
    let mut first = true;
    for key in passthrough_options(dialect) {
        if let Some(value) = url.take_string(key)? {
            out.push(if first { '?' } else { '&' });
            first = false;
            out.push_str(key);
            out.push('=');
            out.extend(url::form_urlencoded::byte_serialize(value.as_bytes()));
        }
    }
    Ok(out)
}

/// True when a SQLite URL names an in-memory database.
pub(crate) fn is_sqlite_memory(driver_url: &str) -> bool {
    let rest = driver_url.strip_prefix("sqlite:").unwrap_or(driver_url);
    let (target, query) = rest.split_once('?').unwrap_or((rest, ""));
    let target = target.trim_start_matches('/');
    target.is_empty() && query.split('&').any(|kv| kv == "mode=memory") || target == ":memory:"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_placeholders_are_numbered() {
        assert_eq!(
            Dialect::Postgres.sql("SELECT a FROM t WHERE b = ? AND c > ?"),
            "SELECT a FROM t WHERE b = $1 AND c > $2"
        );
        assert_eq!(Dialect::MySql.sql("b = ?"), "b = ?");
    }

    #[test]
    fn identifiers_are_quoted_per_dialect() {
        assert_eq!(Dialect::MySql.quote("psm_sessions"), "`psm_sessions`");
        assert_eq!(Dialect::Postgres.quote("psm_sessions"), "\"psm_sessions\"");
    }

    #[test]
    fn memory_urls_are_recognised() {
        assert!(is_sqlite_memory("sqlite::memory:"));
        assert!(is_sqlite_memory("sqlite://:memory:"));
        assert!(is_sqlite_memory("sqlite://?mode=memory"));
        assert!(!is_sqlite_memory("sqlite://file.db"));
        assert!(!is_sqlite_memory("sqlite:///tmp/memory.db"));
    }
}
