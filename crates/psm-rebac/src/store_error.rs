//! [`StoreError`]: what a tuple store reports when it fails — a [`StoreErrorKind`] callers
//! branch on (timeout, unavailable, closed, limit, corrupt, other), a message and the source.

use std::fmt;
use std::sync::Arc;

/// What kind of failure a tuple store reported; callers map by kind, never by message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// The store did not answer in time (a pool checkout, a statement or a lock wait).
    Timeout,
    /// The store could not be reached or lost its connection.
    Unavailable,
    /// The store was closed; it accepts no further calls.
    Closed,
    /// The store refused to go past one of its own bounds.
    Limit,
    /// Stored data could not be decoded.
    Corrupt,
    /// Any other failure.
    Other,
}

impl StoreErrorKind {
    /// A short lowercase name (`timeout`, `unavailable`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::Unavailable => "unavailable",
            Self::Closed => "closed",
            Self::Limit => "limit",
            Self::Corrupt => "corrupt",
            Self::Other => "other",
        }
    }
}

impl fmt::Display for StoreErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The shareable source of a [`StoreError`].
type Source = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// A tuple store's failure: its [`kind`](Self::kind), a message, and the error behind it.
///
/// Two store errors are equal when their kinds and messages are (the source is not compared).
#[derive(Clone)]
pub struct StoreError {
    kind: StoreErrorKind,
    message: String,
    source: Option<Source>,
}

impl StoreError {
    /// An error of `kind` without a source.
    pub fn new(kind: StoreErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// An error of `kind` caused by `source`; the message is the source's.
    pub fn from_source(
        kind: StoreErrorKind,
        source: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        let source: Source = Arc::from(source.into());
        Self {
            kind,
            message: source.to_string(),
            source: Some(source),
        }
    }

    /// The kind.
    pub fn kind(&self) -> StoreErrorKind {
        self.kind
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Debug for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreError")
            .field("kind", &self.kind)
            .field("message", &self.message)
            .field("source", &self.source)
            .finish()
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

impl PartialEq for StoreError {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.message == other.message
    }
}

impl Eq for StoreError {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn a_store_error_keeps_its_kind_and_source() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
        let e = StoreError::from_source(StoreErrorKind::Unavailable, io);
        assert_eq!(e.kind(), StoreErrorKind::Unavailable);
        assert_eq!(e.message(), "reset by peer");
        let src = e.source().map(ToString::to_string);
        assert_eq!(src.as_deref(), Some("reset by peer"));
        let wrapped = crate::Error::Store(e.clone());
        assert_eq!(wrapped.to_string(), "tuple store error: reset by peer");
        assert!(wrapped.source().is_some());
        assert_eq!(wrapped.store_kind(), Some(StoreErrorKind::Unavailable));
        assert_ne!(e, StoreError::new(StoreErrorKind::Timeout, "reset by peer"));
    }
}
