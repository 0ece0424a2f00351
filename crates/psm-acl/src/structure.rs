//! Defining and removing the structure: roles, resources and the permissions on resources.

use std::borrow::Borrow;
use std::hash::Hash;

use crate::acl::{Acl, exhausted};
use crate::core::{Core, Effective};
use crate::error::Result;
use crate::interner::{FastMap, FastSet};
use crate::limits::Growth;
use crate::permission::{PermissionLike, pattern_shape};

impl<R, Res, P> Core<R, Res, P>
where
    R: Hash + Eq + Clone,
    Res: Hash + Eq + Clone,
    P: PermissionLike + Hash + Eq + Clone,
{
    /// Removes role `r` with its grants and inheritance edges; its descendants lose what they
    /// inherited through it.
    fn apply_remove_role<Q: Hash + Eq + ?Sized>(&mut self, role: &Q, r: u32)
    where
        R: Borrow<Q>,
    {
        let descendants = self.with_descendants(r);
        let i = r as usize;
        if let Some(direct) = self.direct.get_mut(i) {
            self.counts.grants -= direct.values().map(|b| b.len()).sum::<usize>();
            *direct = FastMap::default();
        }
        let parents = self
            .parents
            .get_mut(i)
            .map(std::mem::take)
            .unwrap_or_default();
        for p in parents {
            if let Some(c) = self.children.get_mut(p as usize) {
                c.retain(|&x| x != r);
            }
            self.counts.parents -= 1;
        }
        let children = self
            .children
            .get_mut(i)
            .map(std::mem::take)
            .unwrap_or_default();
        for c in children {
            if let Some(ps) = self.parents.get_mut(c as usize) {
                ps.retain(|&x| x != r);
            }
            self.counts.parents -= 1;
        }
        if let Some(a) = self.ancestors.get_mut(i) {
            a.clear();
        }
        if let Some(e) = self.effective.get_mut(i) {
            *e = Effective::default();
        }
        self.roles.remove(role);
        for d in descendants.into_iter().filter(|&d| d != r) {
            let ancestors = self.compute_ancestors(d);
            if let Some(a) = self.ancestors.get_mut(d as usize) {
                *a = ancestors;
            }
            self.rebuild(d);
        }
    }

    /// Removes resource `s` with its permissions and every grant on it.
    fn apply_remove_resource<Q: Hash + Eq + ?Sized>(&mut self, res: &Q, s: u32)
    where
        Res: Borrow<Q>,
    {
        for direct in &mut self.direct {
            if let Some(b) = direct.remove(&s) {
                self.counts.grants -= b.len();
            }
        }
        for eff in &mut self.effective {
            eff.remove(s);
            eff.patterns.remove(&s);
        }
        if let Some(t) = self.tables.get_mut(s as usize) {
            let table = std::mem::take(t);
            self.counts.permissions -= table.len();
            for (local, g) in table.iter() {
                if let Some(name) = self.perm_names.name(g) {
                    let hash = self.pairs.hash(res, name);
                    self.pairs.remove(hash, s, local);
                }
                self.perm_names.release(g);
            }
        }
        self.resources.remove(res);
    }

    /// Removes permission index `i` of resource `s` and every grant of it.
    fn apply_remove_permission<Q: Hash + Eq + ?Sized>(&mut self, s: u32, perm: &Q, i: u32)
    where
        P: Borrow<Q>,
    {
        for direct in &mut self.direct {
            if let Some(b) = direct.get_mut(&s)
                && b.remove(i)
            {
                self.counts.grants -= 1;
                if b.is_empty() {
                    direct.remove(&s);
                }
            }
        }
        let holders: Vec<u32> = (0..self.effective.len())
            .filter_map(|d| u32::try_from(d).ok())
            .filter(|&d| {
                self.effective
                    .get(d as usize)
                    .and_then(|e| e.get(s))
                    .is_some_and(|b| b.contains(i))
            })
            .collect();
        for d in holders {
            self.refresh(d, s);
        }
        if let Some(resource) = self.resources.get(s) {
            let hash = self.pairs.hash(resource, perm);
            self.pairs.remove(hash, s, i);
        }
        let g = self.perms_of(s).and_then(|t| t.global_id(perm));
        if let (Some(t), Some(g)) = (self.tables.get_mut(s as usize), g)
            && self.perm_names.undefine(t, g) == Some(i)
        {
            self.counts.permissions -= 1;
        }
    }
}

impl<R, Res, P> Acl<R, Res, P>
where
    R: Hash + Eq + Clone,
    Res: Hash + Eq + Clone,
    P: PermissionLike + Hash + Eq + Clone,
{
    /// Defines a role (without grants); true when it is new.
    pub fn add_role(&mut self, role: impl Into<R>) -> Result<bool> {
        let role = role.into();
        if self.core().roles.contains(&role) {
            return Ok(false);
        }
        self.admit(Growth {
            roles: 1,
            ..Growth::default()
        })?;
        self.core_mut()
            .intern_role(role)
            .ok_or_else(|| exhausted("roles"))?;
        Ok(true)
    }

    /// Defines several roles, all or nothing; returns how many were new.
    pub fn add_roles<I>(&mut self, roles: I) -> Result<usize>
    where
        I: IntoIterator,
        I::Item: Into<R>,
    {
        let core = self.core();
        let mut new: Vec<R> = Vec::new();
        let mut seen: FastSet<R> = FastSet::default();
        for role in roles {
            let role = role.into();
            if !core.roles.contains(&role) && seen.insert(role.clone()) {
                new.push(role);
            }
        }
        self.admit(Growth {
            roles: new.len(),
            ..Growth::default()
        })?;
        let n = new.len();
        let core = self.core_mut();
        for role in new {
            core.intern_role(role).ok_or_else(|| exhausted("roles"))?;
        }
        Ok(n)
    }

    /// Defines a resource (without permissions); true when it is new.
    pub fn add_resource(&mut self, resource: impl Into<Res>) -> Result<bool> {
        let res = resource.into();
        if self.core().resources.contains(&res) {
            return Ok(false);
        }
        self.admit(Growth {
            resources: 1,
            ..Growth::default()
        })?;
        self.core_mut()
            .intern_resource(res)
            .ok_or_else(|| exhausted("resources"))?;
        Ok(true)
    }

    /// Defines `permission` on `resource` (creating the resource), granted to no one; true when
    /// it is new.
    pub fn add_permission(
        &mut self,
        resource: impl Into<Res>,
        permission: impl Into<P>,
    ) -> Result<bool> {
        let (res, perm) = (resource.into(), permission.into());
        Ok(self.add::<_, Res, [P; 1]>([(res, [perm])])? > 0)
    }

    /// Defines the structure in one call: `{ resource: [permission, ..], .. }`, all or nothing
    /// (permissions are validated and limits checked first). Returns how many permissions were
    /// new. An empty permission list just defines the resource.
    #[tracing::instrument(level = "debug", skip_all)]
    pub fn add<I, A, J>(&mut self, structure: I) -> Result<usize>
    where
        I: IntoIterator<Item = (A, J)>,
        A: Into<Res>,
        J: IntoIterator,
        J::Item: Into<P>,
    {
        let mut items: Vec<(Res, Vec<(P, bool)>)> = Vec::new();
        for (res, perms) in structure {
            let perms = perms
                .into_iter()
                .map(|p| {
                    let p: P = p.into();
                    pattern_shape(&p).map(|pat| (p, pat))
                })
                .collect::<Result<Vec<_>, _>>()?;
            items.push((res.into(), perms));
        }
        let core = self.core();
        let mut new_res: FastSet<&Res> = FastSet::default();
        let mut new_perms: FastSet<(&Res, &P)> = FastSet::default();
        for (res, perms) in &items {
            let table = core.resources.id(res).and_then(|s| core.perms_of(s));
            if table.is_none() {
                new_res.insert(res);
            }
            for (p, _) in perms {
                if !table.is_some_and(|t| t.contains(p)) {
                    new_perms.insert((res, p));
                }
            }
        }
        self.admit(Growth {
            resources: new_res.len(),
            permissions: new_perms.len(),
            ..Growth::default()
        })?;
        let core = self.core_mut();
        let before = core.counts.permissions;
        for (res, perms) in items {
            let s = core
                .intern_resource(res)
                .ok_or_else(|| exhausted("resources"))?;
            for (p, pattern) in perms {
                core.intern_permission(s, p, pattern)
                    .ok_or_else(|| exhausted("permissions"))?;
            }
        }
        Ok(core.counts.permissions - before)
    }

    /// Removes a role with its grants and inheritance edges (its children lose what they
    /// inherited through it); true when it existed.
    pub fn remove_role<Q>(&mut self, role: &Q) -> bool
    where
        R: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let Some(r) = self.core().roles.id(role) else {
            return false;
        };
        self.core_mut().apply_remove_role(role, r);
        true
    }

    /// Removes a resource with its permissions and every grant on it; true when it existed.
    pub fn remove_resource<Q>(&mut self, resource: &Q) -> bool
    where
        Res: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let Some(s) = self.core().resources.id(resource) else {
            return false;
        };
        self.core_mut().apply_remove_resource(resource, s);
        true
    }

    /// Removes `permission` from `resource` only (other resources keep theirs), with every
    /// grant of it on that resource. The resource stays, possibly without permissions. True
    /// when the permission was defined there.
    pub fn remove_permission<Q1, Q2>(&mut self, resource: &Q1, permission: &Q2) -> bool
    where
        Res: Borrow<Q1>,
        Q1: Hash + Eq + ?Sized,
        P: Borrow<Q2>,
        Q2: Hash + Eq + ?Sized,
    {
        let core = self.core();
        let Some(s) = core.resources.id(resource) else {
            return false;
        };
        let Some(i) = core.perms_of(s).and_then(|t| t.id(permission)) else {
            return false;
        };
        self.core_mut().apply_remove_permission(s, permission, i);
        true
    }
}
