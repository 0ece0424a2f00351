//! `Assignments`: a catalog and an [`AssignmentStore`] together — every grant is checked against
//! the catalog before anything is written, and `has_permission` answers through direct and group
//! grants with psm's one matcher. It is also a [`PermissionsProvider`].

use std::sync::Arc;

use async_trait::async_trait;
use psm_core::{Error as CoreError, Field, PermissionSet, PermissionsProvider, Principal};

use crate::catalog::Catalog;
use crate::error::Result;
use crate::store::AssignmentStore;

/// Permagate's `UserPermission`, `GroupPermission`, group membership and `has_permission`, over
/// any [`AssignmentStore`].
///
/// ```
/// use psm_catalog::{Assignments, Catalog, MemoryAssignments, Permission};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let catalog = Catalog::new(Permission::root().register([
///     Permission::new("test").register([Permission::new("sub1"), Permission::new("sub2")]),
/// ]))?;
/// let gate = Assignments::new(catalog, MemoryAssignments::new());
/// gate.assign_user("test", "test>").await?;             // UserPermission.objects.create
/// gate.assign_group("team", "test.sub1").await?;        // GroupPermission.objects.create
/// gate.add_member("team", "test2").await?;              // test_group.user_set.add
/// assert!(gate.has_permission("test", "test.sub1").await?);
/// assert!(gate.has_permission("test2", "test.sub1").await?);
/// assert!(!gate.has_permission("test2", "test.sub2").await?);
/// assert!(gate.assign_user("test", "test.sub3").await.is_err()); // not declared: nothing written
/// # Ok::<(), psm_catalog::Error>(()) }).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct Assignments<S> {
    catalog: Arc<Catalog>,
    store: S,
}

/// User and group ids follow psm's user-id rule: 1–255 bytes without control characters.
fn check_id(field: &'static str, id: &str) -> Result<()> {
    psm_core::validate::user_id(id).map_err(|e| match e {
        CoreError::InvalidInput { rule, .. } => CoreError::invalid(Field::Option(field), rule),
        other => other,
    })?;
    Ok(())
}

impl<S: AssignmentStore> Assignments<S> {
    /// Assignments of `catalog`'s permissions kept in `store`.
    pub fn new(catalog: impl Into<Arc<Catalog>>, store: S) -> Self {
        Assignments {
            catalog: catalog.into(),
            store,
        }
    }

    /// The catalog grants are checked against.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The store underneath.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Grants `permission` (an entry of the catalog's `permission_list`) to `user`; an
    /// undeclared permission is [`Error::Undeclared`](crate::Error::Undeclared) and writes
    /// nothing. False when the user had it already.
    pub async fn assign_user(&self, user: &str, permission: &str) -> Result<bool> {
        check_id("user_id", user)?;
        self.catalog.validate_grant(permission)?;
        Ok(self.store.grant_user(user, permission).await?)
    }

    /// Takes a direct grant back (any permission of the grammar, so grants of nodes since
    /// removed from the catalog can be cleaned up). False when there was none.
    pub async fn unassign_user(&self, user: &str, permission: &str) -> Result<bool> {
        check_id("user_id", user)?;
        psm_core::permission::validate_permission(permission)?;
        Ok(self.store.revoke_user(user, permission).await?)
    }

    /// Grants `permission` (checked like [`assign_user`](Self::assign_user)) to `group`.
    pub async fn assign_group(&self, group: &str, permission: &str) -> Result<bool> {
        check_id("group_id", group)?;
        self.catalog.validate_grant(permission)?;
        Ok(self.store.grant_group(group, permission).await?)
    }

    /// Takes a group grant back. False when there was none.
    pub async fn unassign_group(&self, group: &str, permission: &str) -> Result<bool> {
        check_id("group_id", group)?;
        psm_core::permission::validate_permission(permission)?;
        Ok(self.store.revoke_group(group, permission).await?)
    }

    /// Makes `user` a member of `group`.
    pub async fn add_member(&self, group: &str, user: &str) -> Result<bool> {
        check_id("group_id", group)?;
        check_id("user_id", user)?;
        Ok(self.store.add_member(group, user).await?)
    }

    /// Ends a membership.
    pub async fn remove_member(&self, group: &str, user: &str) -> Result<bool> {
        check_id("group_id", group)?;
        check_id("user_id", user)?;
        Ok(self.store.remove_member(group, user).await?)
    }

    /// The user's direct grants.
    pub async fn user_grants(&self, user: &str) -> Result<Vec<String>> {
        check_id("user_id", user)?;
        Ok(self.store.user_grants(user).await?)
    }

    /// The group's grants.
    pub async fn group_grants(&self, group: &str) -> Result<Vec<String>> {
        check_id("group_id", group)?;
        Ok(self.store.group_grants(group).await?)
    }

    /// The groups the user belongs to.
    pub async fn groups_of(&self, user: &str) -> Result<Vec<String>> {
        check_id("user_id", user)?;
        Ok(self.store.groups_of(user).await?)
    }

    /// The user's direct and group grants together.
    pub async fn effective_grants(&self, user: &str) -> Result<Vec<String>> {
        check_id("user_id", user)?;
        Ok(self.store.effective_grants(user).await?)
    }

    /// Permagate's `has_permission(user, permission)`: whether a direct grant or a grant of one of
    /// the user's groups matches `permission` under psm's grammar (`>` and `*` are wildcards;
    /// a pattern asks whether the grants cover all of it).
    pub async fn has_permission(&self, user: &str, permission: &str) -> Result<bool> {
        check_id("user_id", user)?;
        psm_core::permission::validate_permission(permission)?;
        let grants = self.store.effective_grants(user).await?;
        Ok(PermissionSet::new(&grants)?.check(permission)?)
    }
}

/// The effective grants of `principal.lookup_name()`, for web middleware (psm-axum).
#[async_trait]
impl<S: AssignmentStore> PermissionsProvider for Assignments<S> {
    async fn fetch_permissions(&self, principal: &Principal) -> psm_core::Result<Vec<String>> {
        self.effective_grants(principal.lookup_name())
            .await
            .map_err(|e| match e {
                crate::Error::Store(inner) => inner,
                // only ids and the store can fail here; keep anything else visible, never open
                other => CoreError::Backend {
                    backend: "catalog",
                    message: other.to_string(),
                    source: None,
                },
            })
    }
}
