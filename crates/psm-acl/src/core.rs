//! `Core`: the compiled state shared by `Acl` (copy-on-write) and `AclSnapshot` (read-only).
//!
//! Roles, resources and, per resource, permissions are interned to dense `u32` ids. Grants are
//! bitsets over a resource's permission indexes: `direct[role][resource]` holds what was granted
//! to the role itself, `effective[role][resource]` what it holds including everything inherited
//! from its ancestors. `effective` is kept up to date by every mutation, so a check is one probe
//! of one role's map and one bit test. Where a role holds a pattern grant on a resource, its
//! grants there are also compiled into a [`PermissionSet`], consulted only when the bit misses.

use std::hash::Hash;

use psm_core::PermissionSet;

use crate::bits::Bits;
pub(crate) use crate::effective::Effective;
use crate::interner::{FastMap, FastSet, Interner};
use crate::pairs::PairIndex;
use crate::perm_table::{PermNames, PermTable, Perms};
use crate::permission::PermissionLike;

/// Running totals checked against `AclLimits`.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Counts {
    pub(crate) grants: usize,
    pub(crate) permissions: usize,
    pub(crate) parents: usize,
}

#[derive(Clone, Debug)]
pub(crate) struct Core<R, Res, P> {
    pub(crate) roles: Interner<R>,
    pub(crate) resources: Interner<Res>,
    /// Every distinct permission value, once.
    pub(crate) perm_names: PermNames<P>,
    /// By resource id: the permissions defined on it.
    pub(crate) tables: Vec<PermTable>,
    /// Every defined (resource, permission) pair, for one-probe lookups of both.
    pub(crate) pairs: PairIndex,
    /// By role id: grants made to the role itself.
    pub(crate) direct: Vec<FastMap<u32, Bits>>,
    /// By role id: grants the role holds, inherited ones included.
    pub(crate) effective: Vec<Effective>,
    /// By role id: direct parents, in the order they were added.
    pub(crate) parents: Vec<Vec<u32>>,
    /// By role id: direct children.
    pub(crate) children: Vec<Vec<u32>>,
    /// By role id: every ancestor (transitive parents), without the role itself.
    pub(crate) ancestors: Vec<Vec<u32>>,
    pub(crate) counts: Counts,
}

impl<R, Res, P> Default for Core<R, Res, P> {
    fn default() -> Self {
        Core {
            roles: Interner::default(),
            resources: Interner::default(),
            perm_names: PermNames::default(),
            tables: Vec::new(),
            pairs: PairIndex::default(),
            direct: Vec::new(),
            effective: Vec::new(),
            parents: Vec::new(),
            children: Vec::new(),
            ancestors: Vec::new(),
            counts: Counts::default(),
        }
    }
}

impl<R, Res, P> Core<R, Res, P>
where
    R: Hash + Eq + Clone,
    Res: Hash + Eq + Clone,
    P: PermissionLike + Hash + Eq + Clone,
{
    /// Interns a role and sizes the per-role tables; `None` when ids are exhausted.
    pub(crate) fn intern_role(&mut self, role: R) -> Option<u32> {
        let (id, _) = self.roles.intern(role)?;
        let n = self.roles.capacity();
        self.direct.resize_with(n, FastMap::default);
        self.effective.resize_with(n, Effective::default);
        self.parents.resize_with(n, Vec::new);
        self.children.resize_with(n, Vec::new);
        self.ancestors.resize_with(n, Vec::new);
        Some(id)
    }

    /// The permissions defined on resource `res`.
    #[inline]
    pub(crate) fn perms_of(&self, res: u32) -> Option<Perms<'_, P>> {
        Some(Perms::new(&self.perm_names, self.tables.get(res as usize)?))
    }

    /// Interns a resource and sizes the per-resource tables.
    pub(crate) fn intern_resource(&mut self, resource: Res) -> Option<u32> {
        let (id, _) = self.resources.intern(resource)?;
        self.tables
            .resize_with(self.resources.capacity(), PermTable::default);
        Some(id)
    }

    /// Interns a permission on resource `res` (validated by the caller); `pattern` marks it.
    pub(crate) fn intern_permission(&mut self, res: u32, perm: P, pattern: bool) -> Option<u32> {
        let hash = self.pairs.hash(self.resources.get(res)?, &perm);
        let table = self.tables.get_mut(res as usize)?;
        let (idx, new) = self.perm_names.define(table, perm)?;
        if new {
            self.counts.permissions += 1;
            if pattern {
                table.patterns.insert(idx);
            }
            let global = table.global(idx)?;
            self.pairs.insert(hash, (res, idx, global));
        }
        Some(idx)
    }

    /// The role itself followed by all its descendants (each once).
    pub(crate) fn with_descendants(&self, role: u32) -> Vec<u32> {
        let mut out = vec![role];
        if self.children.get(role as usize).is_none_or(Vec::is_empty) {
            return out;
        }
        let mut seen: FastSet<u32> = FastSet::default();
        seen.insert(role);
        let mut i = 0;
        while let Some(&r) = out.get(i) {
            for &c in self.children.get(r as usize).map_or(&[][..], Vec::as_slice) {
                if seen.insert(c) {
                    out.push(c);
                }
            }
            i += 1;
        }
        out
    }

    /// Every ancestor of `role`, computed from the parent lists (the role itself excluded).
    pub(crate) fn compute_ancestors(&self, role: u32) -> Vec<u32> {
        let mut out: Vec<u32> = Vec::new();
        let mut seen: FastSet<u32> = FastSet::default();
        let mut stack: Vec<u32> = self.parents.get(role as usize).cloned().unwrap_or_default();
        while let Some(r) = stack.pop() {
            if r == role || !seen.insert(r) {
                continue;
            }
            out.push(r);
            if let Some(ps) = self.parents.get(r as usize) {
                stack.extend(ps.iter().copied());
            }
        }
        out
    }

    /// Recomputes what `role` holds on resource `res` from its own and its ancestors' grants.
    pub(crate) fn refresh(&mut self, role: u32, res: u32) {
        let mut bits = Bits::default();
        let own = std::iter::once(role);
        let ancestors = self
            .ancestors
            .get(role as usize)
            .map_or(&[][..], Vec::as_slice);
        for a in own.chain(ancestors.iter().copied()) {
            if let Some(b) = self.direct.get(a as usize).and_then(|m| m.get(&res)) {
                bits.union_with(b);
            }
        }
        let pattern_set = self.compile_patterns(res, &bits);
        let Some(eff) = self.effective.get_mut(role as usize) else {
            return;
        };
        eff.set(res, bits);
        match pattern_set {
            Some(set) => eff.patterns.insert(res, set),
            None => eff.patterns.remove(&res),
        };
    }

    /// Recomputes everything `role` holds (after its ancestors changed).
    pub(crate) fn rebuild(&mut self, role: u32) {
        let mut bits: FastMap<u32, Bits> = FastMap::default();
        let ancestors = self
            .ancestors
            .get(role as usize)
            .map_or(&[][..], Vec::as_slice);
        for a in std::iter::once(role).chain(ancestors.iter().copied()) {
            for (&res, b) in self.direct.get(a as usize).into_iter().flatten() {
                bits.entry(res).or_default().union_with(b);
            }
        }
        let mut patterns = FastMap::default();
        for (&res, b) in &bits {
            if let Some(set) = self.compile_patterns(res, b) {
                patterns.insert(res, set);
            }
        }
        if let Some(eff) = self.effective.get_mut(role as usize) {
            *eff = Effective::new(bits, patterns);
        }
    }

    /// The grants `bits` on `res`, compiled, when at least one is a pattern; `None` otherwise
    /// (exact grants are then answered by the bitset alone). Exact grants are included because
    /// they take part in covering a checked pattern (`a` + `a.*` + `a:*` cover `a>`).
    fn compile_patterns(&self, res: u32, bits: &Bits) -> Option<PermissionSet> {
        let perms = self.perms_of(res)?;
        if !perms.patterns().intersects(bits) {
            return None;
        }
        let grants = bits.iter().filter_map(|i| perms.get(i)?.grammar());
        // Every grant was validated on entry; an error here cannot happen, and would fail closed.
        PermissionSet::new(grants).ok()
    }
}
