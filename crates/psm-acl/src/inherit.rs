//! Role inheritance: `add_parent` (cycles rejected) and `remove_parent`.
//!
//! A role holds everything its parents hold, transitively; a role may have several parents.
//! The closure is folded into every role's effective grants when an edge changes, so checks
//! never walk the hierarchy.

use std::borrow::Borrow;
use std::fmt::Debug;
use std::hash::Hash;

use crate::acl::{Acl, exhausted};
use crate::core::Core;
use crate::error::{Error, Result};
use crate::limits::Growth;
use crate::permission::PermissionLike;

impl<R, Res, P> Core<R, Res, P>
where
    R: Hash + Eq + Clone,
    Res: Hash + Eq + Clone,
    P: PermissionLike + Hash + Eq + Clone,
{
    /// A path of parent edges from `from` up to `to` (both included), if `to` is an ancestor.
    fn parent_path(&self, from: u32, to: u32) -> Option<Vec<u32>> {
        let mut previous: crate::interner::FastMap<u32, u32> = Default::default();
        let mut queue = std::collections::VecDeque::from([from]);
        while let Some(r) = queue.pop_front() {
            if r == to {
                let mut path = vec![to];
                let mut at = to;
                while let Some(&p) = previous.get(&at) {
                    path.push(p);
                    at = p;
                }
                path.reverse();
                return Some(path);
            }
            for &p in self.parents.get(r as usize).map_or(&[][..], Vec::as_slice) {
                if p != from && !previous.contains_key(&p) {
                    previous.insert(p, r);
                    queue.push_back(p);
                }
            }
        }
        None
    }

    /// Recomputes ancestors and effective grants of `role` and everything below it.
    fn reinherit(&mut self, role: u32) {
        for d in self.with_descendants(role) {
            let ancestors = self.compute_ancestors(d);
            if let Some(a) = self.ancestors.get_mut(d as usize) {
                *a = ancestors;
            }
            self.rebuild(d);
        }
    }
}

impl<R, Res, P> Acl<R, Res, P>
where
    R: Hash + Eq + Clone,
    Res: Hash + Eq + Clone,
    P: PermissionLike + Hash + Eq + Clone,
{
    /// Makes `role` inherit every grant of `parent` (and of its ancestors), creating either
    /// role when missing. True when the edge is new. Fails with [`Error::Cycle`] when `parent`
    /// is `role` or inherits from it.
    ///
    /// ```
    /// let mut acl = psm_acl::Acl::new();
    /// acl.add_parent("editor", "viewer")?;
    /// acl.add_parent("admin", "editor")?;
    /// let err = acl.add_parent("viewer", "admin").unwrap_err();
    /// assert_eq!(err.to_string(), r#"role inheritance cycle: "viewer" -> "admin" -> "editor" -> "viewer""#);
    /// # Ok::<(), psm_acl::Error>(())
    /// ```
    pub fn add_parent(&mut self, role: impl Into<R>, parent: impl Into<R>) -> Result<bool>
    where
        R: Debug,
    {
        let (role, parent) = (role.into(), parent.into());
        let core = self.core();
        let (r, p) = (core.roles.id(&role), core.roles.id(&parent));
        if role == parent {
            return Err(Error::Cycle {
                path: vec![format!("{role:?}"), format!("{parent:?}")],
            });
        }
        if let (Some(r), Some(p)) = (r, p) {
            if core
                .parents
                .get(r as usize)
                .is_some_and(|ps| ps.contains(&p))
            {
                return Ok(false);
            }
            if let Some(path) = core.parent_path(p, r) {
                let mut names = vec![format!("{role:?}")];
                names.extend(
                    path.iter()
                        .filter_map(|&id| core.roles.get(id))
                        .map(|x| format!("{x:?}")),
                );
                return Err(Error::Cycle { path: names });
            }
        }
        self.admit(Growth {
            roles: usize::from(r.is_none()) + usize::from(p.is_none()),
            parents: 1,
            ..Growth::default()
        })?;
        let core = self.core_mut();
        let r = core.intern_role(role).ok_or_else(|| exhausted("roles"))?;
        let p = core.intern_role(parent).ok_or_else(|| exhausted("roles"))?;
        if let Some(ps) = core.parents.get_mut(r as usize) {
            ps.push(p);
        }
        if let Some(cs) = core.children.get_mut(p as usize) {
            cs.push(r);
        }
        core.counts.parents += 1;
        core.reinherit(r);
        Ok(true)
    }

    /// Removes the edge `role -> parent`; true when it existed.
    pub fn remove_parent<Q1, Q2>(&mut self, role: &Q1, parent: &Q2) -> bool
    where
        R: Borrow<Q1> + Borrow<Q2>,
        Q1: Hash + Eq + ?Sized,
        Q2: Hash + Eq + ?Sized,
    {
        let core = self.core();
        let (Some(r), Some(p)) = (core.roles.id(role), core.roles.id(parent)) else {
            return false;
        };
        if !core
            .parents
            .get(r as usize)
            .is_some_and(|ps| ps.contains(&p))
        {
            return false;
        }
        let core = self.core_mut();
        if let Some(ps) = core.parents.get_mut(r as usize) {
            ps.retain(|&x| x != p);
        }
        if let Some(cs) = core.children.get_mut(p as usize) {
            cs.retain(|&x| x != r);
        }
        core.counts.parents -= 1;
        core.reinherit(r);
        true
    }
}
