//! The authorization queries: `check`, `check_any`, `check_all`, `which_permissions*`, `which*`.
//!
//! All of them see inherited grants. `check*` evaluate pattern grants with psm's grammar; the
//! `which*` answers list grants as they were made (a pattern is listed as the pattern).

use std::borrow::{Borrow, Cow};
use std::hash::Hash;

use crate::bits::Bits;
use crate::core::{Core, Effective};
use crate::interner::FastMap;
use crate::permission::PermissionLike;
use crate::snapshot::AclSnapshot;
use crate::view::{Grants, PermissionView};

/// A resource and permission resolved once for several roles.
struct Target<'q, Q: ?Sized> {
    res: u32,
    index: Option<u32>,
    permission: &'q Q,
}

impl<Q: PermissionLike + ?Sized> Target<'_, Q> {
    /// Does the role whose grants are `eff` hold the target permission?
    #[inline]
    fn held_by(&self, eff: &Effective) -> bool {
        if let Some(i) = self.index
            && eff.holds(self.res, i)
        {
            return true;
        }
        !eff.patterns.is_empty() && matches_pattern(eff, self.res, self.permission)
    }
}

/// The rarely taken path: a pattern grant of the role on the resource matches (or covers) it.
#[cold]
#[inline(never)]
fn matches_pattern<Q: PermissionLike + ?Sized>(eff: &Effective, res: u32, permission: &Q) -> bool {
    match (eff.patterns.get(&res), permission.grammar()) {
        // An invalid permission is an error of the grammar: it is never granted (fail closed).
        (Some(set), Some(p)) => set.check(p).unwrap_or(false),
        _ => false,
    }
}

impl<R, Res, P> Core<R, Res, P>
where
    R: Hash + Eq + Clone,
    Res: Hash + Eq + Clone,
    P: PermissionLike + Hash + Eq + Clone,
{
    #[inline]
    fn target<'q, Q2, Q3>(&self, resource: &Q2, permission: &'q Q3) -> Option<Target<'q, Q3>>
    where
        Res: Borrow<Q2>,
        Q2: Hash + Eq + ?Sized,
        P: Borrow<Q3>,
        Q3: PermissionLike + Hash + Eq + ?Sized,
    {
        if let Some(pair) = self
            .pairs
            .find(&self.resources, &self.perm_names, resource, permission)
        {
            return Some(Target {
                res: pair.res,
                index: Some(pair.local),
                permission,
            });
        }
        // not defined there: only a pattern grant can match it
        let res = self.resources.id(resource)?;
        Some(Target {
            res,
            index: None,
            permission,
        })
    }

    #[inline]
    fn effective_of<Q1>(&self, role: &Q1) -> Option<&Effective>
    where
        R: Borrow<Q1>,
        Q1: Hash + Eq + ?Sized,
    {
        self.effective.get(self.roles.id(role)? as usize)
    }

    #[inline]
    pub(crate) fn check<Q1, Q2, Q3>(&self, role: &Q1, resource: &Q2, permission: &Q3) -> bool
    where
        R: Borrow<Q1>,
        Q1: Hash + Eq + ?Sized,
        Res: Borrow<Q2>,
        Q2: Hash + Eq + ?Sized,
        P: Borrow<Q3>,
        Q3: PermissionLike + Hash + Eq + ?Sized,
    {
        let core = self;
        let Some(eff) = core.effective_of(role) else {
            return false;
        };
        match core
            .pairs
            .find(&core.resources, &core.perm_names, resource, permission)
        {
            Some(pair) => Target {
                res: pair.res,
                index: Some(pair.local),
                permission,
            }
            .held_by(eff),
            // Not defined on the resource (or no such resource): only a pattern grant of the
            // role can match it, so a role without pattern grants skips the resource's probe.
            None => !eff.patterns.is_empty() && core.undefined_held_by(eff, resource, permission),
        }
    }

    /// `check` of a permission not defined on `resource`, for a role holding pattern grants.
    #[cold]
    #[inline(never)]
    fn undefined_held_by<Q2, Q3>(&self, eff: &Effective, resource: &Q2, permission: &Q3) -> bool
    where
        Res: Borrow<Q2>,
        Q2: Hash + Eq + ?Sized,
        Q3: PermissionLike + ?Sized,
    {
        self.resources
            .id(resource)
            .is_some_and(|res| matches_pattern(eff, res, permission))
    }

    pub(crate) fn check_any<'q, I, Q1, Q2, Q3>(
        &self,
        roles: I,
        resource: &Q2,
        permission: &Q3,
    ) -> bool
    where
        I: IntoIterator<Item = &'q Q1>,
        R: Borrow<Q1>,
        Q1: Hash + Eq + ?Sized + 'q,
        Res: Borrow<Q2>,
        Q2: Hash + Eq + ?Sized,
        P: Borrow<Q3>,
        Q3: PermissionLike + Hash + Eq + ?Sized,
    {
        let core = self;
        let Some(t) = core.target(resource, permission) else {
            return false;
        };
        roles
            .into_iter()
            .any(|r| core.effective_of(r).is_some_and(|eff| t.held_by(eff)))
    }

    pub(crate) fn check_all<'q, I, Q1, Q2, Q3>(
        &self,
        roles: I,
        resource: &Q2,
        permission: &Q3,
    ) -> bool
    where
        I: IntoIterator<Item = &'q Q1>,
        R: Borrow<Q1>,
        Q1: Hash + Eq + ?Sized + 'q,
        Res: Borrow<Q2>,
        Q2: Hash + Eq + ?Sized,
        P: Borrow<Q3>,
        Q3: PermissionLike + Hash + Eq + ?Sized,
    {
        let core = self;
        let Some(t) = core.target(resource, permission) else {
            return false;
        };
        let mut any = false;
        for r in roles {
            if !core.effective_of(r).is_some_and(|eff| t.held_by(eff)) {
                return false;
            }
            any = true;
        }
        any
    }

    fn bits_on(&self, eff: Option<&Effective>, res: u32) -> Bits {
        eff.and_then(|e| e.get(res)).cloned().unwrap_or_default()
    }
}

impl<R, Res, P> AclSnapshot<R, Res, P>
where
    R: Hash + Eq + Clone,
    Res: Hash + Eq + Clone,
    P: PermissionLike + Hash + Eq + Clone,
{
    /// Does `role` (or one of its ancestors) hold `permission` on `resource`? False for an
    /// unknown role or resource, and for a permission that no grant of the role on that
    /// resource matches (a pattern grant matches permissions that were never defined; an
    /// invalid permission string is never granted).
    #[inline]
    pub fn check<Q1, Q2, Q3>(&self, role: &Q1, resource: &Q2, permission: &Q3) -> bool
    where
        R: Borrow<Q1>,
        Q1: Hash + Eq + ?Sized,
        Res: Borrow<Q2>,
        Q2: Hash + Eq + ?Sized,
        P: Borrow<Q3>,
        Q3: PermissionLike + Hash + Eq + ?Sized,
    {
        self.core.check(role, resource, permission)
    }

    /// Does any of `roles` pass [`check`](Self::check)? False when `roles` is empty.
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
        self.core.check_any(roles, resource, permission)
    }

    /// Does every one of `roles` pass [`check`](Self::check)? False when `roles` is empty.
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
        self.core.check_all(roles, resource, permission)
    }

    /// The permissions `role` holds on `resource` (inherited ones included).
    pub fn which_permissions<Q1, Q2>(&self, role: &Q1, resource: &Q2) -> PermissionView<'_, P>
    where
        R: Borrow<Q1>,
        Q1: Hash + Eq + ?Sized,
        Res: Borrow<Q2>,
        Q2: Hash + Eq + ?Sized,
    {
        self.which_permissions_with(std::iter::once(role), resource, Bits::union_with)
    }

    /// The permissions any of `roles` holds on `resource` (union).
    pub fn which_permissions_any<'q, I, Q1, Q2>(
        &self,
        roles: I,
        resource: &Q2,
    ) -> PermissionView<'_, P>
    where
        I: IntoIterator<Item = &'q Q1>,
        R: Borrow<Q1>,
        Q1: Hash + Eq + ?Sized + 'q,
        Res: Borrow<Q2>,
        Q2: Hash + Eq + ?Sized,
    {
        self.which_permissions_with(roles, resource, Bits::union_with)
    }

    /// The permissions every one of `roles` holds on `resource` (intersection; empty when
    /// `roles` is empty).
    pub fn which_permissions_all<'q, I, Q1, Q2>(
        &self,
        roles: I,
        resource: &Q2,
    ) -> PermissionView<'_, P>
    where
        I: IntoIterator<Item = &'q Q1>,
        R: Borrow<Q1>,
        Q1: Hash + Eq + ?Sized + 'q,
        Res: Borrow<Q2>,
        Q2: Hash + Eq + ?Sized,
    {
        self.which_permissions_with(roles, resource, Bits::intersect_with)
    }

    fn which_permissions_with<'q, I, Q1, Q2>(
        &self,
        roles: I,
        resource: &Q2,
        combine: fn(&mut Bits, &Bits),
    ) -> PermissionView<'_, P>
    where
        I: IntoIterator<Item = &'q Q1>,
        R: Borrow<Q1>,
        Q1: Hash + Eq + ?Sized + 'q,
        Res: Borrow<Q2>,
        Q2: Hash + Eq + ?Sized,
    {
        let core = &*self.core;
        let Some(res) = core.resources.id(resource) else {
            return PermissionView::new(None, Bits::default());
        };
        let mut acc: Option<Bits> = None;
        for r in roles {
            let bits = core.bits_on(core.effective_of(r), res);
            match &mut acc {
                None => acc = Some(bits),
                Some(a) => combine(a, &bits),
            }
        }
        PermissionView::new(core.perms_of(res), acc.unwrap_or_default())
    }

    /// Every resource `role` holds permissions on, with those permissions. Borrows the
    /// compiled state: O(1), nothing is copied.
    pub fn which<Q1>(&self, role: &Q1) -> Grants<'_, Res, P>
    where
        R: Borrow<Q1>,
        Q1: Hash + Eq + ?Sized,
    {
        let core = &*self.core;
        let map = match core.effective_of(role) {
            Some(eff) => Cow::Borrowed(eff.map()),
            None => Cow::Owned(FastMap::default()),
        };
        Grants::new(&core.resources, &core.perm_names, &core.tables, map)
    }

    /// What any of `roles` holds (union per resource).
    pub fn which_any<'q, I, Q1>(&self, roles: I) -> Grants<'_, Res, P>
    where
        I: IntoIterator<Item = &'q Q1>,
        R: Borrow<Q1>,
        Q1: Hash + Eq + ?Sized + 'q,
    {
        let core = &*self.core;
        let mut acc: FastMap<u32, Bits> = FastMap::default();
        for eff in roles.into_iter().filter_map(|r| core.effective_of(r)) {
            for (&res, bits) in eff.map() {
                acc.entry(res).or_default().union_with(bits);
            }
        }
        Grants::new(
            &core.resources,
            &core.perm_names,
            &core.tables,
            Cow::Owned(acc),
        )
    }

    /// What all of `roles` hold (intersection per resource): a resource is kept only when every
    /// role holds a permission on it that every other role holds too. Empty when `roles` is.
    pub fn which_all<'q, I, Q1>(&self, roles: I) -> Grants<'_, Res, P>
    where
        I: IntoIterator<Item = &'q Q1>,
        R: Borrow<Q1>,
        Q1: Hash + Eq + ?Sized + 'q,
    {
        let core = &*self.core;
        let mut acc: Option<FastMap<u32, Bits>> = None;
        for r in roles {
            let Some(eff) = core.effective_of(r) else {
                acc = Some(FastMap::default());
                break;
            };
            match &mut acc {
                None => acc = Some(eff.map().clone()),
                Some(a) => a.retain(|res, bits| match eff.get(*res) {
                    Some(other) => {
                        bits.intersect_with(other);
                        !bits.is_empty()
                    }
                    None => false,
                }),
            }
        }
        Grants::new(
            &core.resources,
            &core.perm_names,
            &core.tables,
            Cow::Owned(acc.unwrap_or_default()),
        )
    }
}
