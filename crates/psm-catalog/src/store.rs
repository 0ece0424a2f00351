//! `AssignmentStore`: where grants to users and groups and group memberships live. Backends
//! implement it (memory here, SQL in psm-sql); [`Assignments`](crate::Assignments) validates
//! every input against a catalog before a backend sees it.

use async_trait::async_trait;
use psm_core::Result;

/// Most grants one user's effective permissions may hold (direct and through groups); a fetch
/// past it fails with `QuotaExceeded` instead of reading without bound.
pub const MAX_EFFECTIVE_GRANTS: usize = psm_core::permission::DEFAULT_MAX_PERMISSIONS;

/// Storage of user grants, group grants and group membership. Inputs arrive validated (ids by
/// [`Assignments`](crate::Assignments), grants against its catalog); every method answers whether
/// it changed anything. Lists are sorted byte-wise and free of duplicates.
#[async_trait]
pub trait AssignmentStore: Send + Sync + std::fmt::Debug {
    /// Grants `permission` to `user`; false when it was granted already.
    async fn grant_user(&self, user: &str, permission: &str) -> Result<bool>;
    /// Takes a direct grant back; false when there was none.
    async fn revoke_user(&self, user: &str, permission: &str) -> Result<bool>;
    /// Grants `permission` to `group`; false when it was granted already.
    async fn grant_group(&self, group: &str, permission: &str) -> Result<bool>;
    /// Takes a group grant back; false when there was none.
    async fn revoke_group(&self, group: &str, permission: &str) -> Result<bool>;
    /// Makes `user` a member of `group`; false when it was one already.
    async fn add_member(&self, group: &str, user: &str) -> Result<bool>;
    /// Ends a membership; false when there was none.
    async fn remove_member(&self, group: &str, user: &str) -> Result<bool>;
    /// The user's direct grants.
    async fn user_grants(&self, user: &str) -> Result<Vec<String>>;
    /// The group's grants.
    async fn group_grants(&self, group: &str) -> Result<Vec<String>>;
    /// The groups `user` belongs to.
    async fn groups_of(&self, user: &str) -> Result<Vec<String>>;
    /// The user's direct grants and those of every group it belongs to, at most
    /// [`MAX_EFFECTIVE_GRANTS`].
    async fn effective_grants(&self, user: &str) -> Result<Vec<String>>;
}
