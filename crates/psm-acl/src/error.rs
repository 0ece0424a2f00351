//! The one error type of psm-acl: typed, naming what was rejected and why.

use std::path::PathBuf;

/// `Result` with psm-acl's [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the ACL. A failed call never leaves the ACL half-changed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A permission (of a type that uses psm's grammar, such as `String`) is not in the grammar.
    #[error(transparent)]
    InvalidPermission(#[from] psm_core::PermissionError),
    /// Adding `role -> parent` would make role inheritance cyclic. `path` is the cycle, first
    /// and last entry equal (roles as `{:?}`).
    #[error("role inheritance cycle: {}", path.join(" -> "))]
    Cycle {
        /// The roles of the cycle, formatted with `Debug`.
        path: Vec<String>,
    },
    /// The ACL refused to grow past one of its [`AclLimits`](crate::AclLimits).
    #[error("quota exceeded: {what} is limited to {limit}")]
    QuotaExceeded {
        /// What is bounded (`roles`, `resources`, `permissions`, `grants`, `parents`, `file bytes`).
        what: &'static str,
        /// The configured bound.
        limit: usize,
    },
    /// Reading or writing an ACL file failed.
    #[error("acl file {}: {source}", path.display())]
    Io {
        /// The file (or its directory).
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// Stored ACL data could not be decoded.
    #[error("corrupt acl data at {location}: {reason}")]
    Corrupt {
        /// Where the data came from (a file path, `json`, ...).
        location: String,
        /// Why it could not be decoded.
        reason: String,
    },
}

impl Error {
    pub(crate) fn quota(what: &'static str, limit: usize) -> Self {
        Error::QuotaExceeded { what, limit }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// True when the error is the caller's fault (bad permission, cycle, quota), not the disk's.
    pub fn is_invalid_input(&self) -> bool {
        matches!(
            self,
            Error::InvalidPermission(_) | Error::Cycle { .. } | Error::QuotaExceeded { .. }
        )
    }
}

/// Lets ACL errors flow into code that speaks psm-core's error type (the umbrella crate).
impl From<Error> for psm_core::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::InvalidPermission(p) => psm_core::Error::InvalidPermission(p),
            Error::Cycle { .. } => psm_core::Error::InvalidHierarchy {
                reason: e.to_string(),
            },
            Error::QuotaExceeded { what, limit } => psm_core::Error::QuotaExceeded {
                what,
                limit: u64::try_from(limit).unwrap_or(u64::MAX),
            },
            Error::Corrupt { location, reason } => psm_core::Error::Corrupt { location, reason },
            Error::Io { .. } => psm_core::Error::backend("acl", "acl file i/o failed", e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycle_error_names_the_path_and_maps_to_invalid_hierarchy() {
        let e = Error::Cycle {
            path: vec!["\"a\"".into(), "\"b\"".into(), "\"a\"".into()],
        };
        assert_eq!(
            e.to_string(),
            "role inheritance cycle: \"a\" -> \"b\" -> \"a\""
        );
        assert!(e.is_invalid_input());
        let core: psm_core::Error = e.into();
        assert!(matches!(core, psm_core::Error::InvalidHierarchy { .. }));
    }

    #[test]
    fn io_error_maps_to_backend_and_is_not_invalid_input() {
        let e = Error::io("/x", std::io::Error::other("disk"));
        assert!(!e.is_invalid_input());
        let core: psm_core::Error = e.into();
        assert!(matches!(
            core,
            psm_core::Error::Backend { backend: "acl", .. }
        ));
    }
}
