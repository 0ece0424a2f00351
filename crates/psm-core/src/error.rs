//! The one error type of psm-core and every backend built on it: typed, naming the field and the rule.

use std::fmt;
use std::time::Duration;

/// `Result` with psm's [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A boxed error from a backend's driver, kept as the `source` of [`Error::Backend`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong in psm. Bad input never changes stored state.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An input field broke a validation rule; nothing was written.
    #[error("invalid {field}: {rule}")]
    InvalidInput {
        /// Which input was rejected.
        field: Field,
        /// The rule it broke.
        rule: Rule,
    },
    /// A permission string is not in psm's grammar; nothing was written.
    #[error(transparent)]
    InvalidPermission(#[from] PermissionError),
    /// A store refused to grow past a configured bound.
    #[error("quota exceeded: {what} is limited to {limit}")]
    QuotaExceeded {
        /// What is bounded (for example `sessions`).
        what: &'static str,
        /// The configured bound.
        limit: u64,
    },
    /// A store URL could not be parsed or names an unknown option.
    #[error("invalid store URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL with any password removed.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No backend is registered for a URL scheme (or its cargo feature is off).
    #[error("no backend registered for URL scheme {scheme:?} (is its cargo feature enabled?)")]
    UnknownScheme {
        /// The scheme as written.
        scheme: String,
    },
    /// A hierarchy of permission bundles is not acyclic or names an invalid permission.
    #[error("invalid permission hierarchy: {reason}")]
    InvalidHierarchy {
        /// What is wrong, for example the cycle `a -> b -> a`.
        reason: String,
    },
    /// The backend could not be reached.
    #[error("{backend}: connection failed: {message}")]
    Connection {
        /// Backend name (`redis`, `postgres`, ...).
        backend: &'static str,
        /// What the driver said.
        message: String,
    },
    /// The backend did not answer in time.
    #[error("{backend}: {operation} timed out after {after:?}")]
    Timeout {
        /// Backend name.
        backend: &'static str,
        /// The operation that timed out.
        operation: &'static str,
        /// The configured limit.
        after: Duration,
    },
    /// Stored data could not be decoded.
    #[error("corrupt record at {location}: {reason}")]
    Corrupt {
        /// Where the record lives (a file path, a key, a row id).
        location: String,
        /// Why it could not be decoded.
        reason: String,
    },
    /// Any other failure reported by a backend's driver.
    #[error("{backend}: {message}")]
    Backend {
        /// Backend name.
        backend: &'static str,
        /// A short description of the failed operation.
        message: String,
        /// The driver's error.
        #[source]
        source: Option<BoxError>,
    },
    /// The store was closed; no further calls are accepted.
    #[error("the store is closed")]
    Closed,
}

impl Error {
    /// Shorthand for [`Error::InvalidInput`].
    pub fn invalid(field: Field, rule: Rule) -> Self {
        Error::InvalidInput { field, rule }
    }

    /// Shorthand for [`Error::Backend`] wrapping a driver error.
    pub fn backend(
        backend: &'static str,
        message: impl Into<String>,
        source: impl Into<BoxError>,
    ) -> Self {
        Error::Backend {
            backend,
            message: message.into(),
            source: Some(source.into()),
        }
    }

    /// True when the error is the caller's fault (bad input), not the backend's.
    pub fn is_invalid_input(&self) -> bool {
        matches!(
            self,
            Error::InvalidInput { .. } | Error::InvalidPermission(_) | Error::InvalidUrl { .. }
        )
    }

    /// True when retrying later may succeed (connection loss, timeout).
    pub fn is_transient(&self) -> bool {
        matches!(self, Error::Connection { .. } | Error::Timeout { .. })
    }
}

/// The input field an [`Error::InvalidInput`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Field {
    /// A session id.
    SessionId,
    /// A user id.
    UserId,
    /// The list of permissions of a session.
    Permissions,
    /// A time to live.
    Ttl,
    /// Session metadata.
    Metadata,
    /// A configuration option.
    Option(&'static str),
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Field::SessionId => f.write_str("session_id"),
            Field::UserId => f.write_str("user_id"),
            Field::Permissions => f.write_str("permissions"),
            Field::Ttl => f.write_str("ttl"),
            Field::Metadata => f.write_str("metadata"),
            Field::Option(name) => write!(f, "option {name}"),
        }
    }
}

/// The validation rule an input broke.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rule {
    /// The value is empty.
    Empty,
    /// The value is longer than `max` bytes.
    TooLong {
        /// Largest allowed length in bytes.
        max: usize,
    },
    /// There are more than `max` items.
    TooMany {
        /// Largest allowed count.
        max: usize,
    },
    /// A character outside the allowed set at byte offset `index`.
    ForbiddenChar {
        /// The offending character.
        ch: char,
        /// Its byte offset.
        index: usize,
        /// The allowed set, in words.
        allowed: &'static str,
    },
    /// The value is zero or too large to represent.
    OutOfRange {
        /// What range is allowed, in words.
        allowed: &'static str,
    },
    /// The value is not a JSON object.
    NotAnObject,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rule::Empty => f.write_str("must not be empty"),
            Rule::TooLong { max } => write!(f, "must be at most {max} bytes"),
            Rule::TooMany { max } => write!(f, "must have at most {max} entries"),
            Rule::ForbiddenChar { ch, index, allowed } => {
                write!(
                    f,
                    "character {ch:?} at byte {index} is not allowed ({allowed})"
                )
            }
            Rule::OutOfRange { allowed } => write!(f, "out of range ({allowed})"),
            Rule::NotAnObject => f.write_str("must be a JSON object"),
        }
    }
}

/// A permission string that is not in psm's grammar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid permission {permission:?}: {rule}")]
pub struct PermissionError {
    /// The rejected permission (cut to 80 bytes for display).
    pub permission: String,
    /// The grammar rule it broke.
    pub rule: PermissionRule,
}

impl PermissionError {
    pub(crate) fn new(permission: &str, rule: PermissionRule) -> Self {
        let mut end = permission.len().min(80);
        while !permission.is_char_boundary(end) {
            end -= 1;
        }
        PermissionError {
            permission: permission[..end].to_owned(),
            rule,
        }
    }
}

/// The grammar rule a permission broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PermissionRule {
    /// Permissions are 1 to 255 bytes.
    Empty,
    /// Longer than 255 bytes.
    TooLong,
    /// A space, control or other non-printable character at this byte offset.
    NotPrintable {
        /// Byte offset.
        index: usize,
    },
    /// Two separators in a row, or a separator at the start or end.
    EmptySegment {
        /// Byte offset of the empty segment.
        index: usize,
    },
    /// `*` that is not a whole segment.
    MisplacedStar {
        /// Byte offset of the `*`.
        index: usize,
    },
    /// `>` that does not end the last segment, or stands alone.
    MisplacedDeep {
        /// Byte offset of the `>`.
        index: usize,
    },
}

impl fmt::Display for PermissionRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PermissionRule::Empty => f.write_str("a permission must not be empty"),
            PermissionRule::TooLong => f.write_str("a permission must be at most 255 bytes"),
            PermissionRule::NotPrintable { index } => {
                write!(f, "non-printable or space character at byte {index}")
            }
            PermissionRule::EmptySegment { index } => write!(
                f,
                "empty segment at byte {index} (segments are separated by one ':' or '.')"
            ),
            PermissionRule::MisplacedStar { index } => write!(
                f,
                "'*' at byte {index} must be a whole segment, as in 'admin:*' or 'posts:*:read'"
            ),
            PermissionRule::MisplacedDeep { index } => write!(
                f,
                "'>' at byte {index} may only end the last segment, as in 'test>'"
            ),
        }
    }
}
