//! The one mapping of psm's store errors (themselves mapped from sqlx by `crate::error`) onto
//! psm-rebac's [`StoreError`](psm_rebac::StoreError) kinds, keeping the error as the source.

use psm_core::Error;
use psm_rebac::{StoreError, StoreErrorKind};

/// The tuple-store kind of a psm store error.
pub fn store_error_kind(e: &Error) -> StoreErrorKind {
    match e {
        Error::Timeout { .. } => StoreErrorKind::Timeout,
        Error::Connection { .. } => StoreErrorKind::Unavailable,
        Error::Closed => StoreErrorKind::Closed,
        Error::QuotaExceeded { .. } => StoreErrorKind::Limit,
        Error::Corrupt { .. } => StoreErrorKind::Corrupt,
        _ => StoreErrorKind::Other,
    }
}

/// A psm store error as psm-rebac's [`Error::Store`](psm_rebac::Error::Store), with its kind
/// and the error itself as the source.
pub fn store_error(e: Error) -> psm_rebac::Error {
    psm_rebac::Error::Store(StoreError::from_source(store_error_kind(&e), e))
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;
    use std::time::Duration;

    use super::*;

    fn kind_of(e: Error) -> Option<StoreErrorKind> {
        store_error(e).store_kind()
    }

    #[test]
    fn every_store_error_keeps_its_kind() {
        let timeout = Error::Timeout {
            backend: "postgres",
            operation: "check",
            after: Duration::from_millis(5),
        };
        assert_eq!(kind_of(timeout), Some(StoreErrorKind::Timeout));
        let lost = Error::Connection {
            backend: "mysql",
            message: "server gone".into(),
        };
        assert_eq!(kind_of(lost), Some(StoreErrorKind::Unavailable));
        assert_eq!(kind_of(Error::Closed), Some(StoreErrorKind::Closed));
        let quota = Error::QuotaExceeded {
            what: "relationships",
            limit: 3,
        };
        assert_eq!(kind_of(quota), Some(StoreErrorKind::Limit));
        let corrupt = Error::Corrupt {
            location: "row 1".into(),
            reason: "bad".into(),
        };
        assert_eq!(kind_of(corrupt), Some(StoreErrorKind::Corrupt));
        let other = Error::Backend {
            backend: "sqlite",
            message: "read failed".into(),
            source: None,
        };
        assert_eq!(kind_of(other), Some(StoreErrorKind::Other));
    }

    #[test]
    fn the_psm_error_is_the_source() {
        let e = store_error(Error::Closed);
        let psm_rebac::Error::Store(inner) = &e else {
            panic!("not a store error: {e:?}");
        };
        let source = inner.source().and_then(|s| s.downcast_ref::<Error>());
        assert!(matches!(source, Some(Error::Closed)), "{source:?}");
    }

    #[test]
    fn driver_errors_reach_the_tuple_store_kinds() {
        let ctx = crate::error::ErrorContext {
            backend: "postgres",
            acquire_timeout: Duration::from_millis(250),
            statement_timeout: None,
        };
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        let cases = [
            (sqlx::Error::PoolTimedOut, StoreErrorKind::Timeout),
            (sqlx::Error::Io(io), StoreErrorKind::Unavailable),
            (sqlx::Error::Decode("bad".into()), StoreErrorKind::Corrupt),
            (sqlx::Error::RowNotFound, StoreErrorKind::Other),
        ];
        for (driver, want) in cases {
            assert_eq!(kind_of(ctx.map("check", driver)), Some(want));
        }
        assert_eq!(
            kind_of(ctx.statement_timeout("check")),
            Some(StoreErrorKind::Timeout)
        );
    }
}
