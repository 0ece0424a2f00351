//! Granting and revoking: `grant`, `grants`, `grant_many`, `revoke`, `revoke_all`.
//!
//! A grant creates a missing role, resource and permission. It sets one bit in the role's
//! direct grants and in the effective grants of the role and all its descendants; a revoke
//! recomputes the affected (role, resource) entries from the direct grants of their ancestors.

use std::borrow::Borrow;
use std::hash::Hash;

use crate::acl::{Acl, exhausted};
use crate::core::Core;
use crate::error::Result;
use crate::interner::FastSet;
use crate::limits::Growth;
use crate::permission::{PermissionLike, pattern_shape};

impl<R, Res, P> Core<R, Res, P>
where
    R: Hash + Eq + Clone,
    Res: Hash + Eq + Clone,
    P: PermissionLike + Hash + Eq + Clone,
{
    /// Is the triple granted directly (not through inheritance)?
    pub(crate) fn has_direct<Q1, Q2, Q3>(&self, role: &Q1, res: &Q2, perm: &Q3) -> bool
    where
        R: Borrow<Q1>,
        Q1: Hash + Eq + ?Sized,
        Res: Borrow<Q2>,
        Q2: Hash + Eq + ?Sized,
        P: Borrow<Q3>,
        Q3: Hash + Eq + ?Sized,
    {
        let (Some(r), Some(s)) = (self.roles.id(role), self.resources.id(res)) else {
            return false;
        };
        let Some(i) = self.perms_of(s).and_then(|t| t.id(perm)) else {
            return false;
        };
        self.direct
            .get(r as usize)
            .and_then(|m| m.get(&s))
            .is_some_and(|b| b.contains(i))
    }

    /// Applies a validated, admitted grant; true when it is new. `None` when ids ran out.
    pub(crate) fn apply_grant(
        &mut self,
        role: R,
        res: Res,
        perm: P,
        pattern: bool,
    ) -> Option<bool> {
        let r = self.intern_role(role)?;
        let s = self.intern_resource(res)?;
        let i = self.intern_permission(s, perm, pattern)?;
        if !self
            .direct
            .get_mut(r as usize)?
            .entry(s)
            .or_default()
            .insert(i)
        {
            return Some(false);
        }
        self.counts.grants += 1;
        for d in self.with_descendants(r) {
            let Some(eff) = self.effective.get_mut(d as usize) else {
                continue;
            };
            // A compiled pattern set holds the exact grants too: recompile it with the new one.
            if pattern || eff.patterns.contains_key(&s) {
                self.refresh(d, s);
            } else {
                eff.insert(s, i);
            }
        }
        Some(true)
    }

    /// Removes a direct grant by ids; true when it was there.
    pub(crate) fn apply_revoke(&mut self, r: u32, s: u32, i: u32) -> bool {
        let Some(direct) = self.direct.get_mut(r as usize) else {
            return false;
        };
        let Some(bits) = direct.get_mut(&s) else {
            return false;
        };
        if !bits.remove(i) {
            return false;
        }
        if bits.is_empty() {
            direct.remove(&s);
        }
        self.counts.grants -= 1;
        for d in self.with_descendants(r) {
            self.refresh(d, s);
        }
        true
    }

    /// Removes every direct grant of role `r` (on `only` when given); returns how many.
    pub(crate) fn apply_revoke_all(&mut self, r: u32, only: Option<u32>) -> usize {
        let Some(direct) = self.direct.get_mut(r as usize) else {
            return 0;
        };
        let removed = match only {
            Some(s) => direct.remove(&s).map_or(0, |b| b.len()),
            None => std::mem::take(direct).values().map(|b| b.len()).sum(),
        };
        if removed == 0 {
            return 0;
        }
        self.counts.grants -= removed;
        for d in self.with_descendants(r) {
            match only {
                Some(s) => self.refresh(d, s),
                None => self.rebuild(d),
            }
        }
        removed
    }
}

impl<R, Res, P> Acl<R, Res, P>
where
    R: Hash + Eq + Clone,
    Res: Hash + Eq + Clone,
    P: PermissionLike + Hash + Eq + Clone,
{
    /// Grants `permission` on `resource` to `role`, creating whichever of the three is missing.
    /// Returns true when the grant is new. A string permission must be in psm's grammar and
    /// may be a pattern (`posts:*`, `admin>`, `*`).
    pub fn grant(
        &mut self,
        role: impl Into<R>,
        resource: impl Into<Res>,
        permission: impl Into<P>,
    ) -> Result<bool> {
        let (role, res, perm) = (role.into(), resource.into(), permission.into());
        let pattern = pattern_shape(&perm)?;
        let core = self.core();
        if core.has_direct(&role, &res, &perm) {
            return Ok(false);
        }
        let res_id = core.resources.id(&res);
        let growth = Growth {
            roles: usize::from(!core.roles.contains(&role)),
            resources: usize::from(res_id.is_none()),
            permissions: usize::from(
                !res_id.is_some_and(|s| core.perms_of(s).is_some_and(|t| t.contains(&perm))),
            ),
            grants: 1,
            parents: 0,
        };
        self.admit(growth)?;
        self.core_mut()
            .apply_grant(role, res, perm, pattern)
            .ok_or_else(|| exhausted("ids"))
    }

    /// Grants every (role, resource, permission) triple, all or nothing: every permission is
    /// validated and the limits are checked before anything is written. Returns how many
    /// grants were new.
    #[tracing::instrument(level = "debug", skip_all)]
    pub fn grant_many<I, A, B, C>(&mut self, triples: I) -> Result<usize>
    where
        I: IntoIterator<Item = (A, B, C)>,
        A: Into<R>,
        B: Into<Res>,
        C: Into<P>,
    {
        let triples: Vec<(R, Res, P, bool)> = triples
            .into_iter()
            .map(|(r, s, p)| {
                let p: P = p.into();
                pattern_shape(&p).map(|pat| (r.into(), s.into(), p, pat))
            })
            .collect::<Result<_, _>>()?;
        self.admit_triples(&triples)?;
        let core = self.core_mut();
        let mut new = 0;
        for (r, s, p, pattern) in triples {
            if core
                .apply_grant(r, s, p, pattern)
                .ok_or_else(|| exhausted("ids"))?
            {
                new += 1;
            }
        }
        Ok(new)
    }

    /// Miracle's `grants`: `{ role: { resource: [permission, ..] } }`, all or nothing.
    pub fn grants<I, A, J, B, K>(&mut self, grants: I) -> Result<usize>
    where
        I: IntoIterator<Item = (A, J)>,
        A: Into<R>,
        J: IntoIterator<Item = (B, K)>,
        B: Into<Res>,
        K: IntoIterator,
        K::Item: Into<P>,
    {
        let mut triples: Vec<(R, Res, P)> = Vec::new();
        for (role, resources) in grants {
            let role: R = role.into();
            for (res, perms) in resources {
                let res: Res = res.into();
                for perm in perms {
                    triples.push((role.clone(), res.clone(), perm.into()));
                }
            }
        }
        self.grant_many(triples)
    }

    /// Cheap bound first; the exact count only when the bound would cross a limit.
    fn admit_triples(&self, triples: &[(R, Res, P, bool)]) -> Result<()> {
        let n = triples.len();
        let bound = Growth {
            roles: n,
            resources: n,
            permissions: n,
            grants: n,
            parents: 0,
        };
        if self.admit(bound).is_ok() {
            return Ok(());
        }
        let core = self.core();
        let (mut roles, mut resources) = (FastSet::default(), FastSet::default());
        let (mut perms, mut grants) = (FastSet::default(), FastSet::default());
        for (r, s, p, _) in triples {
            if !core.roles.contains(r) {
                roles.insert(r);
            }
            let defined = core
                .resources
                .id(s)
                .and_then(|id| core.perms_of(id))
                .is_some_and(|t| t.contains(p));
            if !core.resources.contains(s) {
                resources.insert(s);
            }
            if !defined {
                perms.insert((s, p));
            }
            if !core.has_direct(r, s, p) {
                grants.insert((r, s, p));
            }
        }
        self.admit(Growth {
            roles: roles.len(),
            resources: resources.len(),
            permissions: perms.len(),
            grants: grants.len(),
            parents: 0,
        })
    }

    /// Revokes a direct grant; true when it existed. Revoking an absent grant does nothing
    /// (a grant inherited from a parent stays: revoke it on the parent).
    pub fn revoke<Q1, Q2, Q3>(&mut self, role: &Q1, resource: &Q2, permission: &Q3) -> bool
    where
        R: Borrow<Q1>,
        Q1: Hash + Eq + ?Sized,
        Res: Borrow<Q2>,
        Q2: Hash + Eq + ?Sized,
        P: Borrow<Q3>,
        Q3: Hash + Eq + ?Sized,
    {
        let core = self.core();
        if !core.has_direct(role, resource, permission) {
            return false;
        }
        let (Some(r), Some(s)) = (core.roles.id(role), core.resources.id(resource)) else {
            return false;
        };
        let Some(i) = core.perms_of(s).and_then(|t| t.id(permission)) else {
            return false;
        };
        self.core_mut().apply_revoke(r, s, i)
    }

    /// Revokes every direct grant of `role`, or only those on `resource` when given; returns
    /// how many were revoked (Miracle's `revoke_all(role[, resource])`; see also
    /// [`revoke_all_on`](Self::revoke_all_on), which takes a borrowed resource).
    pub fn revoke_all<Q1>(&mut self, role: &Q1, resource: Option<&Res>) -> usize
    where
        R: Borrow<Q1>,
        Q1: Hash + Eq + ?Sized,
    {
        let core = self.core();
        let only = match resource {
            Some(res) => match core.resources.id(res) {
                Some(s) => Some(s),
                None => return 0,
            },
            None => None,
        };
        self.revoke_all_ids(role, only)
    }

    /// Revokes every direct grant of `role` on `resource`; returns how many were revoked.
    pub fn revoke_all_on<Q1, Q2>(&mut self, role: &Q1, resource: &Q2) -> usize
    where
        R: Borrow<Q1>,
        Q1: Hash + Eq + ?Sized,
        Res: Borrow<Q2>,
        Q2: Hash + Eq + ?Sized,
    {
        match self.core().resources.id(resource) {
            Some(s) => self.revoke_all_ids(role, Some(s)),
            None => 0,
        }
    }

    fn revoke_all_ids<Q1>(&mut self, role: &Q1, only: Option<u32>) -> usize
    where
        R: Borrow<Q1>,
        Q1: Hash + Eq + ?Sized,
    {
        let core = self.core();
        let Some(r) = core.roles.id(role) else {
            return 0;
        };
        let has_any = core.direct.get(r as usize).is_some_and(|m| match only {
            Some(s) => m.contains_key(&s),
            None => !m.is_empty(),
        });
        if !has_any {
            return 0;
        }
        self.core_mut().apply_revoke_all(r, only)
    }
}
