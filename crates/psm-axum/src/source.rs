//! `PermissionSource`: where a request's compiled permissions come from — any
//! `PermissionsProvider` (compiled per request by [`Uncached`]) or a `CachedProvider` (compiled
//! once, cached).

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
#[cfg(feature = "cache")]
use psm_cache::CachedProvider;
use psm_core::permission::DEFAULT_MAX_PERMISSIONS;
use psm_core::{PermissionSet, PermissionsProvider, Principal, Result};

/// Gives the compiled permissions of a principal. Object safe: `Arc<dyn PermissionSource>`.
/// Failures are errors; the layers answer them with 503 (fail closed).
#[async_trait]
pub trait PermissionSource: Send + Sync + fmt::Debug {
    /// The principal's permissions, compiled for checking.
    async fn permission_set(&self, principal: &Principal) -> Result<Arc<PermissionSet>>;
}

/// Any [`PermissionsProvider`], its answer validated and compiled on every request (bounded
/// by `max_permissions`; a permission outside the grammar is an error).
#[derive(Debug, Clone)]
pub struct Uncached<P> {
    provider: P,
    max_permissions: usize,
}

impl<P: PermissionsProvider> Uncached<P> {
    /// Wraps `provider` with the default bound of 10,000 permissions.
    pub fn new(provider: P) -> Self {
        Uncached {
            provider,
            max_permissions: DEFAULT_MAX_PERMISSIONS,
        }
    }

    /// Sets the bound on the number of permissions accepted from the provider.
    pub fn max_permissions(mut self, max: usize) -> Self {
        self.max_permissions = max;
        self
    }
}

#[async_trait]
impl<P: PermissionsProvider> PermissionSource for Uncached<P> {
    async fn permission_set(&self, principal: &Principal) -> Result<Arc<PermissionSet>> {
        let permissions = self.provider.fetch_permissions(principal).await?;
        Ok(Arc::new(PermissionSet::new_bounded(
            permissions,
            self.max_permissions,
        )?))
    }
}

#[cfg(feature = "cache")]
#[async_trait]
impl<P: PermissionsProvider> PermissionSource for CachedProvider<P> {
    async fn permission_set(&self, principal: &Principal) -> Result<Arc<PermissionSet>> {
        CachedProvider::permission_set(self, principal).await
    }
}

#[async_trait]
impl<S: PermissionSource + ?Sized> PermissionSource for Arc<S> {
    async fn permission_set(&self, principal: &Principal) -> Result<Arc<PermissionSet>> {
        (**self).permission_set(principal).await
    }
}
