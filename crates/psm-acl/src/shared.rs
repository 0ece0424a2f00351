//! `SharedAcl`: an atomically swappable current snapshot, for lock-free checks on many threads
//! while one writer builds the next state in its own `Acl` and publishes it.

use std::borrow::Borrow;
use std::fmt;
use std::hash::Hash;

use arc_swap::ArcSwap;

use crate::acl::Acl;
use crate::core::Core;
use crate::permission::PermissionLike;
use crate::snapshot::AclSnapshot;

/// The published state of an ACL. Readers `check` (or take a [`snapshot`](Self::snapshot))
/// without locks; a writer calls [`publish`](Self::publish) with its `Acl` when a batch of
/// changes is ready. Readers see either the old state or the new one, never a mix.
///
/// ```
/// use std::sync::Arc;
/// let mut acl = psm_acl::Acl::new();
/// acl.grant("viewer", "blog", "read")?;
/// let shared = Arc::new(psm_acl::SharedAcl::new(&acl));
///
/// let reader = Arc::clone(&shared);
/// let t = std::thread::spawn(move || reader.check("viewer", "blog", "read"));
/// assert!(t.join().unwrap());
///
/// acl.revoke("viewer", "blog", "read");
/// assert!(shared.check("viewer", "blog", "read"));   // not published yet
/// shared.publish(&acl);
/// assert!(!shared.check("viewer", "blog", "read"));
/// # Ok::<(), psm_acl::Error>(())
/// ```
pub struct SharedAcl<R = String, Res = String, P = String> {
    current: ArcSwap<Core<R, Res, P>>,
}

impl<R, Res, P> SharedAcl<R, Res, P> {
    /// Publishes the current state of `acl`.
    pub fn new(acl: &Acl<R, Res, P>) -> Self {
        Self::from_snapshot(acl.snapshot())
    }

    /// Publishes `snapshot`.
    pub fn from_snapshot(snapshot: AclSnapshot<R, Res, P>) -> Self {
        SharedAcl {
            current: ArcSwap::new(snapshot.core),
        }
    }

    /// Replaces the published state with the current state of `acl` (O(1)).
    pub fn publish(&self, acl: &Acl<R, Res, P>) {
        self.store(acl.snapshot());
    }

    /// Replaces the published state with `snapshot`.
    pub fn store(&self, snapshot: AclSnapshot<R, Res, P>) {
        self.current.store(snapshot.core);
    }

    /// The published state, to run several queries against one consistent state.
    pub fn snapshot(&self) -> AclSnapshot<R, Res, P> {
        AclSnapshot::from_core(self.current.load_full())
    }
}

impl<R, Res, P> SharedAcl<R, Res, P>
where
    R: Hash + Eq + Clone,
    Res: Hash + Eq + Clone,
    P: PermissionLike + Hash + Eq + Clone,
{
    /// [`AclSnapshot::check`] against the published state, without locks.
    pub fn check<Q1, Q2, Q3>(&self, role: &Q1, resource: &Q2, permission: &Q3) -> bool
    where
        R: Borrow<Q1>,
        Q1: Hash + Eq + ?Sized,
        Res: Borrow<Q2>,
        Q2: Hash + Eq + ?Sized,
        P: Borrow<Q3>,
        Q3: PermissionLike + Hash + Eq + ?Sized,
    {
        self.current.load().check(role, resource, permission)
    }

    /// [`AclSnapshot::check_any`] against the published state.
    pub fn check_any<'q, I, Q1, Q2, Q3>(&self, roles: I, resource: &Q2, permission: &Q3) -> bool
    where
        I: IntoIterator<Item = &'q Q1>,
        R: Borrow<Q1>,
        Q1: Hash + Eq + ?Sized + 'q,
        Res: Borrow<Q2>,
        Q2: Hash + Eq + ?Sized,
        P: Borrow<Q3>,
        Q3: PermissionLike + Hash + Eq + ?Sized,
    {
        self.current.load().check_any(roles, resource, permission)
    }

    /// [`AclSnapshot::check_all`] against the published state.
    pub fn check_all<'q, I, Q1, Q2, Q3>(&self, roles: I, resource: &Q2, permission: &Q3) -> bool
    where
        I: IntoIterator<Item = &'q Q1>,
        R: Borrow<Q1>,
        Q1: Hash + Eq + ?Sized + 'q,
        Res: Borrow<Q2>,
        Q2: Hash + Eq + ?Sized,
        P: Borrow<Q3>,
        Q3: PermissionLike + Hash + Eq + ?Sized,
    {
        self.current.load().check_all(roles, resource, permission)
    }
}

impl<R, Res, P> fmt::Debug for SharedAcl<R, Res, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedAcl")
            .field("current", &AclSnapshot::from_core(self.current.load_full()))
            .finish()
    }
}
