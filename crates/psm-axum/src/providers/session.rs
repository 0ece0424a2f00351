//! `SessionStoreProvider`: the permissions of the principal's session, from any session store.

use std::sync::Arc;

use async_trait::async_trait;
use psm_core::{PermissionsProvider, Principal, Result, SessionStore};

/// The permissions of the live session named by the principal's `session_id`.
///
/// Decisions (all deny, none fails open):
/// - no session id, an id outside the session-id rules, or no live session → no permissions
///   (an empty list, so `require_*` answers 403), not an error;
/// - a session that belongs to another user than the principal's subject → no permissions
///   (turn this check off with [`any_user`](Self::any_user) when subjects are not user ids);
/// - a store failure → the error (503).
///
/// Put a `CachedStore` (psm-cache) under it for network backends.
#[derive(Debug, Clone)]
pub struct SessionStoreProvider {
    store: Arc<dyn SessionStore>,
    same_user: bool,
}

impl SessionStoreProvider {
    /// Reads sessions from `store`.
    pub fn new(store: Arc<dyn SessionStore>) -> Self {
        SessionStoreProvider {
            store,
            same_user: true,
        }
    }

    /// Serves a session's permissions whatever user it belongs to.
    pub fn any_user(mut self) -> Self {
        self.same_user = false;
        self
    }
}

#[async_trait]
impl PermissionsProvider for SessionStoreProvider {
    async fn fetch_permissions(&self, principal: &Principal) -> Result<Vec<String>> {
        let Some(id) = principal.session_id.as_deref() else {
            return Ok(Vec::new());
        };
        if psm_core::validate::session_id(id).is_err() {
            return Ok(Vec::new());
        }
        match self.store.get_session(id).await? {
            Some(s) if !self.same_user || s.user_id == principal.subject => Ok(s.permissions),
            _ => Ok(Vec::new()),
        }
    }
}
