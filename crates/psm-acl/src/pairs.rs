//! `PairIndex`: every defined (resource, permission) pair, found by one hash probe of both
//! values at once — the resource id and the permission's local index in one step, instead of
//! a probe for the resource, a probe for the permission name and a scan of the resource's table.

use std::borrow::Borrow;
use std::hash::{BuildHasher, Hash, Hasher};

use crate::interner::{FastState, Interner};
use crate::perm_table::PermNames;
use crate::permission::{PermissionLike, same_permission};
use crate::probe::ProbeTable;

/// One defined pair: the resource id, the local index and the global permission id. Twelve
/// bytes, sixteen with the table's tag (32 bits of the hash, from which the table also finds
/// the pair's home slot when it grows or shifts entries back, without rehashing the values).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Pair {
    pub(crate) res: u32,
    pub(crate) local: u32,
    global: u32,
}

/// Defined (resource, permission) pairs keyed by the hash of both values.
#[derive(Clone, Debug, Default)]
pub(crate) struct PairIndex {
    table: ProbeTable<Pair>,
    state: FastState,
}

impl PairIndex {
    /// The hash of a (resource, permission) pair; equal for borrowed and owned forms.
    #[inline]
    pub(crate) fn hash<Q2, Q3>(&self, resource: &Q2, permission: &Q3) -> u64
    where
        Q2: Hash + ?Sized,
        Q3: Hash + ?Sized,
    {
        Self::hash_with(&self.state, resource, permission)
    }

    #[inline]
    fn hash_with<Q2, Q3>(state: &FastState, resource: &Q2, permission: &Q3) -> u64
    where
        Q2: Hash + ?Sized,
        Q3: Hash + ?Sized,
    {
        let mut h = state.build_hasher();
        resource.hash(&mut h);
        permission.hash(&mut h);
        h.finish()
    }

    /// The pair with these values, if defined.
    #[inline]
    pub(crate) fn find<Res, P, Q2, Q3>(
        &self,
        resources: &Interner<Res>,
        names: &PermNames<P>,
        resource: &Q2,
        permission: &Q3,
    ) -> Option<&Pair>
    where
        Res: Hash + Eq + Clone + Borrow<Q2>,
        P: PermissionLike + Hash + Eq + Clone + Borrow<Q3>,
        Q2: Hash + Eq + ?Sized,
        Q3: PermissionLike + Hash + Eq + ?Sized,
    {
        let hash = self.hash(resource, permission);
        self.table.find(hash, |e| {
            names
                .name(e.global)
                .is_some_and(|p| same_permission(p, permission))
                && resources.get(e.res).is_some_and(|r| r.borrow() == resource)
        })
    }

    /// Records a newly defined pair (`hash` from [`hash`](Self::hash) of its values).
    pub(crate) fn insert(&mut self, hash: u64, (res, local, global): (u32, u32, u32)) {
        self.table.insert_unique(hash, Pair { res, local, global });
    }

    /// Forgets the pair (`res`, `local`) whose values hash to `hash`.
    pub(crate) fn remove(&mut self, hash: u64, res: u32, local: u32) {
        self.table
            .remove(hash, |e| e.res == res && e.local == local);
    }

    /// Number of pairs (for tests).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }
}

#[cfg(test)]
mod tests {
    use crate::Acl;

    fn consistent(acl: &Acl) {
        assert_eq!(acl.core().pairs.len(), acl.permission_count());
        for res in acl.resources() {
            for perm in acl.permissions(res) {
                let core = acl.core();
                let pair = core
                    .pairs
                    .find(
                        &core.resources,
                        &core.perm_names,
                        res.as_str(),
                        perm.as_str(),
                    )
                    .unwrap();
                assert_eq!(core.resources.get(pair.res), Some(res));
                assert_eq!(core.perms_of(pair.res).unwrap().get(pair.local), Some(perm));
            }
        }
    }

    #[test]
    fn pairs_follow_every_definition_and_removal() {
        let mut acl = Acl::new();
        for r in 0..5 {
            for p in 0..20 {
                acl.grant(format!("role{r}"), format!("res{r}"), format!("p{p}"))
                    .unwrap();
            }
        }
        acl.add_permission("res0", "posts:*").unwrap();
        consistent(&acl);
        assert!(acl.remove_permission("res1", "p3"));
        assert!(acl.remove_resource("res2"));
        assert!(!acl.check("role1", "res1", "p3"));
        consistent(&acl);
        // freed local indexes and resource ids are reused by new definitions
        acl.grant("role9", "res1", "fresh").unwrap();
        acl.grant("role9", "resX", "p3").unwrap();
        consistent(&acl);
        assert!(acl.check("role9", "res1", "fresh") && acl.check("role9", "resX", "p3"));
        assert!(!acl.check("role9", "res1", "p3") && !acl.check("role1", "res1", "fresh"));
        // the same permission name on two resources is two pairs
        assert!(acl.check("role0", "res0", "p3") && !acl.check("role0", "res3", "p3"));
        acl.clear();
        consistent(&acl);
    }
}
