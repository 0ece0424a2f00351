//! `AclLimits`: the bounds that keep an ACL's memory finite, and the check of a planned change.

use crate::core::Counts;
use crate::error::{Error, Result};

/// Upper bounds on what an ACL may hold. A change that would cross one fails with
/// [`Error::QuotaExceeded`] and changes nothing. The defaults are far above what one process
/// usually holds (16M roles and resources, 64M defined permissions, 256M grants).
///
/// ```
/// use psm_acl::{Acl, AclLimits, Error};
/// let mut acl: Acl = Acl::with_limits(AclLimits::default().with_max_roles(1));
/// acl.add_role("admin")?;
/// assert!(matches!(acl.add_role("user"), Err(Error::QuotaExceeded { what: "roles", limit: 1 })));
/// # Ok::<(), Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct AclLimits {
    /// Most roles.
    pub max_roles: usize,
    /// Most resources.
    pub max_resources: usize,
    /// Most defined (resource, permission) pairs, over all resources.
    pub max_permissions: usize,
    /// Most direct grants (role, resource, permission).
    pub max_grants: usize,
    /// Most inheritance edges (role, parent).
    pub max_parents: usize,
    /// Largest ACL file `load_json` reads, in bytes.
    pub max_file_bytes: u64,
}

impl Default for AclLimits {
    fn default() -> Self {
        AclLimits {
            max_roles: 1 << 24,
            max_resources: 1 << 24,
            max_permissions: 1 << 26,
            max_grants: 1 << 28,
            max_parents: 1 << 24,
            max_file_bytes: 4 << 30,
        }
    }
}

impl AclLimits {
    /// Sets [`max_roles`](Self::max_roles).
    pub fn with_max_roles(mut self, n: usize) -> Self {
        self.max_roles = n;
        self
    }

    /// Sets [`max_resources`](Self::max_resources).
    pub fn with_max_resources(mut self, n: usize) -> Self {
        self.max_resources = n;
        self
    }

    /// Sets [`max_permissions`](Self::max_permissions).
    pub fn with_max_permissions(mut self, n: usize) -> Self {
        self.max_permissions = n;
        self
    }

    /// Sets [`max_grants`](Self::max_grants).
    pub fn with_max_grants(mut self, n: usize) -> Self {
        self.max_grants = n;
        self
    }

    /// Sets [`max_parents`](Self::max_parents).
    pub fn with_max_parents(mut self, n: usize) -> Self {
        self.max_parents = n;
        self
    }

    /// Sets [`max_file_bytes`](Self::max_file_bytes).
    pub fn with_max_file_bytes(mut self, n: u64) -> Self {
        self.max_file_bytes = n;
        self
    }
}

/// What a change would add; checked against the limits before anything is written.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Growth {
    pub(crate) roles: usize,
    pub(crate) resources: usize,
    pub(crate) permissions: usize,
    pub(crate) grants: usize,
    pub(crate) parents: usize,
}

impl Growth {
    /// Fails with the first limit the change would cross.
    pub(crate) fn check(
        &self,
        roles: usize,
        resources: usize,
        counts: Counts,
        limits: &AclLimits,
    ) -> Result<()> {
        let over = |have: usize, add: usize, max: usize| have.saturating_add(add) > max;
        // ids are u32: never hand out more than that, whatever the limits say
        let ids = u32::MAX as usize;
        if over(roles, self.roles, limits.max_roles.min(ids)) {
            return Err(Error::quota("roles", limits.max_roles.min(ids)));
        }
        if over(resources, self.resources, limits.max_resources.min(ids)) {
            return Err(Error::quota("resources", limits.max_resources.min(ids)));
        }
        if over(counts.permissions, self.permissions, limits.max_permissions) {
            return Err(Error::quota("permissions", limits.max_permissions));
        }
        if over(counts.grants, self.grants, limits.max_grants) {
            return Err(Error::quota("grants", limits.max_grants));
        }
        if over(counts.parents, self.parents, limits.max_parents) {
            return Err(Error::quota("parents", limits.max_parents));
        }
        Ok(())
    }
}
