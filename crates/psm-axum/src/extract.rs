//! Handler extractors: `Authenticated(Principal)` and `Permissions(Arc<PermissionSet>)`.

use std::ops::Deref;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use http::request::Parts;
use psm_core::{PermissionSet, Principal};

use crate::rejection::AuthzRejection;
use crate::resolve::resolve;

/// The request's principal (put in the request extensions by an
/// [`AuthenticateLayer`](crate::AuthenticateLayer) or by the application's own
/// authentication); 401 without one.
#[derive(Debug, Clone, PartialEq)]
pub struct Authenticated(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Authenticated {
    type Rejection = AuthzRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .map(Authenticated)
            .ok_or(AuthzRejection::Unauthenticated {
                detail: "no credentials",
            })
    }
}

/// The principal's permissions from the router-wide [`PermissionsLayer`](crate::PermissionsLayer)
/// source: reused when a `require_*` layer without a source of its own resolved them for this
/// request already, fetched now otherwise. 401 without a principal, 503 when the source fails,
/// 500 when there is no source. Derefs to [`PermissionSet`].
///
/// ```
/// use psm_axum::{Permissions, AuthzRejection};
/// async fn handler(perms: Permissions) -> Result<&'static str, AuthzRejection> {
///     perms.require("posts:delete")?; // 403 unless granted
///     Ok("deleted")
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Permissions(pub Arc<PermissionSet>);

impl Permissions {
    /// `Ok` when `permission` is granted, else a 403 rejection (also for a permission
    /// outside the grammar: never a silent pass).
    pub fn require(&self, permission: &str) -> Result<(), AuthzRejection> {
        if self.0.check(permission).unwrap_or(false) {
            Ok(())
        } else {
            Err(AuthzRejection::Forbidden {
                required: vec![permission.to_owned()],
                mode: "all",
            })
        }
    }
}

impl Deref for Permissions {
    type Target = PermissionSet;

    fn deref(&self) -> &PermissionSet {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Permissions {
    type Rejection = AuthzRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        resolve(&mut parts.extensions, None).await.map(Permissions)
    }
}
