//! `HierarchyProvider`: wraps a provider and expands its answer through a `Hierarchy` of named
//! permission bundles.

use std::sync::Arc;

use async_trait::async_trait;
use psm_core::{Hierarchy, PermissionsProvider, Principal, Result};

/// Expands the inner provider's permissions with everything they imply
/// (`editor → [read:posts, write:posts]`, transitively; cycles are rejected when the
/// [`Hierarchy`] is built). Put a [`CachedProvider`](crate::CachedProvider) outside it, so that
/// the expanded answer is what gets cached.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use psm_cache::HierarchyProvider;
/// use psm_core::{Hierarchy, PermissionsProvider, Principal, Result};
///
/// #[derive(Debug)]
/// struct Roles;
/// #[psm_core::async_trait]
/// impl PermissionsProvider for Roles {
///     async fn fetch_permissions(&self, _: &Principal) -> Result<Vec<String>> {
///         Ok(vec!["editor".into()])
///     }
/// }
///
/// let h = Hierarchy::builder().bundle("editor", ["read:posts", "write:posts"]).build()?;
/// let p = HierarchyProvider::new(Roles, h);
/// let got = p.fetch_permissions(&Principal::new("u")).await?;
/// assert_eq!(got, ["editor", "read:posts", "write:posts"]);
/// # Ok::<(), psm_core::Error>(()) }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct HierarchyProvider<P> {
    inner: P,
    hierarchy: Arc<Hierarchy>,
}

impl<P: PermissionsProvider> HierarchyProvider<P> {
    /// Expands `inner`'s answers through `hierarchy`.
    pub fn new(inner: P, hierarchy: impl Into<Arc<Hierarchy>>) -> Self {
        HierarchyProvider {
            inner,
            hierarchy: hierarchy.into(),
        }
    }

    /// The provider being expanded.
    pub fn inner(&self) -> &P {
        &self.inner
    }
}

#[async_trait]
impl<P: PermissionsProvider> PermissionsProvider for HierarchyProvider<P> {
    async fn fetch_permissions(&self, principal: &Principal) -> Result<Vec<String>> {
        let base = self.inner.fetch_permissions(principal).await?;
        Ok(self.hierarchy.expand(base))
    }
}
