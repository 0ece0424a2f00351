//! Permission names and per-resource permission tables.
//!
//! Each distinct permission value is stored once, in `PermNames` (a reference-counted interner
//! giving global ids). A resource's `PermTable` maps its permissions to small *local* indexes
//! (the bit positions of grant bitsets) through their global ids: a scan of one short array
//! for up to 16 permissions, a hash map beyond. Checks find a (resource, permission) pair in one
//! probe of the pair index (`pairs.rs`); these tables serve definitions, listings and exports.

use std::borrow::Borrow;
use std::hash::Hash;

use crate::bits::Bits;
use crate::interner::{FastMap, Interner};

/// Tables with at most this many slots are searched by a scan.
const SCAN_MAX: usize = 16;
/// A freed slot.
const FREE: u32 = u32::MAX;

/// The permissions defined on one resource: local index -> global id, and which are patterns.
#[derive(Clone, Debug, Default)]
pub(crate) struct PermTable {
    globals: Vec<u32>,
    index: Option<FastMap<u32, u32>>,
    free: Vec<u32>,
    len: usize,
    pub(crate) patterns: Bits,
}

impl PermTable {
    /// The local index of global id `g`.
    #[inline]
    pub(crate) fn local(&self, g: u32) -> Option<u32> {
        match &self.index {
            Some(index) => index.get(&g).copied(),
            None => self
                .globals
                .iter()
                .position(|&x| x == g)
                .and_then(|i| u32::try_from(i).ok()),
        }
    }

    /// The global id at local index `local`.
    pub(crate) fn global(&self, local: u32) -> Option<u32> {
        self.globals
            .get(local as usize)
            .copied()
            .filter(|&g| g != FREE)
    }

    /// Adds global id `g`; its local index and whether it was added.
    fn insert(&mut self, g: u32) -> Option<(u32, bool)> {
        if let Some(l) = self.local(g) {
            return Some((l, false));
        }
        let l = match self.free.pop() {
            Some(l) => l,
            None => {
                let l = u32::try_from(self.globals.len())
                    .ok()
                    .filter(|&l| l != FREE)?;
                self.globals.push(FREE);
                l
            }
        };
        if let Some(slot) = self.globals.get_mut(l as usize) {
            *slot = g;
        }
        match &mut self.index {
            Some(index) => {
                index.insert(g, l);
            }
            None if self.globals.len() > SCAN_MAX => {
                let index = self.iter().map(|(local, global)| (global, local)).collect();
                self.index = Some(index);
            }
            None => {}
        }
        self.len += 1;
        Some((l, true))
    }

    /// Removes global id `g`; its former local index.
    fn remove(&mut self, g: u32) -> Option<u32> {
        let l = self.local(g)?;
        if let Some(slot) = self.globals.get_mut(l as usize) {
            *slot = FREE;
        }
        if let Some(index) = &mut self.index {
            index.remove(&g);
        }
        self.free.push(l);
        self.patterns.remove(l);
        self.len -= 1;
        Some(l)
    }

    /// `(local, global)` pairs in local order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.globals
            .iter()
            .enumerate()
            .filter(|(_, g)| **g != FREE)
            .filter_map(|(l, &g)| Some((u32::try_from(l).ok()?, g)))
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

/// Every distinct permission value, with how many resources define it.
#[derive(Clone, Debug)]
pub(crate) struct PermNames<P> {
    names: Interner<P>,
    refs: Vec<u32>,
}

impl<P> Default for PermNames<P> {
    fn default() -> Self {
        PermNames {
            names: Interner::default(),
            refs: Vec::new(),
        }
    }
}

impl<P: Hash + Eq + Clone> PermNames<P> {
    /// Defines `perm` on `table`; its local index and whether it was new there.
    pub(crate) fn define(&mut self, table: &mut PermTable, perm: P) -> Option<(u32, bool)> {
        if let Some(g) = self.names.id(&perm)
            && let Some(l) = table.local(g)
        {
            return Some((l, false));
        }
        let (g, _) = self.names.intern(perm)?;
        let (l, new) = table.insert(g)?;
        if new {
            self.refs.resize(self.names.capacity(), 0);
            if let Some(r) = self.refs.get_mut(g as usize) {
                *r += 1;
            }
        }
        Some((l, new))
    }

    /// The value with global id `g`.
    #[inline]
    pub(crate) fn name(&self, g: u32) -> Option<&P> {
        self.names.get(g)
    }

    /// Removes global id `g` from `table`, forgetting the value when no table defines it.
    pub(crate) fn undefine(&mut self, table: &mut PermTable, g: u32) -> Option<u32> {
        let l = table.remove(g)?;
        self.release(g);
        Some(l)
    }

    /// Drops one reference to `g` (a table defining it was cleared).
    pub(crate) fn release(&mut self, g: u32) {
        if let Some(r) = self.refs.get_mut(g as usize) {
            *r = r.saturating_sub(1);
            if *r == 0 {
                self.names.remove_id(g);
            }
        }
    }
}

/// A resource's permissions, resolved against the names.
#[derive(Debug)]
pub(crate) struct Perms<'a, P> {
    names: &'a Interner<P>,
    table: &'a PermTable,
}

impl<P> Clone for Perms<'_, P> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<P> Copy for Perms<'_, P> {}

impl<'a, P: Hash + Eq + Clone> Perms<'a, P> {
    pub(crate) fn new(names: &'a PermNames<P>, table: &'a PermTable) -> Self {
        Perms {
            names: &names.names,
            table,
        }
    }

    /// The local index of `perm`.
    #[inline]
    pub(crate) fn id<Q>(&self, perm: &Q) -> Option<u32>
    where
        P: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.table.local(self.names.id(perm)?)
    }

    /// The global id of `perm` (defined on any resource).
    pub(crate) fn global_id<Q>(&self, perm: &Q) -> Option<u32>
    where
        P: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.names.id(perm)
    }

    /// The permission at local index `local`.
    #[inline]
    pub(crate) fn get(&self, local: u32) -> Option<&'a P> {
        self.names.get(self.table.global(local)?)
    }

    pub(crate) fn contains<Q>(&self, perm: &Q) -> bool
    where
        P: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.id(perm).is_some()
    }

    /// The permissions in local order.
    pub(crate) fn iter(self) -> impl Iterator<Item = &'a P> + 'a {
        let (names, table) = (self.names, self.table);
        table.iter().filter_map(move |(_, g)| names.get(g))
    }

    pub(crate) fn patterns(&self) -> &'a Bits {
        &self.table.patterns
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_share_names_and_switch_to_an_index_when_large() {
        let mut names: PermNames<String> = PermNames::default();
        let (mut a, mut b) = (PermTable::default(), PermTable::default());
        assert_eq!(names.define(&mut a, "read".into()), Some((0, true)));
        assert_eq!(names.define(&mut b, "write".into()), Some((0, true)));
        assert_eq!(names.define(&mut b, "read".into()), Some((1, true)));
        assert_eq!(names.define(&mut b, "read".into()), Some((1, false)));
        assert_eq!(Perms::new(&names, &b).id("read"), Some(1));
        assert_eq!(Perms::new(&names, &a).id("write"), None);
        let g = names.names.id("read").unwrap();
        assert_eq!(names.undefine(&mut a, g), Some(0));
        assert!(names.names.id("read").is_some()); // still defined on b
        assert_eq!(names.undefine(&mut b, g), Some(1));
        assert!(names.names.id("read").is_none());
        for i in 0..40 {
            names.define(&mut a, format!("p{i}")).unwrap();
        }
        assert!(a.index.is_some());
        let perms = Perms::new(&names, &a);
        assert_eq!(perms.id("p39"), Some(39));
        assert_eq!(perms.get(39).map(String::as_str), Some("p39"));
        assert_eq!(perms.iter().count(), 40);
        assert_eq!(a.len(), 40);
    }
}
