//! `Acl`: the mutable ACL. Its state is a copy-on-write `AclSnapshot`, so reads go straight to
//! the compiled state and `snapshot()` is O(1).

use std::fmt;
use std::hash::Hash;
use std::ops::Deref;
use std::sync::Arc;

use crate::core::Core;
use crate::error::{Error, Result};
use crate::limits::{AclLimits, Growth};
use crate::permission::PermissionLike;
use crate::snapshot::AclSnapshot;

/// A role / resource / permission ACL (the Miracle model) with role inheritance and pattern
/// permissions. Generic over the role, resource and permission types (all `String` by default).
///
/// Every read query (`check`, `which`, `roles`, `structure`, ...) is a method of
/// [`AclSnapshot`], reached through `Deref`; the writes are methods of `Acl` itself. A write
/// that fails (bad permission, cycle, quota) changes nothing.
pub struct Acl<R = String, Res = String, P = String> {
    pub(crate) state: AclSnapshot<R, Res, P>,
    pub(crate) limits: AclLimits,
}

impl Acl {
    /// An empty ACL of strings with default limits.
    pub fn new() -> Self {
        Acl::default()
    }
}

impl<R, Res, P> Acl<R, Res, P> {
    /// An empty ACL with `limits` (annotate the type: `let acl: Acl = Acl::with_limits(..)`).
    pub fn with_limits(limits: AclLimits) -> Self {
        Acl {
            state: AclSnapshot::default(),
            limits,
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &AclLimits {
        &self.limits
    }

    /// The current state as an immutable snapshot, in O(1). Later writes to this `Acl` copy
    /// the state once and leave the snapshot as it was.
    pub fn snapshot(&self) -> AclSnapshot<R, Res, P> {
        self.state.clone()
    }

    /// Removes every role, resource, permission, grant and parent.
    pub fn clear(&mut self) {
        self.state = AclSnapshot::default();
    }
}

impl<R, Res, P> Acl<R, Res, P>
where
    R: Hash + Eq + Clone,
    Res: Hash + Eq + Clone,
    P: PermissionLike + Hash + Eq + Clone,
{
    /// The state for writing (copied first if a snapshot still shares it).
    pub(crate) fn core_mut(&mut self) -> &mut Core<R, Res, P> {
        Arc::make_mut(&mut self.state.core)
    }

    pub(crate) fn core(&self) -> &Core<R, Res, P> {
        &self.state.core
    }

    /// Checks a planned change against the limits.
    pub(crate) fn admit(&self, growth: Growth) -> Result<()> {
        let core = self.core();
        growth.check(
            core.roles.len(),
            core.resources.len(),
            core.counts,
            &self.limits,
        )
    }
}

/// The error for ids running out, which the limits keep from happening.
pub(crate) fn exhausted(what: &'static str) -> Error {
    Error::quota(what, u32::MAX as usize)
}

impl<R, Res, P> Deref for Acl<R, Res, P> {
    type Target = AclSnapshot<R, Res, P>;
    fn deref(&self) -> &Self::Target {
        &self.state
    }
}

impl<R, Res, P> Default for Acl<R, Res, P> {
    fn default() -> Self {
        Acl::with_limits(AclLimits::default())
    }
}

/// Cheap: the clone shares the state until either side writes.
impl<R, Res, P> Clone for Acl<R, Res, P> {
    fn clone(&self) -> Self {
        Acl {
            state: self.state.clone(),
            limits: self.limits,
        }
    }
}

impl<R, Res, P> fmt::Debug for Acl<R, Res, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acl")
            .field("state", &self.state)
            .field("limits", &self.limits)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn acl_and_snapshot_are_send_and_sync() {
        assert_send_sync::<Acl>();
        assert_send_sync::<AclSnapshot>();
        assert_send_sync::<Acl<u64, u64, crate::Exact<u8>>>();
    }

    #[test]
    fn snapshot_is_shared_until_the_next_write() {
        let mut acl = Acl::new();
        acl.grant("a", "b", "c").unwrap();
        let s1 = acl.snapshot();
        assert!(s1.ptr_eq(&acl.snapshot()));
        acl.grant("a", "b", "d").unwrap();
        assert!(!s1.ptr_eq(&acl.snapshot()));
        assert!(!s1.check("a", "b", "d"));
        assert!(acl.check("a", "b", "d"));
    }
}
