//! Mapping of sqlx errors onto psm's typed `Error`: timeouts, lost connections, undecodable rows,
//! and everything else as `Backend`.

use std::time::Duration;

use psm_core::Error;

/// What an error mapping needs to know about the store it happened in.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ErrorContext {
    pub backend: &'static str,
    pub acquire_timeout: Duration,
    pub statement_timeout: Option<Duration>,
}

/// How a driver error is classified before it becomes an [`Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    /// No connection could be had in time.
    PoolTimeout,
    /// The server cancelled a statement that ran too long (or waited too long for a lock).
    StatementTimeout,
    /// The connection is gone or unusable.
    Connection,
    /// A row could not be decoded.
    Decode,
    /// Anything else (the connection itself is fine).
    Other,
}

/// Classifies a driver error.
pub(crate) fn classify(err: &sqlx::Error) -> Class {
    match err {
        sqlx::Error::PoolTimedOut => Class::PoolTimeout,
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => Class::Connection,
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => Class::Decode,
        sqlx::Error::Database(db) => classify_database(db.as_ref()),
        _ => Class::Other,
    }
}

fn classify_database(db: &dyn sqlx::error::DatabaseError) -> Class {
    #[cfg(feature = "mysql")]
    if let Some(my) = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
        return match my.number() {
            // MariaDB max_statement_time, MySQL max_execution_time, lock wait timeout
            1969 | 3024 | 1205 => Class::StatementTimeout,
            // server shutdown, connection killed, server gone
            1053 | 1927 | 2006 | 2013 => Class::Connection,
            _ if my.code().is_some_and(|c| c.starts_with("08")) => Class::Connection,
            _ => Class::Other,
        };
    }
    #[cfg(feature = "sqlite")]
    if let Some(lite) = db.try_downcast_ref::<sqlx::sqlite::SqliteError>() {
        let primary = sqlx::error::DatabaseError::code(lite)
            .and_then(|c| c.parse::<i32>().ok())
            .map(|c| c & 0xff);
        return match primary {
            // SQLITE_BUSY, SQLITE_LOCKED: the busy timeout ran out
            Some(5 | 6) => Class::StatementTimeout,
            _ => Class::Other,
        };
    }
    match db.code().as_deref() {
        // query_canceled (statement_timeout), lock_not_available (lock_timeout)
        Some("57014" | "55P03") => Class::StatementTimeout,
        // admin/crash shutdown, cannot connect now, connection exceptions
        Some(c) if c.starts_with("57P") || c.starts_with("08") => Class::Connection,
        _ => Class::Other,
    }
}

/// True for a deadlock or serialisation failure: the transaction was rolled back and may be
/// retried as a whole.
pub(crate) fn is_conflict(err: &sqlx::Error) -> bool {
    let sqlx::Error::Database(db) = err else {
        return false;
    };
    #[cfg(feature = "mysql")]
    if let Some(my) = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
        return my.number() == 1213;
    }
    matches!(db.code().as_deref(), Some("40P01" | "40001"))
}

/// True when the connection is gone (a reused connection failing so was likely stale).
pub(crate) fn connection_lost(err: &sqlx::Error) -> bool {
    classify(err) == Class::Connection
}

/// True when the connection that produced `err` must not be used again.
pub(crate) fn breaks_connection(err: &sqlx::Error) -> bool {
    matches!(classify(err), Class::Connection | Class::Decode)
}

impl ErrorContext {
    /// Maps a driver error raised by `operation` into psm's error.
    pub(crate) fn map(&self, operation: &'static str, err: sqlx::Error) -> Error {
        let class = classify(&err);
        metrics::counter!("psm_sql_errors_total", "backend" => self.backend, "class" => class_name(class))
            .increment(1);
        tracing::debug!(backend = self.backend, operation, error = %err, "sql operation failed");
        match class {
            Class::PoolTimeout => Error::Timeout {
                backend: self.backend,
                operation,
                after: self.acquire_timeout,
            },
            Class::StatementTimeout => Error::Timeout {
                backend: self.backend,
                operation,
                after: self.statement_timeout.unwrap_or_default(),
            },
            Class::Connection => Error::Connection {
                backend: self.backend,
                message: format!("{operation}: {err}"),
            },
            Class::Decode => Error::Corrupt {
                location: format!("{} result of {operation}", self.backend),
                reason: err.to_string(),
            },
            Class::Other => Error::Backend {
                backend: self.backend,
                message: format!("{operation} failed"),
                source: Some(Box::new(err)),
            },
        }
    }

    /// Client-side bound on one statement: the server's limit plus a second, so that the
    /// server's own cancellation (a clean typed error) normally comes first while a server that
    /// stopped answering still cannot hold a caller forever. `None` without a statement timeout.
    pub(crate) fn client_limit(&self) -> Option<Duration> {
        self.statement_timeout.map(|t| t + Duration::from_secs(1))
    }

    /// The error for a statement that outlived [`client_limit`](Self::client_limit).
    pub(crate) fn statement_timeout(&self, operation: &'static str) -> Error {
        metrics::counter!("psm_sql_errors_total", "backend" => self.backend, "class" => "client_timeout")
            .increment(1);
        Error::Timeout {
            backend: self.backend,
            operation,
            after: self.statement_timeout.unwrap_or_default(),
        }
    }

    /// The error for a connection that could not be had within the acquire timeout.
    pub(crate) fn acquire_timeout(&self, operation: &'static str) -> Error {
        metrics::counter!("psm_sql_errors_total", "backend" => self.backend, "class" => "pool_timeout")
            .increment(1);
        Error::Timeout {
            backend: self.backend,
            operation,
            after: self.acquire_timeout,
        }
    }
}

fn class_name(class: Class) -> &'static str {
    match class {
        Class::PoolTimeout => "pool_timeout",
        Class::StatementTimeout => "statement_timeout",
        Class::Connection => "connection",
        Class::Decode => "decode",
        Class::Other => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> ErrorContext {
        ErrorContext {
            backend: "postgres",
            acquire_timeout: Duration::from_millis(250),
            statement_timeout: None,
        }
    }

    #[test]
    fn driver_errors_map_to_typed_errors() {
        let e = ctx().map("check", sqlx::Error::PoolTimedOut);
        assert!(
            matches!(e, Error::Timeout { after, .. } if after == Duration::from_millis(250)),
            "{e:?}"
        );
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        assert!(matches!(
            ctx().map("check", sqlx::Error::Io(io)),
            Error::Connection { .. }
        ));
        assert!(matches!(
            ctx().map("check", sqlx::Error::PoolClosed),
            Error::Connection { .. }
        ));
        assert!(matches!(
            ctx().map("check", sqlx::Error::Decode("bad".into())),
            Error::Corrupt { .. }
        ));
        assert!(matches!(
            ctx().map("check", sqlx::Error::RowNotFound),
            Error::Backend { .. }
        ));
    }
}
