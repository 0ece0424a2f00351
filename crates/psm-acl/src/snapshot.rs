//! `AclSnapshot`: an immutable, cheaply cloned view of an ACL's compiled state.
//!
//! Every read query (`check`, `which`, `roles`, ...) is defined on `AclSnapshot` (see
//! `query.rs` and `structure_query.rs`); `Acl` reaches them through `Deref`. A snapshot never
//! changes: the `Acl` it came from copies its state on the next write while the snapshot keeps
//! answering from the old one, without locks.

use std::fmt;
use std::sync::Arc;

use crate::core::Core;

/// An immutable compiled ACL, `Send + Sync` when its types are, cloned in O(1).
///
/// ```
/// let mut acl = psm_acl::Acl::new();
/// acl.grant("admin", "blog", "delete")?;
/// let snapshot = acl.snapshot();
/// acl.revoke("admin", "blog", "delete");
/// assert!(snapshot.check("admin", "blog", "delete"));   // the snapshot kept its state
/// assert!(!acl.check("admin", "blog", "delete"));
/// # Ok::<(), psm_acl::Error>(())
/// ```
pub struct AclSnapshot<R = String, Res = String, P = String> {
    pub(crate) core: Arc<Core<R, Res, P>>,
}

impl<R, Res, P> AclSnapshot<R, Res, P> {
    pub(crate) fn from_core(core: Arc<Core<R, Res, P>>) -> Self {
        AclSnapshot { core }
    }

    /// Number of roles.
    pub fn role_count(&self) -> usize {
        self.core.roles.len()
    }

    /// Number of resources.
    pub fn resource_count(&self) -> usize {
        self.core.resources.len()
    }

    /// Number of defined (resource, permission) pairs.
    pub fn permission_count(&self) -> usize {
        self.core.counts.permissions
    }

    /// Number of direct grants (role, resource, permission); inherited ones are not counted.
    pub fn grant_count(&self) -> usize {
        self.core.counts.grants
    }

    /// Number of (role, parent) inheritance edges.
    pub fn parent_count(&self) -> usize {
        self.core.counts.parents
    }

    /// True when two snapshots share the same state (no write happened in between).
    pub fn ptr_eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.core, &other.core)
    }
}

impl<R, Res, P> Clone for AclSnapshot<R, Res, P> {
    fn clone(&self) -> Self {
        AclSnapshot {
            core: Arc::clone(&self.core),
        }
    }
}

impl<R, Res, P> Default for AclSnapshot<R, Res, P> {
    fn default() -> Self {
        AclSnapshot {
            core: Arc::new(Core::default()),
        }
    }
}

impl<R, Res, P> fmt::Debug for AclSnapshot<R, Res, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AclSnapshot")
            .field("roles", &self.role_count())
            .field("resources", &self.resource_count())
            .field("permissions", &self.permission_count())
            .field("grants", &self.grant_count())
            .field("parents", &self.parent_count())
            .finish()
    }
}
