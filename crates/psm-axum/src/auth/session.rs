//! `SessionAuthenticator`: `X-Session-ID: <id>` looked up in a session store.

use std::sync::Arc;

use async_trait::async_trait;
use http::{HeaderMap, HeaderName};
use psm_core::{Principal, SessionStore};

use crate::authenticate::Authenticator;
use crate::error::{Error, Result};
use crate::rejection::AuthzRejection;

/// The default session header.
pub const SESSION_HEADER: &str = "x-session-id";

/// Authenticates a request by the live session its header names: the principal's subject and
/// username are the session's user id, its session id the header's value (so the
/// [`SessionStoreProvider`](crate::providers::SessionStoreProvider) finds its permissions).
///
/// No header → anonymous; an invalid id or no live session → 401; a store failure → 503.
#[derive(Debug, Clone)]
pub struct SessionAuthenticator {
    store: Arc<dyn SessionStore>,
    header: HeaderName,
}

impl SessionAuthenticator {
    /// Reads `X-Session-ID` and looks it up in `store`.
    pub fn new(store: Arc<dyn SessionStore>) -> Self {
        SessionAuthenticator {
            store,
            header: HeaderName::from_static(SESSION_HEADER),
        }
    }

    /// Reads the session id from `header` instead.
    pub fn header(mut self, header: &str) -> Result<Self> {
        self.header = HeaderName::try_from(header).map_err(|_| Error::InvalidHeaderName {
            name: header.to_owned(),
        })?;
        Ok(self)
    }
}

#[async_trait]
impl Authenticator for SessionAuthenticator {
    async fn authenticate(
        &self,
        headers: &HeaderMap,
    ) -> std::result::Result<Option<Principal>, AuthzRejection> {
        let Some(value) = headers.get(&self.header) else {
            return Ok(None);
        };
        let invalid = AuthzRejection::Unauthenticated {
            detail: "invalid session id",
        };
        let id = value.to_str().map_err(|_| invalid.clone())?;
        psm_core::validate::session_id(id).map_err(|_| invalid)?;
        match self.store.get_session(id).await {
            Ok(Some(session)) => Ok(Some(
                Principal::new(session.user_id.clone())
                    .with_username(session.user_id)
                    .with_session_id(session.session_id),
            )),
            Ok(None) => Err(AuthzRejection::Unauthenticated {
                detail: "unknown or expired session",
            }),
            Err(e) => {
                tracing::warn!(error = %e, "session store failed; request refused");
                Err(AuthzRejection::Unavailable {
                    detail: "session store unavailable",
                })
            }
        }
    }
}
