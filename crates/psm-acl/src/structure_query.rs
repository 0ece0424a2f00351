//! The structure queries: `roles`, `resources`, `permissions`, `parents`, `structure`, `show`.

use std::borrow::Borrow;
use std::collections::{HashMap, HashSet};
use std::hash::Hash;

use crate::permission::PermissionLike;
use crate::snapshot::AclSnapshot;

impl<R, Res, P> AclSnapshot<R, Res, P>
where
    R: Hash + Eq + Clone,
    Res: Hash + Eq + Clone,
    P: PermissionLike + Hash + Eq + Clone,
{
    /// The defined roles.
    pub fn roles(&self) -> impl Iterator<Item = &R> + '_ {
        self.core.roles.iter().map(|(_, r)| r)
    }

    /// The defined resources, including those without permissions.
    pub fn resources(&self) -> impl Iterator<Item = &Res> + '_ {
        self.core.resources.iter().map(|(_, r)| r)
    }

    /// The permissions defined on `resource` (none for an unknown resource).
    pub fn permissions<Q>(&self, resource: &Q) -> impl Iterator<Item = &P> + '_
    where
        Res: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let table = self
            .core
            .resources
            .id(resource)
            .and_then(|id| self.core.perms_of(id));
        table.into_iter().flat_map(|t| t.iter())
    }

    /// Is `role` defined?
    pub fn has_role<Q>(&self, role: &Q) -> bool
    where
        R: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.core.roles.contains(role)
    }

    /// Is `resource` defined?
    pub fn has_resource<Q>(&self, resource: &Q) -> bool
    where
        Res: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.core.resources.contains(resource)
    }

    /// Is `permission` defined on `resource`?
    pub fn has_permission<Q1, Q2>(&self, resource: &Q1, permission: &Q2) -> bool
    where
        Res: Borrow<Q1>,
        Q1: Hash + Eq + ?Sized,
        P: Borrow<Q2>,
        Q2: Hash + Eq + ?Sized,
    {
        self.core
            .resources
            .id(resource)
            .and_then(|id| self.core.perms_of(id))
            .is_some_and(|t| t.contains(permission))
    }

    /// Is the triple granted to `role` itself (not only through a parent; patterns are not
    /// evaluated: `check` does that)?
    pub fn has_grant<Q1, Q2, Q3>(&self, role: &Q1, resource: &Q2, permission: &Q3) -> bool
    where
        R: Borrow<Q1>,
        Q1: Hash + Eq + ?Sized,
        Res: Borrow<Q2>,
        Q2: Hash + Eq + ?Sized,
        P: Borrow<Q3>,
        Q3: Hash + Eq + ?Sized,
    {
        self.core.has_direct(role, resource, permission)
    }

    /// The direct parents of `role`, in the order they were added.
    pub fn parents<Q>(&self, role: &Q) -> impl Iterator<Item = &R> + '_
    where
        R: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.role_list(role, |c, id| c.parents.get(id))
    }

    /// Every role `role` inherits from (parents, their parents, ...), each once.
    pub fn ancestors<Q>(&self, role: &Q) -> impl Iterator<Item = &R> + '_
    where
        R: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.role_list(role, |c, id| c.ancestors.get(id))
    }

    fn role_list<'s, Q>(
        &'s self,
        role: &Q,
        list: impl Fn(&'s crate::core::Core<R, Res, P>, usize) -> Option<&'s Vec<u32>>,
    ) -> impl Iterator<Item = &'s R> + 's
    where
        R: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let core = &*self.core;
        let ids = core.roles.id(role).and_then(|id| list(core, id as usize));
        ids.into_iter()
            .flatten()
            .filter_map(move |&id| core.roles.get(id))
    }

    /// The whole structure: `{ resource: { permission, .. }, .. }`, resources without
    /// permissions included.
    pub fn structure(&self) -> HashMap<Res, HashSet<P>> {
        self.core
            .resources
            .iter()
            .map(|(id, res)| {
                let perms = self
                    .core
                    .perms_of(id)
                    .into_iter()
                    .flat_map(|t| t.iter().cloned())
                    .collect();
                (res.clone(), perms)
            })
            .collect()
    }

    /// Every direct grant: `{ role: { resource: { permission, .. }, .. }, .. }` (inherited
    /// grants are not repeated; roles without grants are absent).
    pub fn show(&self) -> HashMap<R, HashMap<Res, HashSet<P>>> {
        let core = &*self.core;
        let mut out = HashMap::new();
        for (rid, role) in core.roles.iter() {
            let Some(direct) = core.direct.get(rid as usize) else {
                continue;
            };
            if direct.is_empty() {
                continue;
            }
            let grants = direct
                .iter()
                .filter_map(|(&res, bits)| {
                    let table = core.perms_of(res)?;
                    let perms = bits.iter().filter_map(|i| table.get(i).cloned()).collect();
                    Some((core.resources.get(res)?.clone(), perms))
                })
                .collect();
            out.insert(role.clone(), grants);
        }
        out
    }
}
