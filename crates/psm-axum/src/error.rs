//! The error type of psm-axum's configuration: bad permissions, keys, templates.

/// `Result` with psm-axum's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong while configuring layers, authenticators and providers. Request-time
/// failures are [`AuthzRejection`](crate::AuthzRejection)s instead.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A psm error: an invalid required permission, an empty requirement, a store failure.
    #[error(transparent)]
    Core(#[from] psm_core::Error),
    /// A JWT verification key could not be read.
    #[error("invalid JWT key: {reason}")]
    InvalidKey {
        /// What the key parser said.
        reason: String,
    },
    /// A JWT authenticator setting is missing or unsafe.
    #[error("invalid JWT configuration: {reason}")]
    InvalidJwtConfig {
        /// What is wrong.
        reason: &'static str,
    },
    /// An HTTP provider URL template is not usable.
    #[error("invalid URL template {template:?}: {reason}")]
    InvalidUrlTemplate {
        /// The template as given.
        template: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A session cookie setting is not valid (its name or path).
    #[error("invalid session cookie {name:?}: {reason}")]
    InvalidCookie {
        /// The cookie's name.
        name: String,
        /// The rule it breaks.
        reason: &'static str,
    },
    /// A header name is not valid.
    #[error("invalid header name {name:?}")]
    InvalidHeaderName {
        /// The name as given.
        name: String,
    },
}
