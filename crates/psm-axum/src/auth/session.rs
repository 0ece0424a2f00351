//! `SessionAuthenticator`: a session id from a header (`X-Session-ID`) or a cookie
//! (`psm_session`), looked up in a session store.

use std::sync::Arc;

use async_trait::async_trait;
use http::{HeaderMap, HeaderName};
use psm_core::{Principal, SessionStore};

use super::cookie::SessionCookie;
use crate::authenticate::Authenticator;
use crate::error::{Error, Result};
use crate::rejection::AuthzRejection;

/// The default session header.
pub const SESSION_HEADER: &str = "x-session-id";

/// Where a [`SessionAuthenticator`] reads the session id.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionSource {
    /// A request header (default `X-Session-ID`), for API clients.
    Header(HeaderName),
    /// A cookie (default `psm_session`), for browsers.
    Cookie(SessionCookie),
}

/// Authenticates a request by the live session it names, in a header or a cookie: the
/// principal's subject and username are the session's user id, its session id the one the
/// request named (so the [`SessionStoreProvider`](crate::providers::SessionStoreProvider)
/// finds its permissions).
///
/// - **Header** ([`new`](Self::new), [`header`](Self::header)): no header → anonymous; an
///   invalid id or no live session → 401 at once (the client chose to send it).
/// - **Cookie** ([`from_cookie`](Self::from_cookie)): no cookie, an invalid id or no live
///   session → anonymous, so that a browser holding a stale cookie still reaches public
///   routes such as a login page; routes behind `require_*` layers answer 401.
/// - Either way, a store failure → 503 (never a pass).
///
/// Neither source is an HTTP authentication scheme, so 401 answers carry no
/// `WWW-Authenticate` challenge (see [`Authenticator::challenge`]). To accept both, put two
/// authenticators in a [`FirstMatch`](crate::FirstMatch).
///
/// ```
/// use std::sync::Arc;
/// use psm_axum::AuthenticateLayer;
/// use psm_axum::auth::{SessionAuthenticator, SessionCookie, SessionSource};
/// let store: Arc<dyn psm_core::SessionStore> = Arc::new(psm_memory::MemoryStore::new());
/// let by_header = SessionAuthenticator::new(store.clone());                // X-Session-ID
/// let by_cookie = SessionAuthenticator::from_cookie(store, SessionCookie::new("sid")?);
/// assert!(matches!(by_cookie.source(), SessionSource::Cookie(c) if c.name() == "sid"));
/// let layer = AuthenticateLayer::new(by_cookie);
/// # let _ = (by_header, layer);
/// # Ok::<(), psm_axum::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct SessionAuthenticator {
    store: Arc<dyn SessionStore>,
    source: SessionSource,
}

impl SessionAuthenticator {
    /// Reads `X-Session-ID` and looks it up in `store`.
    pub fn new(store: Arc<dyn SessionStore>) -> Self {
        SessionAuthenticator {
            store,
            source: SessionSource::Header(HeaderName::from_static(SESSION_HEADER)),
        }
    }

    /// Reads the session id from `cookie` (`SessionCookie::default()`: `psm_session`) and
    /// looks it up in `store`.
    pub fn from_cookie(store: Arc<dyn SessionStore>, cookie: SessionCookie) -> Self {
        SessionAuthenticator {
            store,
            source: SessionSource::Cookie(cookie),
        }
    }

    /// Reads the session id from the header `header` instead.
    pub fn header(mut self, header: &str) -> Result<Self> {
        let name = HeaderName::try_from(header).map_err(|_| Error::InvalidHeaderName {
            name: header.to_owned(),
        })?;
        self.source = SessionSource::Header(name);
        Ok(self)
    }

    /// Reads the session id from `cookie` instead.
    pub fn cookie(mut self, cookie: SessionCookie) -> Self {
        self.source = SessionSource::Cookie(cookie);
        self
    }

    /// Where the session id is read.
    pub fn source(&self) -> &SessionSource {
        &self.source
    }
}

#[async_trait]
impl Authenticator for SessionAuthenticator {
    async fn authenticate(
        &self,
        headers: &HeaderMap,
    ) -> std::result::Result<Option<Principal>, AuthzRejection> {
        let (id, strict) = match &self.source {
            SessionSource::Header(name) => {
                let Some(value) = headers.get(name) else {
                    return Ok(None);
                };
                let invalid = AuthzRejection::Unauthenticated {
                    detail: "invalid session id",
                };
                (value.to_str().map_err(|_| invalid)?, true)
            }
            SessionSource::Cookie(cookie) => match cookie.find(headers) {
                Some(id) => (id, false),
                None => return Ok(None),
            },
        };
        if psm_core::validate::session_id(id).is_err() {
            return if strict {
                Err(AuthzRejection::Unauthenticated {
                    detail: "invalid session id",
                })
            } else {
                Ok(None)
            };
        }
        match self.store.get_session(id).await {
            Ok(Some(session)) => Ok(Some(
                Principal::new(session.user_id.clone())
                    .with_username(session.user_id)
                    .with_session_id(session.session_id),
            )),
            Ok(None) if strict => Err(AuthzRejection::Unauthenticated {
                detail: "unknown or expired session",
            }),
            Ok(None) => Ok(None),
            Err(e) => {
                tracing::warn!(error = %e, "session store failed; request refused");
                Err(AuthzRejection::Unavailable {
                    detail: "session store unavailable",
                })
            }
        }
    }
}
