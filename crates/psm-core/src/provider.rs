//! `PermissionsProvider`: where a web request's permissions come from, and the `Principal` it asks about.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// Who is asking: the authenticated subject and what the authentication said about it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Principal {
    /// Stable subject id (the JWT `sub`, a user id).
    pub subject: String,
    /// Display or login name, when known.
    pub username: Option<String>,
    /// Session id, when the request carried one.
    pub session_id: Option<String>,
    /// JWT claims (a JSON object), when authentication used a token.
    pub claims: serde_json::Value,
}

impl Principal {
    /// A principal with only a subject.
    pub fn new(subject: impl Into<String>) -> Self {
        Principal {
            subject: subject.into(),
            username: None,
            session_id: None,
            claims: serde_json::Value::Object(serde_json::Map::new()),
        }
    }

    /// Sets the username.
    pub fn with_username(mut self, username: impl Into<String>) -> Self {
        self.username = Some(username.into());
        self
    }

    /// Sets the session id.
    pub fn with_session_id(mut self, session_id: impl Into<String>) -> Self {
        self.session_id = Some(session_id.into());
        self
    }

    /// Sets the claims.
    pub fn with_claims(mut self, claims: serde_json::Value) -> Self {
        self.claims = claims;
        self
    }

    /// The name providers key on: the username when set, else the subject.
    pub fn lookup_name(&self) -> &str {
        self.username.as_deref().unwrap_or(&self.subject)
    }
}

/// Fetches the permissions of a principal. Failures must surface as errors (callers fail closed).
#[async_trait]
pub trait PermissionsProvider: Send + Sync + std::fmt::Debug {
    /// The principal's granted permissions (patterns allowed).
    async fn fetch_permissions(&self, principal: &Principal) -> Result<Vec<String>>;
}

#[async_trait]
impl<P: PermissionsProvider + ?Sized> PermissionsProvider for std::sync::Arc<P> {
    async fn fetch_permissions(&self, principal: &Principal) -> Result<Vec<String>> {
        (**self).fetch_permissions(principal).await
    }
}
