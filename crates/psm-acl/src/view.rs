//! Answers of the `which*` queries: `PermissionView` (permissions on one resource) and `Grants`
//! (resources with their permissions). Both borrow the ACL's interned values, so building them
//! copies bitsets, never roles, resources or permissions; `to_set` / `to_map` give owned copies.

use std::borrow::{Borrow, Cow};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::Hash;

use crate::bits::Bits;
use crate::interner::{FastMap, Interner};
use crate::perm_table::{PermNames, PermTable, Perms};

/// The permissions a role (or a set of roles) holds on one resource, as granted (a pattern grant
/// is listed as the pattern; use `check` to evaluate patterns).
pub struct PermissionView<'a, P> {
    table: Option<Perms<'a, P>>,
    bits: Bits,
}

impl<'a, P: Hash + Eq + Clone> PermissionView<'a, P> {
    pub(crate) fn new(table: Option<Perms<'a, P>>, bits: Bits) -> Self {
        PermissionView { table, bits }
    }

    /// Number of permissions.
    pub fn len(&self) -> usize {
        self.bits.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.bits.is_empty()
    }

    /// Is `permission` among them (exact comparison)?
    pub fn contains<Q>(&self, permission: &Q) -> bool
    where
        P: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.table
            .and_then(|t| t.id(permission))
            .is_some_and(|i| self.bits.contains(i))
    }

    /// The permissions, in the resource's definition order.
    pub fn iter(&self) -> impl Iterator<Item = &'a P> + '_ {
        let table = self.table;
        self.bits
            .iter()
            .filter_map(move |i| table.and_then(|t| t.get(i)))
    }

    /// An owned copy.
    pub fn to_set(&self) -> HashSet<P> {
        let mut set = HashSet::with_capacity(self.len());
        set.extend(self.iter().cloned());
        set
    }
}

impl<P: Hash + Eq + Clone + fmt::Debug> fmt::Debug for PermissionView<'_, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

/// Resources mapped to the permissions a role (or a set of roles) holds on them; resources
/// without any permission are absent.
pub struct Grants<'a, Res, P> {
    resources: &'a Interner<Res>,
    names: &'a PermNames<P>,
    tables: &'a [PermTable],
    map: Cow<'a, FastMap<u32, Bits>>,
}

impl<'a, Res, P> Grants<'a, Res, P>
where
    Res: Hash + Eq + Clone,
    P: Hash + Eq + Clone,
{
    pub(crate) fn new(
        resources: &'a Interner<Res>,
        names: &'a PermNames<P>,
        tables: &'a [PermTable],
        map: Cow<'a, FastMap<u32, Bits>>,
    ) -> Self {
        Grants {
            resources,
            names,
            tables,
            map,
        }
    }

    fn perms_of(&self, res: u32) -> Option<Perms<'a, P>> {
        Some(Perms::new(self.names, self.tables.get(res as usize)?))
    }

    /// Number of resources.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when no permission is held anywhere.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The permissions held on `resource` (`None` when there are none).
    pub fn get<Q>(&self, resource: &Q) -> Option<PermissionView<'a, P>>
    where
        Res: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let id = self.resources.id(resource)?;
        let bits = self.map.get(&id)?;
        Some(PermissionView::new(self.perms_of(id), bits.clone()))
    }

    /// Is `permission` held on `resource` (exact comparison)?
    pub fn contains<Q1, Q2>(&self, resource: &Q1, permission: &Q2) -> bool
    where
        Res: Borrow<Q1>,
        Q1: Hash + Eq + ?Sized,
        P: Borrow<Q2>,
        Q2: Hash + Eq + ?Sized,
    {
        let Some(id) = self.resources.id(resource) else {
            return false;
        };
        let (Some(bits), Some(table)) = (self.map.get(&id), self.perms_of(id)) else {
            return false;
        };
        table.id(permission).is_some_and(|i| bits.contains(i))
    }

    /// The resources with their permissions, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&'a Res, PermissionView<'a, P>)> + '_ {
        let (resources, names, tables) = (self.resources, self.names, self.tables);
        self.map.iter().filter_map(move |(&id, bits)| {
            let res = resources.get(id)?;
            let perms = tables.get(id as usize).map(|t| Perms::new(names, t));
            Some((res, PermissionView::new(perms, bits.clone())))
        })
    }

    /// Number of (resource, permission) pairs.
    pub fn pair_count(&self) -> usize {
        self.map.values().map(Bits::len).sum()
    }

    /// An owned copy: `{ resource: { permission, .. }, .. }`, Miracle's shape.
    pub fn to_map(&self) -> HashMap<Res, HashSet<P>> {
        let mut map = HashMap::with_capacity(self.len());
        map.extend(
            self.iter()
                .map(|(res, perms)| (res.clone(), perms.to_set())),
        );
        map
    }
}

impl<Res, P> fmt::Debug for Grants<'_, Res, P>
where
    Res: Hash + Eq + Clone + fmt::Debug,
    P: Hash + Eq + Clone + fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}
