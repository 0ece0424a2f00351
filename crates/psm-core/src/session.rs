//! Session values: `Session` (what is stored), `NewSession` (what a caller writes), `SessionInfo`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::permission::PermissionSet;
use crate::time::Timestamp;
use crate::validate::{self, Limits};

/// Default time to live of a session when neither the caller nor the builder chose one.
pub const DEFAULT_TTL: Duration = Duration::from_secs(3600);

/// A stored session. Owned values: changing one never changes what is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// The session id.
    pub session_id: String,
    /// The user the session belongs to.
    pub user_id: String,
    /// Granted permissions, de-duplicated, in the order first given.
    pub permissions: Vec<String>,
    /// When the session was first stored.
    pub created_at: Timestamp,
    /// When the session was last written.
    pub updated_at: Timestamp,
    /// When the session expires, if it does.
    pub expires_at: Option<Timestamp>,
    /// Application data: always a JSON object.
    pub metadata: serde_json::Value,
}

impl Session {
    /// True when the session has expired at `now`.
    pub fn is_expired_at(&self, now: Timestamp) -> bool {
        is_expired(self.expires_at, now)
    }

    /// Time left at `now` (`None` when the session never expires).
    pub fn ttl_remaining_at(&self, now: Timestamp) -> Option<Duration> {
        self.expires_at.map(|e| e.saturating_since(now))
    }

    /// The summary returned by `get_session_info`.
    pub fn info_at(&self, now: Timestamp) -> SessionInfo {
        SessionInfo {
            session_id: self.session_id.clone(),
            user_id: self.user_id.clone(),
            permission_count: self.permissions.len(),
            created_at: self.created_at,
            updated_at: self.updated_at,
            expires_at: self.expires_at,
            ttl_remaining: self.ttl_remaining_at(now),
            metadata: self.metadata.clone(),
        }
    }
}

/// True when `expires_at` is set and not after `now`.
#[inline]
pub fn is_expired(expires_at: Option<Timestamp>, now: Timestamp) -> bool {
    matches!(expires_at, Some(e) if e <= now)
}

/// Facts about a session without its permission list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// The session id.
    pub session_id: String,
    /// Its user.
    pub user_id: String,
    /// How many permissions it holds.
    pub permission_count: usize,
    /// When it was first stored.
    pub created_at: Timestamp,
    /// When it was last written.
    pub updated_at: Timestamp,
    /// When it expires, if it does.
    pub expires_at: Option<Timestamp>,
    /// Time left (`None` when it never expires).
    pub ttl_remaining: Option<Duration>,
    /// Its metadata object.
    pub metadata: serde_json::Value,
}

/// How long a new session lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Expiry {
    /// The manager's (or store's) default TTL.
    #[default]
    Default,
    /// This long from now.
    After(Duration),
    /// Never.
    Never,
}

impl Expiry {
    /// The expiry instant at `now`, with `default` standing in for [`Expiry::Default`].
    pub fn resolve(self, now: Timestamp, default: Option<Duration>) -> Option<Timestamp> {
        match self {
            Expiry::After(d) => Some(now.saturating_add(d)),
            Expiry::Default => default.map(|d| now.saturating_add(d)),
            Expiry::Never => None,
        }
    }
}

/// A session to store: `NewSession::new(id, user).permissions([..]).ttl(d).metadata(json)`.
///
/// ```
/// use psm_core::NewSession;
/// use std::time::Duration;
/// let s = NewSession::new("s1", "u1")
///     .permissions(["read", "write"])
///     .ttl(Duration::from_secs(60))
///     .metadata(serde_json::json!({"ip": "10.0.0.1"}));
/// assert_eq!(s.session_id, "s1");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct NewSession {
    /// The session id (`[A-Za-z0-9._~-]`, 1–255 bytes).
    pub session_id: String,
    /// The user id (1–255 bytes, no control characters).
    pub user_id: String,
    /// The permissions to grant.
    pub permissions: Vec<String>,
    /// How long it lives.
    pub expiry: Expiry,
    /// Application data (a JSON object); `None` stores `{}`.
    pub metadata: Option<serde_json::Value>,
}

impl NewSession {
    /// A session with no permissions, the default TTL and no metadata.
    pub fn new(session_id: impl Into<String>, user_id: impl Into<String>) -> Self {
        NewSession {
            session_id: session_id.into(),
            user_id: user_id.into(),
            permissions: Vec::new(),
            expiry: Expiry::Default,
            metadata: None,
        }
    }

    /// Sets the permissions.
    pub fn permissions<I, S>(mut self, permissions: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.permissions = permissions.into_iter().map(Into::into).collect();
        self
    }

    /// Lives for `ttl` from now.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.expiry = Expiry::After(ttl);
        self
    }

    /// `Some(ttl)` lives that long; `None` takes the default TTL.
    pub fn ttl_or_default(mut self, ttl: Option<Duration>) -> Self {
        self.expiry = ttl.map_or(Expiry::Default, Expiry::After);
        self
    }

    /// Never expires.
    pub fn no_expiry(mut self) -> Self {
        self.expiry = Expiry::Never;
        self
    }

    /// Attaches a metadata object.
    pub fn metadata(mut self, metadata: serde_json::Value) -> Self {
        self.metadata = Some(metadata);
        self
    }

    /// Validates every field and compiles the permissions. Backends call this before writing,
    /// so that bad input is rejected with nothing written.
    pub fn validate(&self, limits: &Limits) -> Result<PermissionSet> {
        validate::session_id(&self.session_id)?;
        validate::user_id(&self.user_id)?;
        if let Expiry::After(ttl) = self.expiry {
            validate::ttl(ttl)?;
        }
        if let Some(m) = &self.metadata {
            validate::metadata(m)?;
        }
        validate::permissions(&self.permissions, limits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Error, Field};

    #[test]
    fn validate_rejects_each_bad_field_by_name() {
        let limits = Limits::default();
        let bad_meta = NewSession::new("s", "u").metadata(serde_json::json!([1]));
        assert!(matches!(
            bad_meta.validate(&limits),
            Err(Error::InvalidInput {
                field: Field::Metadata,
                ..
            })
        ));
        let bad_ttl = NewSession::new("s", "u").ttl(Duration::ZERO);
        assert!(matches!(
            bad_ttl.validate(&limits),
            Err(Error::InvalidInput {
                field: Field::Ttl,
                ..
            })
        ));
        let bad_perm = NewSession::new("s", "u").permissions(["a::b"]);
        assert!(matches!(
            bad_perm.validate(&limits),
            Err(Error::InvalidPermission(_))
        ));
    }

    #[test]
    fn expiry_resolves_default_from_the_caller() {
        let now = Timestamp::from_millis(1_000);
        assert_eq!(Expiry::Default.resolve(now, None), None);
        assert_eq!(
            Expiry::Default.resolve(now, Some(Duration::from_secs(1))),
            Some(Timestamp::from_millis(2_000))
        );
        assert_eq!(
            Expiry::Never.resolve(now, Some(Duration::from_secs(1))),
            None
        );
    }
}
