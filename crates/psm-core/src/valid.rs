//! Validated input types: `SessionId`, `UserId`, `Ttl` and `ValidSession` can only be made by
//! validating, so a [`SessionBackend`](crate::backend::SessionBackend) that receives one knows
//! the rules of [`validate`](mod@crate::validate) were applied.

use std::fmt;
use std::ops::Deref;
use std::time::Duration;

use crate::error::Result;
use crate::permission::PermissionSet;
use crate::session::{Expiry, NewSession, Session};
use crate::time::Timestamp;
use crate::validate::{self, Limits};

/// A session id that passed [`validate::session_id`].
///
/// ```
/// use psm_core::valid::SessionId;
/// assert_eq!(SessionId::parse("s-1")?.as_str(), "s-1");
/// assert!(SessionId::parse("../etc").is_err());
/// # Ok::<(), psm_core::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionId<'a>(&'a str);

impl<'a> SessionId<'a> {
    /// Validates `id`.
    #[inline]
    pub fn parse(id: &'a str) -> Result<Self> {
        validate::session_id(id)?;
        Ok(SessionId(id))
    }

    /// The id.
    #[inline]
    pub fn as_str(self) -> &'a str {
        self.0
    }
}

/// A user id that passed [`validate::user_id`].
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct UserId<'a>(&'a str);

impl<'a> UserId<'a> {
    /// Validates `id`.
    pub fn parse(id: &'a str) -> Result<Self> {
        validate::user_id(id)?;
        Ok(UserId(id))
    }

    /// The id.
    pub fn as_str(self) -> &'a str {
        self.0
    }
}

macro_rules! str_newtype {
    ($($name:ident),*) => {$(
        impl Deref for $name<'_> {
            type Target = str;
            #[inline]
            fn deref(&self) -> &str {
                self.0
            }
        }
        impl fmt::Debug for $name<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(self.0, f)
            }
        }
        impl fmt::Display for $name<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.0)
            }
        }
    )*};
}
str_newtype!(SessionId, UserId);

/// A TTL that passed [`validate::ttl`] (1 ms to 100 years).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ttl(Duration);

impl Ttl {
    /// Validates `ttl`.
    pub fn new(ttl: Duration) -> Result<Self> {
        validate::ttl(ttl)?;
        Ok(Ttl(ttl))
    }

    /// The duration.
    pub fn get(self) -> Duration {
        self.0
    }

    /// The instant `self` after `now`.
    pub fn after(self, now: Timestamp) -> Timestamp {
        now.saturating_add(self.0)
    }
}

/// A [`NewSession`] whose every field passed validation, with its permissions compiled.
#[derive(Debug, Clone)]
pub struct ValidSession {
    parts: SessionParts,
}

/// The fields of a [`ValidSession`], taken apart by [`ValidSession::into_parts`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SessionParts {
    /// A valid session id.
    pub session_id: String,
    /// A valid user id.
    pub user_id: String,
    /// The compiled permissions (within the store's limits).
    pub grants: PermissionSet,
    /// The expiry; an `Expiry::After` TTL is within bounds.
    pub expiry: Expiry,
    /// The metadata: always a JSON object (`{}` when none was given).
    pub metadata: serde_json::Value,
}

impl SessionParts {
    /// The session as a new record written at `now`, expiring at `expires_at`.
    pub fn into_session(self, now: Timestamp, expires_at: Option<Timestamp>) -> Session {
        Session {
            session_id: self.session_id,
            user_id: self.user_id,
            permissions: self.grants.to_vec(),
            created_at: now,
            updated_at: now,
            expires_at,
            metadata: self.metadata,
        }
    }
}

impl ValidSession {
    /// Validates `session` under `limits`; nothing is written on error.
    pub fn new(session: NewSession, limits: &Limits) -> Result<Self> {
        let grants = session.validate(limits)?;
        Ok(ValidSession {
            parts: SessionParts {
                session_id: session.session_id,
                user_id: session.user_id,
                grants,
                expiry: session.expiry,
                metadata: session
                    .metadata
                    .unwrap_or_else(|| serde_json::Value::Object(serde_json::Map::new())),
            },
        })
    }

    /// The session id.
    pub fn session_id(&self) -> SessionId<'_> {
        SessionId(&self.parts.session_id)
    }

    /// The user id.
    pub fn user_id(&self) -> UserId<'_> {
        UserId(&self.parts.user_id)
    }

    /// The compiled permissions.
    pub fn grants(&self) -> &PermissionSet {
        &self.parts.grants
    }

    /// Takes the validated fields apart.
    pub fn into_parts(self) -> SessionParts {
        self.parts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Error, Field};

    #[test]
    fn only_valid_values_are_made() {
        assert!(matches!(
            UserId::parse("a\nb"),
            Err(Error::InvalidInput {
                field: Field::UserId,
                ..
            })
        ));
        assert!(Ttl::new(Duration::ZERO).is_err());
        assert_eq!(
            Ttl::new(Duration::from_secs(1))
                .unwrap()
                .after(Timestamp::from_millis(5)),
            Timestamp::from_millis(1_005)
        );
        let s = ValidSession::new(
            NewSession::new("s", "u").permissions(["a", "a"]),
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(s.grants().len(), 1);
        assert_eq!(s.into_parts().metadata, serde_json::json!({}));
        assert!(ValidSession::new(NewSession::new("s", "u\0"), &Limits::default()).is_err());
    }
}
